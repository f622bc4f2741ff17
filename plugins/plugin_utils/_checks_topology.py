# Copyright: kubeha developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the collection: an endpoint that bypasses the load balancers, and keepalived
settings that keepalived would reject or that split one VRRP group.

(The group sizes, a host in two roles and the VIP's subnet, owner and password length are
checked in ``cluster_problems``.)
"""

from __future__ import annotations

from typing import Any

from ansible_collections.kubeha.kubeadm.plugins.plugin_utils._checks_common import (
    ALL,
    address,
    endpoint_host,
    integer,
    lb_settings,
)

# keepalived looks the interface up by name, and Linux names are at most IFNAMSIZ - 1 characters.
INTERFACE_NAME_MAX = 15
# The loadbalancer role gives the hosts of loadbalancer_keepalived_hosts the priorities
# 250, 240, ... (its vars/main.yml); VRRP priorities are 1-254, so at most this many hosts.
PRIORITY_MAX, PRIORITY_STEP = 250, 10
KEEPALIVED_MAX_HOSTS = (PRIORITY_MAX - 1) // PRIORITY_STEP + 1
# Settings every member of one VRRP group must share (the password only by its length).
VRRP_SHARED = (
    ("keepalived_vip", "loadbalancer_keepalived_vip"),
    ("keepalived_virtual_router_id", "loadbalancer_keepalived_virtual_router_id"),
    ("keepalived_hosts", "loadbalancer_keepalived_hosts"),
)


def topology(checker: Any) -> None:
    endpoint_bypass(checker)
    keepalived_settings(checker)


def _enabled(lb: dict[str, Any]) -> bool:
    return str(lb.get("keepalived_enabled")).lower() in ("true", "yes", "1")


def endpoint_bypass(checker: Any) -> None:
    """A given endpoint that misses the inventory's load balancers is a single point of failure."""
    if not checker.endpoint_given or not checker.lbs:
        return
    raw = str(checker.cluster.get("control_plane_endpoint") or "")
    host = endpoint_host(raw)
    if not host:
        return
    ip = address(host)
    default = checker.default_endpoint
    unset = f"leave kubeha_control_plane_endpoint unset (it then is {default})" if default else "leave it unset"
    for cp in checker.cps:
        info = checker.hosts.get(cp) or {}
        own = {cp, str(info.get("node_name") or ""), str(info.get("node_address") or "")}
        if host in own or (ip is not None and str(ip) in own):
            checker.report.error(
                ALL,
                "kubeha_control_plane_endpoint",
                f"{raw} is the control plane {cp} itself: every node and client would bypass the load balancers "
                f"({', '.join(checker.lbs)}) and lose the API when {cp} is down.",
                f"{unset}, or point it at the load balancers.",
            )
            return
    vips = {
        str(lb_settings(checker, h).get("keepalived_vip")) for h in checker.lbs if _enabled(lb_settings(checker, h))
    }
    vips.discard("")
    for lb_host in checker.lbs:
        own = {lb_host, str((checker.hosts.get(lb_host) or {}).get("node_address") or "")}
        if vips and (host in own or (ip is not None and str(ip) in own)):
            checker.report.error(
                ALL,
                "kubeha_control_plane_endpoint",
                f"{raw} is the load balancer {lb_host}'s own address, not the keepalived VIP "
                f"({', '.join(sorted(vips))}): the API is lost when {lb_host} is down.",
                f"{unset}, or use the VIP.",
            )
            return
    known = {str((checker.hosts.get(h) or {}).get("node_address") or "") for h in checker.lbs} | vips | set(checker.lbs)
    if ip is not None and str(ip) not in known:
        checker.report.warning(
            ALL,
            "kubeha_control_plane_endpoint",
            f"{raw} is none of the inventory's load balancers ({', '.join(checker.lbs)}) nor their VIP: they "
            "would run haproxy that no node uses.",
            f"{unset}, or take the load balancers out of the inventory if another load balancer serves {raw}.",
        )


def keepalived_settings(checker: Any) -> None:
    members = [h for h in checker.lbs if h in checker.hosts and _enabled(lb_settings(checker, h))]
    for host in members:
        lb = lb_settings(checker, host)
        facts = (checker.hosts.get(host) or {}).get("facts") or {}
        interface = str(lb.get("keepalived_interface") or "")
        interfaces = [str(i) for i in facts.get("interfaces") or []]
        if len(interface) > INTERFACE_NAME_MAX:
            checker.report.error(
                host,
                "loadbalancer_keepalived_interface",
                f"'{interface}' is {len(interface)} characters; Linux interface names are at most "
                f"{INTERFACE_NAME_MAX}, so keepalived finds no such interface.",
                f"set loadbalancer_keepalived_interface to one of this host's interfaces ({', '.join(interfaces)}), "
                "or leave it empty for the default route's.",
            )
        elif interface and interfaces and interface not in interfaces:
            checker.report.error(
                host,
                "loadbalancer_keepalived_interface",
                f"this host has no interface '{interface}' (it has {', '.join(interfaces)}).",
                "set loadbalancer_keepalived_interface to one of them, or leave it empty for the default route's.",
            )
        prefix = lb.get("keepalived_vip_prefix")
        vip = address(lb.get("keepalived_vip"))
        bits = 128 if vip is not None and vip.version == 6 else 32
        # 1-128 is the role input check's (_checks_inputs); this is the bound of the VIP's family.
        if bits < (integer(prefix) or 0) <= 128:
            checker.report.error(
                host,
                "loadbalancer_keepalived_vip_prefix",
                f"'{prefix}' is not a prefix length for the VIP (1-{bits}).",
                f"set loadbalancer_keepalived_vip_prefix to the subnet's prefix, 1-{bits} (e.g. 24).",
            )
        hosts = [str(h) for h in lb.get("keepalived_hosts") or []] or checker.lbs
        if len(hosts) > KEEPALIVED_MAX_HOSTS:
            checker.report.error(
                host,
                "loadbalancer_keepalived_hosts",
                f"lists {len(hosts)} hosts: priorities go down by {PRIORITY_STEP} from {PRIORITY_MAX} in its order, "
                f"and VRRP priorities end at 1, so at most {KEEPALIVED_MAX_HOSTS} hosts fit.",
                f"list at most {KEEPALIVED_MAX_HOSTS} load balancers in loadbalancer_keepalived_hosts.",
            )
    for key, var in VRRP_SHARED:
        seen: dict[str, list[str]] = {}
        for host in members:
            value = lb_settings(checker, host).get(key)
            seen.setdefault(str(value if value is not None else ""), []).append(host)
        if len(seen) > 1:
            detail = "; ".join(f"{value or '(empty)'} on {', '.join(hosts)}" for value, hosts in seen.items())
            checker.report.error(
                members,
                var,
                f"differs between the load balancers of one VRRP group ({detail}): they would not elect one "
                "holder of the VIP.",
                f"set {var} once for every load balancer (group_vars of the load balancer group or all).",
            )
