# Copyright: kubeha developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the container runtime and Calico must be for a Kubernetes minor: the single place it is written.

Used by the cluster_problems filter (validate.yml's warnings); the prerequisites and cni roles
carry the matching data (pause images, pinned sums) in their vars.
"""

from __future__ import annotations

import re

# The oldest containerd each Kubernetes minor expects. From 1.36 the kubelet asks the runtime
# for its cgroup driver through the CRI RuntimeConfig method, which containerd has from 2.0
# (older runtimes work only through a fallback upstream is removing); for 1.35 containerd's
# own support matrix starts at 1.7.28. A minor missing here: the entry of the nearest older one.
CONTAINERD_MINIMUM: dict[int, tuple[int, int, int]] = {
    35: (1, 7, 28),
    36: (2, 0, 0),
}

# The Kubernetes minors Tigera tests each Calico minor against (Calico's "System requirements").
CALICO_TESTED_KUBERNETES: dict[tuple[int, int], tuple[int, ...]] = {
    (3, 31): (32, 33, 34, 35),
    (3, 32): (34, 35, 36),
    (3, 33): (35, 36, 37),
}

_SEMVER = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def containerd_version(text: str) -> tuple[int, int, int] | None:
    """The release in `containerd --version` output, or None.

    Debian: ``containerd github.com/containerd/containerd 1.7.24~ds1 1.7.24~ds1-6+deb13u1``;
    containerd.io: ``containerd containerd.io 1.7.27 05044ec0...``; 2.x: ``... containerd/v2 v2.1.9 ...``.
    The release is the first x.y.z word after the program's name and its package path.
    """
    words = str(text or "").split()
    for word in words[2:] if len(words) > 2 else words:
        match = _SEMVER.match(word)
        if match:
            return int(match[1]), int(match[2]), int(match[3])
    return None


def containerd_minimum(kubernetes_minor: int) -> tuple[int, int, int] | None:
    """The oldest containerd a Kubernetes 1.<minor> expects; None below the oldest minor listed."""
    listed = [m for m in CONTAINERD_MINIMUM if m <= kubernetes_minor]
    return CONTAINERD_MINIMUM[max(listed)] if listed else None


def calico_minor(version: str) -> tuple[int, int] | None:
    """(3, 32) from v3.32.1 or 3.32."""
    match = re.match(r"^v?(\d+)\.(\d+)(?:\.\d+)?$", str(version or "").strip())
    return (int(match[1]), int(match[2])) if match else None


def calico_untested(version: str, kubernetes_minor: int) -> str | None:
    """Why Tigera does not test this Calico release with Kubernetes 1.<minor>; None when it does or is not known.

    Each Calico minor is tested with a window of Kubernetes minors that only moves forward, so a
    release older than every listed one is untested with any minor newer than the oldest one's window.
    """
    minor = calico_minor(version)
    if minor is None:
        return None
    tested = CALICO_TESTED_KUBERNETES.get(minor)
    if tested is not None:
        return None if kubernetes_minor in tested else f"is tested with Kubernetes 1.{tested[0]} to 1.{tested[-1]}"
    oldest = min(CALICO_TESTED_KUBERNETES)
    if minor > oldest or kubernetes_minor <= max(CALICO_TESTED_KUBERNETES[oldest]):
        return None
    return (
        f"is older than Calico {oldest[0]}.{oldest[1]}, which is tested only up to Kubernetes "
        f"1.{max(CALICO_TESTED_KUBERNETES[oldest])}"
    )


def calico_for(kubernetes_minor: int) -> list[str]:
    """The Calico minors (as 3.NN) tested with a Kubernetes minor, oldest first."""
    return [f"{a}.{b}" for (a, b), tested in sorted(CALICO_TESTED_KUBERNETES.items()) if kubernetes_minor in tested]
