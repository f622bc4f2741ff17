"""kernel_settings through its main(), as Ansible runs it: files, check mode, the live kernel."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.kubeha.kubeadm.plugins.module_utils import _kernel
from ansible_collections.kubeha.kubeadm.plugins.modules import kernel_settings

from tests.unit.conftest import ModuleExit

SYSCTLS = {"net.ipv4.ip_forward": 1, "net.bridge.bridge-nf-call-iptables": "1"}


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A node in tmp_path: /proc/sys, /sys/module, /proc/swaps, fstab; commands recorded, not run."""
    proc_sys, sys_module = tmp_path / "proc-sys", tmp_path / "sys-module"
    (proc_sys / "net" / "ipv4").mkdir(parents=True)
    (proc_sys / "net" / "ipv4" / "ip_forward").write_text("0\n")
    (proc_sys / "net" / "bridge").mkdir()
    (proc_sys / "net" / "bridge" / "bridge-nf-call-iptables").write_text("1\n")
    (sys_module / "overlay").mkdir(parents=True)
    (tmp_path / "swaps").write_text("Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1024 0 -2\n")
    (tmp_path / "fstab").write_text("UUID=1 / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n")
    monkeypatch.setattr(_kernel, "PROC_SYS", str(proc_sys))
    monkeypatch.setattr(_kernel, "SYS_MODULE", str(sys_module))
    monkeypatch.setattr(_kernel, "PROC_SWAPS", str(tmp_path / "swaps"))
    calls: list[list[str]] = []

    def run_command(_self: Any, argv: list[str], **_kwargs: Any) -> tuple[int, str, str]:
        calls.append(list(argv))
        if argv[0] == "modprobe":
            (sys_module / argv[1]).mkdir()
        if argv[0] == "swapoff":
            (tmp_path / "swaps").write_text("Filename\tType\tSize\tUsed\tPriority\n")
        return 0, "", ""

    def leave(kind: str) -> Any:
        def exit_or_fail(_self: Any, **kwargs: Any) -> None:
            raise ModuleExit(kind, kwargs)

        return exit_or_fail

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", leave("exit"))
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", leave("fail"))
    return {"root": tmp_path, "calls": calls}


def run(node: dict[str, Any], check_mode: bool = False, **params: Any) -> ModuleExit:
    root = node["root"]
    args = {
        "modules": ["overlay", "br_netfilter"],
        "module_probes": {"br_netfilter": str(root / "sys-module" / "br_netfilter")},
        "sysctls": SYSCTLS,
        "modules_load_file": str(root / "etc" / "modules-load.d" / "k.conf"),
        "sysctl_file": str(root / "etc" / "sysctl.d" / "k.conf"),
        "disable_swap": True,
        "fstab": str(root / "fstab"),
        **params,
    }
    with (
        patch_module_args({**args, "_ansible_check_mode": check_mode, "_ansible_diff": True}),
        pytest.raises(ModuleExit) as outcome,
    ):
        kernel_settings.main()
    return outcome.value


def test_check_mode_reports_everything_it_would_do_and_does_nothing(node: dict[str, Any]) -> None:
    before = sorted(p.relative_to(node["root"]) for p in node["root"].rglob("*"))
    outcome = run(node, check_mode=True)
    assert outcome.kind == "exit"
    assert outcome.payload["changed"] is True
    assert [Path(f["path"]).name for f in outcome.payload["files"]] == ["k.conf", "k.conf", "fstab"]
    assert outcome.payload["live"] == {
        "load_modules": ["br_netfilter"],
        "set_sysctls": {"net.ipv4.ip_forward": "1"},
        "swapoff": ["/swapfile"],
    }
    assert [d["before_header"] for d in outcome.payload["diff"]] == [f["path"] for f in outcome.payload["files"]]
    assert node["calls"] == []
    assert sorted(p.relative_to(node["root"]) for p in node["root"].rglob("*")) == before


def test_apply_writes_the_files_changes_the_live_kernel_then_changes_nothing(node: dict[str, Any]) -> None:
    root = node["root"]
    (root / "fstab").chmod(0o664)
    outcome = run(node)
    assert outcome.kind == "exit"
    assert outcome.payload["changed"] is True
    assert node["calls"] == [["modprobe", "br_netfilter"], ["swapoff", "--all"]]
    assert (root / "proc-sys" / "net" / "ipv4" / "ip_forward").read_text() == "1\n"
    assert outcome.payload["sysctls"] == {"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1"}
    assert all(found["present"] for found in outcome.payload["modules"].values())
    sysctl_file = root / "etc" / "sysctl.d" / "k.conf"
    assert sysctl_file.read_text().splitlines()[1:] == [
        "net.ipv4.ip_forward = 1",
        "net.bridge.bridge-nf-call-iptables = 1",
    ]
    assert stat.S_IMODE(sysctl_file.stat().st_mode) == 0o644
    assert "/swapfile none swap sw 0 0" in (root / "fstab").read_text().splitlines()[1]
    assert (root / "fstab").read_text().splitlines()[1].startswith("# ")
    assert stat.S_IMODE((root / "fstab").stat().st_mode) == 0o664, "fstab keeps its own mode"
    assert not list(root.rglob(".kubeha-*")), "a temporary file was left behind"

    again = run(node)
    assert again.payload["changed"] is False
    assert again.payload["files"] == []
    assert not any(again.payload["live"].values())
    assert node["calls"] == [["modprobe", "br_netfilter"], ["swapoff", "--all"]]

    os.chmod(sysctl_file, 0o600)
    fixed = run(node)
    assert fixed.payload["changed"] is True
    assert fixed.payload["files"] == [{"path": str(sysctl_file), "reason": "mode 0644, owner root:root"}]
    assert stat.S_IMODE(sysctl_file.stat().st_mode) == 0o644


def test_without_apply_the_live_kernel_is_only_read(node: dict[str, Any]) -> None:
    outcome = run(node, apply=False)
    assert outcome.kind == "exit"
    assert outcome.payload["changed"] is True
    assert node["calls"] == []
    assert outcome.payload["live"]["swapoff"] == ["/swapfile"]
    assert outcome.payload["modules"]["br_netfilter"]["present"] is False
    assert (node["root"] / "proc-sys" / "net" / "ipv4" / "ip_forward").read_text() == "0\n"
    # The files are in place: a second run changes nothing, and still reports the live state.
    again = run(node, apply=False)
    assert again.payload["changed"] is False
    assert again.payload["live"]["set_sysctls"] == {"net.ipv4.ip_forward": "1"}


def test_a_failing_swapoff_is_reported_with_what_to_do(node: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        basic.AnsibleModule,
        "run_command",
        lambda _self, argv, **_kw: (
            (0, "", "")
            if argv[0] == "modprobe"
            else (255, "", "swapoff: /swapfile: swapoff failed: Operation not permitted")
        ),
    )
    outcome = run(node, modules=[], sysctls={})
    assert outcome.kind == "fail"
    assert (
        "swapoff --all failed (swapoff: /swapfile: swapoff failed: Operation not permitted)" in outcome.payload["msg"]
    )
    assert "/swapfile" in outcome.payload["msg"]
    assert "container host" in outcome.payload["msg"]


def test_every_returned_key_is_documented(node: dict[str, Any]) -> None:
    documented = set(yaml.safe_load(kernel_settings.RETURN)) | {"changed", "diff"}
    assert set(run(node, check_mode=True).payload) <= documented
