"""The live kernel state the prerequisites role checks where it cannot change the kernel."""

from __future__ import annotations

from pathlib import Path

from ansible_collections.kubeha.kubeadm.plugins.module_utils import _kernel


def test_modules_by_probe_or_sys_module_and_sysctls_by_value(tmp_path: Path) -> None:
    proc_sys, sys_module = tmp_path / "proc-sys", tmp_path / "sys-module"
    (proc_sys / "net" / "ipv4").mkdir(parents=True)
    (proc_sys / "net" / "ipv4" / "ip_forward").write_text("1\n")
    (proc_sys / "net" / "bridge").mkdir()
    (proc_sys / "net" / "bridge" / "bridge-nf-call-iptables").write_text("0\n")
    (sys_module / "overlay").mkdir(parents=True)
    state = _kernel.kernel_state(
        ["overlay", "br_netfilter", "nf_conntrack"],
        {"br_netfilter": str(proc_sys / "net" / "bridge")},
        ["net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables", "net.ipv6.conf.all.forwarding"],
        proc_sys=str(proc_sys),
        sys_module=str(sys_module),
    )
    assert state["modules"] == {
        "overlay": {"present": True, "probe": str(sys_module / "overlay")},
        "br_netfilter": {"present": True, "probe": str(proc_sys / "net" / "bridge")},
        "nf_conntrack": {"present": False, "probe": str(sys_module / "nf_conntrack")},
    }
    assert state["sysctls"] == {
        "net.ipv4.ip_forward": "1",
        "net.bridge.bridge-nf-call-iptables": "0",
        "net.ipv6.conf.all.forwarding": None,
    }


def test_a_multi_value_sysctl_keeps_its_fields(tmp_path: Path) -> None:
    (tmp_path / "net" / "ipv4").mkdir(parents=True)
    (tmp_path / "net" / "ipv4" / "ip_local_port_range").write_text("32768\t60999\n")
    assert _kernel.read_sysctl("net.ipv4.ip_local_port_range", str(tmp_path)) == "32768\t60999"
    assert _kernel.sysctl_path("net.ipv4.ip_forward", "/proc/sys") == "/proc/sys/net/ipv4/ip_forward"


FSTAB = """\
# <file system> <mount point> <type> <options> <dump> <pass>
UUID=1234 / ext4 errors=remount-ro 0 1
/swapfile none swap sw 0 0
  UUID=5678   none   swap   defaults   0   0
# /old-swap none swap sw 0 0
tmpfs /swapdir tmpfs defaults 0 0
"""


def test_fstab_swap_lines_are_commented_out_once_and_marked() -> None:
    rewritten, count = _kernel.fstab_without_swap(FSTAB)
    assert count == 2
    lines = rewritten.splitlines()
    assert lines[1] == "UUID=1234 / ext4 errors=remount-ro 0 1"
    assert lines[2] == "# /swapfile none swap sw 0 0" + _kernel.FSTAB_MARK
    assert lines[3] == "#   UUID=5678   none   swap   defaults   0   0" + _kernel.FSTAB_MARK
    # Comments, and a mount point that merely contains "swap", stay as they were.
    assert lines[4:] == FSTAB.splitlines()[4:]
    assert _kernel.fstab_without_swap(rewritten) == (rewritten, 0)


def test_plan_files_writes_only_what_differs(tmp_path: Path) -> None:
    modules_file, sysctl_file, fstab = tmp_path / "m.conf", tmp_path / "s.conf", tmp_path / "fstab"
    fstab.write_text(FSTAB)
    sysctls = {"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1"}
    plans = _kernel.plan_files(
        ["overlay", "br_netfilter"], sysctls, str(modules_file), str(sysctl_file), disable_swap=True, fstab=str(fstab)
    )
    assert [(plan["path"], plan["before"]) for plan in plans] == [
        (str(modules_file), None),
        (str(sysctl_file), None),
        (str(fstab), FSTAB),
    ]
    assert plans[0]["after"].splitlines()[1:] == ["overlay", "br_netfilter"]
    assert plans[1]["after"].splitlines()[1:] == ["net.ipv4.ip_forward = 1", "net.bridge.bridge-nf-call-iptables = 1"]
    for plan in plans:
        Path(plan["path"]).write_text(plan["after"])
    assert (
        _kernel.plan_files(
            ["overlay", "br_netfilter"],
            sysctls,
            str(modules_file),
            str(sysctl_file),
            disable_swap=True,
            fstab=str(fstab),
        )
        == []
    )
    # A changed list is a change; an empty list writes no file at all; no fstab has no swap.
    assert [
        p["path"]
        for p in _kernel.plan_files(
            ["overlay"], {}, str(modules_file), str(sysctl_file), disable_swap=True, fstab=str(tmp_path / "none")
        )
    ] == [str(modules_file)]


def test_live_changes_name_missing_modules_differing_sysctls_and_active_swap(tmp_path: Path) -> None:
    swaps = tmp_path / "swaps"
    swaps.write_text("Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1024 0 -2\n")
    state = {
        "modules": {"overlay": {"present": True}, "br_netfilter": {"present": False}},
        "sysctls": {"net.ipv4.ip_forward": "0", "net.ipv4.ip_local_port_range": "32768\t60999", "absent.key": None},
    }
    wanted = {"net.ipv4.ip_forward": "1", "net.ipv4.ip_local_port_range": "32768 60999", "absent.key": "1"}
    assert _kernel.live_changes(state, wanted, True, str(swaps)) == {
        "load_modules": ["br_netfilter"],
        "set_sysctls": {"net.ipv4.ip_forward": "1", "absent.key": "1"},
        "swapoff": ["/swapfile"],
    }
    assert _kernel.live_changes(state, {}, False, str(swaps))["swapoff"] == []
    swaps.write_text("Filename\tType\tSize\tUsed\tPriority\n")
    assert _kernel.active_swaps(str(swaps)) == []
    assert _kernel.active_swaps(str(tmp_path / "missing")) == []


def test_write_sysctl_writes_the_value_where_sysctl_w_would(tmp_path: Path) -> None:
    (tmp_path / "net" / "ipv4").mkdir(parents=True)
    _kernel.write_sysctl("net.ipv4.ip_forward", "1", str(tmp_path))
    assert (tmp_path / "net" / "ipv4" / "ip_forward").read_text() == "1\n"
