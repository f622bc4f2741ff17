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
