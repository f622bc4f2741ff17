"""cluster_problems with the load balancer on the control planes (no LB hosts, kubeha_control_plane_vip).

One valid inventory of three control planes and a worker on 198.51.100.0/24 sharing the VIP
198.51.100.50, then one breakage per case: each must give exactly the named problem.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
from ansible_collections.kubeha.kubeadm.plugins.filter import cluster_problems as plugin

NET = "198.51.100"
VIP = f"{NET}.50"
CONTROL_PLANES = {"cp1": 11, "cp2": 12, "cp3": 13}
WORKERS = {"w1": 21}


def _node(name: str, octet: int, control_plane: bool) -> dict[str, Any]:
    address = f"{NET}.{octet}"
    return {
        "host": name,
        "node_name": name,
        "node_address": address,
        "facts": {
            "distribution": "Debian",
            "distribution_version": "13.1",
            "interfaces": ["lo", "eth0"],
            "eth0": {"ipv4": {"address": address, "netmask": "255.255.255.0"}},
            "all_ipv4_addresses": [address],
        },
        "kubeadm_version": "kubeadm=v1.37.1",
        "kubelet_version": "",
        "cgroup_fs": "cgroup2fs",
        "prerequisites_source": "packages",
        # What validate.yml records there: the frontend port, the password's length, who listens.
        "lb": {"frontend_port": 8443, "keepalived_password_length": 8, "port_users": []} if control_plane else {},
    }


def inventory() -> dict[str, Any]:
    cluster = {
        "kubernetes_version": "1.37.1",
        "control_plane_endpoint": "",
        "api_port": 6443,
        "pod_network_cidr": "10.244.0.0/16",
        "service_cidr": "10.96.0.0/12",
        "cluster_name": "kubernetes",
        "require_ha": True,
        "control_plane_vip": VIP,
        "control_plane_lb_port": "",
    }
    nodes = [_node(n, o, True) for n, o in CONTROL_PLANES.items()] + [_node(n, o, False) for n, o in WORKERS.items()]
    return {
        "groups": {
            "loadbalancer": {"name": "loadbalancer", "hosts": []},
            "control_plane": {"name": "control_plane", "hosts": list(CONTROL_PLANES)},
            "workers": {"name": "workers", "hosts": list(WORKERS)},
        },
        "cluster": cluster,
        "hosts": nodes,
    }


def problems(change: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, str]]:
    data = inventory()
    if change:
        change(data)
    return plugin.collect(data, resolver=lambda name: name == "api.example.com")


def node(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(h for h in data["hosts"] if h["host"] == name)


def test_the_valid_inventory_has_no_problem() -> None:
    assert problems() == []


def test_converged_control_planes_with_haproxy_on_the_port_and_the_vip_held_pass() -> None:
    def converged(data: dict[str, Any]) -> None:
        for name in CONTROL_PLANES:
            node(data, name)["lb"]["port_users"] = ["haproxy"]
        holder = node(data, "cp1")["facts"]
        holder["eth0"]["ipv4_secondaries"] = [{"address": VIP, "netmask": "255.255.255.0"}]
        holder["all_ipv4_addresses"].append(VIP)

    assert problems(converged) == []


def cluster(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: data["cluster"].__setitem__(key, value)


def lb(name: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: node(data, name)["lb"].__setitem__(key, value)


def with_lb_hosts(data: dict[str, Any]) -> None:
    data["groups"]["loadbalancer"]["hosts"] = ["lb1"]
    data["hosts"].append({**_node("lb1", 5, False), "lb": {"frontend_port": 6443}})


def other_subnet(name: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        facts = node(data, name)["facts"]
        facts["eth0"]["ipv4"] = {"address": "203.0.113.13", "netmask": "255.255.255.0"}
        facts["all_ipv4_addresses"] = ["203.0.113.13"]
        node(data, name)["node_address"] = "203.0.113.13"

    return change


# (id, change, host, variable, words in the line)
CASES = [
    ("lb-hosts-too", with_lb_hosts, "lb1", "kubeha_control_plane_vip", "choose one: empty 'loadbalancer'"),
    (
        "vip-not-an-address",
        cluster("control_plane_vip", "vip.example"),
        "all",
        "kubeha_control_plane_vip",
        "'vip.example' is not an IP address",
    ),
    (
        "vip-outside-a-subnet",
        other_subnet("cp3"),
        "cp3",
        "kubeha_control_plane_vip",
        "not a host address in the subnets of these control planes (cp3: 203.0.113.0/24)",
    ),
    (
        "vip-is-the-network-address",
        cluster("control_plane_vip", f"{NET}.0"),
        "cp1, cp2, cp3",
        "kubeha_control_plane_vip",
        "VRRP moves an address only within the one subnet",
    ),
    (
        "vip-is-a-node-address",
        cluster("control_plane_vip", f"{NET}.21"),
        "w1",
        "kubeha_control_plane_vip",
        f"the VIP {NET}.21 is already the address of w1",
    ),
    (
        "lb-port-is-the-api-port",
        cluster("control_plane_lb_port", "6443"),
        "all",
        "kubeha_control_plane_lb_port",
        "kubeadm's Port preflight check (up to 1.36 on every address)",
    ),
    (
        "lb-port-is-the-api-port-moved",
        lambda d: d["cluster"].update(api_port=9443, control_plane_lb_port=9443),
        "all",
        "kubeha_control_plane_lb_port",
        "Fix: set kubeha_control_plane_lb_port to another port free on every control plane, e.g. 8443.",
    ),
    (
        "lb-port-is-etcds",
        cluster("control_plane_lb_port", 2379),
        "all",
        "kubeha_control_plane_lb_port",
        "2379 is taken on every control plane (etcd's client port)",
    ),
    (
        "lb-port-is-a-node-port",
        cluster("control_plane_lb_port", 30443),
        "all",
        "kubeha_control_plane_lb_port",
        "NodePort range 30000-32767",
    ),
    (
        "lb-port-taken",
        lb("cp2", "port_users", ["haproxy", "nginx"]),
        "cp2",
        "kubeha_control_plane_lb_port",
        "port 8443 is already in use on this host by nginx",
    ),
    (
        "no-vrrp-password",
        lb("cp2", "keepalived_password_length", 0),
        "cp2",
        "loadbalancer_keepalived_password",
        "has no VRRP password here",
    ),
    (
        "vrrp-password-too-long",
        lb("cp3", "keepalived_password_length", 9),
        "cp3",
        "loadbalancer_keepalived_password",
        "longer than 8 characters",
    ),
    (
        "endpoint-on-the-vip-wrong-port",
        cluster("control_plane_endpoint", f"{VIP}:6443"),
        "all",
        "kubeha_control_plane_endpoint",
        f"use {VIP}:8443",
    ),
]


@pytest.mark.parametrize(("change", "host", "variable", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_is_reported_alone(change: Callable, host: str, variable: str, words: str) -> None:
    found = problems(change)
    assert [(p["severity"], p["host"], p["variable"]) for p in found] == [("error", host, variable)], "\n".join(
        p["line"] for p in found
    )
    assert words in found[0]["line"], found[0]["line"]


def test_a_name_for_the_vip_on_haproxys_port_is_accepted() -> None:
    assert problems(cluster("control_plane_endpoint", "api.example.com:8443")) == []


def test_without_vip_lb_hosts_or_endpoint_the_fix_names_the_vip() -> None:
    found = problems(cluster("control_plane_vip", ""))
    assert [p["variable"] for p in found] == ["kubeha_control_plane_endpoint"]
    assert "set kubeha_control_plane_vip to run haproxy and keepalived on the control planes" in found[0]["fix"]


def test_a_vip_that_differs_between_hosts_is_reported() -> None:
    def per_host(data: dict[str, Any]) -> None:
        for name, vip in (("cp1", VIP), ("cp2", f"{NET}.51")):
            node(data, name)["cluster"] = {**data["cluster"], "control_plane_vip": vip}

    found = [p for p in problems(per_host) if p["variable"] == "kubeha_control_plane_vip"]
    assert len(found) == 1, found
    assert "differs between hosts" in found[0]["message"], found


def test_a_port_that_is_no_port_names_the_variable() -> None:
    found = problems(cluster("control_plane_lb_port", "https"))
    assert [(p["host"], p["variable"]) for p in found] == [("all", "kubeha_control_plane_lb_port")], found
    assert "'https' is not a port" in found[0]["message"]
