# Copyright: kubeha developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upgrade_batches filter: the batches upgrade.yml takes the workers in."""

from __future__ import annotations

from typing import Any, Callable

from ansible.errors import AnsibleFilterError
from ansible_collections.kubeha.kubeadm.plugins.plugin_utils import _upgrade

DOCUMENTATION = r"""
name: upgrade_batches
author: kubeha developers
version_added: 0.1.0
short_description: The batches in which playbooks/upgrade.yml upgrades the workers
description:
  - Splits the workers, in inventory order, into the batches the workers play of
    C(playbooks/upgrade.yml) takes out of service one after another, as its C(serial) does
    with the batch given (a count, or a percentage of the workers rounded down and at least one).
  - The playbook prints them before the workers' upgrade; validation refuses a batch that is not
    a count of 1 or more or a percentage from 1% to 100%.
positional: _input, batch
options:
  _input:
    description: The workers' inventory hostnames, in inventory order.
    type: list
    elements: str
    required: true
  batch:
    description: C(kubeha_upgrade_worker_batch), a count (C(2)) or a percentage (C(20%)).
    type: raw
    default: 20%
"""

EXAMPLES = r"""
- name: Show the workers' batches
  ansible.builtin.debug:
    msg: "{{ ansible_play_hosts_all | kubeha.kubeadm.upgrade_batches('20%') }}"
"""

RETURN = r"""
_value:
  description: The batches, each a list of inventory hostnames; empty without workers.
  type: list
  elements: list
"""


def upgrade_batches(workers: Any, batch: Any = _upgrade.DEFAULT_WORKER_BATCH) -> list[list[str]]:
    """The filter: the workers split into upgrade.yml's batches."""
    if not isinstance(workers, (list, tuple)):
        raise AnsibleFilterError("upgrade_batches expects the list of the workers' inventory hostnames")
    try:
        return _upgrade.worker_batches([str(name) for name in workers], batch)
    except ValueError as error:
        raise AnsibleFilterError(str(error)) from error


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"upgrade_batches": upgrade_batches}
