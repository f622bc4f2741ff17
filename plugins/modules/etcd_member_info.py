#!/usr/bin/python
# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: etcd_member_info
short_description: List a stacked etcd cluster's members with their health, the leader and the quorum verdict
version_added: 0.1.0
description:
  - Asks one etcd member (O(endpoint), this node's own by default) for the cluster's members, and the
    leader it sees, then asks every member for its C(/health) through the member's first client URL.
  - Returns each member's name, ID, peer and client URLs, whether it has started, whether it is a
    learner or the leader, and its health; and the quorum verdict over the voting members (learners
    do not vote), for example whether one more member may be added or lost.
  - A member that was added but never started (for example by a join that stopped half-way) has no
    name and no client URL; it counts as a voting member that is not healthy.
  - Read-only. The module fails only when O(endpoint) cannot list the members; members that do not
    answer are reported in RV(members) and RV(unhealthy).
extends_documentation_fragment:
  - kubeha.kubeadm._etcd
options:
  health_checks:
    description:
      - Whose C(/health) to ask. V(all) asks every member; V(endpoint) only the member at O(endpoint)
        (its own view of the quorum, one request); V(none) asks nobody, so RV(quorum.ok) is null.
    type: str
    choices: [all, endpoint, none]
    default: all
  wait_timeout:
    description:
      - Seconds to keep asking, every 3 seconds, until every member asked is healthy (an election, or
        a member that has just started, takes a few seconds). V(0) asks once.
      - The module does not fail when the time is up; RV(unhealthy) says what the last round found.
    type: int
    default: 0
attributes:
  check_mode:
    support: full
    description: Reads only, so it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  idempotent:
    support: full
    description: It never changes anything.
  platform:
    support: full
    platforms: posix
    description: Any host that reaches the etcd member with the client certificate, usually a control plane.
seealso:
  - module: kubeha.kubeadm.etcd_member
  - name: etcd's gRPC gateway
    description: How etcd's v3 API is reached over HTTP with JSON.
    link: https://etcd.io/docs/v3.5/dev-guide/api_grpc_gateway/
author:
  - kubeha developers (@kubeha)
"""

EXAMPLES = r"""
- name: Read etcd's members and their health on a control plane
  kubeha.kubeadm.etcd_member_info:
  register: etcd

- name: Fail unless every member is healthy
  ansible.builtin.assert:
    that: etcd.unhealthy | length == 0
    fail_msg: "etcd members that are not healthy: {{ etcd.unhealthy | join('; ') }}"

- name: Ask only the local member whether it sees a leader, allowing a few seconds for an election
  kubeha.kubeadm.etcd_member_info:
    health_checks: endpoint
    wait_timeout: 6
  register: etcd_local

- name: Say whether the local member sees a leader
  ansible.builtin.debug:
    msg: "{{ 'quorum' if etcd_local.endpoint_member.healthy else 'no quorum seen from here' }}"
"""

RETURN = r"""
endpoint:
  description: The endpoint that was asked for the members.
  returned: always
  type: str
  sample: https://127.0.0.1:2379
members:
  description: Every member, in the order etcd lists them.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The member ID in hex, as C(etcdctl member list) shows it.
      type: str
      sample: 8e9e05c52164694d
    name:
      description: The member's name (kubeadm uses the node name); empty for a member that never started.
      type: str
      sample: cp1
    peer_urls:
      description: The URLs the member's peers reach it on.
      type: list
      elements: str
      sample: [https://10.0.0.11:2380]
    client_urls:
      description: The member's client URLs; empty for a member that never started.
      type: list
      elements: str
      sample: [https://10.0.0.11:2379]
    started:
      description: Whether the member has ever started (it has a name).
      type: bool
      sample: true
    learner:
      description: Whether the member is a learner (a non-voting member that is catching up).
      type: bool
      sample: false
    leader:
      description: Whether the member is the leader, as RV(endpoint) sees it; null when that is not known.
      type: bool
      sample: true
    health:
      description:
        - V(healthy) (its C(/health) says true), V(unhealthy) (it answered, without a leader or with an
          alarm), V(unreachable) (no answer), V(unstarted) (never started) or V(unchecked) (not asked, see
          O(health_checks)).
      type: str
      sample: healthy
    healthy:
      description:
        - True when V(healthy); false when it answered without being healthy, or never started; null
          when it did not answer or was not asked.
      type: bool
      sample: true
    health_detail:
      description: Why it is not healthy (the answer, or why there was none); empty when healthy.
      type: str
      sample: ""
endpoint_member:
  description: The entry of RV(members) for the member that answered at RV(endpoint).
  returned: always
  type: dict
  sample:
    id: 8e9e05c52164694d
    name: cp1
    health: healthy
leader_id:
  description: The leader's member ID in hex as RV(endpoint) sees it; null when it sees none.
  returned: always
  type: str
  sample: 8e9e05c52164694d
quorum:
  description: The quorum verdict over the voting members.
  returned: always
  type: dict
  contains:
    voting:
      description: Voting members (learners excluded; members that never started included).
      type: int
      sample: 3
    needed:
      description: Voting members that must be healthy for a quorum, a majority of RV(quorum.voting).
      type: int
      sample: 2
    healthy:
      description: Voting members that are healthy.
      type: int
      sample: 3
    unknown:
      description: Voting members whose health was not asked.
      type: int
      sample: 0
    ok:
      description: True when a quorum is healthy; false when it cannot be; null when that depends on members not asked.
      type: bool
      sample: true
    tolerates:
      description: How many more healthy members may fail before the quorum is lost.
      type: int
      sample: 1
unhealthy:
  description: One line for each member that was asked and is not healthy, naming it and why.
  returned: always
  type: list
  elements: str
  sample: ["cp3 (https://10.0.0.13:2380): https://10.0.0.13:2379/health: timed out"]
"""

# Ansible modules keep their imports below the documentation strings (validate-modules insists).
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._etcd import (  # noqa: E402
    CLIENT_ARGUMENT_SPEC,
    EtcdError,
    client_from_params,
    member_info,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **CLIENT_ARGUMENT_SPEC,
            "health_checks": {"type": "str", "choices": ["all", "endpoint", "none"], "default": "all"},
            "wait_timeout": {"type": "int", "default": 0},
        },
        supports_check_mode=True,
    )
    try:
        result = member_info(
            client_from_params(module.params), module.params["health_checks"], module.params["wait_timeout"]
        )
    except EtcdError as exc:
        module.fail_json(**exc.fail_kwargs())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
