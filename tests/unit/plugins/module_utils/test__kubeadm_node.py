"""plugins/module_utils/_kubeadm_node.py: node state: what kubeadm's files on a node mean."""

from __future__ import annotations

import pytest
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_node import (
    NodeState,
    probe_node_state,
)

CONTROL_PLANE_FILES = [
    "admin.conf",
    "kubelet.conf",
    "manifests/kube-apiserver.yaml",
    "manifests/etcd.yaml",
    "pki/ca.crt",
]
STACKED_APISERVER = (
    "spec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --etcd-servers=https://127.0.0.1:2379\n"
)


# --------------------------------------------------------------------------------------------
# Node state


@pytest.mark.parametrize(
    ("files", "role"),
    [
        ([], "none"),
        (["pki/ca.crt"], "none"),
        ([*CONTROL_PLANE_FILES, "super-admin.conf"], "control_plane"),
        (CONTROL_PLANE_FILES, "control_plane"),
        (["kubelet.conf", "pki/ca.crt"], "worker"),
        (["kubelet.conf", "bootstrap-kubelet.conf", "pki/ca.crt"], "interrupted"),
        (["bootstrap-kubelet.conf", "pki/ca.crt"], "interrupted"),
        (["admin.conf", "manifests/kube-apiserver.yaml", "pki/ca.crt"], "interrupted"),
        # Stopped in etcd-join: kubelet.conf written, the stacked etcd member not yet.
        (["admin.conf", "kubelet.conf", "manifests/kube-apiserver.yaml", "pki/ca.crt"], "interrupted"),
    ],
)  # fmt: skip
def test_probe_node_state(tmp_path, files: list, role: str) -> None:
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(STACKED_APISERVER if name.endswith("kube-apiserver.yaml") else "x")
    state = probe_node_state(str(tmp_path))
    assert state.role == role
    assert state.to_dict()["init_node"] is ("super-admin.conf" in files)
    assert state.to_dict()["role"] == role


def test_node_state_default() -> None:
    assert NodeState().role == "none"


@pytest.mark.parametrize(
    ("manifest", "role"),
    [
        (STACKED_APISERVER, "interrupted"),
        (STACKED_APISERVER.replace("127.0.0.1", "[::1]"), "interrupted"),
        # External etcd: no etcd.yaml is expected on the node.
        (STACKED_APISERVER.replace("127.0.0.1", "10.0.0.5"), "control_plane"),
    ],
    ids=["stacked-ipv4", "stacked-ipv6", "external-etcd"],
)
def test_probe_node_state_needs_the_etcd_manifest_only_with_stacked_etcd(tmp_path, manifest: str, role: str) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "kube-apiserver.yaml").write_text(manifest)
    for name in ("admin.conf", "kubelet.conf"):
        (tmp_path / name).write_text("x")
    assert probe_node_state(str(tmp_path)).role == role
