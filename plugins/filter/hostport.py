# Copyright: kubeha developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hostport filter: host:port with an IPv6 address in brackets, written once."""

from __future__ import annotations

from typing import Any, Callable

from ansible.errors import AnsibleFilterError
from ansible_collections.kubeha.kubeadm.plugins.plugin_utils import _cluster

DOCUMENTATION = r"""
name: hostport
author: kubeha developers
version_added: 0.1.0
short_description: Join a host and a port, with an IPv6 address in brackets
description:
  - Returns C(host:port) for a name or an IPv4 address and C([address]:port) for an IPv6
    address, as URLs, kubeadm endpoints, etcd peer URLs and haproxy's C(server) lines need it.
  - A host already in brackets is not bracketed twice; without a port, only the host is
    returned (bracketed when IPv6), e.g. for a URL on the default port.
positional: _input, port
options:
  _input:
    description: A DNS name, an IPv4 address or an IPv6 address (with or without brackets).
    type: str
    required: true
  port:
    description: The port, 1 to 65535; omitted or empty for the host alone.
    type: raw
seealso:
  - plugin: kubeha.kubeadm.cluster_layout
    plugin_type: filter
"""

EXAMPLES = r"""
- name: An etcd peer URL for any address family
  ansible.builtin.debug:
    msg: "https://{{ node_address | kubeha.kubeadm.hostport(2380) }}"
  # fd00::21 -> https://[fd00::21]:2380, 192.0.2.21 -> https://192.0.2.21:2380
"""

RETURN = r"""
_value:
  description: The host and port joined by a colon, an IPv6 address in brackets.
  type: str
  sample: "[fd00::21]:6443"
"""


def hostport(host: Any, port: Any = None) -> str:
    """The filter: host:port, IPv6 in brackets."""
    try:
        return _cluster.hostport(host, port)
    except ValueError as error:
        raise AnsibleFilterError(f"hostport: {error}") from error


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"hostport": hostport}
