# Copyright: kubeha developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upgrade_pending filter: whether upgrade.yml still has work on a node."""

from __future__ import annotations

from typing import Any, Callable

from ansible.errors import AnsibleFilterError
from ansible_collections.kubeha.kubeadm.plugins.plugin_utils import _upgrade

DOCUMENTATION = r"""
name: upgrade_pending
author: kubeha developers
version_added: 0.1.0
short_description: Whether a node still needs its upgrade to a Kubernetes release
description:
  - True while any of the node's installed kubeadm and kubelet packages, its control plane's
    kube-apiserver manifest (control planes) or the kubelet version its Node object reports
    differ from the target, or while the Node still carries the C(kubeha.kubeadm/upgrading)
    annotation that C(playbooks/upgrade.yml) sets while it works on a node (an upgrade
    interrupted after the packages moved but before the node was back in service).
  - C(playbooks/upgrade.yml) leaves a node for which it is false alone, so a re-run after a
    finished upgrade changes nothing and a re-run after an interrupted one resumes where it stopped.
positional: _input
options:
  _input:
    description: What the playbook read on the node and on the API.
    type: dict
    required: true
    suboptions:
      target:
        description: The release to reach, C(x.y.z).
        type: str
        required: true
      control_plane:
        description: Whether the node is a control plane.
        type: bool
        required: true
      apiserver:
        description: The kube-apiserver manifest's image tag (control planes), empty without one.
        type: str
      kubeadm:
        description: The installed kubeadm package's version (C(kubeadm=installed=<version>) or a bare version).
        type: str
      kubelet:
        description: The installed kubelet package's version, in the same forms.
        type: str
      node:
        description: The node's Node object (C(kubectl get node -o json), parsed); omitted or empty when not read.
        type: dict
"""

EXAMPLES = r"""
- name: Upgrade this node only when it needs it
  ansible.builtin.include_tasks: node.yml
  when: >-
    {{ {'target': '1.37.1', 'control_plane': true, 'apiserver': 'v1.36.5',
        'kubeadm': 'installed=1.37.1-1.1', 'kubelet': 'installed=1.36.5-1.1', 'node': node_json}
       | kubeha.kubeadm.upgrade_pending }}
"""

RETURN = r"""
_value:
  description: True while the node still needs work for the target.
  type: bool
"""


def upgrade_pending(data: dict[str, Any]) -> bool:
    """The filter: does this node still need its upgrade?"""
    if not isinstance(data, dict):
        raise AnsibleFilterError("upgrade_pending expects a dict with target, control_plane and the versions")
    target = _upgrade.parse_version(data.get("target"))
    if target is None:
        raise AnsibleFilterError(f"upgrade_pending: target {data.get('target')!r} is not an x.y.z version")
    node = _upgrade.Node(
        host="",
        node_name="",
        control_plane=bool(data.get("control_plane")),
        apiserver=_upgrade.parse_version(data.get("apiserver")),
        kubeadm=_upgrade.parse_version(data.get("kubeadm")),
        kubelet=_upgrade.parse_version(data.get("kubelet")),
    )
    obj = data.get("node")
    api = _upgrade.api_nodes({"items": [obj]}) if isinstance(obj, dict) and obj else None
    return _upgrade.pending(target, node, next(iter(api.values())) if api else None)


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"upgrade_pending": upgrade_pending}
