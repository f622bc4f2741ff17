#!/usr/bin/python
# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kernel_settings_info
short_description: Read whether kernel modules are present and what sysctls are set, in one call
version_added: 0.1.0
description:
  - Tells, for each kernel module named, whether its function is present (a probe path exists), and,
    for each sysctl named, its live value under C(/proc/sys).
  - Meant for nodes whose kernel cannot be changed from the node itself, such as containers, which
    share their host's kernel; one call answers for every module and sysctl.
  - Changes nothing.
options:
  modules:
    description: Kernel modules whose presence to check.
    type: list
    elements: str
    default: []
  module_probes:
    description:
      - For a module, the path whose existence proves its function is present (for example
        C(/proc/sys/net/bridge) for C(br_netfilter)). A module not listed is probed at
        C(/sys/module/<name>).
    type: dict
    default: {}
  sysctls:
    description: Sysctl keys to read, with dots (C(net.ipv4.ip_forward)).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Reads the same files in check mode.
  diff_mode:
    support: none
    description: Nothing to show as a diff.
  idempotent:
    support: full
    description: Changes nothing.
  platform:
    support: full
    platforms: posix
    description: Linux.
author:
  - kubeha developers (@kubeha)
"""

EXAMPLES = r"""
- name: Read the kernel state Kubernetes networking needs
  kubeha.kubeadm.kernel_settings_info:
    modules: [overlay, br_netfilter]
    module_probes:
      br_netfilter: /proc/sys/net/bridge
    sysctls: [net.ipv4.ip_forward, net.bridge.bridge-nf-call-iptables]
  register: kernel

- name: Fail when IP forwarding is off
  ansible.builtin.assert:
    that: kernel.sysctls['net.ipv4.ip_forward'] == '1'
"""

RETURN = r"""
modules:
  description: By module name, whether its function is present and the path that was probed.
  returned: always
  type: dict
  sample: {br_netfilter: {present: true, probe: /proc/sys/net/bridge}}
sysctls:
  description: By sysctl key, its live value with surrounding whitespace trimmed, V(null) when the key does not exist.
  returned: always
  type: dict
  sample: {net.ipv4.ip_forward: "1"}
"""

# Ansible modules keep their imports below the documentation strings (validate-modules insists).
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kernel import kernel_state  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "modules": {"type": "list", "elements": "str", "default": []},
            "module_probes": {"type": "dict", "default": {}},
            "sysctls": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    state = kernel_state(module.params["modules"], module.params["module_probes"], module.params["sysctls"])
    module.exit_json(changed=False, **state)


if __name__ == "__main__":
    main()
