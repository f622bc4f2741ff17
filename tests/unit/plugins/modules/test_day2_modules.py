"""etcd_snapshot, etcd_snapshot_restore and kubeadm_reset through their main(), as Ansible runs them.

etcdctl/etcdutl and kubeadm are replaced at AnsibleModule.run_command by the fakes of the
helpers' tests; every key a module returns must be documented in its RETURN.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest
import yaml
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.kubeha.kubeadm.plugins.module_utils import _etcd_snapshot
from ansible_collections.kubeha.kubeadm.plugins.modules import etcd_snapshot, etcd_snapshot_restore, kubeadm_reset

COMMON_KEYS = {"changed", "failed", "msg", "warnings", "invocation"}
SNAPSHOT = b"\x00bbolt pages with a Secret\n"
STATUS = '{"hash":3591374193,"revision":3,"totalKey":6,"totalSize":20480}\n'


class Exit(Exception):
    def __init__(self, kind: str, payload: dict[str, Any]) -> None:
        super().__init__(kind)
        self.kind, self.payload = kind, payload


def run(module: Any, params: dict[str, Any], monkeypatch: Any, tools: Any, check_mode: bool = False) -> Exit:
    def exit_json(_self: Any, **kwargs: Any) -> None:
        raise Exit("exit", kwargs)

    def fail_json(_self: Any, **kwargs: Any) -> None:
        raise Exit("fail", kwargs)

    def run_command(_self: Any, argv: list[str], **kwargs: Any) -> tuple[int, str, str]:
        return tools(argv, kwargs.get("environ_update") or {})

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda _self, name, **_kw: f"/usr/bin/{name}")
    with patch_module_args({**params, "_ansible_check_mode": check_mode}), pytest.raises(Exit) as outcome:
        module.main()
    return outcome.value


def etcd_tools(argv: list[str], environ: dict[str, str]) -> tuple[int, str, str]:
    assert environ["ETCDCTL_API"] == "3"
    verb = argv[argv.index("snapshot") + 1]
    if verb == "save":
        with open(argv[-1], "wb") as handle:
            handle.write(SNAPSHOT)
        return 0, f"Snapshot saved at {argv[-1]}\n", ""
    if verb == "status":
        return 0, STATUS, ""
    data_dir = next(a.split("=", 1)[1] for a in argv if a.startswith("--data-dir="))
    os.makedirs(os.path.join(data_dir, "member", "wal"))
    return 0, "", ""


def undocumented(module: Any, result: dict[str, Any]) -> list[str]:
    documented = yaml.safe_load(module.RETURN)
    return sorted(key for key in result if key not in COMMON_KEYS and key not in documented)


@pytest.fixture
def client(tmp_path) -> dict[str, str]:
    files = {}
    for option, name in (("ca_path", "ca.crt"), ("client_cert", "hc.crt"), ("client_key", "hc.key")):
        (tmp_path / name).write_text("x")
        files[option] = str(tmp_path / name)
    return files


def test_etcd_snapshot_main(tmp_path, client, monkeypatch) -> None:
    params = {**client, "dest_dir": str(tmp_path / "backups"), "retention": 2}
    checked = run(etcd_snapshot, params, monkeypatch, etcd_tools, check_mode=True)
    assert checked.kind == "exit"
    assert checked.payload["changed"] is True
    assert checked.payload["path"] is None
    assert not (tmp_path / "backups").exists()
    done = run(etcd_snapshot, params, monkeypatch, etcd_tools)
    assert done.kind == "exit", done.payload
    assert done.payload["sha256"] == hashlib.sha256(SNAPSHOT).hexdigest()
    assert done.payload["tools"] == {"etcdctl": "/usr/bin/etcdctl", "etcdutl": "/usr/bin/etcdutl"}
    assert undocumented(etcd_snapshot, done.payload) == []
    assert undocumented(etcd_snapshot, checked.payload) == []


def test_etcd_snapshot_fails_with_a_message(tmp_path, client, monkeypatch) -> None:
    params = {**client, "dest_dir": str(tmp_path / "backups"), "retention": 0}
    failed = run(etcd_snapshot, params, monkeypatch, etcd_tools)
    assert failed.kind == "fail"
    assert "retention must be at least 1" in failed.payload["msg"]


def test_etcd_snapshot_restore_main(tmp_path, monkeypatch) -> None:
    snapshot = tmp_path / "s.db"
    snapshot.write_bytes(SNAPSHOT)
    monkeypatch.setattr(_etcd_snapshot, "port_open", lambda *_args, **_kw: False)
    params = {
        "snapshot": str(snapshot),
        "sha256": hashlib.sha256(SNAPSHOT).hexdigest(),
        "name": "cp1",
        "initial_cluster": "cp1=https://10.0.0.11:2380",
        "initial_cluster_token": "kubeha-restore-1",
        "initial_advertise_peer_urls": "https://10.0.0.11:2380",
        "data_dir": str(tmp_path / "etcd"),
    }
    done = run(etcd_snapshot_restore, params, monkeypatch, etcd_tools)
    assert done.kind == "exit", done.payload
    assert os.listdir(tmp_path / "etcd") == ["member"]
    assert undocumented(etcd_snapshot_restore, done.payload) == []
    wrong = run(etcd_snapshot_restore, {**params, "sha256": "0" * 64}, monkeypatch, etcd_tools)
    assert wrong.kind == "fail"
    assert "not the expected" in wrong.payload["msg"]


def test_kubeadm_reset_main(tmp_path, monkeypatch) -> None:
    (tmp_path / "kubelet.conf").write_text("x")
    monkeypatch.setattr(kubeadm_reset, "KUBERNETES_DIR", str(tmp_path))
    calls: list[list[str]] = []

    def kubeadm(argv: list[str], _environ: dict[str, str]) -> tuple[int, str, str]:
        calls.append(argv)
        os.remove(tmp_path / "kubelet.conf")
        return 0, "[preflight] Running pre-flight checks\n", ""

    done = run(kubeadm_reset, {"kubeadm_path": "/bin/true"}, monkeypatch, kubeadm)
    assert done.kind == "exit", done.payload
    assert done.payload["changed"] is True
    assert calls == [["/bin/true", "reset", "--force", "--cleanup-tmp-dir"]]
    assert undocumented(kubeadm_reset, done.payload) == []
    again = run(kubeadm_reset, {"kubeadm_path": "/bin/true"}, monkeypatch, kubeadm)
    assert again.payload["changed"] is False
    assert len(calls) == 1
