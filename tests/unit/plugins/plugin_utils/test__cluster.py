"""The cluster model: layout rules, defaults and host:port, IPv4 and IPv6."""

from __future__ import annotations

import pytest
from ansible_collections.kubeha.kubeadm.plugins.plugin_utils import _cluster
from ansible_collections.kubeha.kubeadm.plugins.plugin_utils._cluster import HostInputs, build_layout

GROUPS = {"loadbalancer": ["lb1", "lb2"], "control_plane": ["cp1", "cp2", "cp3"], "workers": ["w1"]}


def hosts(**overrides: HostInputs) -> dict[str, HostInputs]:
    plain = {
        "lb1": HostInputs(address="192.0.2.11", node_name="lb1"),
        "lb2": HostInputs(address="192.0.2.12", node_name="lb2"),
        "cp1": HostInputs(address="192.0.2.21", node_name="cp-1"),
        "cp2": HostInputs(address="192.0.2.22", node_name="cp2"),
        "cp3": HostInputs(address="192.0.2.23", node_name="cp3"),
        "w1": HostInputs(address="192.0.2.31", node_name="w1"),
    }
    return {**plain, **overrides}


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        pytest.param("192.0.2.10", 6443, "192.0.2.10:6443", id="ipv4"),
        pytest.param("lb.example.com", "8443", "lb.example.com:8443", id="name-port-as-text"),
        pytest.param("fd00::10", 6443, "[fd00::10]:6443", id="ipv6"),
        pytest.param("[fd00::10]", 2380, "[fd00::10]:2380", id="ipv6-already-bracketed"),
        pytest.param(" fd00::10 ", 2380, "[fd00::10]:2380", id="ipv6-with-blanks"),
        pytest.param("fd00::10", None, "[fd00::10]", id="ipv6-without-port"),
        pytest.param("192.0.2.10", "", "192.0.2.10", id="ipv4-empty-port"),
    ],
)
def test_hostport(host: str, port: object, expected: str) -> None:
    assert _cluster.hostport(host, port) == expected


@pytest.mark.parametrize("port", [0, 65536, "https", "-1", "6443x"])
def test_hostport_refuses_what_is_not_a_port(port: object) -> None:
    with pytest.raises(ValueError, match="is not a port"):
        _cluster.hostport("192.0.2.10", port)


def test_the_default_layout() -> None:
    layout = build_layout(GROUPS, hosts())
    assert layout.all_hosts == ["lb1", "lb2", "cp1", "cp2", "cp3", "w1"]
    assert layout.nodes == ["cp1", "cp2", "cp3", "w1"]
    assert layout.init_host == "cp1"
    assert layout.api_port == 6443
    assert layout.control_plane_endpoint == "192.0.2.11:6443"
    assert layout.control_plane_endpoint_given is False
    # Load balancers are not nodes: they have an address, no node name.
    assert layout.node_name_of == {"cp1": "cp-1", "cp2": "cp2", "cp3": "cp3", "w1": "w1"}
    assert layout.address_of["lb2"] == "192.0.2.12"
    assert layout.control_planes == [
        {"name": "cp1", "address": "192.0.2.21"},
        {"name": "cp2", "address": "192.0.2.22"},
        {"name": "cp3", "address": "192.0.2.23"},
    ]
    assert layout.api_backends == [dict(cp, port=6443) for cp in layout.control_planes]
    assert layout.remove_nodes == []


def test_the_keepalived_vip_of_the_first_load_balancer_is_the_endpoint() -> None:
    vip = HostInputs(address="192.0.2.11", keepalived_enabled=True, keepalived_vip="192.0.2.100")
    assert build_layout(GROUPS, hosts(lb1=vip), api_port="7443").control_plane_endpoint == "192.0.2.100:7443"
    # Only the first load balancer's settings count, as in the playbook.
    second = HostInputs(address="192.0.2.12", keepalived_enabled=True, keepalived_vip="192.0.2.100")
    assert build_layout(GROUPS, hosts(lb2=second)).control_plane_endpoint == "192.0.2.11:6443"
    # A VIP without keepalived enabled is not used.
    off = HostInputs(address="192.0.2.11", keepalived_vip="192.0.2.100")
    assert build_layout(GROUPS, hosts(lb1=off)).control_plane_endpoint == "192.0.2.11:6443"


@pytest.mark.parametrize(
    ("lb1", "expected"),
    [
        pytest.param(HostInputs(address="fd00::10"), "[fd00::10]:6443", id="address"),
        pytest.param(
            HostInputs(address="fd00::10", keepalived_enabled=True, keepalived_vip="fd00::100"),
            "[fd00::100]:6443",
            id="vip",
        ),
    ],
)
def test_an_ipv6_endpoint_is_bracketed(lb1: HostInputs, expected: str) -> None:
    assert build_layout(GROUPS, hosts(lb1=lb1)).control_plane_endpoint == expected


def test_a_given_endpoint_is_used_as_given() -> None:
    layout = build_layout(GROUPS, hosts(), control_plane_endpoint=" api.example.com:6443 ")
    assert layout.control_plane_endpoint == "api.example.com:6443"
    assert layout.control_plane_endpoint_given is True


def test_without_load_balancer_or_known_address_there_is_no_default_endpoint() -> None:
    assert build_layout({"control_plane": ["cp1"]}, hosts()).control_plane_endpoint == ""
    # The first load balancer did not answer (validation): its address is unknown.
    unknown = {name: inputs for name, inputs in hosts().items() if name != "lb1"}
    layout = build_layout(GROUPS, unknown)
    assert layout.control_plane_endpoint == ""
    assert layout.address_of["lb1"] == ""


def test_the_init_host_comes_first_among_the_control_planes() -> None:
    layout = build_layout(GROUPS, hosts(), init_host="cp2")
    assert layout.init_host == "cp2"
    assert [cp["name"] for cp in layout.control_planes] == ["cp2", "cp1", "cp3"]


@pytest.mark.parametrize(
    "given",
    [
        pytest.param("cp3, w1,,cp3", id="comma-separated"),
        pytest.param(["cp3", " w1", "", "cp3"], id="list"),
    ],
)
def test_removed_control_planes_leave_the_backends(given: object) -> None:
    layout = build_layout(GROUPS, hosts(), remove_nodes=given, api_port=8443)
    assert layout.remove_nodes == ["cp3", "w1"]
    assert layout.api_backends == [
        {"name": "cp1", "address": "192.0.2.21", "port": 8443},
        {"name": "cp2", "address": "192.0.2.22", "port": 8443},
    ]


def test_a_host_in_two_groups_is_listed_once() -> None:
    layout = build_layout({"loadbalancer": ["lb1"], "control_plane": ["cp1", "cp1"], "workers": ["cp1"]}, hosts())
    assert layout.all_hosts == ["lb1", "cp1"]
    assert layout.nodes == ["cp1"]


@pytest.mark.parametrize("port", ["https", "0", 70000])
def test_an_api_port_that_is_no_port_is_refused_naming_the_variable(port: object) -> None:
    with pytest.raises(ValueError, match="kubeha_api_port"):
        build_layout(GROUPS, hosts(), api_port=port)


def test_host_inputs_follow_the_documented_defaults() -> None:
    assert _cluster.host_inputs("cp1", {}) == HostInputs(address="cp1", node_name="cp1")
    assert _cluster.host_inputs("cp1", {"ansible_host": "192.0.2.21"}).address == "192.0.2.21"
    given = {"ansible_host": "192.0.2.21", "kubeha_node_address": "fd00::21", "kubeha_node_name": "cp-1"}
    assert _cluster.host_inputs("cp1", given) == HostInputs(address="fd00::21", node_name="cp-1")
    lb = {"loadbalancer_keepalived_enabled": "yes", "loadbalancer_keepalived_vip": "192.0.2.100"}
    assert _cluster.host_inputs("lb1", lb).keepalived_enabled is True
    assert _cluster.host_inputs("lb1", {"loadbalancer_keepalived_enabled": "false"}).keepalived_enabled is False


NO_LBS = {"control_plane": ["cp1", "cp2", "cp3"], "workers": ["w1"]}


def test_without_load_balancers_a_vip_puts_haproxy_on_the_control_planes() -> None:
    layout = build_layout(NO_LBS, hosts(), control_plane_vip=" 192.0.2.100 ", init_host="cp2")
    assert layout.loadbalancer_on_control_planes is True
    assert layout.control_plane_vip == "192.0.2.100"
    # haproxy's own port, never the API server's; the endpoint is the VIP on it.
    assert layout.loadbalancer_port == 8443
    assert layout.api_port == 6443
    assert layout.control_plane_endpoint == "192.0.2.100:8443"
    assert layout.control_plane_endpoint_given is False
    # The init host first (highest VRRP priority: it holds the VIP when kubeadm init runs).
    assert layout.loadbalancer_hosts == ["cp2", "cp1", "cp3"]
    assert [b["name"] for b in layout.api_backends] == ["cp2", "cp1", "cp3"]
    assert {b["port"] for b in layout.api_backends} == {6443}
    # Control planes are still the only LB hosts: no extra host appears anywhere.
    assert layout.all_hosts == ["cp1", "cp2", "cp3", "w1"]


def test_the_control_plane_lb_port_and_an_ipv6_vip() -> None:
    layout = build_layout(NO_LBS, hosts(), control_plane_vip="fd00::100", control_plane_lb_port="9443", api_port=7443)
    assert layout.control_plane_endpoint == "[fd00::100]:9443"
    assert layout.loadbalancer_port == 9443
    assert {b["port"] for b in layout.api_backends} == {7443}
    # A control plane being removed leaves the VRRP members; the order (priorities) stays.
    removing = build_layout(NO_LBS, hosts(), control_plane_vip="fd00::100", init_host="cp3", remove_nodes="cp1")
    assert removing.loadbalancer_hosts == ["cp3", "cp2"]
    # A given endpoint (a name for the VIP, say) is used as given.
    named = build_layout(NO_LBS, hosts(), control_plane_vip="fd00::100", control_plane_endpoint="api.example:8443")
    assert named.control_plane_endpoint == "api.example:8443"


def test_load_balancer_hosts_win_over_a_control_plane_vip() -> None:
    # Validation reports the contradiction; the layout keeps the separate load balancers.
    layout = build_layout(GROUPS, hosts(), control_plane_vip="192.0.2.100")
    assert layout.loadbalancer_on_control_planes is False
    assert layout.loadbalancer_hosts == ["lb1", "lb2"]
    assert layout.loadbalancer_port == 6443
    assert layout.control_plane_endpoint == "192.0.2.11:6443"
    # Without a VIP nothing runs on the control planes.
    plain = build_layout(NO_LBS, hosts())
    assert (plain.loadbalancer_on_control_planes, plain.loadbalancer_hosts, plain.control_plane_endpoint) == (
        False,
        [],
        "",
    )


@pytest.mark.parametrize("port", ["https", "0", 70000])
def test_a_control_plane_lb_port_that_is_no_port_is_refused_naming_the_variable(port: object) -> None:
    with pytest.raises(ValueError, match="kubeha_control_plane_lb_port"):
        build_layout(NO_LBS, hosts(), control_plane_vip="192.0.2.100", control_plane_lb_port=port)
