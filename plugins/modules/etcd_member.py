#!/usr/bin/python
# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: etcd_member
short_description: Remove a member from a stacked etcd cluster, by peer URL or name, keeping its quorum
version_added: 0.1.0
description:
  - Makes sure no etcd member has the given peer URL (or name), through the member at O(endpoint). A
    member that is not listed is left alone (RV(ignore:changed=false)).
  - Before removing a voting member, asks every voting member that stays for its C(/health) and refuses
    (nothing changes) unless a majority of them is healthy, because etcd without a quorum stops the
    Kubernetes API. O(allow_quorum_loss=true) skips that check. Removing a learner never changes the quorum.
  - Typical uses, from a healthy control plane - the member a failed or interrupted C(kubeadm join)
    left behind (often one that never started), before joining that node again; and the member of a
    control plane that is gone for good, or that C(kubeadm reset) could not remove.
extends_documentation_fragment:
  - kubeha.kubeadm._etcd
options:
  state:
    description:
      - V(absent) is the only state; a member is added by C(kubeadm join), never by this module.
    type: str
    choices: [absent]
    default: absent
  peer_url:
    description:
      - The peer URL of the member to remove, for example V(https://10.0.0.13:2380) (an IPv6 address in
        brackets). Matches a member that never started too, which has no name.
      - Compared without a trailing slash and ignoring case. One of O(peer_url) and O(name) is required.
    type: str
  name:
    description:
      - The name of the member to remove (kubeadm names it after the node). Every member with that name is
        removed. A member that never started has no name; use O(peer_url) for it.
    type: str
  allow_quorum_loss:
    description:
      - Remove the member even when the members that stay would have no healthy quorum.
      - Only for a deliberate recovery, for example removing a member that is down from a cluster that
        has lost its quorum anyway; etcd itself may still refuse the change.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description:
      - Lists the members and checks the quorum as it would, then reports whether a member would be
        removed without removing it. A removal that would be refused fails in check mode too.
  diff_mode:
    support: none
    description: The members removed are returned in RV(removed) instead.
  idempotent:
    support: full
    description: Once the member is gone, a second run finds nothing to remove and reports no change.
  platform:
    support: full
    platforms: posix
    description: Any host that reaches the etcd member with the client certificate, usually a control plane.
notes:
  - Change etcd's membership one member at a time, on a cluster whose other members are healthy.
seealso:
  - module: kubeha.kubeadm.etcd_member_info
  - name: etcd runtime reconfiguration
    description: etcd's guide to adding and removing members safely.
    link: https://etcd.io/docs/v3.5/op-guide/runtime-configuration/
author:
  - kubeha developers (@kubeha)
"""

EXAMPLES = r"""
- name: Remove the member an interrupted join of cp4 left behind, on a healthy control plane
  kubeha.kubeadm.etcd_member:
    peer_url: https://10.0.0.14:2380
    state: absent
  delegate_to: cp1

- name: Remove the member of a control plane that is gone, by name
  kubeha.kubeadm.etcd_member:
    name: cp3
    state: absent

- name: Check, changing nothing, that removing cp2's member keeps etcd's quorum
  kubeha.kubeadm.etcd_member:
    peer_url: "https://[fd00::12]:2380"
    state: absent
  check_mode: true
"""

RETURN = r"""
endpoint:
  description: The endpoint that listed (and removed) the members.
  returned: always
  type: str
  sample: https://127.0.0.1:2379
removed:
  description:
    - The members removed (in check mode, that would be removed), each as in
      M(kubeha.kubeadm.etcd_member_info)'s RV(kubeha.kubeadm.etcd_member_info#module:members).
      Empty when no member matched.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 2a1b3c4d5e6f7081
      name: ""
      peer_urls: [https://10.0.0.14:2380]
      client_urls: []
      started: false
      learner: false
      leader: null
      health: unchecked
      healthy: null
      health_detail: ""
members:
  description:
    - The members that stay (all of them when none matched), as in M(kubeha.kubeadm.etcd_member_info)'s
      RV(kubeha.kubeadm.etcd_member_info#module:members), with the health found by the quorum check;
      C(leader) is null (not asked).
  returned: always
  type: list
  elements: dict
quorum:
  description:
    - The quorum verdict over the voting members that stay, as in M(kubeha.kubeadm.etcd_member_info)'s
      RV(kubeha.kubeadm.etcd_member_info#module:quorum); null when no member matched (nothing to check).
  returned: always
  type: dict
  sample: {voting: 3, needed: 2, healthy: 3, unknown: 0, ok: true, tolerates: 1}
"""

# Ansible modules keep their imports below the documentation strings (validate-modules insists).
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._etcd import (  # noqa: E402
    CLIENT_ARGUMENT_SPEC,
    EtcdError,
    client_from_params,
    remove_member,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **CLIENT_ARGUMENT_SPEC,
            "state": {"type": "str", "choices": ["absent"], "default": "absent"},
            "peer_url": {"type": "str"},
            "name": {"type": "str"},
            "allow_quorum_loss": {"type": "bool", "default": False},
        },
        mutually_exclusive=[("peer_url", "name")],
        required_one_of=[("peer_url", "name")],
        supports_check_mode=True,
    )
    try:
        result = remove_member(
            client_from_params(module.params),
            peer_url=module.params["peer_url"],
            name=module.params["name"],
            allow_quorum_loss=module.params["allow_quorum_loss"],
            check_mode=module.check_mode,
        )
    except EtcdError as exc:
        module.fail_json(**exc.fail_kwargs())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
