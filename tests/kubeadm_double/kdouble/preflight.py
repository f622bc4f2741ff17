"""kubeadm's preflight checks that matter on these nodes, with kubeadm's names and texts
(checks.go): ports, files, directories, binaries, sysctl, CPUs, memory, kubelet service, the
container runtime's version and the system verification (cgroups)."""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import subprocess
import sys

from .cli import Fail, out
from .versions import STACK_HINT, Release

CGROUP_ROOT = "/sys/fs/cgroup"
# The validator's text (k8s.io/system-validators, cgroup_validator_linux.go).
CGROUP_V1_TEXT = (
    "cgroups v1 support is deprecated and will be removed in a future release. Please migrate to cgroups v2. "
    "To explicitly enable cgroups v1 support for kubelet v1.35 or newer, you must set the kubelet configuration "
    "option 'FailCgroupV1' to 'false'. You must also explicitly skip this validation. For more information, see "
    "https://git.k8s.io/enhancements/keps/sig-node/5573-remove-cgroup-v1"
)


def cgroup_v1() -> bool:
    """cgroup v2 mounts cgroup2 on /sys/fs/cgroup, whose root lists cgroup.controllers; v1 mounts a tmpfs."""
    return not os.path.exists(f"{CGROUP_ROOT}/cgroup.controllers")


def _port_in_use(port: int, address: str = "0.0.0.0") -> bool:  # noqa: S104 - kubeadm's probe up to 1.36
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # Go's net.Listen (kubeadm's PortOpenCheck) sets SO_REUSEADDR: TIME_WAIT leftovers are not "in use".
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
    except OSError as exc:
        return exc.errno == errno.EADDRINUSE
    finally:
        sock.close()
    return False


def _check_name(prefix: str, path: str) -> str:
    return prefix + path.replace("/", "-")


def port(number: int, address: str = "0.0.0.0"):  # noqa: S104 - every address, as net.Listen(":port")
    return f"Port-{number}", (f"Port {number} is in use" if _port_in_use(number, address) else None), True


def containerd_version() -> tuple[int, int] | None:
    """The installed containerd's (major, minor), from `containerd --version`; None without one."""
    try:
        text = subprocess.run(["containerd", "--version"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return None
    match = re.search(r" v?(\d+)\.(\d+)\.\d+", text)
    return (int(match[1]), int(match[2])) if match else None


def container_runtime_version(release: Release):
    """1.35+: a runtime without the CRI RuntimeConfig method (containerd before 2.0) is warned about."""
    found = containerd_version()
    msg = None
    if release.minor >= 35 and found is not None and found < (2, 0):
        removal = release.runtime_config_removal()
        msg = (
            "You must update your container runtime to a version that supports the CRI method RuntimeConfig. "
            f"Falling back to using cgroupDriver from kubelet config will be removed in {removal}. "
            "For more information, see https://git.k8s.io/enhancements/keps/sig-node/4033-group-driver-detection-over-cri"
        )
    return "ContainerRuntimeVersion", msg, False


def _report() -> list[str]:
    """The validator's report lines that kubeadm prints when the verification has errors."""
    lines = [f"KERNEL_VERSION: {os.uname().release}", "OS: Linux"]
    try:
        with open("/proc/cgroups", encoding="ascii") as handle:
            rows = [line.split() for line in handle if not line.startswith("#")]
    except OSError:
        rows = []
    enabled = {row[0] for row in rows if len(row) >= 4 and row[3] == "1"}
    for name in ("cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids", "hugetlb", "blkio"):
        lines.append(f"CGROUPS_{name.upper()}: {'enabled' if name in enabled else 'missing'}")
    return lines


def system_verification(release: Release):
    """cgroup v1: an error for kubelet 1.35+ (whatever failCgroupV1 says), a warning before."""
    if not cgroup_v1():
        return "SystemVerification", None, False
    mandatory = release.minor >= 35
    if mandatory:
        # kubeadm prints the validator's report whenever it found errors, ignored or not.
        out("[preflight] The system verification failed. Printing the output from the verification:")
        for line in _report():
            out(line)
    return "SystemVerification", CGROUP_V1_TEXT, mandatory


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


def common_checks(release: Release):
    return [
        container_runtime_version(release),
        *(file_existing(b) for b in ("ip", "iptables", "mount", "nsenter")),
        *(file_existing(b, False) for b in ("ethtool", "socat", "tc", "touch")),
        system_verification(release),
        kubelet_service(),
        port(10250),
        ip_forward(),
    ]


def init_checks(bind_port: int, data_dir: str, release: Release, address: str, secondary_control_plane: bool = False):
    """InitNodeChecks; a joining control plane already ran the common checks with the join checks.
    Up to 1.36 the port checks listen on every address; 1.37 probes the configured one
    (localAPIEndpoint.address for the API server, --bind-address for the other two)."""
    manifests = "/etc/kubernetes/manifests"
    api, local = (address, "127.0.0.1") if release.minor >= 37 else ("0.0.0.0", "0.0.0.0")  # noqa: S104
    return [
        num_cpu(),
        memory(),
        port(bind_port, api),
        port(10259, local),
        port(10257, local),
        *(
            file_available(f"{manifests}/{c}.yaml")
            for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")
        ),
        *([] if secondary_control_plane else common_checks(release)),
        port(2379),
        port(2380),
        dir_available(data_dir),
    ]


def join_checks(control_plane: bool, release: Release):
    checks = [
        file_available("/etc/kubernetes/kubelet.conf"),
        file_available("/etc/kubernetes/bootstrap-kubelet.conf"),
        *common_checks(release),
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
