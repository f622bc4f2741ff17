"""plugins/module_utils/_kubeadm.py: the workflows' pure checks, and the names it still exports."""

from __future__ import annotations

import inspect

import pytest
from ansible_collections.kubeha.kubeadm.plugins.module_utils import _kubeadm, _kubeadm_errors, _kubeadm_output
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm import validate_join_values
from conftest import read_fixture

JOIN_PARAMS = {
    "api_server_endpoint": "k8s-api.example.com:6443",
    "token": "abcdef.0123456789abcdef",
    "discovery_token_ca_cert_hashes": ["sha256:a2cfd158e6346f9ca75589ad98e0fcc76d89f03e89b2b5f84e7fe87a4328fdc9"],
    "control_plane": True,
    "certificate_key": "a" * 64,
}


def test_parse_init_output_and_classify_failure_stay_importable_from_kubeadm() -> None:
    """Other tests (and anyone who imported them) call these two from _kubeadm, with these signatures."""
    assert _kubeadm.parse_init_output is _kubeadm_output.parse_init_output
    assert _kubeadm.classify_failure is _kubeadm_errors.classify_failure
    assert list(inspect.signature(_kubeadm.parse_init_output).parameters) == ["stdout"]
    assert list(inspect.signature(_kubeadm.classify_failure).parameters) == ["stdout", "stderr"]
    parsed = _kubeadm.parse_init_output(read_fixture("F03_init_ha_v1.32.4_spaces.txt"))
    assert set(parsed) == {"api_server_endpoint", "token", "discovery_token_ca_cert_hashes", "certificate_key"}
    assert _kubeadm.classify_failure(
        "", "error execution phase preflight: [preflight] Some fatal errors occurred:\n"
    ) == ("preflight")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, None),
        ({"api_server_endpoint": None}, "api_server_endpoint is required"),
        ({"api_server_endpoint": "https://k8s-api.example.com:6443"}, "host:port without a scheme"),
        ({"api_server_endpoint": "k8s-api.example.com"}, "host:port without a scheme"),
        ({"token": None}, "token is required"),
        ({"token": "ABCDEF.0123456789abcdef"}, "not a bootstrap token"),
        ({"discovery_token_ca_cert_hashes": []}, "always pin the cluster CA"),
        ({"discovery_token_ca_cert_hashes": ["sha256:abc"]}, "is not sha256:<64 hex digits>"),
        ({"certificate_key": "xyz"}, "certificate_key is not 64 hex digits"),
    ],
)
def test_validate_join_values(changes: dict, problem: str | None) -> None:
    problems = validate_join_values({**JOIN_PARAMS, **changes}, control_plane=True)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert problem in problems[0]
        assert "ABCDEF.0123456789abcdef" not in problems[0]
        assert "xyz" not in problems[0]


@pytest.mark.parametrize(
    ("mounts", "expected"),
    [
        ("sysfs /sys sysfs rw 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n", "cgroup2fs"),
        ("tmpfs /sys/fs/cgroup tmpfs ro,mode=755 0 0\ncgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n", "tmpfs"),
        ("sysfs /sys sysfs rw 0 0\n", None),
    ],
)
def test_cgroup_filesystem_is_named_as_stat_names_it(tmp_path, mounts: str, expected: str | None) -> None:
    (tmp_path / "mounts").write_text(mounts)
    assert _kubeadm._cgroup_filesystem(str(tmp_path / "mounts")) == expected
