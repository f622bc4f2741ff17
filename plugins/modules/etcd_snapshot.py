#!/usr/bin/python
# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: etcd_snapshot
short_description: Take an etcd snapshot, check it, checksum it and keep the newest few
version_added: 0.1.0
description:
  - Takes a snapshot of the etcd keyspace from one member (O(endpoint), this node's own by default)
    with C(etcdctl snapshot save), using the client certificate kubeadm creates for etcd's health checks.
  - Checks the snapshot with C(snapshot status) (C(etcdutl) when the host has it, as etcd 3.5 and later
    want; C(etcdctl) on etcd 3.4, which has no C(etcdutl)) and returns its hash, revision, keys and size.
  - Stores it as C(<prefix>-<UTC time>.db) in O(dest_dir) with a C(.sha256) file beside it in
    C(sha256sum) format, and removes the oldest snapshots of that prefix beyond O(retention).
  - A snapshot holds every Secret of the cluster. The directory is made 0700, the snapshot and its
    checksum 0600; a snapshot that fails its check is removed and never kept.
extends_documentation_fragment:
  - kubeha.kubeadm._etcd
options:
  dest_dir:
    description:
      - The directory to keep snapshots in; created 0700 when missing (and tightened to 0700).
    type: path
    required: true
  prefix:
    description:
      - The start of the snapshot file names; only snapshots with this prefix are pruned.
    type: str
    default: etcd-snapshot
  retention:
    description:
      - How many snapshots of O(prefix) to keep in O(dest_dir), the new one included.
    type: int
    default: 5
  etcdctl_path:
    description:
      - The etcdctl program; by default the one on the PATH.
    type: path
  etcdutl_path:
    description:
      - The etcdutl program; by default the one on the PATH, if any (etcd 3.4 has none; etcdctl is used).
    type: path
attributes:
  check_mode:
    support: full
    description: Takes no snapshot; reports changed and which old snapshots the run would prune.
  diff_mode:
    support: none
    description: A snapshot is binary; there is no diff.
  idempotent:
    support: none
    description: Every run takes a new snapshot; that is its purpose.
  platform:
    support: full
    platforms: posix
    description: A control plane with kubeadm's stacked etcd and the etcd client programs.
notes:
  - The host needs etcdctl of the cluster's etcd minor (Debian's etcd-client package); kubeadm's etcd
    runs in a container and does not put it on the host.
requirements:
  - etcdctl (and etcdutl on etcd 3.5 and later) on the host.
seealso:
  - module: kubeha.kubeadm.etcd_snapshot_restore
  - module: kubeha.kubeadm.etcd_member_info
  - name: Backing up an etcd cluster
    description: etcd's disaster recovery guide.
    link: https://etcd.io/docs/v3.5/op-guide/recovery/
author:
  - kubeha developers (@kubeha)
"""

EXAMPLES = r"""
- name: Take a snapshot on a control plane, keeping the newest seven
  kubeha.kubeadm.etcd_snapshot:
    dest_dir: /var/lib/kubeha/etcd-backups
    retention: 7
  register: snapshot

- name: Say what was saved
  ansible.builtin.debug:
    msg: >-
      {{ snapshot.path }}: revision {{ snapshot.status.revision }}, {{ snapshot.size }} bytes,
      sha256 {{ snapshot.sha256 }}
"""

RETURN = r"""
path:
  description: The snapshot file; null in check mode.
  returned: always
  type: str
  sample: /var/lib/kubeha/etcd-backups/etcd-snapshot-20261201T090000Z.db
name:
  description: The snapshot's file name.
  returned: success, not in check mode
  type: str
  sample: etcd-snapshot-20261201T090000Z.db
checksum_path:
  description: The C(.sha256) file beside the snapshot (C(sha256sum -c) reads it).
  returned: success, not in check mode
  type: str
  sample: /var/lib/kubeha/etcd-backups/etcd-snapshot-20261201T090000Z.db.sha256
sha256:
  description: The snapshot's SHA-256, in hex.
  returned: success, not in check mode
  type: str
  sample: 3f0d0c2a6e0b5d7f0b4f3b0e3a2b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b
size:
  description: The snapshot's size in bytes.
  returned: success, not in check mode
  type: int
  sample: 2109472
status:
  description: What C(snapshot status) read from the snapshot.
  returned: success, not in check mode
  type: dict
  contains:
    hash:
      description: etcd's hash of the keyspace, in hex as the table format shows it.
      type: str
      sample: d5eec1f1
    revision:
      description: The keyspace revision the snapshot was taken at.
      type: int
      sample: 10421
    total_keys:
      description: Keys in the snapshot's backend (every stored revision of every key).
      type: int
      sample: 1188
    total_size:
      description: The backend's size in bytes.
      type: int
      sample: 2109440
    version:
      description: The storage version etcd 3.6 reports; null before 3.6.
      type: str
      sample: null
seconds:
  description: How long C(snapshot save) took.
  returned: success, not in check mode
  type: float
  sample: 0.41
pruned:
  description: The snapshot names removed (or, in check mode, that would be) beyond O(retention).
  returned: always
  type: list
  elements: str
  sample: [etcd-snapshot-20261124T090000Z.db]
endpoint:
  description: The member the snapshot came from.
  returned: always
  type: str
  sample: https://127.0.0.1:2379
dest_dir:
  description: The directory the snapshots are kept in.
  returned: always
  type: str
  sample: /var/lib/kubeha/etcd-backups
tools:
  description: The etcdctl and etcdutl programs used (etcdutl null when the host has none).
  returned: always
  type: dict
  sample: {etcdctl: /usr/bin/etcdctl, etcdutl: /usr/bin/etcdutl}
"""

# Ansible modules keep their imports below the documentation strings (validate-modules insists).
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._etcd import (  # noqa: E402
    CLIENT_ARGUMENT_SPEC,
    EtcdError,
)
from ansible_collections.kubeha.kubeadm.plugins.module_utils._etcd_snapshot import (  # noqa: E402
    module_glue,
    save_snapshot,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **CLIENT_ARGUMENT_SPEC,
            "dest_dir": {"type": "path", "required": True},
            "prefix": {"type": "str", "default": "etcd-snapshot"},
            "retention": {"type": "int", "default": 5},
            "etcdctl_path": {"type": "path"},
            "etcdutl_path": {"type": "path"},
        },
        supports_check_mode=True,
    )
    try:
        runner, tools = module_glue(module)
        result = save_snapshot(module.params, runner, tools, check_mode=module.check_mode)
    except EtcdError as exc:
        module.fail_json(**exc.fail_kwargs())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
