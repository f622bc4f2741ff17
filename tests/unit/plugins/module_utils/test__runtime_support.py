"""What the container runtime and Calico must be for a Kubernetes minor."""

from __future__ import annotations

import pytest
from ansible_collections.kubeha.kubeadm.plugins.module_utils import _runtime_support as support


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        # Debian 13's package, Debian 12's, Docker's containerd.io 1.7 and 2.x, containerd's own build.
        ("containerd github.com/containerd/containerd 1.7.24~ds1 1.7.24~ds1-6+deb13u1", (1, 7, 24)),
        ("containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3", (1, 6, 20)),
        ("containerd containerd.io 1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da", (1, 7, 27)),
        ("containerd containerd.io v2.2.1 dea7da592f5d1d2b7755e3a161be07f43fad8f75", (2, 2, 1)),
        ("containerd github.com/containerd/containerd/v2 v2.1.9 f27ed6e0", (2, 1, 9)),
        ("", None),
        ("bash: containerd: command not found", None),
    ],
)
def test_containerd_version_from_its_output(output: str, expected: tuple[int, int, int] | None) -> None:
    assert support.containerd_version(output) == expected


@pytest.mark.parametrize(
    ("minor", "expected"),
    [(34, None), (35, (1, 7, 28)), (36, (2, 0, 0)), (37, (2, 0, 0)), (38, (2, 0, 0))],
)
def test_containerd_minimum_per_kubernetes_minor(minor: int, expected: tuple[int, int, int] | None) -> None:
    assert support.containerd_minimum(minor) == expected


def test_debians_containerd_is_below_what_1_36_and_later_expect() -> None:
    debian13 = support.containerd_version("containerd github.com/containerd/containerd 1.7.24~ds1 1.7.24~ds1-6")
    assert debian13 is not None
    assert debian13 < support.containerd_minimum(35)
    assert debian13 < support.containerd_minimum(37)


@pytest.mark.parametrize(
    ("calico", "minor", "untested"),
    [
        ("v3.31.7", 35, False),
        ("v3.31.7", 36, True),
        ("v3.32.1", 34, False),
        ("v3.32.1", 36, False),
        ("v3.32.1", 37, True),
        ("v3.32.1", 33, True),
        ("v3.33.0", 37, False),
        ("3.33", 35, False),
        # Older than every listed release: untested beyond the oldest one's window only.
        ("v3.30.4", 35, False),
        ("v3.30.4", 36, True),
        # Newer than every listed release, or not a version: nothing is known.
        ("v3.34.0", 37, False),
        ("latest", 37, False),
    ],
)
def test_calico_tested_windows(calico: str, minor: int, untested: bool) -> None:
    assert (support.calico_untested(calico, minor) is not None) is untested


def test_the_reason_names_the_tested_window() -> None:
    assert support.calico_untested("v3.32.1", 37) == "is tested with Kubernetes 1.34 to 1.36"
    assert "3.31" in support.calico_untested("v3.30.4", 37)


def test_calico_releases_tested_with_a_kubernetes_minor() -> None:
    assert support.calico_for(35) == ["3.31", "3.32", "3.33"]
    assert support.calico_for(36) == ["3.32", "3.33"]
    assert support.calico_for(37) == ["3.33"]
    assert support.calico_for(40) == []
