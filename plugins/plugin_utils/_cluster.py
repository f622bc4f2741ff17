# Copyright: kubeha developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the collection: the cluster's layout, worked out once on the controller.

Which host initialises the cluster, every control plane with its address, where haproxy runs
(the load balancer hosts, or the control planes themselves when there are none and
``kubeha_control_plane_vip`` is set), the API servers it forwards to, and the control-plane
endpoint (the keepalived VIP, else the first load balancer's address, on the API port; with the
load balancer on the control planes, their VIP on haproxy's own port; IPv6 in brackets). The
playbooks read it through the ``kubeha.kubeadm.cluster_layout`` filter
(``playbooks/vars/cluster.yml``), validation through ``kubeha.kubeadm.cluster_problems``: both
call `build_layout`, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ansible.module_utils.parsing.convert_bool import boolean

DEFAULT_API_PORT = 6443
# haproxy's frontend when it runs on the control planes: never the API server's own port, which
# kubeadm's preflight (up to 1.36) probes on every address. 8443 as in kubeadm's HA guide.
DEFAULT_CONTROL_PLANE_LB_PORT = 8443
# The inventory groups' keys, in the order hosts are listed (load balancers first).
GROUP_KEYS = ("loadbalancer", "control_plane", "workers")


@dataclass(frozen=True)
class HostInputs:
    """What the layout needs to know about one host ("" where it is unknown)."""

    address: str = ""
    node_name: str = ""
    keepalived_enabled: bool = False
    keepalived_vip: str = ""


@dataclass(frozen=True)
class Layout:
    """The resolved cluster; `to_dict` is what the cluster_layout filter returns."""

    loadbalancers: list[str]
    control_plane_hosts: list[str]
    worker_hosts: list[str]
    all_hosts: list[str]
    nodes: list[str]
    address_of: dict[str, str]
    node_name_of: dict[str, str]
    init_host: str
    api_port: int
    control_plane_endpoint: str
    control_plane_endpoint_given: bool
    control_planes: list[dict[str, str]]
    remove_nodes: list[str]
    api_backends: list[dict[str, Any]]
    control_plane_vip: str
    loadbalancer_on_control_planes: bool
    loadbalancer_hosts: list[str]
    loadbalancer_port: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def hostport(host: Any, port: Any = None) -> str:
    """`host:port`, with an IPv6 address in brackets; only the (bracketed) host without a port."""
    text = str(host).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:  # no name or IPv4 address holds a colon: this is IPv6
        text = f"[{text}]"
    if port is None or str(port).strip() == "":
        return text
    number = str(port).strip()
    if not number.isdigit() or not 1 <= int(number) <= 65535:
        raise ValueError(f"'{port}' is not a port (1-65535)")
    return f"{text}:{int(number)}"


def unique(names: Iterable[Any]) -> list[str]:
    """The names as strings, each once, in their first order."""
    return list(dict.fromkeys(str(name) for name in names))


def remove_nodes_list(value: Any) -> list[str]:
    """kubeha_remove_nodes as a list: given as a list or comma separated, blanks dropped."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return unique(name for name in (str(item).strip() for item in items) if name)


def resolve_init_host(control_plane_hosts: list[str], given: Any) -> str:
    """kubeha_init_host when given, else the first control plane ("" without any)."""
    if given not in (None, ""):
        return str(given)
    return control_plane_hosts[0] if control_plane_hosts else ""


def host_inputs(name: str, host_vars: Mapping[str, Any]) -> HostInputs:
    """One host's inputs from its variables: the defaults the table in playbooks/vars/cluster.yml names."""

    def first(*keys: str) -> str:
        return next((str(host_vars[key]) for key in keys if host_vars.get(key) not in (None, "")), "")

    return HostInputs(
        address=first("kubeha_node_address", "ansible_host") or name,
        node_name=first("kubeha_node_name") or name,
        keepalived_enabled=boolean(host_vars.get("loadbalancer_keepalived_enabled", False), strict=False),
        keepalived_vip=first("loadbalancer_keepalived_vip"),
    )


def port_number(value: Any) -> int | None:
    """A TCP port (1-65535) from an int or its decimal text; None for anything else (bool, float, words)."""
    if isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        return None
    return int(text)


def _port(
    value: Any, validating: bool = False, variable: str = "kubeha_api_port", default: int = DEFAULT_API_PORT
) -> int:
    if value in (None, ""):
        return default
    port = port_number(value)
    if port is None:
        if validating:
            return default
        raise ValueError(f"{variable}: '{value}' is not a port; set it to 1-65535 (default {default})")
    return port


def default_endpoint(loadbalancers: list[str], hosts: Mapping[str, HostInputs], api_port: int) -> str:
    """The keepalived VIP when the first load balancer runs one, else its address; "" when unknown."""
    if not loadbalancers or loadbalancers[0] not in hosts:
        return ""
    first = hosts[loadbalancers[0]]
    address = first.keepalived_vip if first.keepalived_enabled else first.address
    return hostport(address, api_port) if address else ""


def build_layout(
    groups: Mapping[str, Iterable[Any]],
    hosts: Mapping[str, HostInputs],
    *,
    api_port: Any = None,
    init_host: Any = None,
    control_plane_endpoint: Any = None,
    remove_nodes: Any = None,
    validating: bool = False,
    control_plane_vip: Any = None,
    control_plane_lb_port: Any = None,
) -> Layout:
    """The layout from the three groups' hosts, each host's inputs and the cluster-wide inputs.

    A host missing from `hosts` has an unknown address ("") and its inventory hostname as its
    node name; an empty or None cluster-wide input takes its default. A port that is not one
    stops everything (ValueError) unless `validating`: validation then lays the cluster out on
    the default port and reports the variable the user set itself. Without load balancer
    hosts, a `control_plane_vip` puts haproxy and keepalived on the control planes, haproxy on
    `control_plane_lb_port`, and the endpoint on that VIP and port.
    """
    lbs, cps, workers = (unique(groups.get(key) or []) for key in GROUP_KEYS)
    port = _port(api_port, validating)
    vip = str(control_plane_vip or "").strip()
    on_control_planes = bool(vip) and not lbs
    lb_port = _port(control_plane_lb_port, validating, "kubeha_control_plane_lb_port", DEFAULT_CONTROL_PLANE_LB_PORT)
    everyone = unique(lbs + cps + workers)
    nodes = unique(cps + workers)
    address_of = {name: hosts[name].address if name in hosts else "" for name in everyone}
    node_name_of = {name: (hosts[name].node_name if name in hosts else "") or name for name in nodes}
    init = resolve_init_host(cps, init_host)
    control_planes = [
        {"name": name, "address": address_of.get(name, "")} for name in unique(([init] if init else []) + cps)
    ]
    removed = remove_nodes_list(remove_nodes)
    given = str(control_plane_endpoint or "").strip()
    return Layout(
        loadbalancers=lbs,
        control_plane_hosts=cps,
        worker_hosts=workers,
        all_hosts=everyone,
        nodes=nodes,
        address_of=address_of,
        node_name_of=node_name_of,
        init_host=init,
        api_port=port,
        control_plane_endpoint=given
        or (hostport(vip, lb_port) if on_control_planes else default_endpoint(lbs, hosts, port)),
        control_plane_endpoint_given=bool(given),
        control_planes=control_planes,
        remove_nodes=removed,
        api_backends=[dict(cp, port=port) for cp in control_planes if cp["name"] not in removed],
        control_plane_vip=vip,
        loadbalancer_on_control_planes=on_control_planes,
        # The init host first: its keepalived has the highest priority and holds the VIP for init.
        # In this order (VRRP priorities follow it), without the control planes being removed.
        loadbalancer_hosts=[cp["name"] for cp in control_planes if cp["name"] not in removed]
        if on_control_planes
        else lbs,
        loadbalancer_port=lb_port if on_control_planes else port,
    )
