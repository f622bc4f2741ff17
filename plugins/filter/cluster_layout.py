# Copyright: kubeha developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster_layout filter: the cluster's layout from the inventory, computed in Python once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.kubeha.kubeadm.plugins.plugin_utils._cluster import GROUP_KEYS, build_layout, host_inputs

DOCUMENTATION = r"""
name: cluster_layout
author: kubeha developers
version_added: 0.1.0
short_description: Work out an HA cluster's layout from the inventory
description:
  - Takes the hosts of the load balancer, control-plane and worker groups, the cluster-wide
    inputs and the inventory's C(hostvars), and returns the layout every play of
    C(kubeha.kubeadm.ha_cluster) uses; C(playbooks/vars/cluster.yml) reads its
    C(__kubeha_*) variables from it.
  - Each host's address is C(kubeha_node_address), else C(ansible_host), else its inventory
    hostname; each node's name is C(kubeha_node_name), else its inventory hostname.
  - The control-plane endpoint, unless given, is the keepalived VIP when the first load balancer
    host runs keepalived (C(loadbalancer_keepalived_enabled), C(loadbalancer_keepalived_vip)),
    else that host's address, on the API port; an IPv6 address is put in brackets.
  - Without load balancer hosts and with C(kubeha_control_plane_vip) set, haproxy and keepalived
    run on the control planes themselves, which share that VIP; the endpoint is then the VIP on
    haproxy's own port (C(kubeha_control_plane_lb_port), V(8443) by default), never the API
    server's.
  - C(kubeha.kubeadm.cluster_problems) computes its view of the cluster with the same code.
positional: _input, hostvars
options:
  _input:
    description: The groups' hosts and the cluster-wide inputs.
    type: dict
    required: true
    suboptions:
      groups:
        description:
          - The inventory hostnames of each group, keyed V(loadbalancer), V(control_plane) and
            V(workers); a missing key is an empty group.
        type: dict
        required: true
      api_port:
        description:
          - The API servers' port (C(kubeha_api_port)); empty means V(6443).
          - Anything but an integer 1-65535 is an error, unless O(_input.validating) is true.
        type: raw
      validating:
        description:
          - True while C(kubeha.kubeadm.validate) reads the hosts; a bad O(_input.api_port) then
            lays the cluster out on V(6443) so that validation can report C(kubeha_api_port) itself,
            with every other problem, instead of stopping at the first template that needs the layout.
        type: bool
        default: false
      init_host:
        description:
          - The control plane that initialises the cluster (C(kubeha_init_host)); empty means the
            first host of the control-plane group.
        type: str
      control_plane_endpoint:
        description:
          - The control-plane endpoint as given (C(kubeha_control_plane_endpoint)), used as it is;
            empty means the default described above.
        type: str
      remove_nodes:
        description:
          - The inventory hostnames C(kubeha.kubeadm.remove_node) takes out (C(kubeha_remove_nodes)),
            a list or a comma-separated string; they are left out of RV(_value.api_backends).
        type: raw
      control_plane_vip:
        description:
          - The VIP the control planes share (C(kubeha_control_plane_vip)) when haproxy and
            keepalived run on them; it takes effect only without load balancer hosts.
        type: str
      control_plane_lb_port:
        description:
          - haproxy's frontend port on the control planes (C(kubeha_control_plane_lb_port)); empty
            means V(8443).
        type: raw
  hostvars:
    description: The inventory's C(hostvars), for each host's own variables.
    type: dict
    required: true
seealso:
  - plugin: kubeha.kubeadm.hostport
    plugin_type: filter
  - plugin: kubeha.kubeadm.cluster_problems
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Show the endpoint and the control planes
  vars:
    layout: >-
      {{ {'groups': {'loadbalancer': groups['loadbalancer'], 'control_plane': groups['control_plane'],
                     'workers': groups['workers']}}
         | kubeha.kubeadm.cluster_layout(hostvars) }}
  ansible.builtin.debug:
    msg: "{{ layout.control_plane_endpoint }} in front of {{ layout.control_planes | map(attribute='name') }}"
"""

RETURN = r"""
_value:
  description: The cluster's layout.
  type: dict
  contains:
    loadbalancers:
      description: The load balancer hosts, in inventory order.
      type: list
      elements: str
    control_plane_hosts:
      description: The control-plane hosts, in inventory order.
      type: list
      elements: str
    worker_hosts:
      description: The worker hosts, in inventory order.
      type: list
      elements: str
    all_hosts:
      description: Every host of the three groups, each once (load balancers, control planes, workers).
      type: list
      elements: str
    nodes:
      description: The Kubernetes nodes (control planes, then workers), each once.
      type: list
      elements: str
    address_of:
      description: Every host's address, by inventory hostname.
      type: dict
      sample: {lb1: "fd00::10", cp1: "fd00::21"}
    node_name_of:
      description: Every node's Kubernetes node name, by inventory hostname.
      type: dict
    init_host:
      description: The control plane that initialises the cluster; empty without control planes.
      type: str
    api_port:
      description: The API servers' port.
      type: int
      sample: 6443
    control_plane_endpoint:
      description: The control-plane endpoint as host:port, an IPv6 address in brackets; empty without one.
      type: str
      sample: "[fd00::10]:6443"
    control_plane_endpoint_given:
      description: Whether the endpoint was given rather than worked out.
      type: bool
    control_planes:
      description: Every control plane as C(name) and C(address), the init host first.
      type: list
      elements: dict
    remove_nodes:
      description: The hosts to remove, as a list, each once.
      type: list
      elements: str
    api_backends:
      description:
        - The API servers the load balancers forward to, each with C(name), C(address) and
          C(port); every control plane but those being removed.
      type: list
      elements: dict
    control_plane_vip:
      description: The control planes' VIP as given; empty without one.
      type: str
    loadbalancer_on_control_planes:
      description: Whether haproxy and keepalived run on the control planes (no load balancer hosts, a VIP set).
      type: bool
    loadbalancer_hosts:
      description:
        - The hosts the loadbalancer role runs on, in VRRP priority order on the control planes
          (the init host first, those being removed left out); the load balancer hosts otherwise.
      type: list
      elements: str
    loadbalancer_port:
      description: haproxy's frontend port on those hosts (the API port on separate load balancers).
      type: int
      sample: 8443
"""


def cluster_layout(data: Mapping[str, Any], hostvars: Mapping[str, Any]) -> dict[str, Any]:
    """The filter: the layout of the groups' hosts, their variables read from `hostvars`."""
    if not isinstance(data, Mapping) or not isinstance(data.get("groups"), Mapping):
        raise AnsibleFilterError("cluster_layout expects a dict with 'groups' (the three groups' hosts)")
    groups = {key: list(data["groups"].get(key) or []) for key in GROUP_KEYS}
    names = dict.fromkeys(str(name) for key in GROUP_KEYS for name in groups[key])
    hosts = {}
    for name in names:
        # HostVars answers a host it does not know with an undefined value, not a KeyError.
        known = name in hostvars
        hosts[name] = host_inputs(name, hostvars[name] if known else {})
    try:
        layout = build_layout(
            groups,
            hosts,
            api_port=data.get("api_port"),
            init_host=data.get("init_host"),
            control_plane_endpoint=data.get("control_plane_endpoint"),
            remove_nodes=data.get("remove_nodes"),
            validating=boolean(data.get("validating", False), strict=False),
            control_plane_vip=data.get("control_plane_vip"),
            control_plane_lb_port=data.get("control_plane_lb_port"),
        )
    except ValueError as error:
        raise AnsibleFilterError(f"cluster_layout: {error}") from error
    return layout.to_dict()


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"cluster_layout": cluster_layout}
