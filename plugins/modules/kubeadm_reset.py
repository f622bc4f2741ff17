#!/usr/bin/python
# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kubeadm_reset
short_description: Undo kubeadm init or join on a node with kubeadm reset
version_added: 0.1.0
description:
  - Runs C(kubeadm reset --force) when kubeadm's files say the node is (or was half-way to being) part of
    a cluster, or when anything is left in C(/etc/kubernetes/manifests) or C(/etc/kubernetes/pki);
    otherwise runs nothing and reports no change.
  - On a control plane whose cluster is reachable, kubeadm removes the node's etcd member first and
    empties the etcd data directory; RV(etcd_member_kept) says when it could not.
  - What C(kubeadm reset) leaves (CNI configuration, iptables and IPVS rules, kubeconfig files in
    C($HOME/.kube), the Node object) is left here too; the kubeha.kubeadm.reset playbook removes it.
extends_documentation_fragment:
  - kubeha.kubeadm._kubeadm
options:
  cri_socket:
    description:
      - The container runtime socket, for example V(unix:///var/run/containerd/containerd.sock) (C(--cri-socket)).
    type: str
  cleanup_tmp_dir:
    description:
      - Also empty C(/etc/kubernetes/tmp), where kubeadm keeps backups of upgraded manifests and etcd data
        (C(--cleanup-tmp-dir)).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Predicts RV(ignore:changed) from kubeadm's files without running kubeadm.
  idempotent:
    support: full
    description: A reset node has none of kubeadm's files left, so a second run runs nothing.
seealso:
  - module: kubeha.kubeadm.kubeadm_join
  - module: kubeha.kubeadm.etcd_member
  - name: kubeadm reset
    description: The command's reference, with what it does not clean up.
    link: https://kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-reset/
author:
  - kubeha developers (@kubeha)
"""

EXAMPLES = r"""
- name: Reset a node that leaves the cluster
  kubeha.kubeadm.kubeadm_reset:
    cri_socket: unix:///var/run/containerd/containerd.sock
  register: reset

- name: Say whether kubeadm removed the etcd member
  ansible.builtin.debug:
    msg: "{{ reset.etcd_member_kept | default('etcd member removed (or none)', true) }}"
"""

RETURN = r"""
leftovers:
  description:
    - What kubeadm had left on the node before the run (the RV(node_state) names that were present,
      and directories that were not empty).
  returned: always
  type: list
  elements: str
  sample: [admin_conf, apiserver_manifest, kubelet_conf, ca_crt, etcd_manifest, manifests/, pki/]
node_state:
  description: kubeadm's files on the node before the run, with the role they add up to.
  returned: always
  type: dict
  sample: {role: control_plane, admin_conf: true, kubelet_conf: true}
node_state_after:
  description: The same after kubeadm reset (role V(none) when it cleaned up).
  returned: when kubeadm reset ran
  type: dict
  sample: {role: none, admin_conf: false, kubelet_conf: false}
etcd_data_deleted:
  description: The etcd data directory kubeadm emptied; null when it did not say so.
  returned: always
  type: str
  sample: /var/lib/etcd
etcd_member_kept:
  description: Why kubeadm could not remove this node's etcd member (the member then stays listed); null otherwise.
  returned: always
  type: str
  sample: null
commands:
  description: The kubeadm command lines that ran.
  returned: always
  type: list
  elements: list
  sample: [[kubeadm, reset, --force, --cleanup-tmp-dir]]
stdout:
  description: kubeadm reset's standard output.
  returned: when kubeadm reset ran
  type: str
  sample: "[preflight] Running pre-flight checks"
stderr:
  description: kubeadm reset's standard error (klog warnings).
  returned: when kubeadm reset ran
  type: str
  sample: ""
"""

# Ansible modules keep their imports below the documentation strings (validate-modules insists).
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_errors import KubeadmError  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_node import KUBERNETES_DIR  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_reset import reset_node  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_session import (  # noqa: E402
    KUBEADM_BASE_ARGSPEC,
    find_kubeadm,
    module_runner,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **KUBEADM_BASE_ARGSPEC,
            "cri_socket": {"type": "str"},
            "cleanup_tmp_dir": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    try:
        result = reset_node(
            module.params,
            module_runner(module),
            kubeadm=find_kubeadm(module),
            root=KUBERNETES_DIR,
            check_mode=module.check_mode,
        )
    except KubeadmError as exc:
        module.fail_json(**exc.fail_kwargs())
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
