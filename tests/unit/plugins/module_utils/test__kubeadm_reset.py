"""_kubeadm_reset: reset only a node kubeadm has touched, with kubeadm's real reset output (F17)."""

from __future__ import annotations

import pytest
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_errors import KubeadmError
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_reset import leftovers, reset_node
from conftest import fixture_section

# F17 section 2: kubeadm reset on a control plane whose API server is down (v1.35.3); the
# interactive prompt line is not printed with --force.
RESET_STDOUT = "\n".join(
    line
    for line in fixture_section("F17_reset_and_kubelet_failure_v1.35.3.txt", 1).splitlines()
    if not line.startswith("W") and "Are you sure" not in line
)
RESET_STDERR = "\n".join(
    line
    for line in fixture_section("F17_reset_and_kubelet_failure_v1.35.3.txt", 1).splitlines()
    if line.startswith("W")
)
MEMBER_KEPT = (
    "W1201 09:00:00.000000    1234 removeetcdmember.go:61] [reset] Failed to remove etcd member: context deadline"
    " exceeded, please manually remove this etcd member using etcdctl"
)


def control_plane(root) -> None:
    for name in ("admin.conf", "kubelet.conf", "pki/ca.crt", "manifests/etcd.yaml"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x")
    (root / "manifests" / "kube-apiserver.yaml").write_text("- --etcd-servers=https://127.0.0.1:2379\n")


class Runner:
    def __init__(self, root, rc: int = 0, stdout: str = RESET_STDOUT, stderr: str = RESET_STDERR) -> None:
        self.root, self.rc, self.stdout, self.stderr = root, rc, stdout, stderr
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str]) -> tuple[int, str, str]:
        self.calls.append(argv)
        if self.rc == 0:  # what kubeadm reset removes
            for path in sorted(self.root.rglob("*"), reverse=True):
                if path.is_file():
                    path.unlink()
        return self.rc, self.stdout, self.stderr


def test_a_control_plane_is_reset_once(tmp_path) -> None:
    control_plane(tmp_path)
    runner = Runner(tmp_path)
    params = {"cri_socket": "unix:///var/run/containerd/containerd.sock", "cleanup_tmp_dir": True}
    result = reset_node(params, runner, kubeadm="/usr/bin/kubeadm", root=str(tmp_path))
    assert runner.calls == [
        [
            "/usr/bin/kubeadm",
            "reset",
            "--force",
            "--cri-socket",
            "unix:///var/run/containerd/containerd.sock",
            "--cleanup-tmp-dir",
        ]
    ]
    assert result["changed"] is True
    assert result["node_state"]["role"] == "control_plane"
    assert result["node_state_after"]["role"] == "none"
    assert result["etcd_data_deleted"] == "/var/lib/etcd"
    assert result["etcd_member_kept"] is None
    assert "manifests/" in result["leftovers"]
    assert "admin_conf" in result["leftovers"]
    again = reset_node(params, runner, kubeadm="/usr/bin/kubeadm", root=str(tmp_path))
    assert again["changed"] is False
    assert len(runner.calls) == 1


def test_a_clean_node_and_check_mode_run_nothing(tmp_path) -> None:
    runner = Runner(tmp_path)
    assert leftovers(str(tmp_path)) == []
    assert reset_node({}, runner, root=str(tmp_path))["changed"] is False
    control_plane(tmp_path)
    checked = reset_node({}, runner, root=str(tmp_path), check_mode=True)
    assert checked["changed"] is True
    assert runner.calls == []
    assert (tmp_path / "admin.conf").exists()


def test_leftover_pki_alone_needs_a_reset(tmp_path) -> None:
    (tmp_path / "pki" / "etcd").mkdir(parents=True)
    (tmp_path / "pki" / "etcd" / "ca.key").write_text("x")
    assert leftovers(str(tmp_path)) == ["pki/"]


def test_an_etcd_member_kubeadm_could_not_remove_is_reported(tmp_path) -> None:
    control_plane(tmp_path)
    runner = Runner(tmp_path, stdout="[preflight] Running pre-flight checks\n", stderr=MEMBER_KEPT)
    result = reset_node({}, runner, root=str(tmp_path))
    assert result["etcd_member_kept"] == "context deadline exceeded"
    assert result["etcd_data_deleted"] is None
    assert any("could not remove this node's etcd member" in w for w in result["warnings"])
    assert runner.calls == [["kubeadm", "reset", "--force"]]


def test_a_failed_reset_is_classified(tmp_path) -> None:
    control_plane(tmp_path)
    runner = Runner(tmp_path, rc=1, stdout="", stderr="error: error execution phase preflight: boom\n")
    with pytest.raises(KubeadmError) as caught:
        reset_node({}, runner, root=str(tmp_path))
    assert "kubeadm reset" in caught.value.msg
    assert (caught.value.rc, caught.value.category) == (1, "unknown")
