#!/usr/bin/python
# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kernel_settings
short_description: Make a node's kernel modules, sysctls and swap what the kubelet needs, in one call
version_added: 0.2.0
description:
  - Writes the C(modules-load.d) and C(sysctl.d) files that load the kernel modules and set the sysctls at
    boot, and comments the swap lines out of C(/etc/fstab) when O(disable_swap=true).
  - With O(apply=true), also makes the live kernel match - loads the modules that are not present, sets the
    sysctls that differ, and turns the active swap areas off. With O(apply=false) (a container, which shares
    its host's kernel) the live kernel is only read, and returned for the caller to check.
  - One call does what would otherwise take a task per file, per module and per sysctl.
options:
  modules:
    description: Kernel modules to load now (O(apply=true)) and at boot.
    type: list
    elements: str
    default: []
  module_probes:
    description:
      - For a module, the path whose existence proves its function is present (for example
        C(/proc/sys/net/bridge) for C(br_netfilter)). A module not listed is probed at C(/sys/module/<name>).
    type: dict
    default: {}
  sysctls:
    description: Sysctls to set now (O(apply=true)) and at boot, by key with dots (C(net.ipv4.ip_forward)).
    type: dict
    default: {}
  modules_load_file:
    description: The file listing O(modules) for C(systemd-modules-load). Written only when O(modules) is not empty.
    type: path
    default: /etc/modules-load.d/kubeha-kubernetes.conf
  sysctl_file:
    description: The file holding O(sysctls) for C(systemd-sysctl). Written only when O(sysctls) is not empty.
    type: path
    default: /etc/sysctl.d/90-kubeha-kubernetes.conf
  disable_swap:
    description:
      - Comment the swap lines out of O(fstab), and with O(apply=true) run C(swapoff --all) while any is active.
    type: bool
    default: false
  fstab:
    description: The file system table whose swap lines are commented out. A missing file has none.
    type: path
    default: /etc/fstab
  apply:
    description:
      - Change the live kernel too. V(false) where the kernel is not this node's own, such as in a container.
      - Inside a container, swap areas are the host's; C(swapoff) then fails, and the module reports it.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reports what it would write, load, set and turn off, and changes nothing.
  diff_mode:
    support: full
    description: Shows each file's change.
  idempotent:
    support: full
    description: A second run with the same options changes nothing.
  platform:
    support: full
    platforms: posix
    description: Linux with systemd's C(modules-load.d) and C(sysctl.d).
seealso:
  - module: kubeha.kubeadm.kernel_settings_info
  - name: Container runtime prerequisites
    description: The modules and sysctls Kubernetes networking needs.
    link: https://kubernetes.io/docs/setup/production-environment/container-runtimes/#prerequisite-ipv4-forwarding-optional
author:
  - kubeha developers (@kubeha)
"""

EXAMPLES = r"""
- name: Kernel modules, sysctls and swap for the kubelet
  kubeha.kubeadm.kernel_settings:
    modules: [overlay, br_netfilter]
    module_probes:
      br_netfilter: /proc/sys/net/bridge
    sysctls:
      net.ipv4.ip_forward: "1"
      net.bridge.bridge-nf-call-iptables: "1"
    disable_swap: true
    apply: "{{ ansible_facts.virtualization_role != 'guest' }}"
  register: kernel

- name: Fail when IP forwarding is off on a kernel this node cannot change
  ansible.builtin.assert:
    that: kernel.sysctls['net.ipv4.ip_forward'] == '1'
"""

RETURN = r"""
modules:
  description: By module name, whether its function is present and the path that was probed (after the change).
  returned: always
  type: dict
  sample: {br_netfilter: {present: true, probe: /proc/sys/net/bridge}}
sysctls:
  description: By sysctl key, its live value with surrounding whitespace trimmed, V(null) when the key does not exist.
  returned: always
  type: dict
  sample: {net.ipv4.ip_forward: "1"}
files:
  description: The files written (or, in check mode, that would be), with the reason.
  returned: always
  type: list
  elements: dict
  sample: [{path: /etc/sysctl.d/90-kubeha-kubernetes.conf, reason: sysctls to set at boot}]
live:
  description:
    - What the live kernel needed - C(load_modules), C(set_sysctls) and C(swapoff) (the active swap areas);
      acted on only with O(apply=true) and outside check mode.
  returned: always
  type: dict
  sample: {load_modules: [], set_sysctls: {}, swapoff: []}
"""

# Ansible modules keep their imports below the documentation strings (validate-modules insists).
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils import _files, _kernel  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "modules": {"type": "list", "elements": "str", "default": []},
            "module_probes": {"type": "dict", "default": {}},
            "sysctls": {"type": "dict", "default": {}},
            "modules_load_file": {"type": "path", "default": "/etc/modules-load.d/kubeha-kubernetes.conf"},
            "sysctl_file": {"type": "path", "default": "/etc/sysctl.d/90-kubeha-kubernetes.conf"},
            "disable_swap": {"type": "bool", "default": False},
            "fstab": {"type": "path", "default": _kernel.FSTAB},
            "apply": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    sysctls = {key: str(value) for key, value in params["sysctls"].items()}
    plans = _kernel.plan_files(
        params["modules"],
        sysctls,
        params["modules_load_file"],
        params["sysctl_file"],
        disable_swap=params["disable_swap"],
        fstab=params["fstab"],
    )
    state = _kernel.kernel_state(params["modules"], params["module_probes"], list(sysctls))
    live = _kernel.live_changes(state, sysctls, params["disable_swap"])
    acts_on_live = params["apply"] and any(live.values())
    changed = bool(plans or acts_on_live)

    if not module.check_mode:
        _files.apply(module, plans)
        if params["apply"]:
            for name in live["load_modules"]:
                module.run_command(["modprobe", name], check_rc=True)
            for key, value in live["set_sysctls"].items():
                try:
                    _kernel.write_sysctl(key, value)
                except OSError as error:
                    module.fail_json(msg=f"could not set sysctl {key}={value}: {error}", live=live)
            if live["swapoff"]:
                rc, _out, err = module.run_command(["swapoff", "--all"], environ_update={"LC_ALL": "C"})
                if rc != 0:
                    module.fail_json(
                        msg=(
                            f"swapoff --all failed ({err.strip() or f'exit {rc}'}) with swap active on "
                            f"{', '.join(live['swapoff'])}: turn swap off on this host, or inside a container "
                            "on the container host."
                        ),
                        live=live,
                    )
            state = _kernel.kernel_state(params["modules"], params["module_probes"], list(sysctls))

    module.exit_json(
        changed=changed,
        modules=state["modules"],
        sysctls=state["sysctls"],
        files=[{"path": change["path"], "reason": change["reason"]} for change in plans],
        live=live,
        diff=_files.diffs(plans),
    )


if __name__ == "__main__":
    main()
