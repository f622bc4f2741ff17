"""kubeadm's preflight checks that matter on these nodes, with kubeadm's names and texts
(checks.go): ports, files, directories, binaries, sysctl, CPUs, memory, kubelet service."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import sys

from .cli import Fail
from .versions import STACK_HINT, Release


def _port_in_use(port: int) -> bool:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Go's net.Listen (kubeadm's PortOpenCheck) sets SO_REUSEADDR: TIME_WAIT leftovers are not "in use".
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("0.0.0.0", port))  # noqa: S104 - exactly what kubeadm's PortOpenCheck probes
    except OSError as exc:
        return exc.errno == errno.EADDRINUSE
    finally:
        sock.close()
    return False


def _check_name(prefix: str, path: str) -> str:
    return prefix + path.replace("/", "-")


def port(number: int):
    return f"Port-{number}", (f"Port {number} is in use" if _port_in_use(number) else None), True


def file_available(path: str):
    return _check_name("FileAvailable-", path), (f"{path} already exists" if os.path.exists(path) else None), True


def dir_available(path: str):
    busy = os.path.isdir(path) and bool(os.listdir(path))
    return _check_name("DirAvailable-", path), (f"{path} is not empty" if busy else None), True


def file_existing(binary: str, mandatory: bool = True):
    found = shutil.which(binary) is not None
    return f"FileExisting-{binary}", (None if found else f"{binary} not found in system path"), mandatory


def ip_forward():
    path = "/proc/sys/net/ipv4/ip_forward"
    try:
        with open(path, encoding="ascii") as handle:
            ok = handle.read().strip() == "1"
    except OSError:
        ok = False
    return _check_name("FileContent-", path), (None if ok else f"{path} contents are not set to 1"), True


def num_cpu():
    count = os.cpu_count() or 1
    msg = None if count >= 2 else f"the number of available CPUs {count} is less than the required 2"
    return "NumCPU", msg, True


def memory():
    with open("/proc/meminfo", encoding="ascii") as handle:
        total_kb = int(handle.readline().split()[1])
    mb = total_kb // 1024
    return "Mem", (None if mb >= 1700 else f"the system RAM ({mb} MB) is less than the minimum 1700 MB"), True


def kubelet_service():
    try:
        state = subprocess.run(
            ["systemctl", "is-enabled", "kubelet.service"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        state = ""
    msg = (
        None if state == "enabled" else "kubelet service is not enabled, please run 'systemctl enable kubelet.service'"
    )
    return "Service-Kubelet", msg, False


def common_checks():
    return [
        *(file_existing(b) for b in ("ip", "iptables", "mount", "nsenter")),
        *(file_existing(b, False) for b in ("ethtool", "socat", "tc", "touch")),
        kubelet_service(),
        port(10250),
        ip_forward(),
    ]


def init_checks(bind_port: int, data_dir: str, secondary_control_plane: bool = False):
    """InitNodeChecks; a joining control plane already ran the common checks with the join checks."""
    manifests = "/etc/kubernetes/manifests"
    return [
        num_cpu(),
        memory(),
        port(bind_port),
        port(10259),
        port(10257),
        *(
            file_available(f"{manifests}/{c}.yaml")
            for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")
        ),
        *([] if secondary_control_plane else common_checks()),
        port(2379),
        port(2380),
        dir_available(data_dir),
    ]


def join_checks(control_plane: bool):
    checks = [
        file_available("/etc/kubernetes/kubelet.conf"),
        file_available("/etc/kubernetes/bootstrap-kubelet.conf"),
        *common_checks(),
    ]
    if not control_plane:
        checks.append(file_available("/etc/kubernetes/pki/ca.crt"))
    return checks


def run(checks, ignored: list[str], release: Release) -> list[str]:
    """Print warnings, raise Fail with kubeadm's block for errors; returns warning lines."""
    ignore = {name.lower() for name in ignored}
    errors, warnings = [], []
    for name, msg, mandatory in checks:
        if msg is None:
            continue
        if mandatory and "all" not in ignore and name.lower() not in ignore:
            errors.append(f"\t[ERROR {name}]: {msg}")
        else:
            warnings.append(f"\t[WARNING {name}]: {msg}")
    if warnings:
        sys.stderr.write("\n".join(warnings) + "\n")
        sys.stderr.flush()
    if errors:
        block = "[preflight] Some fatal errors occurred:\n" + "\n".join(errors) + "\n"
        hint = (
            "[preflight] If you know what you are doing, you can make a check non-fatal with "
            "`--ignore-preflight-errors=...`\n"
        )
        if release.minor >= 34:
            raise Fail(block + hint + release.phase_error("preflight", "preflight checks failed"))
        raise Fail(f"error execution phase preflight: {block}{hint}{STACK_HINT}\n")
    return warnings
