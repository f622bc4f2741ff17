"""Table-driven tests of the cluster_problems filter: one valid cluster, then one breakage per case."""

from __future__ import annotations

import copy
import socket
from typing import Any, Callable

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.kubeha.kubeadm.plugins.filter import cluster_problems as plugin

from tests.conftest import ROOT

SUBNET = "172.28.70"


def facts(address: str, distribution: str = "Debian", version: str = "12.7", extra: list[dict] | None = None) -> dict:
    return {
        "distribution": distribution,
        "distribution_version": version,
        "distribution_major_version": version.split(".", maxsplit=1)[0],
        "os_family": "Debian",
        "interfaces": ["lo", "eth0", "tunl0"] + [x["name"] for x in extra or []],
        "lo": {"ipv4": {"address": "127.0.0.1", "netmask": "255.0.0.0"}},
        "eth0": {"ipv4": {"address": address, "netmask": "255.255.255.0"}},
        # Calico's tunnel on a converged node: inside the pod network, never counted as the node's.
        "tunl0": {"ipv4": {"address": "192.168.12.1", "netmask": "255.255.255.255"}},
        **{x["name"]: {"ipv4": x["ipv4"]} for x in extra or []},
        "all_ipv4_addresses": [address, "192.168.12.1"] + [x["ipv4"]["address"] for x in extra or []],
        "all_ipv6_addresses": [],
    }


CLUSTER = {
    "kubernetes_version": "1.37.1",
    "control_plane_endpoint": f"{SUBNET}.100:6443",
    "api_port": 6443,
    "pod_network_cidr": "192.168.0.0/16",
    "service_cidr": "10.96.0.0/12",
    "cluster_name": "kubernetes",
    "init_host": "cp1",
    "require_ha": True,
    "cni_version": "v3.33.0",
    "cni_manifests": ["operator-crds.yaml", "tigera-operator.yaml"],
    "cni_checksums": {},
    "cni_pinned_checksums": {"v3.33.0": {"operator-crds.yaml": "a" * 64, "tigera-operator.yaml": "b" * 64}},
    "cni_test_manifests": False,
    "kubeadm_config": {},
}


def host(name: str, octet: int, lb: bool = False) -> dict:
    info: dict[str, Any] = {
        "host": name,
        "node_name": name,
        "node_address": f"{SUBNET}.{octet}",
        "facts": facts(f"{SUBNET}.{octet}"),
        "kubeadm_version": "" if lb else "v1.37.1",
        "kubelet_version": "" if lb else "Kubernetes v1.37.1",
        "running_version": "",
        "cgroup_fs": "" if lb else "cgroup2fs",
        "prerequisites_source": "packages",
        "cluster": {k: CLUSTER[k] for k in ("kubernetes_version", "pod_network_cidr", "service_cidr")},
        "lb": {},
    }
    if lb:
        info["lb"] = {
            "frontend_port": 6443,
            "keepalived_enabled": True,
            "keepalived_vip": f"{SUBNET}.100",
            "keepalived_hosts": ["lb1", "lb2"],
            "keepalived_password_length": 8,
        }
    return info


def valid() -> dict:
    return {
        "groups": {
            "loadbalancer": {"name": "loadbalancer", "variable": "kubeha_loadbalancer_group", "hosts": ["lb1", "lb2"]},
            "control_plane": {
                "name": "control_plane",
                "variable": "kubeha_control_plane_group",
                "hosts": ["cp1", "cp2", "cp3"],
            },
            "workers": {"name": "workers", "variable": "kubeha_worker_group", "hosts": ["w1"]},
        },
        "cluster": copy.deepcopy(CLUSTER),
        "hosts": [
            host("lb1", 11, lb=True),
            host("lb2", 12, lb=True),
            host("cp1", 21),
            host("cp2", 22),
            host("cp3", 23),
            host("w1", 31),
        ],
    }


def by_host(data: dict, name: str) -> dict:
    return next(h for h in data["hosts"] if h["host"] == name)


def never_resolves(name: str) -> bool:
    return False


def run(data: dict, resolver: Callable[[str], bool] = never_resolves) -> list[dict]:
    return plugin.collect(data, resolver)


def test_a_valid_cluster_has_no_problem() -> None:
    assert run(valid()) == []


def test_the_filter_is_registered() -> None:
    assert plugin.FilterModule().filters()["cluster_problems"] is plugin.cluster_problems


def test_input_must_be_a_dict() -> None:
    with pytest.raises(AnsibleFilterError):
        plugin.collect(["not", "a", "dict"])  # type: ignore[arg-type]


def set_cluster(key: str, value: Any) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        data["cluster"][key] = value

    return change


def set_host(name: str, key: str, value: Any) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        by_host(data, name)[key] = value

    return change


def set_lb(key: str, value: Any, hosts: tuple[str, ...] = ("lb1", "lb2")) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        for name in hosts:
            by_host(data, name)["lb"][key] = value

    return change


def set_group(key: str, hosts: list[str]) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        data["groups"][key]["hosts"] = hosts

    return change


def chain(*changes: Callable[[dict], None]) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        for one in changes:
            one(data)

    return change


def remove_host(name: str) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        data["hosts"] = [h for h in data["hosts"] if h["host"] != name]

    return change


def set_facts(name: str, **kwargs: Any) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        info = by_host(data, name)
        info["facts"] = facts(info["node_address"], **kwargs)

    return change


# (id, change, severity, host, variable, words in the message or fix)
CASES = [
    (
        "one-control-plane-for-ha",
        set_group("control_plane", ["cp1"]),
        "error",
        "cp1",
        "kubeha_control_plane_group",
        "at least two",
    ),
    ("no-control-plane", set_group("control_plane", []), "error", "all", "kubeha_control_plane_group", "no hosts"),
    (
        "two-control-planes",
        set_group("control_plane", ["cp1", "cp2"]),
        "warning",
        "cp1, cp2",
        "kubeha_control_plane_group",
        "tolerates 0",
    ),
    (
        "four-control-planes",
        chain(set_group("control_plane", ["cp1", "cp2", "cp3", "w1"]), set_group("workers", [])),
        "warning",
        "cp1, cp2, cp3, w1",
        "kubeha_control_plane_group",
        "odd number",
    ),
    (
        "single-control-plane-without-ha",
        chain(set_group("control_plane", ["cp1"]), set_cluster("require_ha", False)),
        "warning",
        "cp1",
        "kubeha_control_plane_group",
        "tolerates 0",
    ),
    (
        "no-lb-no-endpoint",
        chain(set_group("loadbalancer", []), set_cluster("control_plane_endpoint", "")),
        "error",
        "all",
        "kubeha_control_plane_endpoint",
        "no load balancer host",
    ),
    (
        "endpoint-no-port",
        set_cluster("control_plane_endpoint", "172.28.70.100"),
        "error",
        "all",
        "kubeha_control_plane_endpoint",
        "host:port",
    ),
    (
        "endpoint-bad-port",
        set_cluster("control_plane_endpoint", "lb.example.com:99999"),
        "error",
        "all",
        "kubeha_control_plane_endpoint",
        "host:port",
    ),
    (
        "endpoint-bad-host",
        set_cluster("control_plane_endpoint", "lb_1!:6443"),
        "error",
        "all",
        "kubeha_control_plane_endpoint",
        "host:port",
    ),
    (
        "endpoint-unresolvable",
        set_cluster("control_plane_endpoint", "api.kubeha.invalid:6443"),
        "error",
        "all",
        "kubeha_control_plane_endpoint",
        "does not resolve",
    ),
    (
        "endpoint-port-not-lb-port",
        set_cluster("control_plane_endpoint", "172.28.70.100:8443"),
        "error",
        "lb1",
        "kubeha_control_plane_endpoint",
        "port 8443",
    ),
    (
        "pod-cidr-invalid",
        set_cluster("pod_network_cidr", "192.168.0.1/16"),
        "error",
        "all",
        "kubeha_pod_network_cidr",
        "did you mean 192.168.0.0/16",
    ),
    (
        "pod-cidr-garbage",
        set_cluster("pod_network_cidr", "pods"),
        "error",
        "all",
        "kubeha_pod_network_cidr",
        "not a valid network",
    ),
    (
        "service-cidr-invalid",
        set_cluster("service_cidr", "10.96.0.0/33"),
        "error",
        "all",
        "kubeha_service_cidr",
        "not a valid network",
    ),
    (
        "pod-overlaps-service",
        set_cluster("pod_network_cidr", "10.96.0.0/16"),
        "error",
        "all",
        "kubeha_pod_network_cidr",
        "overlaps the service network",
    ),
    (
        "pod-overlaps-node-network",
        set_cluster("pod_network_cidr", "172.28.0.0/16"),
        "error",
        "cp1",
        "kubeha_pod_network_cidr",
        "overlaps the host's own network 172.28.70.0/24 on eth0",
    ),
    (
        "service-overlaps-node-network",
        set_cluster("service_cidr", "172.28.64.0/20"),
        "error",
        "w1",
        "kubeha_service_cidr",
        "overlaps the host's own network",
    ),
    (
        "duplicate-node-names",
        set_host("cp2", "node_name", "cp1"),
        "error",
        "cp1, cp2",
        "kubeha_node_name",
        "used by 2 hosts",
    ),
    (
        "duplicate-addresses",
        set_host("w1", "node_address", "172.28.70.23"),
        "error",
        "cp3, w1",
        "kubeha_node_address",
        "given to 2 hosts",
    ),
    (
        "address-not-an-ip",
        set_host("w1", "node_address", "w1.example.com"),
        "error",
        "w1",
        "kubeha_node_address",
        "not an IP address",
    ),
    (
        "address-not-the-hosts",
        set_host("w1", "node_address", "172.28.70.99"),
        "error",
        "w1",
        "kubeha_node_address",
        "not an address of this host",
    ),
    (
        "control-plane-and-worker",
        set_group("workers", ["w1", "cp3"]),
        "error",
        "cp3",
        "kubeha_worker_group",
        "not both",
    ),
    (
        "lb-on-control-plane-same-port",
        set_group("loadbalancer", ["lb1", "lb2", "cp1"]),
        "error",
        "cp1",
        "kubeha_loadbalancer_group",
        "both listen on port 6443",
    ),
    (
        "node-name-uppercase",
        set_host("cp2", "node_name", "CP_2"),
        "error",
        "cp2",
        "kubeha_node_name",
        "kubeha_node_name: cp-2",
    ),
    ("node-name-too-long", set_host("w1", "node_name", "a" * 254), "error", "w1", "kubeha_node_name", "RFC 1123"),
    (
        "version-not-xyz",
        set_cluster("kubernetes_version", "v1.37"),
        "error",
        "all",
        "kubeha_kubernetes_version",
        "not a full x.y.z",
    ),
    (
        "version-unsupported",
        set_cluster("kubernetes_version", "1.27.16"),
        "error",
        "all",
        "kubeha_kubernetes_version",
        "not a supported",
    ),
    (
        "kubeadm-skew",
        set_host("cp2", "kubeadm_version", "v1.36.5"),
        "error",
        "cp2",
        "kubeha_kubernetes_version",
        "kubeadm 1.36.5 is installed",
    ),
    (
        "kubelet-newer",
        set_host("w1", "kubelet_version", "Kubernetes v1.38.0"),
        "error",
        "w1",
        "kubeha_kubernetes_version",
        "outside the supported skew",
    ),
    (
        "kubelet-too-old",
        set_host("w1", "kubelet_version", "Kubernetes v1.33.0"),
        "error",
        "w1",
        "kubeha_kubernetes_version",
        "outside the supported skew",
    ),
    (
        "kubelet-older-within-skew",
        set_host("w1", "kubelet_version", "Kubernetes v1.35.0"),
        "warning",
        "w1",
        "kubeha_kubernetes_version",
        "differs",
    ),
    (
        "preinstalled-without-kubeadm",
        chain(set_host("w1", "prerequisites_source", "preinstalled"), set_host("w1", "kubeadm_version", "")),
        "error",
        "w1",
        "prerequisites_source",
        "kubeadm is not installed",
    ),
    (
        "unsupported-os",
        set_facts("w1", distribution="Alpine", version="3.20.0"),
        "error",
        "w1",
        "ansible_facts.distribution",
        "Alpine 3.20.0",
    ),
    (
        "unsupported-os-version",
        set_facts("cp1", distribution="Ubuntu", version="20.04"),
        "error",
        "cp1",
        "ansible_facts.distribution",
        "Ubuntu 20.04",
    ),
    (
        "vip-outside-subnet",
        set_lb("keepalived_vip", "172.28.71.100"),
        "error",
        "lb1",
        "loadbalancer_keepalived_vip",
        "outside this host's subnets",
    ),
    ("vip-not-an-ip", set_lb("keepalived_vip", ""), "error", "lb2", "loadbalancer_keepalived_vip", "not an IP address"),
    (
        "vip-is-a-node-address",
        set_lb("keepalived_vip", "172.28.70.21", ("lb1",)),
        "error",
        "cp1",
        "loadbalancer_keepalived_vip",
        "already the address",
    ),
    (
        "vip-without-password",
        set_lb("keepalived_password_length", 0, ("lb2",)),
        "error",
        "lb2",
        "loadbalancer_keepalived_password",
        "without a VRRP password",
    ),
    (
        "vrrp-password-too-long",
        set_lb("keepalived_password_length", 12, ("lb1",)),
        "error",
        "lb1",
        "loadbalancer_keepalived_password",
        "12 characters",
    ),
    (
        "lb-not-in-vrrp-group",
        set_lb("keepalived_hosts", ["lb1"], ("lb2",)),
        "error",
        "lb2",
        "loadbalancer_keepalived_hosts",
        "not in",
    ),
    (
        "cni-version-without-sums",
        set_cluster("cni_version", "v3.31.0"),
        "error",
        "all",
        "cni_calico_version",
        "no valid sha256",
    ),
    (
        "cni-malformed-sums",
        set_cluster("cni_checksums", {"operator-crds.yaml": "x"}),
        "error",
        "all",
        "cni_calico_version",
        "operator-crds.yaml, tigera-operator.yaml",
    ),
    (
        "kubeadm-config-pod-subnet",
        set_cluster("kubeadm_config", {"ClusterConfiguration": {"networking": {"podSubnet": "10.244.0.0/16"}}}),
        "error",
        "all",
        "kubeadm_init_config_overrides",
        "contradicts kubeha_pod_network_cidr",
    ),
    (
        "kubeadm-config-endpoint",
        set_cluster("kubeadm_config", {"ClusterConfiguration": {"controlPlaneEndpoint": "other:6443"}}),
        "error",
        "all",
        "kubeadm_init_config_overrides",
        "controlPlaneEndpoint",
    ),
    (
        "kubeadm-config-version",
        set_cluster("kubeadm_config", {"ClusterConfiguration": {"kubernetesVersion": "v1.36.0"}}),
        "error",
        "all",
        "kubeadm_init_config_overrides",
        "kubernetesVersion",
    ),
    (
        "kubeadm-config-bind-port",
        set_cluster("kubeadm_config", {"InitConfiguration": {"localAPIEndpoint": {"bindPort": 7443}}}),
        "error",
        "all",
        "kubeadm_init_config_overrides",
        "bindPort",
    ),
    (
        "kubeadm-config-node-name",
        set_cluster("kubeadm_config", {"InitConfiguration": {"nodeRegistration": {"name": "other"}}}),
        "error",
        "all",
        "kubeadm_init_config_overrides",
        "contradicts kubeha_node_name: cp1",
    ),
    (
        "kubeadm-config-advertise-address",
        set_cluster(
            "kubeadm_config", {"InitConfiguration": {"localAPIEndpoint": {"advertiseAddress": "172.28.70.99"}}}
        ),
        "error",
        "all",
        "kubeadm_init_config_overrides",
        "contradicts kubeha_node_address: 172.28.70.21",
    ),
    (
        "init-host-not-control-plane",
        set_cluster("init_host", "w1"),
        "error",
        "all",
        "kubeha_init_host",
        "not in the control-plane group",
    ),
    ("unreachable-host", lambda data: lost(data, "cp3"), "error", "cp3", "ansible_host", "unreachable"),
    (
        "per-host-version",
        lambda data: by_host(data, "w1")["cluster"].update(kubernetes_version="1.36.1"),
        "error",
        "cp1, cp2, cp3, w1",
        "kubeha_kubernetes_version",
        "differs between hosts",
    ),
    (
        "version-too-new",
        set_cluster("kubernetes_version", "1.38.0"),
        "error",
        "all",
        "kubeha_kubernetes_version",
        "(supported: 1.35 to 1.37). Fix: set kubeha_kubernetes_version to a 1.35.x to 1.37.x release.",
    ),
    (
        "version-end-of-life-new-cluster",
        set_cluster("kubernetes_version", "1.34.11"),
        "error",
        "all",
        "kubeha_kubernetes_version",
        "accepted only for a cluster that already runs it, and no control plane runs it (supported: 1.35 to 1.37)",
    ),
    (
        "version-end-of-life-running-cluster",
        chain(
            set_cluster("kubernetes_version", "1.34.11"),
            *(set_host(h, "kubeadm_version", "kubeadm=v1.34.11") for h in ("cp1", "cp2", "cp3", "w1")),
            *(set_host(h, "kubelet_version", "kubelet=installed=1.34.11-1.1") for h in ("cp1", "cp2", "cp3", "w1")),
            *(set_host(h, "running_version", "apiserver=v1.34.11") for h in ("cp1", "cp2", "cp3")),
        ),
        "warning",
        "cp1, cp2, cp3",
        "kubeha_kubernetes_version",
        "past its end of life (2026-10-28)",
    ),
    (
        "cgroup-v1-hosts",
        chain(set_host("cp2", "cgroup_fs", "tmpfs"), set_host("w1", "cgroup_fs", "tmpfs")),
        "error",
        "cp2, w1",
        "kubeha_allow_cgroup_v1",
        "move the host to cgroup v2",
    ),
    (
        "kubeadm-config-removed-feature-gate",
        set_cluster(
            "kubeadm_config",
            {"ClusterConfiguration": {"featureGates": {"NodeLocalCRISocket": True, "RootlessControlPlane": False}}},
        ),
        "error",
        "all",
        "kubeadm_init_config_overrides",
        "drop NodeLocalCRISocket from kubeadm_init_config_overrides (NodeLocalCRISocket is gone since 1.37",
    ),
]


@pytest.mark.parametrize(
    ("change", "severity", "host_", "variable", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_problem_is_reported(
    change: Callable[[dict], None], severity: str, host_: str, variable: str, words: str
) -> None:
    assert_reported(change, severity, host_, variable, words)


def assert_reported(change: Callable[[dict], None], severity: str, host_: str, variable: str, words: str) -> None:
    """The valid cluster with `change` has this problem, with a fix, on one printed line."""
    data = valid()
    change(data)
    problems = run(data)
    matching = [
        p
        for p in problems
        if p["severity"] == severity and p["host"] == host_ and p["variable"] == variable and words in p["line"]
    ]
    assert matching, "\n".join(p["line"] for p in problems) or "no problem reported"
    problem = matching[0]
    assert problem["fix"], problem
    assert problem["line"] == f"{severity.upper()} [{host_}] {variable}: {problem['message']} Fix: {problem['fix']}"


def test_errors_come_before_warnings() -> None:
    data = valid()
    data["groups"]["control_plane"]["hosts"] = ["cp1", "cp2"]
    data["cluster"]["kubernetes_version"] = "1.20.0"
    severities = [p["severity"] for p in run(data)]
    assert severities == sorted(severities, key=lambda s: s != "error")
    assert "warning" in severities
    assert "error" in severities


def test_every_problem_is_reported_at_once() -> None:
    data = valid()
    data["cluster"]["pod_network_cidr"] = "nonsense"
    data["cluster"]["kubernetes_version"] = "1.99.0"
    by_host(data, "cp2")["node_name"] = "Bad_Name"
    variables = {p["variable"] for p in run(data)}
    assert {"kubeha_pod_network_cidr", "kubeha_kubernetes_version", "kubeha_node_name"} <= variables


def test_the_vrrp_password_itself_is_never_an_input() -> None:
    assert "keepalived_password" not in by_host(valid(), "lb1")["lb"]


def test_test_manifests_need_no_pinned_sums() -> None:
    data = valid()
    data["cluster"].update(cni_version="v9.9.9", cni_test_manifests=True)
    assert run(data) == []


def test_user_given_sums_cover_an_unpinned_version() -> None:
    data = valid()
    data["cluster"].update(
        cni_version="v3.33.1", cni_checksums={"operator-crds.yaml": "c" * 64, "tigera-operator.yaml": "d" * 64}
    )
    assert run(data) == []


def test_external_endpoint_without_lb_hosts_is_fine() -> None:
    data = valid()
    data["groups"]["loadbalancer"]["hosts"] = []
    data["hosts"] = [h for h in data["hosts"] if not h["host"].startswith("lb")]
    data["cluster"]["control_plane_endpoint"] = "api.example.com:6443"
    assert run(data, resolver=lambda name: name == "api.example.com") == []


def test_a_second_interface_counts_as_the_nodes_network() -> None:
    data = valid()
    extra = [{"name": "eth1", "ipv4": {"address": "10.244.3.7", "netmask": "255.255.0.0"}}]
    by_host(data, "w1")["facts"] = facts("172.28.70.31", extra=extra)
    data["cluster"]["pod_network_cidr"] = "10.244.0.0/16"
    (problem,) = run(data)
    assert problem["host"] == "w1"
    assert "on eth1" in problem["message"]
    assert "kubeha_pod_network_cidr: 192.168.0.0/16" in problem["fix"]


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("lb.example.com:6443", ("lb.example.com", 6443)),
        ("192.0.2.10:443", ("192.0.2.10", 443)),
        ("[2001:db8::1]:6443", ("2001:db8::1", 6443)),
        ("[lb.example.com]:6443", None),
        ("2001:db8::1:6443", None),
        ("lb.example.com", None),
        ("lb.example.com:0", None),
        ("-lb.example.com:6443", None),
        ("", None),
    ],
)
def test_split_endpoint(endpoint: str, expected: tuple[str, int] | None) -> None:
    assert plugin.split_endpoint(endpoint) == expected


def test_invalid_names_are_never_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("getaddrinfo must not be called for .invalid names")

    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
    assert plugin._resolves("api.kubeha.invalid") is False


def test_names_are_resolved_with_getaddrinfo(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def fake(name: str, *args: Any, **kwargs: Any) -> list:
        asked.append(name)
        if name == "lb.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.10", 0))]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    assert plugin._resolves("lb.example.com") is True
    assert plugin._resolves("nope.example.com") is False
    assert asked == ["lb.example.com", "nope.example.com"]


def test_without_cluster_the_init_hosts_view_is_used() -> None:
    data = valid()
    cluster = data.pop("cluster")
    for info in data["hosts"]:
        info["cluster"] = copy.deepcopy(cluster)
    by_host(data, "cp2")["cluster"]["pod_network_cidr"] = "bad"
    # cp1 names cp2 as the init host: cp2's view is the cluster's (and the views disagree).
    for info in data["hosts"]:
        info["cluster"]["init_host"] = "cp2"
    lines = [p["line"] for p in run(data)]
    assert any("'bad' is not a valid network" in line for line in lines), lines
    assert any("kubeha_pod_network_cidr: differs between hosts" in line for line in lines), lines


def test_the_default_endpoint_is_the_vip_on_the_api_port() -> None:
    data = valid()
    data["cluster"]["control_plane_endpoint"] = ""
    for name in ("lb1", "lb2"):
        by_host(data, name)["lb"]["frontend_port"] = 8443
    problems = run(data)
    assert {p["host"] for p in problems} == {"lb1", "lb2"}
    assert all("endpoint 172.28.70.100:6443 uses port 6443" in p["message"] for p in problems), problems


def test_the_default_endpoint_without_keepalived_is_the_first_lb() -> None:
    data = valid()
    data["cluster"]["control_plane_endpoint"] = ""
    data["groups"]["loadbalancer"]["hosts"] = ["lb1"]
    data["hosts"] = [h for h in data["hosts"] if h["host"] != "lb2"]
    by_host(data, "lb1")["lb"].update(keepalived_enabled=False, frontend_port=7443)
    (problem,) = run(data)
    assert "endpoint 172.28.70.11:6443" in problem["message"]


def test_consistent_overrides_pass() -> None:
    data = valid()
    data["cluster"]["kubeadm_config"] = {
        "ClusterConfiguration": {"kubernetesVersion": "v1.37.1", "apiServer": {"extraArgs": {"v": "2"}}},
        "InitConfiguration": {"nodeRegistration": {"name": "cp1"}},
    }
    assert run(data) == []


def test_the_end_of_life_minor_passes_only_as_a_warning_on_a_cluster_running_it() -> None:
    data = valid()
    data["cluster"].update(kubernetes_version="1.34.11", cni_test_manifests=True)
    for name in ("cp1", "cp2", "cp3", "w1"):
        by_host(data, name).update(kubeadm_version="v1.34.11", kubelet_version="Kubernetes v1.34.11")
    by_host(data, "cp1")["running_version"] = "apiserver=v1.34.11"
    problems = run(data)
    assert [(p["severity"], p["host"]) for p in problems] == [("warning", "cp1")], problems
    assert "kubeadm upgrade apply v1.35.x" in problems[0]["fix"]
    # The same cluster on 1.33 (running it or not) is refused, naming the supported range.
    data["cluster"]["kubernetes_version"] = "1.33.4"
    by_host(data, "cp1")["running_version"] = "apiserver=v1.33.4"
    assert any("supported: 1.35 to 1.37" in p["message"] for p in run(data) if p["severity"] == "error")


def test_cgroup_v1_hosts_pass_with_the_opt_in_and_before_1_35() -> None:
    data = valid()
    for name in ("cp1", "cp2", "cp3", "w1"):
        by_host(data, name)["cgroup_fs"] = "tmpfs"
    assert [p["variable"] for p in run(data)] == ["kubeha_allow_cgroup_v1"]
    problem = run(data)[0]
    assert problem["host"] == "cp1, cp2, cp3, w1"
    assert "kubeha_allow_cgroup_v1: true" in problem["fix"]
    data["cluster"]["allow_cgroup_v1"] = True
    assert run(data) == []
    # Load balancers run no kubelet: their cgroup version does not matter.
    data["cluster"]["allow_cgroup_v1"] = False
    for name in ("cp1", "cp2", "cp3", "w1"):
        by_host(data, name)["cgroup_fs"] = "cgroup2fs"
    by_host(data, "lb1")["cgroup_fs"] = "tmpfs"
    assert run(data) == []


def test_feature_gates_still_known_pass() -> None:
    data = valid()
    data["cluster"]["kubeadm_config"] = {"ClusterConfiguration": {"featureGates": {"RootlessControlPlane": False}}}
    assert run(data) == []
    data["cluster"]["kubernetes_version"] = "1.36.5"
    for name in ("cp1", "cp2", "cp3", "w1"):
        by_host(data, name).update(kubeadm_version="v1.36.5", kubelet_version="Kubernetes v1.36.5")
    data["cluster"]["kubeadm_config"] = {"ClusterConfiguration": {"featureGates": {"NodeLocalCRISocket": True}}}
    assert run(data) == []


def test_an_empty_inventory_reports_only_the_groups() -> None:
    problems = run({"groups": {}, "hosts": []})
    assert [(p["variable"], p["host"]) for p in problems] == [
        ("kubeha_control_plane_group", "all"),
        ("kubeha_control_plane_endpoint", "all"),
    ]


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("kubeadm=v1.33.4", (1, 33, 4)),
        ("kubelet=installed=1.33.4-1.1", (1, 33, 4)),
        ("kubelet=config-files=1.32.1-1.1", None),
        ("kubelet=package kubelet is not installed", None),
        ("kubelet=", None),
        ("Kubernetes v1.31.2", (1, 31, 2)),
        (None, None),
    ],
)
def test_installed_versions_are_read(text: str | None, version: tuple[int, int, int] | None) -> None:
    assert plugin._installed(text) == version


# --- hosts that dropped out of the validation, and stacked etcd's quorum --------------------
def running_etcd(data: dict, healthy: dict[str, bool | None]) -> dict:
    """Control planes that already run an etcd member, with their local member's health."""
    for name in ("cp1", "cp2", "cp3"):
        by_host(data, name)["etcd"] = {"member": True, "healthy": healthy.get(name, True)}
    for name in ("lb1", "lb2", "w1"):
        by_host(data, name)["etcd"] = {"member": False, "healthy": None}
    return data


def lost(data: dict, *names: str) -> dict:
    """The hosts dropped out of the play that read them: no view, and listed as unreachable."""
    data["hosts"] = [h for h in data["hosts"] if h["host"] not in names]
    data["unreachable"] = list(names)
    return data


def errors(problems: list[dict], variable: str) -> list[dict]:
    return [p for p in problems if p["severity"] == "error" and p["variable"] == variable]


def test_a_converged_cluster_with_healthy_etcd_has_no_problem() -> None:
    assert run(running_etcd(valid(), {})) == []


def test_each_unreachable_host_gets_its_own_line() -> None:
    problems = run(lost(valid(), "cp2", "lb2"))
    lines = {p["host"]: p for p in errors(problems, "ansible_host")}
    assert set(lines) == {"cp2", "lb2"}, problems
    cp2 = lines["cp2"]
    assert cp2["message"] == "unreachable (or failed) during validation; nothing was changed."
    assert cp2["fix"] == (
        "start it or fix its connection (ansible_host, ansible_user), or take it out of the cluster with "
        "playbooks/remove_node.yml (-e kubeha_remove_nodes=cp2) and the inventory."
    )
    assert cp2["line"] == f"ERROR [cp2] ansible_host: {cp2['message']} Fix: {cp2['fix']}"
    # A load balancer is no node: remove_node.yml does not apply to it.
    assert "remove_node.yml" not in lines["lb2"]["fix"]
    assert "take it out of the inventory" in lines["lb2"]["fix"]
    # Listed as unreachable, not also as a host that gave no facts.
    assert not any("gave no facts" in p["message"] for p in problems), problems


def test_unreachable_hosts_are_listed_in_inventory_order() -> None:
    # The playbook's list is a set difference, in no particular order.
    problems = run(lost(valid(), "w1", "cp3", "lb1", "cp2"))
    assert [p["host"] for p in errors(problems, "ansible_host")] == ["lb1", "cp2", "cp3", "w1"]


def test_hosts_left_out_by_a_limit_are_not_problems() -> None:
    # Left out by --limit: they gave no view, but the play never targeted them.
    data = valid()
    data["hosts"] = [h for h in data["hosts"] if h["host"] not in ("cp3", "w1")]
    data["unreachable"] = []
    assert run(data) == []


def test_a_host_that_answered_is_never_unreachable() -> None:
    data = valid()
    data["unreachable"] = ["cp1"]
    assert run(data) == []


def test_quorum_lost_with_one_of_three_answering_and_unhealthy() -> None:
    data = lost(running_etcd(valid(), {"cp1": False}), "cp2", "cp3")
    problems = run(data)
    (quorum,) = errors(problems, "etcd")
    assert quorum["host"] == "cp1, cp2, cp3"
    assert quorum["message"] == (
        "etcd quorum lost: 1 of 3 members reachable (cp1: no leader), 2 unreachable (cp2, cp3); "
        "a quorum needs 2, so the Kubernetes API cannot work until a majority is back."
    )
    assert quorum["fix"] == (
        "bring back cp2, cp3 (start the host, fix its connection or its etcd) and re-run; do not reset or "
        "re-initialise the survivors (cp1): their etcd holds the cluster's data."
    )
    assert "etcd quorum lost" in quorum["line"]
    # The unreachable control planes keep their own lines, and errors come first.
    assert {p["host"] for p in errors(problems, "ansible_host")} == {"cp2", "cp3"}
    assert problems[0]["severity"] == "error"


def test_quorum_lost_names_a_member_whose_etcd_did_not_answer() -> None:
    # cp1 answered but its etcd did not (null); cp3 answered without a leader; cp2 is down.
    data = lost(running_etcd(valid(), {"cp1": None, "cp3": False}), "cp2")
    (quorum,) = errors(run(data), "etcd")
    assert "2 of 3 members reachable (cp1: no answer, cp3: no leader), 1 unreachable (cp2)" in quorum["message"]
    assert quorum["fix"].startswith("bring back cp1, cp2 ")
    assert "the survivors (cp1, cp3)" in quorum["fix"]


def test_quorum_lost_without_unreachable_hosts_names_every_member() -> None:
    # Every member answered without a leader (e.g. cut off from one another).
    data = running_etcd(valid(), {"cp1": "false", "cp2": "false", "cp3": "false"})
    problems = run(data)
    (quorum,) = errors(problems, "etcd")
    assert "3 of 3 members reachable" in quorum["message"]
    assert "unreachable" not in quorum["message"]
    assert "a quorum needs 2" in quorum["message"]
    assert quorum["fix"].startswith("bring back cp1, cp2, cp3 ")
    assert [p["variable"] for p in problems] == ["etcd"]


def test_two_of_three_answering_and_healthy_is_no_quorum_problem() -> None:
    data = lost(running_etcd(valid(), {}), "cp3")
    problems = run(data)
    assert errors(problems, "etcd") == [], problems
    (unreachable,) = errors(problems, "ansible_host")
    assert unreachable["host"] == "cp3"


def test_one_healthy_member_is_enough_for_no_quorum_problem() -> None:
    data = running_etcd(valid(), {"cp1": False, "cp2": None, "cp3": True})
    assert run(data) == []


def test_a_new_cluster_has_no_etcd_problem() -> None:
    # No etcd manifest anywhere yet: the members' health is not asked.
    data = valid()
    for info in data["hosts"]:
        info["etcd"] = {"member": False, "healthy": None}
    assert run(data) == []
    assert errors(run(lost(data, "cp2", "cp3")), "etcd") == []


def test_a_member_that_is_no_control_plane_does_not_count() -> None:
    data = running_etcd(valid(), {"cp1": False, "cp2": False, "cp3": False})
    for name in ("cp1", "cp2", "cp3"):
        by_host(data, name)["etcd"]["member"] = False
    by_host(data, "w1")["etcd"] = {"member": True, "healthy": False}
    assert run(data) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), (None, None), ("True", True), ("false", False), ("", None), ("None", None)],
)
def test_etcd_states_are_read(value: Any, expected: bool | None) -> None:
    assert plugin._tristate(value) is expected


DEBIAN_13_CONTAINERD = "containerd github.com/containerd/containerd 1.7.24~ds1 1.7.24~ds1-6+deb13u1"


def on_release(data: dict, version: str) -> dict:
    data["cluster"]["kubernetes_version"] = version
    for info in data["hosts"]:
        if info["kubeadm_version"]:
            info["kubeadm_version"] = f"v{version}"
            info["kubelet_version"] = f"Kubernetes v{version}"
        info["cluster"]["kubernetes_version"] = version
    return data


def test_an_old_containerd_is_a_warning_naming_host_and_version() -> None:
    data = on_release(valid(), "1.35.8")
    data["cluster"]["cni_version"] = "v3.31.7"
    data["cluster"]["cni_pinned_checksums"] = {
        "v3.31.7": {"operator-crds.yaml": "a" * 64, "tigera-operator.yaml": "b" * 64}
    }
    by_host(data, "w1")["containerd_version"] = DEBIAN_13_CONTAINERD
    by_host(data, "cp1")["containerd_version"] = "containerd containerd.io v2.2.1 dea7da59"
    (problem,) = run(data)
    assert (problem["severity"], problem["host"], problem["variable"]) == (
        "warning",
        "w1",
        "prerequisites_containerd_source",
    )
    assert "containerd 1.7.24 is installed; Kubernetes 1.35 expects containerd 1.7.28 or newer" in problem["message"]
    assert "prerequisites_containerd_source: repository" in problem["fix"]


def test_no_runtime_warning_where_the_role_installs_containerd_io_from_a_repository() -> None:
    data = on_release(valid(), "1.37.1")
    data["cluster"]["cni_version"] = "v3.32.1"
    for info in data["hosts"]:
        info["containerd_version"] = DEBIAN_13_CONTAINERD
    assert {(p["host"], p["variable"]) for p in run(data) if "containerd" in p["message"]} == {
        (host, "prerequisites_containerd_source") for host in ("cp1", "cp2", "cp3", "w1")
    }
    # The role replaces the old package with the repository's containerd.io: nothing to warn about.
    for info in data["hosts"]:
        info |= {"containerd_manage": True, "containerd_source": "repository", "containerd_pin": ""}
    assert [p for p in run(data) if "containerd" in p["message"]] == []
    # Unless the pinned containerd.io is itself too old.
    by_host(data, "w1")["containerd_pin"] = "1.7.27"
    (problem,) = [p for p in run(data) if "containerd" in p["message"]]
    assert (problem["severity"], problem["host"], problem["variable"]) == (
        "warning",
        "w1",
        "prerequisites_containerd_version",
    )
    assert "pins containerd.io 1.7.27; Kubernetes 1.37 expects containerd 2.0.0 or newer" in problem["message"]
    # A role that does not manage containerd leaves the installed one: the warning is back.
    by_host(data, "w1").update(containerd_manage=False, containerd_pin="")
    assert [(p["host"], p["variable"]) for p in run(data) if "containerd" in p["message"]] == [
        ("w1", "prerequisites_containerd_source")
    ]


def test_no_runtime_warning_without_an_installed_containerd() -> None:
    data = on_release(valid(), "1.35.8")
    data["cluster"]["cni_version"] = "v3.31.7"
    data["cluster"]["cni_pinned_checksums"] = {
        "v3.31.7": {"operator-crds.yaml": "a" * 64, "tigera-operator.yaml": "b" * 64}
    }
    by_host(data, "w1")["containerd_version"] = ""
    assert run(data) == []


def test_a_calico_release_outside_tigeras_window_is_a_warning_naming_the_fix() -> None:
    data = on_release(valid(), "1.35.8")
    data["cluster"]["cni_version"] = "v3.30.4"
    data["cluster"]["cni_pinned_checksums"]["v3.30.4"] = {
        "operator-crds.yaml": "a" * 64,
        "tigera-operator.yaml": "b" * 64,
    }
    assert run(data) == []
    data["cluster"]["cni_checksums"] = {"operator-crds.yaml": "c" * 64, "tigera-operator.yaml": "d" * 64}
    data["cluster"]["cni_version"] = "v3.32.1"
    assert run(data) == []
    data["cluster"]["cni_version"] = "v3.31.7"
    assert run(data) == []
    data = on_release(data, "1.37.1")
    data["cluster"]["cni_version"] = "v3.32.1"
    (problem,) = run(data)
    assert (problem["severity"], problem["host"], problem["variable"]) == ("warning", "all", "cni_calico_version")
    assert "Calico v3.32.1 is tested with Kubernetes 1.34 to 1.36, not with the requested 1.37" in problem["message"]
    assert "set cni_calico_version to a 3.33 release" in problem["fix"]


def test_the_stand_in_manifests_have_no_calico_release_to_check() -> None:
    data = on_release(valid(), "1.37.1")
    data["cluster"].update(cni_version="v3.32.1", cni_test_manifests=True)
    assert run(data) == []


def test_the_lab_is_quiet_about_calico_and_the_real_packages_lab_keeps_the_warning() -> None:
    # The double's lab applies the stand-in manifests, which stand for no Calico release; with the
    # real packages, the cni role's default Calico and the lab's Kubernetes are a pair Tigera does
    # not test, and validate.yml must keep saying so.
    lab = yaml.safe_load((ROOT / "inventories" / "lab" / "group_vars" / "all.yml").read_text())
    real = yaml.safe_load((ROOT / "inventories" / "lab-real-packages.yml").read_text())
    calico = yaml.safe_load((ROOT / "roles" / "cni" / "defaults" / "main.yml").read_text())["cni_calico_version"]
    data = on_release(valid(), str(lab["kubeha_kubernetes_version"]))
    data["cluster"].update(cni_version=calico, cni_test_manifests=lab["cni_calico_test_manifests"])
    data["cluster"]["cni_pinned_checksums"] = {
        calico: {"operator-crds.yaml": "a" * 64, "tigera-operator.yaml": "b" * 64}
    }
    assert run(data) == []
    data["cluster"]["cni_test_manifests"] = real["cni_calico_test_manifests"]
    (problem,) = run(data)
    assert (problem["severity"], problem["variable"]) == ("warning", "cni_calico_version")
    assert f"Calico {calico} is tested with Kubernetes 1.34 to 1.36, not with the requested 1.37" in problem["message"]


def with_image_kubectl(data: dict, kubectl: str, skew: object = 1) -> dict:
    """Every node from a golden image (preinstalled) whose kubectl is `kubectl`."""
    for name in ("cp1", "cp2", "cp3", "w1"):
        by_host(data, name).update(prerequisites_source="preinstalled", kubectl_version=kubectl, kubectl_max_skew=skew)
    return data


def test_an_image_kubectl_too_far_from_the_request_is_refused_before_any_change() -> None:
    # The lab's image carries kubectl 1.37: a 1.35 cluster is two minors away, outside kubectl's skew.
    data = with_image_kubectl(on_release(valid(), "1.35.8"), "v1.37.1")
    data["cluster"]["cni_version"] = "v3.31.7"
    data["cluster"]["cni_pinned_checksums"] = {
        "v3.31.7": {"operator-crds.yaml": "a" * 64, "tigera-operator.yaml": "b" * 64}
    }
    problems = run(data)
    assert [(p["severity"], p["host"], p["variable"]) for p in problems] == [
        ("error", name, "kubeha_kubernetes_version") for name in ("cp1", "cp2", "cp3", "w1")
    ], problems
    assert (
        "1.35.8 is requested but the host's image carries kubectl 1.37.1, more than "
        "prerequisites_kubectl_max_minor_skew (1) minor version(s) away" in problems[0]["message"]
    )
    assert "put a kubectl 1.34 to 1.36 in the host's image" in problems[0]["fix"]
    # Within one minor either way, it is fine; so is any kubectl when the role installs packages.
    assert run(with_image_kubectl(on_release(valid(), "1.36.5"), "v1.37.1")) == []
    assert run(with_image_kubectl(valid(), "v1.36.4")) == []
    packages = with_image_kubectl(on_release(valid(), "1.36.5"), "v1.34.0")
    for name in ("cp1", "cp2", "cp3", "w1"):
        by_host(packages, name)["prerequisites_source"] = "packages"
    assert run(packages) == []


def test_an_image_kubectl_beyond_a_zero_skew_names_the_one_minor_wanted() -> None:
    data = with_image_kubectl(on_release(valid(), "1.36.5"), "v1.37.1", skew="0")
    for name in ("cp2", "cp3", "w1"):
        by_host(data, name)["kubectl_version"] = "v1.36.5"
    (problem,) = run(data)
    assert problem["host"] == "cp1"
    assert "more than prerequisites_kubectl_max_minor_skew (0) minor version(s) away" in problem["message"]
    assert problem["fix"].startswith("put a kubectl 1.36 in the host's image")
    # No kubectl in the image: nothing to compare (the role says so if one is needed).
    assert run(with_image_kubectl(on_release(valid(), "1.36.5"), "", skew="0")) == []


def running_at(data: dict, version: str) -> dict:
    """Every node of the valid cluster installed at `version`, its control planes running it."""
    for name in ("cp1", "cp2", "cp3", "w1"):
        by_host(data, name).update(
            kubeadm_version=f"kubeadm=v{version}", kubelet_version=f"kubelet=installed={version}-1.1"
        )
    for name in ("cp1", "cp2", "cp3"):
        by_host(data, name).update(running_version=f"apiserver=v{version}", etcd={"member": True, "healthy": True})
    return data


def test_an_installation_on_a_cluster_running_an_older_release_refuses_and_names_upgrade_yml() -> None:
    data = running_at(valid(), "1.36.5")
    problems = run(data)
    assert [(p["severity"], p["host"], p["variable"]) for p in problems] == [
        ("error", "cp1, cp2, cp3", "kubeha_kubernetes_version")
    ], problems
    assert (
        "1.37.1 is requested but this control plane runs 1.36.5: ha_cluster.yml never upgrades"
        in problems[0]["message"]
    )
    assert "playbooks/upgrade.yml (ansible-playbook kubeha.kubeadm.upgrade" in problems[0]["fix"]
    assert "-e kubeha_kubernetes_version=1.37.1" in problems[0]["fix"]
    # At the running release there is nothing to say; a newer one running is refused too.
    assert run(running_at(valid(), "1.37.1")) == []
    newer = running_at(valid(), "1.37.1")
    newer["cluster"]["kubernetes_version"] = "1.37.0"
    assert [p["message"] for p in run(newer) if "never downgraded" in p["message"]], run(newer)


def upgrade_input(data: dict, target: str, nodes_ready: bool = True, index_versions: tuple = ("1.37.1",)) -> dict:
    data["cluster"]["kubernetes_version"] = target
    minor = ".".join(target.split(".")[:2])
    content = "\n\n".join(
        f"Package: {p}\nVersion: {v}-1.1" for p in ("kubeadm", "kubelet", "kubectl") for v in index_versions
    )
    items = [
        {
            "metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": "True" if nodes_ready else "False"}]},
        }
        for name in ("cp1", "cp2", "cp3", "w1")
    ]
    data["upgrade"] = {"nodes": {"items": items}}
    for name in ("cp1", "cp2", "cp3", "w1"):
        by_host(data, name)["repository"] = {"url": f"https://repo/v{minor}/deb/", "status": 200, "content": content}
    return data


def test_an_upgrade_validates_with_the_upgrade_rules_instead_of_the_installed_versions() -> None:
    assert run(upgrade_input(running_at(valid(), "1.36.5"), "1.37.1")) == []
    problems = run(
        upgrade_input(running_at(valid(), "1.36.5"), "1.37.1", nodes_ready=False, index_versions=("1.37.0",))
    )
    lines = [p["line"] for p in problems]
    assert all(p["severity"] == "error" for p in problems)
    assert any("[w1] ansible_host: node w1 is not Ready" in line for line in lines), lines
    assert any("has no kubeadm, kubelet, kubectl at 1.37.1 (it has 1.37.0)" in line for line in lines), lines
    downgrade = run(upgrade_input(running_at(valid(), "1.37.1"), "1.36.5", index_versions=("1.36.5",)))
    assert [p["variable"] for p in downgrade] == ["kubeha_kubernetes_version"], downgrade
    assert "never downgrades" in downgrade[0]["message"]


def test_an_upgrade_refuses_a_dnf_node_naming_the_host_and_the_fact() -> None:
    data = upgrade_input(running_at(valid(), "1.36.5"), "1.37.1")
    dnf = {"distribution": "RedHat", "distribution_version": "9.4", "os_family": "RedHat", "pkg_mgr": "dnf"}
    by_host(data, "w1")["facts"].update(dnf)
    for name in ("cp1", "cp2", "cp3"):
        by_host(data, name)["facts"]["pkg_mgr"] = "apt"
    problems = run(data)
    assert [(p["severity"], p["host"], p["variable"]) for p in problems] == [("error", "w1", "ansible_pkg_mgr")]
    assert problems[0]["line"].startswith("ERROR [w1] ansible_pkg_mgr: is dnf: upgrade.yml upgrades"), problems
    assert "nothing was changed" in problems[0]["message"]
    assert "kubeadm's upgrade guide" in problems[0]["fix"]
    # The same host in an installation is fine: the prerequisites role installs with dnf.
    install = running_at(valid(), "1.37.1")
    by_host(install, "w1")["facts"].update(dnf)
    assert run(install) == []


def test_an_upgrade_refuses_a_worker_batch_that_is_not_a_count_or_a_percentage() -> None:
    for batch in ("0", 0, "0%", "150%", "-1", "half", "", None, True, [1, 2]):
        data = upgrade_input(running_at(valid(), "1.36.5"), "1.37.1")
        data["upgrade"]["worker_batch"] = batch
        problems = run(data)
        assert [(p["host"], p["variable"]) for p in problems] == [("all", "kubeha_upgrade_worker_batch")], batch
        assert "is not a number of workers (1 or more) nor a percentage of them" in problems[0]["message"]
    for batch in ("20%", "1", 2, "100%"):
        data = upgrade_input(running_at(valid(), "1.36.5"), "1.37.1")
        data["upgrade"]["worker_batch"] = batch
        assert run(data) == [], batch
