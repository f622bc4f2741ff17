# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The kernel state a Kubernetes node needs: read in one pass (kernel_settings_info), made true (kernel_settings).

Private to kubeha.kubeadm: the names here may change in any release. Runs on the managed node:
standard library only, Python 3.9+. The functions here read and plan; the kernel_settings module
writes what they plan. Where the kernel cannot be changed from the node (a container shares its
host's), the live part is only read, and the prerequisites role checks that answer.
"""

from __future__ import annotations

import os
import re
from typing import Any

from ansible_collections.kubeha.kubeadm.plugins.module_utils import _files

PROC_SYS = "/proc/sys"
SYS_MODULE = "/sys/module"


def sysctl_path(key: str, proc_sys: str = PROC_SYS) -> str:
    """/proc/sys/net/ipv4/ip_forward for net.ipv4.ip_forward (sysctl's dots are path separators)."""
    return os.path.join(proc_sys, *key.split("."))


def read_sysctl(key: str, proc_sys: str = PROC_SYS) -> str | None:
    """The live value, whitespace trimmed (tabs between a multi-value sysctl's fields kept); None when absent."""
    try:
        with open(sysctl_path(key, proc_sys), encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return None


def kernel_state(
    modules: list[str],
    probes: dict[str, str],
    sysctls: list[str],
    proc_sys: str | None = None,
    sys_module: str | None = None,
) -> dict[str, Any]:
    """Each module's presence (its probe path, else /sys/module/<name>, exists) and each sysctl's value."""
    proc_sys, sys_module = proc_sys or PROC_SYS, sys_module or SYS_MODULE
    found_modules = {}
    for name in modules:
        probe = probes.get(name) or os.path.join(sys_module, name)
        found_modules[name] = {"present": os.path.exists(probe), "probe": probe}
    return {
        "modules": found_modules,
        "sysctls": {key: read_sysctl(key, proc_sys) for key in sysctls},
    }


# The node's persistent kernel settings, and swap: what the kernel_settings module makes true.
FSTAB = "/etc/fstab"
PROC_SWAPS = "/proc/swaps"
# An active fstab line whose type field is swap; comments and blank lines never match.
FSTAB_SWAP = re.compile(r"^\s*[^#\s]+\s+\S+\s+swap(\s|$)")
FSTAB_MARK = "  # disabled for the kubelet (kubeha.kubeadm)"


def modules_load_content(modules: list[str]) -> str:
    """The modules-load.d file systemd-modules-load reads at boot: one module per line."""
    lines = ["# Managed by kubeha.kubeadm: kernel modules Kubernetes networking needs."]
    return "\n".join(lines + list(modules)) + "\n"


def sysctl_content(sysctls: dict[str, str]) -> str:
    """The sysctl.d file systemd-sysctl applies at boot, key = value in the order given."""
    lines = ["# Managed by kubeha.kubeadm: sysctls kubeadm and the CNI need."]
    return "\n".join(lines + [f"{key} = {value}" for key, value in sysctls.items()]) + "\n"


def same_sysctl_value(live: str | None, wanted: str) -> bool:
    """Compare as sysctl does: fields separated by any whitespace (a port range is tab-separated)."""
    return live is not None and live.split() == str(wanted).split()


def active_swaps(proc_swaps: str | None = None) -> list[str]:
    """The active swap areas' names (/proc/swaps' first field, after its header line)."""
    try:
        with open(proc_swaps or PROC_SWAPS, encoding="utf-8") as handle:
            lines = handle.read().splitlines()[1:]
    except OSError:
        return []
    return [line.split()[0] for line in lines if line.strip()]


def fstab_without_swap(text: str) -> tuple[str, int]:
    """fstab with every active swap line commented out (and marked), and how many there were."""
    out, count = [], 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        if FSTAB_SWAP.match(body):
            out.append(f"# {body}{FSTAB_MARK}" + ("\n" if line.endswith("\n") else ""))
            count += 1
        else:
            out.append(line)
    return "".join(out), count


def plan_files(
    modules: list[str],
    sysctls: dict[str, str],
    modules_load_file: str,
    sysctl_file: str,
    *,
    disable_swap: bool,
    fstab: str = FSTAB,
) -> list[dict[str, Any]]:
    """_files.plan() of the modules-load and sysctl files (owned) and of fstab's swap lines (edited)."""
    wanted: list[tuple[str, str, str, bool]] = []
    if modules:
        wanted.append((modules_load_file, modules_load_content(modules), "kernel modules to load at boot", True))
    if sysctls:
        wanted.append((sysctl_file, sysctl_content(sysctls), "sysctls to set at boot", True))
    if disable_swap:
        current = _files.read_text(fstab)
        if current is not None:
            rewritten, count = fstab_without_swap(current)
            if count:
                wanted.append((fstab, rewritten, f"{count} swap line(s) commented out of {fstab}", False))
    return _files.plan(wanted)


def live_changes(
    state: dict[str, Any], sysctls: dict[str, str], disable_swap: bool, proc_swaps: str | None = None
) -> dict[str, Any]:
    """What the live kernel needs: modules to load, sysctls to set, swap areas to turn off."""
    return {
        "load_modules": [name for name, found in state["modules"].items() if not found["present"]],
        "set_sysctls": {
            key: str(value) for key, value in sysctls.items() if not same_sysctl_value(state["sysctls"].get(key), value)
        },
        "swapoff": active_swaps(proc_swaps) if disable_swap else [],
    }


def write_sysctl(key: str, value: str, proc_sys: str | None = None) -> None:
    """Set a live sysctl, as `sysctl -w` does."""
    with open(sysctl_path(key, proc_sys or PROC_SYS), "w", encoding="utf-8") as handle:
        handle.write(f"{value}\n")
