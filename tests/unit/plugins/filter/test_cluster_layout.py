"""The cluster_layout and hostport filters, and the one view of the cluster they share with cluster_problems."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.kubeha.kubeadm.plugins.filter import cluster_layout, cluster_problems, hostport

GROUPS = {"loadbalancer": ["lb1", "lb2"], "control_plane": ["cp1", "cp2", "cp3"], "workers": ["w1"]}

# One inventory per address family; the load balancers with and without a keepalived VIP.
INVENTORIES: dict[str, dict[str, dict[str, Any]]] = {
    "ipv4": {
        "lb1": {"ansible_host": "192.0.2.11"},
        "lb2": {"ansible_host": "192.0.2.12"},
        "cp1": {"ansible_host": "192.0.2.21", "kubeha_node_name": "cp-1"},
        "cp2": {"kubeha_node_address": "192.0.2.22"},
        "cp3": {"ansible_host": "192.0.2.23"},
        "w1": {"ansible_host": "192.0.2.31"},
    },
    "ipv6": {
        "lb1": {"ansible_host": "fd00::10"},
        "lb2": {"ansible_host": "fd00::11"},
        "cp1": {"ansible_host": "fd00::21", "kubeha_node_name": "cp-1"},
        "cp2": {"ansible_host": "192.0.2.22", "kubeha_node_address": "fd00::22"},
        "cp3": {"ansible_host": "fd00::23"},
        "w1": {"ansible_host": "fd00::31"},
    },
}
VIPS = {"ipv4": "192.0.2.100", "ipv6": "fd00::100"}


def inventory(family: str, keepalived: bool) -> dict[str, dict[str, Any]]:
    hostvars = {name: dict(values) for name, values in INVENTORIES[family].items()}
    if keepalived:
        for lb in GROUPS["loadbalancer"]:
            hostvars[lb].update(loadbalancer_keepalived_enabled=True, loadbalancer_keepalived_vip=VIPS[family])
    return hostvars


def layout_of(hostvars: dict[str, dict[str, Any]], **inputs: Any) -> dict[str, Any]:
    return cluster_layout.cluster_layout({"groups": GROUPS, **inputs}, hostvars)


def validation_input(hostvars: dict[str, dict[str, Any]], layout: dict[str, Any], **cluster: Any) -> dict[str, Any]:
    """What playbooks/validate.yml hands to cluster_problems for this inventory."""
    hosts = []
    for name in layout["all_hosts"]:
        values = hostvars[name]
        hosts.append(
            {
                "host": name,
                "node_name": layout["node_name_of"].get(name, name),
                "node_address": layout["address_of"][name],
                "lb": {
                    "frontend_port": layout["api_port"],
                    "keepalived_enabled": bool(values.get("loadbalancer_keepalived_enabled", False)),
                    "keepalived_vip": values.get("loadbalancer_keepalived_vip", ""),
                },
            }
        )
    groups = {key: {"name": key, "hosts": names} for key, names in GROUPS.items()}
    raw = {"kubernetes_version": "1.33.4", "control_plane_endpoint": "", "init_host": "", "api_port": 6443}
    return {"groups": groups, "hosts": hosts, "cluster": {**raw, **cluster}}


@pytest.mark.parametrize("keepalived", [False, True], ids=["first-lb", "vip"])
@pytest.mark.parametrize("family", sorted(INVENTORIES))
@pytest.mark.parametrize("init_host", ["", "cp2"], ids=["default-init", "init-cp2"])
def test_the_playbook_and_validation_see_the_same_cluster(family: str, keepalived: bool, init_host: str) -> None:
    hostvars = inventory(family, keepalived)
    layout = layout_of(hostvars, init_host=init_host)
    data = validation_input(hostvars, layout, init_host=init_host)
    checker = cluster_problems._Checker(data, lambda _name: False)
    assert checker.layout.to_dict() == layout
    assert checker.cluster["control_plane_endpoint"] == layout["control_plane_endpoint"]
    address = VIPS[family] if keepalived else INVENTORIES[family]["lb1"]["ansible_host"]
    assert layout["control_plane_endpoint"] == (f"[{address}]:6443" if family == "ipv6" else f"{address}:6443")
    assert layout["init_host"] == (init_host or "cp1")
    # And validation finds nothing wrong with the endpoint the playbook uses.
    problems = cluster_problems.collect(data, lambda _name: False)
    assert [p["line"] for p in problems if p["variable"] == "kubeha_control_plane_endpoint"] == []


def test_the_layout_of_an_ipv6_inventory() -> None:
    layout = layout_of(inventory("ipv6", keepalived=False), api_port="8443", remove_nodes="cp3")
    assert layout["control_plane_endpoint"] == "[fd00::10]:8443"
    assert layout["api_port"] == 8443
    assert layout["address_of"] == {
        "lb1": "fd00::10",
        "lb2": "fd00::11",
        "cp1": "fd00::21",
        "cp2": "fd00::22",
        "cp3": "fd00::23",
        "w1": "fd00::31",
    }
    assert layout["node_name_of"] == {"cp1": "cp-1", "cp2": "cp2", "cp3": "cp3", "w1": "w1"}
    assert layout["api_backends"] == [
        {"name": "cp1", "address": "fd00::21", "port": 8443},
        {"name": "cp2", "address": "fd00::22", "port": 8443},
    ]


def test_a_group_without_hosts_in_hostvars_falls_back_to_the_hostname() -> None:
    layout = cluster_layout.cluster_layout({"groups": {"control_plane": ["cp1"]}}, {})
    assert layout["address_of"] == {"cp1": "cp1"}
    assert layout["control_planes"] == [{"name": "cp1", "address": "cp1"}]
    assert layout["control_plane_endpoint"] == ""


@pytest.mark.parametrize(
    ("data", "match"),
    [
        pytest.param(["cp1"], "expects a dict", id="not-a-dict"),
        pytest.param({"hosts": []}, "'groups'", id="no-groups"),
        pytest.param({"groups": GROUPS, "api_port": "https"}, "kubeha_api_port", id="bad-port"),
    ],
)
def test_the_layout_filter_refuses_bad_input(data: Any, match: str) -> None:
    with pytest.raises(AnsibleFilterError, match=match):
        cluster_layout.cluster_layout(data, inventory("ipv4", keepalived=False))


def test_the_hostport_filter() -> None:
    assert hostport.hostport("fd00::21", 2380) == "[fd00::21]:2380"
    assert hostport.hostport("192.0.2.21", 2380) == "192.0.2.21:2380"
    with pytest.raises(AnsibleFilterError, match="hostport: 'x' is not a port"):
        hostport.hostport("192.0.2.21", "x")


def test_the_filters_are_registered() -> None:
    assert cluster_layout.FilterModule().filters() == {"cluster_layout": cluster_layout.cluster_layout}
    assert hostport.FilterModule().filters() == {"hostport": hostport.hostport}
