"""The rules of plugins/plugin_utils/_checks_*.py through the cluster_problems filter, one breakage per case.

The valid cluster and the helpers are test_cluster_problems.py's: two load balancers with a
keepalived VIP, three control planes, one worker, all on 172.28.70.0/24.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
import yaml
from ansible_collections.kubeha.kubeadm.plugins.plugin_utils import _checks_inputs, _checks_topology
from test_cluster_problems import (
    assert_reported,
    by_host,
    chain,
    facts,
    run,
    set_cluster,
    set_group,
    set_host,
    set_lb,
    valid,
)

Change = Callable[[dict], None]


def set_inputs(name: str, value: Any, hosts: tuple[str, ...] = ("lb1", "lb2", "cp1", "cp2", "cp3", "w1")) -> Change:
    def change(data: dict) -> None:
        for host in hosts:
            by_host(data, host).setdefault("inputs", {})[name] = value

    return change


def overrides(config: dict) -> Change:
    return set_cluster("kubeadm_config", config)


def more_workers(count: int) -> Change:
    def change(data: dict) -> None:
        data["groups"]["workers"]["hosts"] += [f"w{n}" for n in range(2, count + 2)]

    return change


# (id, change, severity, host, variable, words in the line)
CASES = [
    # ports
    ("api-port-words", set_cluster("api_port", "64k"), "error", "all", "kubeha_api_port", "'64k' is not a port"),
    ("api-port-zero", set_cluster("api_port", 0), "error", "all", "kubeha_api_port", "integer 1-65535"),
    ("api-port-too-big", set_cluster("api_port", 65536), "error", "all", "kubeha_api_port", "is not a port"),
    ("api-port-float", set_cluster("api_port", 6443.5), "error", "all", "kubeha_api_port", "is not a port"),
    ("api-port-bool", set_cluster("api_port", True), "error", "all", "kubeha_api_port", "is not a port"),
    ("api-port-etcd", set_cluster("api_port", 2379), "error", "cp1, cp2, cp3", "kubeha_api_port", "etcd's client"),
    ("api-port-etcd-peer", set_cluster("api_port", 2380), "error", "cp1, cp2, cp3", "kubeha_api_port", "Port-2380"),
    ("api-port-kubelet", set_cluster("api_port", 10250), "error", "cp1, cp2, cp3", "kubeha_api_port", "the kubelet"),
    ("api-port-scheduler", set_cluster("api_port", 10259), "error", "cp1, cp2, cp3", "kubeha_api_port", "scheduler"),
    (
        "api-port-controller-manager",
        set_cluster("api_port", 10257),
        "error",
        "cp1, cp2, cp3",
        "kubeha_api_port",
        "kube-controller-manager",
    ),
    ("api-port-kube-proxy", set_cluster("api_port", 10256), "error", "cp1, cp2, cp3", "kubeha_api_port", "kube-proxy"),
    ("api-port-nodeport", set_cluster("api_port", 30443), "warning", "cp1, cp2, cp3", "kubeha_api_port", "NodePort"),
    (
        "frontend-not-a-port",
        set_lb("frontend_port", "https", hosts=("lb1",)),
        "error",
        "lb1",
        "kubeha_api_port",
        "frontend port 'https' is not a port",
    ),
    (
        "frontend-on-worker-kubelet-port",
        chain(
            set_group("loadbalancer", ["lb1", "lb2", "w1"]),
            lambda d: by_host(d, "w1").update(lb={"frontend_port": 10250}),
        ),
        "error",
        "w1",
        "kubeha_api_port",
        "the kubelet's port on this host",
    ),
    # networks
    (
        "pod-network-smaller-than-a-node-share",
        set_cluster("pod_network_cidr", "10.244.0.0/25"),
        "error",
        "all",
        "kubeha_pod_network_cidr",
        "smaller than one node's share",
    ),
    (
        "pod-network-too-few-nodes",
        set_cluster("pod_network_cidr", "10.244.0.0/23"),
        "error",
        "all",
        "kubeha_pod_network_cidr",
        "room for 2 node(s) (kube-controller-manager's default node-cidr-mask-size /24) but the inventory has 4",
    ),
    (
        "pod-network-no-room-to-grow",
        set_cluster("pod_network_cidr", "10.244.0.0/22"),
        "warning",
        "all",
        "kubeha_pod_network_cidr",
        "cannot grow to 8 nodes",
    ),
    (
        "pod-network-node-mask-override",
        chain(
            set_cluster("pod_network_cidr", "10.244.0.0/24"),
            overrides(
                {
                    "ClusterConfiguration": {
                        "controllerManager": {"extraArgs": [{"name": "node-cidr-mask-size", "value": "25"}]}
                    }
                }
            ),
        ),
        "error",
        "all",
        "kubeha_pod_network_cidr",
        "room for 2 node(s) (node-cidr-mask-size /25 (kubeadm_init_config_overrides))",
    ),
    (
        "pod-network-too-wide-for-the-mask",
        set_cluster("pod_network_cidr", "10.0.0.0/7"),
        "error",
        "all",
        "kubeha_pod_network_cidr",
        "more than 16 bits wider",
    ),
    (
        "pod-network-grows-with-workers",
        chain(set_cluster("pod_network_cidr", "10.244.0.0/21"), more_workers(6)),
        "error",
        "all",
        "kubeha_pod_network_cidr",
        "the inventory has 10 nodes",
    ),
    (
        "calico-block-of-the-other-family",
        set_cluster("cni_block_size", 64),
        "error",
        "all",
        "cni_calico_block_size",
        "it must be 20-32",
    ),
    (
        "calico-block-wider-than-pool",
        chain(set_cluster("pod_network_cidr", "10.244.0.0/22"), set_cluster("cni_block_size", 20)),
        "error",
        "all",
        "cni_calico_block_size",
        "does not fit",
    ),
    (
        "service-network-too-small",
        set_cluster("service_cidr", "10.96.0.0/29"),
        "error",
        "all",
        "kubeha_service_cidr",
        "has 8 addresses",
    ),
    (
        "service-network-too-large",
        set_cluster("service_cidr", "10.0.0.0/8"),
        "error",
        "all",
        "kubeha_service_cidr",
        "more than 20 host bits",
    ),
    (
        "service-network-other-family",
        set_cluster("service_cidr", "fd00:10:96::/108"),
        "error",
        "all",
        "kubeha_service_cidr",
        "is IPv6 but the pod network 192.168.0.0/16 is IPv4",
    ),
    (
        "service-network-not-the-advertise-family",
        chain(set_cluster("service_cidr", "fd00:10:96::/108"), set_cluster("pod_network_cidr", "fd00:10:244::/56")),
        "error",
        "cp1, cp2, cp3",
        "kubeha_service_cidr",
        "advertise IPv4 addresses",
    ),
    (
        "endpoint-inside-the-service-network",
        chain(
            set_cluster("control_plane_endpoint", "10.96.0.50:6443"),
        ),
        "error",
        "all",
        "kubeha_service_cidr",
        "the control-plane endpoint's address 10.96.0.50 is inside 10.96.0.0/12",
    ),
    # names
    (
        "node-name-longer-than-a-label",
        set_host("w1", "node_name", "w" * 64),
        "error",
        "w1",
        "kubeha_node_name",
        "kubernetes.io/hostname",
    ),
    ("cluster-name-blank", set_cluster("cluster_name", "prod eu"), "error", "all", "kubeha_cluster_name", "prod-eu"),
    ("cluster-name-slash", set_cluster("cluster_name", "prod/eu"), "error", "all", "kubeha_cluster_name", "subdomain"),
    (
        "cluster-name-upper-case",
        set_cluster("cluster_name", "Prod_Cluster"),
        "error",
        "all",
        "kubeha_cluster_name",
        "kubeha_cluster_name: prod-cluster",
    ),
    (
        "keepalived-hosts-stranger",
        set_lb("keepalived_hosts", ["lb1", "lb3"]),
        "error",
        "lb1",
        "loadbalancer_keepalived_hosts",
        "lb3 not in the load balancer group",
    ),
    (
        "keepalived-hosts-twice",
        set_lb("keepalived_hosts", ["lb1", "lb2", "lb1"]),
        "error",
        "lb2",
        "loadbalancer_keepalived_hosts",
        "lb1 more than once",
    ),
    # topology
    (
        "endpoint-is-a-control-plane",
        set_cluster("control_plane_endpoint", "172.28.70.21:6443"),
        "error",
        "all",
        "kubeha_control_plane_endpoint",
        "is the control plane cp1 itself",
    ),
    (
        "endpoint-is-a-control-plane-by-name",
        set_cluster("control_plane_endpoint", "cp2:6443"),
        "error",
        "all",
        "kubeha_control_plane_endpoint",
        "leave kubeha_control_plane_endpoint unset (it then is 172.28.70.100:6443)",
    ),
    (
        "endpoint-is-one-lb-not-the-vip",
        set_cluster("control_plane_endpoint", "172.28.70.12:6443"),
        "error",
        "all",
        "kubeha_control_plane_endpoint",
        "not the keepalived VIP",
    ),
    (
        "endpoint-misses-the-lbs",
        set_cluster("control_plane_endpoint", "172.28.70.200:6443"),
        "warning",
        "all",
        "kubeha_control_plane_endpoint",
        "none of the inventory's load balancers",
    ),
    (
        "router-id-out-of-range",
        set_inputs("loadbalancer_keepalived_virtual_router_id", 256, hosts=("lb1", "lb2")),
        "error",
        "lb1, lb2",
        "loadbalancer_keepalived_virtual_router_id",
        "256 is out of range (1-255)",
    ),
    (
        "router-id-differs",
        set_lb("keepalived_virtual_router_id", 52, hosts=("lb2",)),
        "error",
        "lb1, lb2",
        "loadbalancer_keepalived_virtual_router_id",
        "differs between the load balancers",
    ),
    (
        "vip-differs",
        set_lb("keepalived_vip", "172.28.70.101", hosts=("lb2",)),
        "error",
        "lb1, lb2",
        "loadbalancer_keepalived_vip",
        "differs between the load balancers",
    ),
    (
        "interface-name-too-long",
        set_lb("keepalived_interface", "enp0s31f6-management"),
        "error",
        "lb1",
        "loadbalancer_keepalived_interface",
        "at most 15",
    ),
    (
        "interface-missing",
        set_lb("keepalived_interface", "eth1"),
        "error",
        "lb2",
        "loadbalancer_keepalived_interface",
        "no interface 'eth1'",
    ),
    (
        "vip-prefix-out-of-range",
        set_lb("keepalived_vip_prefix", 33),
        "error",
        "lb1",
        "loadbalancer_keepalived_vip_prefix",
        "(1-32)",
    ),
    (
        "keepalived-too-many-hosts",
        chain(
            set_group("loadbalancer", [f"lb{n}" for n in range(1, 28)]),
            set_lb("keepalived_hosts", [f"lb{n}" for n in range(1, 28)]),
        ),
        "error",
        "lb1",
        "loadbalancer_keepalived_hosts",
        "at most 25 hosts fit",
    ),
    # role inputs
    (
        "input-type",
        set_inputs("loadbalancer_frontend_port", "https", hosts=("lb1", "lb2")),
        "error",
        "lb1, lb2",
        "loadbalancer_frontend_port",
        "is not a valid int",
    ),
    (
        "input-choice",
        set_inputs("cni_calico_encapsulation", "vxlan"),
        "error",
        "lb1, lb2, cp1, cp2, cp3, w1",
        "cni_calico_encapsulation",
        "'vxlan' is not one of VXLANCrossSubnet, VXLAN,",
    ),
    (
        "input-port-range",
        set_inputs("control_plane_join_etcd_client_port", 70000, hosts=("cp2",)),
        "error",
        "cp2",
        "control_plane_join_etcd_client_port",
        "out of range (1-65535)",
    ),
    (
        "input-duration",
        set_inputs("loadbalancer_timeout_client", "1 hour", hosts=("lb1",)),
        "error",
        "lb1",
        "loadbalancer_timeout_client",
        "an haproxy time",
    ),
    (
        "input-token-ttl",
        set_inputs("worker_join_token_ttl", "90", hosts=("w1",)),
        "error",
        "w1",
        "worker_join_token_ttl",
        "a duration",
    ),
    (
        "input-bool",
        set_inputs("prerequisites_swap_disable", "maybe", hosts=("w1",)),
        "error",
        "w1",
        "prerequisites_swap_disable",
        "not a valid bool",
    ),
    (
        "input-list",
        set_inputs("loadbalancer_keepalived_hosts", {"lb1": 1}, hosts=("lb1",)),
        "error",
        "lb1",
        "loadbalancer_keepalived_hosts",
        "not a valid list",
    ),
    (
        "input-dns-domain",
        set_inputs("kubeadm_init_dns_domain", "Cluster.Local", hosts=("cp1",)),
        "error",
        "cp1",
        "kubeadm_init_dns_domain",
        "a DNS domain",
    ),
    (
        "input-unknown",
        set_inputs("loadbalancer_keepalived_vips", "172.28.70.100", hosts=("lb1",)),
        "warning",
        "lb1",
        "loadbalancer_keepalived_vips",
        "not an option of the loadbalancer role",
    ),
]


@pytest.mark.parametrize(
    ("change", "severity", "host_", "variable", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_rule_reports_its_problem(change: Change, severity: str, host_: str, variable: str, words: str) -> None:
    assert_reported(change, severity, host_, variable, words)


def test_a_bad_api_port_is_reported_as_itself_not_as_the_endpoint() -> None:
    """The bad kubeha_api_port is one problem naming it, not a crash nor an endpoint error."""
    data = valid()
    data["cluster"].update(api_port="6443a", control_plane_endpoint="")
    problems = run(data)
    assert [p["variable"] for p in problems if p["severity"] == "error"] == ["kubeha_api_port"], problems


@pytest.mark.parametrize(
    "change",
    [
        set_cluster("api_port", 8443),
        set_cluster("pod_network_cidr", "10.244.0.0/20"),
        set_cluster("service_cidr", "10.96.0.0/28"),
        set_cluster("service_cidr", "10.96.0.0/12"),
        set_cluster("cluster_name", "prod.eu-1"),
        set_host("w1", "node_name", "w" * 63),
        set_cluster("control_plane_endpoint", "172.28.70.100:6443"),
        set_cluster("cni_block_size", 26),
        set_lb("keepalived_interface", "eth0"),
        set_lb("keepalived_virtual_router_id", 255),
        set_inputs("loadbalancer_timeout_client", "90m", hosts=("lb1",)),
        set_inputs("cni_calico_encapsulation", "IPIP"),
        set_inputs("worker_join_token_ttl", "1h30m", hosts=("w1",)),
        set_inputs("loadbalancer_keepalived_password", "x" * 20, hosts=("lb1",)),
    ],
    ids=lambda change: "",
)
def test_the_limits_themselves_are_fine(change: Change) -> None:
    data = valid()
    change(data)
    assert run(data) == []


def test_an_external_endpoint_without_lb_hosts_is_not_a_bypass() -> None:
    data = valid()
    data["groups"]["loadbalancer"]["hosts"] = []
    data["hosts"] = [h for h in data["hosts"] if not h["host"].startswith("lb")]
    data["cluster"]["control_plane_endpoint"] = "172.28.70.200:6443"
    assert run(data) == []


def test_an_ipv6_cluster_has_no_family_problem() -> None:
    data = valid()
    six = {"cp1": "fd00::21", "cp2": "fd00::22", "cp3": "fd00::23", "w1": "fd00::31"}
    for name, address in six.items():
        info = by_host(data, name)
        info["node_address"] = address
        info["facts"] = facts("172.28.70.1")
        info["facts"]["all_ipv6_addresses"] = [address]
    data["cluster"].update(service_cidr="fd00:10:96::/108", pod_network_cidr="fd00:10:244::/56")
    variables = {p["variable"] for p in run(data) if p["severity"] == "error"}
    assert not variables & {"kubeha_service_cidr", "kubeha_pod_network_cidr"}, variables


def test_secret_inputs_are_skipped_and_never_echoed() -> None:
    problems = _checks_inputs.problems("loadbalancer_keepalived_password", ["not", "a", "string"])
    assert problems == []


SPECS = sorted(_checks_inputs.ROLES_DIR.glob("*/meta/argument_specs.yml"))


def test_every_role_is_checked() -> None:
    assert sorted(p.parents[1].name for p in SPECS) == sorted(_checks_inputs.ROLES)


def test_every_int_option_has_a_range_and_every_table_entry_is_an_option() -> None:
    options = _checks_inputs.role_options()
    ints = {name for name, (_role, spec) in options.items() if spec.get("type") == "int"}
    assert ints == set(_checks_inputs.RANGES), ints ^ set(_checks_inputs.RANGES)
    strings = {name for name, (_role, spec) in options.items() if spec.get("type", "str") == "str"}
    assert set(_checks_inputs.FORMATS) <= strings, set(_checks_inputs.FORMATS) - strings


def test_each_format_accepts_its_role_default() -> None:
    options = _checks_inputs.role_options()
    for name, (test, what) in _checks_inputs.FORMATS.items():
        default = options[name][1].get("default", "")
        if "{{" in str(default):
            continue
        assert test(str(default)), f"{name}: the default {default!r} is not {what}"


def test_each_range_holds_its_role_default() -> None:
    options = _checks_inputs.role_options()
    for name, (low, high) in _checks_inputs.RANGES.items():
        default = options[name][1].get("default")
        assert low <= default, name
        assert high is None or default <= high, name


def test_validate_yml_leaves_out_every_secret_option() -> None:
    secret = {name for name, (_role, spec) in _checks_inputs.role_options().items() if spec.get("no_log")}
    play = yaml.safe_load((_checks_inputs.ROLES_DIR.parent / "playbooks" / "validate.yml").read_text())[0]
    assert secret
    assert set(play["vars"]["__validate_secret_inputs"]) == secret


def test_priorities_follow_the_loadbalancer_roles_vars() -> None:
    role_vars = yaml.safe_load((_checks_inputs.ROLES_DIR / "loadbalancer" / "vars" / "main.yml").read_text())
    assert role_vars["__loadbalancer_keepalived_priority_max"] == _checks_topology.PRIORITY_MAX
    assert role_vars["__loadbalancer_keepalived_priority_step"] == _checks_topology.PRIORITY_STEP
    assert role_vars["__loadbalancer_keepalived_max_hosts"] == _checks_topology.KEEPALIVED_MAX_HOSTS


def test_each_role_spec_says_what_validation_accepts() -> None:
    """The role READMEs (generated from the specs) carry the ranges and formats the checks apply."""
    options = _checks_inputs.role_options()
    for name in set(_checks_inputs.RANGES) | set(_checks_inputs.FORMATS):
        description = options[name][1].get("description")
        text = " ".join(description) if isinstance(description, list) else str(description)
        if name in _checks_inputs.RANGES:
            low, high = _checks_inputs.RANGES[name]
            wanted = f"{low}-{high}" if high is not None else f"{low} or more"
        else:
            wanted = _checks_inputs.FORMATS[name][1]
        assert f"validate.yml accepts {wanted}." in " ".join(text.split()), name
