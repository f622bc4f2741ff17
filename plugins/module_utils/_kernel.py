# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The live kernel state a Kubernetes node needs, read in one pass (the kernel_settings_info module).

Private to kubeha.kubeadm: the names here may change in any release. Runs on the managed node:
standard library only, Python 3.9+. Read only: where the kernel cannot be changed from the node
(a container shares its host's), the prerequisites role checks this answer instead of loading
modules and setting sysctls.
"""

from __future__ import annotations

import os
from typing import Any

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
    proc_sys: str = PROC_SYS,
    sys_module: str = SYS_MODULE,
) -> dict[str, Any]:
    """Each module's presence (its probe path, else /sys/module/<name>, exists) and each sysctl's value."""
    found_modules = {}
    for name in modules:
        probe = probes.get(name) or os.path.join(sys_module, name)
        found_modules[name] = {"present": os.path.exists(probe), "probe": probe}
    return {
        "modules": found_modules,
        "sysctls": {key: read_sysctl(key, proc_sys) for key in sysctls},
    }
