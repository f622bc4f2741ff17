#!/usr/bin/python
# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: etcd_snapshot_restore
short_description: Restore an etcd snapshot as this member's data directory
version_added: 0.1.0
description:
  - Checks the snapshot (its SHA-256 against O(sha256), then C(snapshot status)), restores it with
    C(snapshot restore) into a new directory beside O(data_dir) as the member O(name) of a new cluster
    (O(initial_cluster), O(initial_cluster_token)), then moves the old contents of O(data_dir) aside to
    C(<data_dir>.before-restore-<UTC time>) and the restored ones in.
  - Uses C(etcdutl) when the host has it (etcd 3.5 and later), C(etcdctl) on etcd 3.4.
  - Refuses while an etcd member answers on 127.0.0.1:2379; stop the local etcd first (with kubeadm, move
    its static pod manifest out of C(/etc/kubernetes/manifests)).
  - Restoring replaces the whole keyspace. Run it on every member with the same snapshot, the same
    O(initial_cluster) and the same new O(initial_cluster_token), then start the members again; the
    kubeha.kubeadm.etcd_restore playbook does that for a kubeadm cluster.
options:
  snapshot:
    description: The snapshot file on this host.
    type: path
    required: true
  sha256:
    description: The snapshot's expected SHA-256 in hex; the module fails before any change when it differs.
    type: str
  name:
    description: This member's name (kubeadm's C(--name), the node name).
    type: str
    required: true
  initial_cluster:
    description: Every member of the restored cluster as C(name=peer URL), comma-separated.
    type: str
    required: true
  initial_cluster_token:
    description: The new cluster's token; a fresh one for each restore, the same on every member.
    type: str
    required: true
  initial_advertise_peer_urls:
    description: This member's peer URL (kubeadm's C(--initial-advertise-peer-urls)).
    type: str
    required: true
  data_dir:
    description: The member's data directory (kubeadm's C(--data-dir)).
    type: path
    default: /var/lib/etcd
  etcdctl_path:
    description: The etcdctl program; by default the one on the PATH.
    type: path
  etcdutl_path:
    description: The etcdutl program; by default the one on the PATH, if any.
    type: path
attributes:
  check_mode:
    support: full
    description: Checks the snapshot and the local etcd, reports changed, and restores nothing.
  diff_mode:
    support: none
    description: There is no diff of a keyspace.
  idempotent:
    support: none
    description: Each run restores again (a restore is a one-off act of recovery).
  platform:
    support: full
    platforms: posix
    description: A control plane whose local etcd is stopped.
requirements:
  - etcdctl (and etcdutl on etcd 3.5 and later) on the host.
seealso:
  - module: kubeha.kubeadm.etcd_snapshot
  - name: Restoring an etcd cluster
    description: The procedure for Kubernetes.
    link: https://kubernetes.io/docs/tasks/administer-cluster/configure-upgrade-etcd/#restoring-an-etcd-cluster
author:
  - kubeha developers (@kubeha)
"""

EXAMPLES = r"""
- name: Restore the snapshot as cp1's data (etcd stopped on every member)
  kubeha.kubeadm.etcd_snapshot_restore:
    snapshot: /var/lib/kubeha/etcd-backups/etcd-snapshot-20261201T090000Z.db
    sha256: 3f0d0c2a6e0b5d7f0b4f3b0e3a2b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b
    name: cp1
    initial_cluster: cp1=https://10.0.0.11:2380,cp2=https://10.0.0.12:2380,cp3=https://10.0.0.13:2380
    initial_cluster_token: kubeha-restore-1796115022
    initial_advertise_peer_urls: https://10.0.0.11:2380
"""

RETURN = r"""
snapshot:
  description: The snapshot restored.
  returned: always
  type: str
  sample: /var/lib/kubeha/etcd-backups/etcd-snapshot-20261201T090000Z.db
sha256:
  description: The snapshot's SHA-256.
  returned: always
  type: str
  sample: 3f0d0c2a6e0b5d7f0b4f3b0e3a2b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b
status:
  description:
    - What C(snapshot status) read (hash, revision, total_keys, total_size, version), as
      kubeha.kubeadm.etcd_snapshot returns it.
  returned: always
  type: dict
  sample: {hash: d5eec1f1, revision: 10421, total_keys: 1188, total_size: 2109440, version: null}
data_dir:
  description: The member's data directory, now holding the restored data.
  returned: always
  type: str
  sample: /var/lib/etcd
previous_data:
  description: Where the old contents of RV(data_dir) were moved; null when it was empty.
  returned: always
  type: str
  sample: /var/lib/etcd.before-restore-20261201T091500Z
name:
  description: The member name restored.
  returned: always
  type: str
  sample: cp1
initial_cluster_token:
  description: The new cluster token.
  returned: always
  type: str
  sample: kubeha-restore-1796115022
tools:
  description: The etcdctl and etcdutl programs found (etcdutl null when the host has none).
  returned: always
  type: dict
  sample: {etcdctl: /usr/bin/etcdctl, etcdutl: null}
"""

# Ansible modules keep their imports below the documentation strings (validate-modules insists).
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._etcd import EtcdError  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._etcd_snapshot import (  # noqa: E402
    module_glue,
    restore_snapshot,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "snapshot": {"type": "path", "required": True},
            "sha256": {"type": "str"},
            "name": {"type": "str", "required": True},
            "initial_cluster": {"type": "str", "required": True},
            # A label that keeps restored clusters apart, not a credential.
            "initial_cluster_token": {"type": "str", "required": True, "no_log": False},
            "initial_advertise_peer_urls": {"type": "str", "required": True},
            "data_dir": {"type": "path", "default": "/var/lib/etcd"},
            "etcdctl_path": {"type": "path"},
            "etcdutl_path": {"type": "path"},
        },
        supports_check_mode=True,
    )
    try:
        runner, tools = module_glue(module)
        result = restore_snapshot(module.params, runner, tools, check_mode=module.check_mode)
    except EtcdError as exc:
        module.fail_json(**exc.fail_kwargs())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
