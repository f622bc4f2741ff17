"""Verify playbooks/validate.yml on deliberately broken inventories.

Each case copies the scenario's valid inventory (the same six containers, reached through
community.docker.docker), breaks one thing, runs the real playbook and asserts that it fails
with the expected line (host, variable, fix) and that no host reported a change. The valid
inventory with two control planes passes with its warning. Cases run a few at a time; every
run is bounded in time. The only traffic is to the scenario's own containers.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
PLAYBOOK = ROOT / "playbooks" / "validate.yml"
RUN_TIMEOUT = 300
PARALLEL = 3
RECAP_LINE = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)
GROUP_HOSTS = {
    "loadbalancer": {"val-lb1": "172.28.70.11"},
    "control_plane": {"val-cp1": "172.28.70.21", "val-cp2": "172.28.70.22", "val-cp3": "172.28.70.23"},
    "workers": {"val-w1": "172.28.70.31"},
}
# How the checks name every host, and every control plane, of this inventory.
EVERY_HOST = "val-lb1, val-cp1, val-cp2, val-cp3, val-w1"
CONTROL_PLANES = "val-cp1, val-cp2, val-cp3"
# The same valid settings as molecule.yml's inventory.
BASE_VARS = {
    "ansible_connection": "community.docker.docker",
    "ansible_python_interpreter": "/usr/bin/python3",
    "kubeha_kubernetes_version": "1.37.1",
    # The test machines boot cgroup v1; the case cgroup-v1-refused drops this.
    "kubeha_allow_cgroup_v1": True,
    "cni_calico_manifest_checksums": {
        "operator-crds.yaml": "7e52ae4fa64f17f61570e4eb495c381edf358f1991f6dc3b78629f83206faac8",
        "tigera-operator.yaml": "78b8d78644d579f30f278c092ee09d37dc28b78bd504c9f37fc44cbf2f49a433",
    },
    "loadbalancer_keepalived_enabled": True,
    "loadbalancer_keepalived_hosts": ["val-lb1"],
    "loadbalancer_keepalived_vip": "172.28.70.100",
    "loadbalancer_keepalived_vip_prefix": 24,
    "loadbalancer_keepalived_password": "kubeha-v",
}


def base_inventory() -> dict:
    children = {
        group: {
            "hosts": {name: {"ansible_host": name, "kubeha_node_address": address} for name, address in hosts.items()}
        }
        for group, hosts in GROUP_HOSTS.items()
    }
    return {"all": {"vars": copy.deepcopy(BASE_VARS), "children": children}}


Change = Callable[[dict], None]


def set_var(name: str, value: object) -> Change:
    def change(inventory: dict) -> None:
        inventory["all"]["vars"][name] = value

    return change


def set_host_var(group: str, host: str, name: str, value: object) -> Change:
    def change(inventory: dict) -> None:
        inventory["all"]["children"][group]["hosts"][host][name] = value

    return change


def drop_var(name: str) -> Change:
    def change(inventory: dict) -> None:
        inventory["all"]["vars"].pop(name, None)

    return change


def keep_hosts(group: str, *hosts: str) -> Change:
    def change(inventory: dict) -> None:
        members = inventory["all"]["children"][group]["hosts"]
        inventory["all"]["children"][group]["hosts"] = {h: v for h, v in members.items() if h in hosts}

    return change


def add_to_group(group: str, host: str) -> Change:
    def change(inventory: dict) -> None:
        inventory["all"]["children"][group]["hosts"][host] = {}

    return change


def chain(*changes: Change) -> Change:
    def change(inventory: dict) -> None:
        for one in changes:
            one(inventory)

    return change


@dataclass
class Case:
    name: str
    change: Change
    # (severity, host, variable, words of the fix): each must appear as one printed line
    expected: list[tuple[str, str, str, str]]
    passes: bool = False
    # A host-side setup for the run (its hosts are then not shared with concurrent cases).
    host_setup: tuple[str, str, str] | None = None
    # Cases of one batch share a run: each breaks its own variable (validation reports every
    # problem at once) and each asserts its own line; a batch either fails or passes as a whole.
    batch: str = ""
    output: str = field(default="", repr=False)
    returncode: int = -1
    hosts: set[str] = field(default_factory=set)


CASES = [
    Case(
        "valid-two-control-planes-warns",
        keep_hosts("control_plane", "val-cp1", "val-cp2"),
        [("warning", "val-cp1, val-cp2", "kubeha_control_plane_group", "use an odd number of control planes")],
        passes=True,
    ),
    Case(
        # The nodes run the distribution's containerd (Debian 13: 1.7): older than the 2.0 that the
        # installed release (1.37, the default) expects. The version must match the installed kubeadm.
        "distribution-containerd-older-than-the-release-expects",
        set_var("kubeha_kubernetes_version", "1.37.1"),
        [
            ("warning", node, "prerequisites_containerd_source", "set prerequisites_containerd_source: repository")
            for node in ("val-cp1", "val-cp2", "val-cp3", "val-w1")
        ],
        passes=True,
    ),
    Case(
        "one-control-plane-for-ha",
        keep_hosts("control_plane", "val-cp1"),
        [("error", "val-cp1", "kubeha_control_plane_group", "add control planes to 'control_plane'")],
    ),
    Case(
        "no-load-balancer-no-endpoint",
        keep_hosts("loadbalancer"),
        [("error", "all", "kubeha_control_plane_endpoint", "add an haproxy host to 'loadbalancer'")],
    ),
    Case(
        "endpoint-not-host-port",
        set_var("kubeha_control_plane_endpoint", "172.28.70.100"),
        [("error", "all", "kubeha_control_plane_endpoint", "set kubeha_control_plane_endpoint to e.g.")],
    ),
    Case(
        "endpoint-does-not-resolve",
        set_var("kubeha_control_plane_endpoint", "api.kubeha.invalid:6443"),
        [("error", "all", "kubeha_control_plane_endpoint", "add 'api.kubeha.invalid' to DNS")],
    ),
    Case(
        "pod-cidr-invalid",
        set_var("kubeha_pod_network_cidr", "192.168.0.1/16"),
        [("error", "all", "kubeha_pod_network_cidr", "set kubeha_pod_network_cidr to a network address")],
    ),
    Case(
        "pod-cidr-overlaps-service-cidr",
        set_var("kubeha_pod_network_cidr", "10.96.0.0/16"),
        [("error", "all", "kubeha_pod_network_cidr", "choose disjoint networks")],
    ),
    Case(
        "pod-cidr-overlaps-node-network",
        set_var("kubeha_pod_network_cidr", "172.28.0.0/16"),
        [
            ("error", host, "kubeha_pod_network_cidr", "choose a pod network outside")
            for host in ("val-lb1", "val-cp2", "val-w1")
        ],
    ),
    Case(
        "duplicate-node-names",
        set_host_var("control_plane", "val-cp2", "kubeha_node_name", "val-cp1"),
        [("error", "val-cp1, val-cp2", "kubeha_node_name", "give each host its own kubeha_node_name")],
    ),
    Case(
        "duplicate-node-addresses",
        set_host_var("workers", "val-w1", "kubeha_node_address", "172.28.70.23"),
        [("error", "val-cp3, val-w1", "kubeha_node_address", "give each host its own kubeha_node_address")],
    ),
    Case(
        "control-plane-also-worker",
        add_to_group("workers", "val-cp3"),
        [("error", "val-cp3", "kubeha_worker_group", "remove it from 'workers'")],
    ),
    Case(
        "load-balancer-on-control-plane-port",
        add_to_group("loadbalancer", "val-cp1"),
        [("error", "val-cp1", "kubeha_loadbalancer_group", "use load balancer hosts that are not control planes")],
    ),
    Case(
        "node-name-not-rfc1123",
        set_host_var("control_plane", "val-cp2", "kubeha_node_name", "Val_CP2"),
        [("error", "val-cp2", "kubeha_node_name", "kubeha_node_name: val-cp2")],
    ),
    Case(
        "kubernetes-version-unsupported",
        set_var("kubeha_kubernetes_version", "1.38.0"),
        [("error", "all", "kubeha_kubernetes_version", "to a 1.35.x to 1.37.x release")],
    ),
    Case(
        "kubernetes-version-end-of-life-for-a-new-cluster",
        set_var("kubeha_kubernetes_version", "1.34.11"),
        [("error", "all", "kubeha_kubernetes_version", "to a 1.35.x to 1.37.x release")],
    ),
    # val-cp1's kube-apiserver manifest says the cluster runs 1.34.11 (and its kubeadm is 1.34.11).
    Case(
        "kubernetes-version-end-of-life-already-running-warns",
        set_var("kubeha_kubernetes_version", "1.34.11"),
        [("warning", "val-cp1", "kubeha_kubernetes_version", "kubeadm upgrade apply v1.35.x")],
        passes=True,
        host_setup=(
            "val-cp1",
            "mkdir -p /etc/kubeha-test /etc/kubernetes/manifests && echo v1.34.11 > /etc/kubeha-test/kubeadm-version"
            " && printf 'spec:\\n  containers:\\n  - image: registry.k8s.io/kube-apiserver:v1.34.11\\n'"
            " > /etc/kubernetes/manifests/kube-apiserver.yaml",
            "rm -rf /etc/kubeha-test /etc/kubernetes/manifests/kube-apiserver.yaml",
        ),
    ),
    # val-cp1 runs 1.36.5 (its manifest and its kubeadm): ha_cluster.yml with 1.37.1 would upgrade it.
    Case(
        "newer-version-on-a-running-cluster-names-upgrade-yml",
        set_var("kubeha_kubernetes_version", "1.37.1"),
        [
            (
                "error",
                "val-cp1",
                "kubeha_kubernetes_version",
                "upgrade with playbooks/upgrade.yml (ansible-playbook kubeha.kubeadm.upgrade -i <inventory> "
                "-e kubeha_kubernetes_version=1.37.1)",
            )
        ],
        host_setup=(
            "val-cp1",
            "mkdir -p /etc/kubeha-test /etc/kubernetes/manifests && echo v1.36.5 > /etc/kubeha-test/kubeadm-version"
            " && printf 'spec:\\n  containers:\\n  - image: registry.k8s.io/kube-apiserver:v1.36.5\\n'"
            " > /etc/kubernetes/manifests/kube-apiserver.yaml",
            "rm -rf /etc/kubeha-test /etc/kubernetes/manifests/kube-apiserver.yaml",
        ),
    ),
    # val-cp1's image carries kubeadm 1.35.8 and a kubectl 1.37.1 (a version-only stand-in): two
    # minors from the request, outside kubectl's skew, refused before the prerequisites role runs.
    Case(
        "image-kubectl-outside-its-skew",
        chain(
            set_var("kubeha_kubernetes_version", "1.35.8"),
            set_host_var("control_plane", "val-cp1", "prerequisites_source", "preinstalled"),
        ),
        [("error", "val-cp1", "kubeha_kubernetes_version", "put a kubectl 1.34 to 1.36 in the host's image")],
        host_setup=(
            "val-cp1",
            "mkdir -p /etc/kubeha-test && echo v1.35.8 > /etc/kubeha-test/kubeadm-version"
            ' && echo \'{"clientVersion": {"gitVersion": "v1.37.1"}}\' > /etc/kubeha-test/kubectl.json'
            " && printf '#!/bin/sh\\ncat /etc/kubeha-test/kubectl.json\\n' > /usr/local/bin/kubectl"
            " && chmod 0755 /usr/local/bin/kubectl",
            "rm -rf /etc/kubeha-test /usr/local/bin/kubectl",
        ),
    ),
    Case(
        "kubernetes-version-skew",
        set_var("kubeha_kubernetes_version", "1.36.5"),
        [("error", "val-cp1", "kubeha_kubernetes_version", "set kubeha_kubernetes_version: 1.37.1")],
    ),
    # Without the opt-in, every Kubernetes node of these cgroup v1 machines is refused.
    Case(
        "cgroup-v1-refused",
        drop_var("kubeha_allow_cgroup_v1"),
        [
            (
                "error",
                "val-cp1, val-cp2, val-cp3, val-w1",
                "kubeha_allow_cgroup_v1",
                "move the host to cgroup v2 (",
            ),
            ("error", "val-cp1, val-cp2, val-cp3, val-w1", "kubeha_allow_cgroup_v1", "kubeha_allow_cgroup_v1: true"),
        ],
    ),
    Case(
        "preinstalled-without-kubeadm",
        set_host_var("control_plane", "val-cp2", "prerequisites_source", "preinstalled"),
        [("error", "val-cp2", "prerequisites_source", "or set prerequisites_source: packages")],
    ),
    Case(
        "unsupported-operating-system",
        lambda inventory: None,
        [("error", "val-w1", "ansible_facts.distribution", "run this host on a supported system")],
        host_setup=("val-w1", "echo 3.20.0 > /etc/alpine-release", "rm -f /etc/alpine-release"),
    ),
    Case(
        "vip-outside-lb-subnet",
        set_var("loadbalancer_keepalived_vip", "172.28.71.100"),
        [("error", "val-lb1", "loadbalancer_keepalived_vip", "common subnet")],
    ),
    Case(
        "vip-without-vrrp-password",
        set_var("loadbalancer_keepalived_password", ""),
        [("error", "val-lb1", "loadbalancer_keepalived_password", "set loadbalancer_keepalived_password")],
    ),
    Case(
        "cni-version-without-checksums",
        chain(set_var("cni_calico_version", "v3.31.0"), drop_var("cni_calico_manifest_checksums")),
        [("error", "all", "cni_calico_version", "cni_calico_manifest_checksums")],
    ),
    Case(
        "kubeadm-overrides-contradict",
        set_var(
            "kubeadm_init_config_overrides", {"ClusterConfiguration": {"networking": {"podSubnet": "10.244.0.0/16"}}}
        ),
        [("error", "all", "kubeadm_init_config_overrides", "set kubeha_pod_network_cidr instead")],
    ),
    Case(
        "every-problem-at-once",
        chain(
            set_var("kubeha_service_cidr", "10.96.0.0/33"),
            set_host_var("workers", "val-w1", "kubeha_node_name", "W1"),
            set_var("loadbalancer_keepalived_password", ""),
        ),
        [
            ("error", "all", "kubeha_service_cidr", "set kubeha_service_cidr to a network address"),
            ("error", "val-w1", "kubeha_node_name", "kubeha_node_name: w1"),
            ("error", "val-lb1", "loadbalancer_keepalived_password", "set loadbalancer_keepalived_password"),
        ],
    ),
    # A bad kubeha_api_port is reported under its own name, with the other problems.
    Case(
        "api-port-not-a-number",
        set_var("kubeha_api_port", "6443/tcp"),
        [("error", "all", "kubeha_api_port", "set kubeha_api_port to an integer 1-65535")],
    ),
    Case(
        "api-port-is-etcds",
        set_var("kubeha_api_port", 2379),
        [("error", CONTROL_PLANES, "kubeha_api_port", "set kubeha_api_port to a free port")],
        batch="port-names-capacity-types",
    ),
    Case(
        "cluster-name-with-a-blank",
        set_var("kubeha_cluster_name", "prod eu"),
        [("error", "all", "kubeha_cluster_name", "kubeha_cluster_name: prod-eu")],
        batch="port-names-capacity-types",
    ),
    Case(
        "role-input-not-a-choice",
        set_var("cni_calico_encapsulation", "vxlan"),
        [("error", EVERY_HOST, "cni_calico_encapsulation", "set cni_calico_encapsulation to one of VXLANCrossSubnet")],
        batch="port-names-capacity-types",
    ),
    Case(
        "api-port-out-of-range",
        set_var("kubeha_api_port", 70000),
        [("error", "all", "kubeha_api_port", "set kubeha_api_port to an integer 1-65535")],
        batch="range-sizes-vip-formats",
    ),
    Case(
        "service-network-too-small",
        set_var("kubeha_service_cidr", "10.96.0.0/29"),
        [("error", "all", "kubeha_service_cidr", "set kubeha_service_cidr to a /28 or wider network")],
        batch="range-sizes-vip-formats",
    ),
    Case(
        "keepalived-interface-name-too-long",
        set_var("loadbalancer_keepalived_interface", "enp0s31f6-management"),
        [("error", "val-lb1", "loadbalancer_keepalived_interface", "or leave it empty for the default route's")],
        batch="range-sizes-vip-formats",
    ),
    Case(
        "pod-network-too-small-for-the-nodes",
        set_var("kubeha_pod_network_cidr", "10.244.0.0/23"),
        [("error", "all", "kubeha_pod_network_cidr", "set kubeha_pod_network_cidr to a /21 or wider network")],
        batch="port-names-capacity-types",
    ),
    Case(
        "node-name-longer-than-a-label",
        set_host_var(
            "workers", "val-w1", "kubeha_node_name", "worker-01.rack-17.frankfurt-2.production.cluster.example.internal"
        ),
        [("error", "val-w1", "kubeha_node_name", "to at most 63 characters")],
        batch="port-names-capacity-types",
    ),
    Case(
        "role-input-wrong-type",
        set_var("loadbalancer_server_maxconn", "lots"),
        [
            (
                "error",
                EVERY_HOST,
                "loadbalancer_server_maxconn",
                "set loadbalancer_server_maxconn to a value of type int",
            )
        ],
        batch="port-names-capacity-types",
    ),
    Case(
        "pod-network-smaller-than-a-node-share",
        set_var("kubeha_pod_network_cidr", "10.244.0.0/25"),
        [("error", "all", "kubeha_pod_network_cidr", "set kubeha_pod_network_cidr to a /16 or wider network")],
        batch="share-sizes-members-bypass",
    ),
    Case(
        "service-network-too-large",
        set_var("kubeha_service_cidr", "100.64.0.0/10"),
        [("error", "all", "kubeha_service_cidr", "set kubeha_service_cidr to a /12 or narrower network")],
        batch="share-sizes-members-bypass",
    ),
    Case(
        "keepalived-hosts-not-load-balancers",
        set_var("loadbalancer_keepalived_hosts", ["val-lb1", "val-lb2"]),
        [("error", "val-lb1", "loadbalancer_keepalived_hosts", "list each load balancer of the group once (val-lb1)")],
        batch="share-sizes-members-bypass",
    ),
    Case(
        "service-network-other-family",
        set_var("kubeha_service_cidr", "fd00:10:96::/108"),
        [("error", "all", "kubeha_service_cidr", "to networks of the same family")],
        batch="family-case-range",
    ),
    Case(
        "cluster-name-upper-case",
        set_var("kubeha_cluster_name", "Prod_Cluster"),
        [("error", "all", "kubeha_cluster_name", "kubeha_cluster_name: prod-cluster")],
        batch="family-case-range",
    ),
    Case(
        "role-input-out-of-range",
        set_var("loadbalancer_server_weight", 300),
        [("error", EVERY_HOST, "loadbalancer_server_weight", "set loadbalancer_server_weight to 0-256")],
        batch="family-case-range",
    ),
    Case(
        "endpoint-is-a-control-plane",
        set_var("kubeha_control_plane_endpoint", "172.28.70.21:6443"),
        [
            (
                "error",
                "all",
                "kubeha_control_plane_endpoint",
                "leave kubeha_control_plane_endpoint unset (it then is 172.28.70.100:6443)",
            )
        ],
        batch="share-sizes-members-bypass",
    ),
    Case(
        "keepalived-interface-missing",
        set_var("loadbalancer_keepalived_interface", "eth1"),
        [
            (
                "error",
                "val-lb1",
                "loadbalancer_keepalived_interface",
                "set loadbalancer_keepalived_interface to one of them",
            )
        ],
        batch="share-sizes-members-bypass",
    ),
    Case(
        "role-input-not-an-haproxy-time",
        set_var("loadbalancer_timeout_client", "1 hour"),
        [("error", EVERY_HOST, "loadbalancer_timeout_client", "set loadbalancer_timeout_client to an haproxy time")],
        batch="share-sizes-members-bypass",
    ),
    Case(
        "endpoint-is-one-load-balancer-not-the-vip",
        set_var("kubeha_control_plane_endpoint", "172.28.70.11:6443"),
        [("error", "all", "kubeha_control_plane_endpoint", "or use the VIP")],
        batch="range-sizes-vip-formats",
    ),
    Case(
        "dns-domain-upper-case",
        set_var("kubeadm_init_dns_domain", "Cluster.Local"),
        [("error", EVERY_HOST, "kubeadm_init_dns_domain", "set kubeadm_init_dns_domain to a DNS domain")],
        batch="range-sizes-vip-formats",
    ),
    Case(
        "token-ttl-not-a-duration",
        set_var("kubeadm_init_token_ttl", "2 hours"),
        [("error", EVERY_HOST, "kubeadm_init_token_ttl", "set kubeadm_init_token_ttl to a duration such as 2h")],
        batch="range-sizes-vip-formats",
    ),
    Case(
        "calico-block-size-of-the-other-family",
        set_var("cni_calico_block_size", 122),
        [("error", "all", "cni_calico_block_size", "set cni_calico_block_size to 20-32")],
        batch="range-sizes-vip-formats",
    ),
    Case(
        "role-input-typo-warns",
        set_var("loadbalancer_keepalived_vips", "172.28.70.100"),
        [("warning", EVERY_HOST, "loadbalancer_keepalived_vips", "or remove loadbalancer_keepalived_vips")],
        passes=True,
        batch="warnings",
    ),
    Case(
        "endpoint-misses-the-load-balancers-warns",
        set_var("kubeha_control_plane_endpoint", "172.28.70.200:6443"),
        [("warning", "all", "kubeha_control_plane_endpoint", "take the load balancers out of the inventory")],
        passes=True,
        batch="warnings",
    ),
    Case(
        "pod-network-without-room-to-grow-warns",
        set_var("kubeha_pod_network_cidr", "10.244.0.0/22"),
        [("warning", "all", "kubeha_pod_network_cidr", "before the cluster is created")],
        passes=True,
        batch="warnings",
    ),
    Case(
        "api-port-in-the-nodeport-range-warns",
        set_var("kubeha_api_port", 30443),
        [("warning", CONTROL_PLANES, "kubeha_api_port", "outside the NodePort range")],
        passes=True,
        batch="warnings",
    ),
]


def environment(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Plain ansible-playbook with the collection under test, not Molecule's configuration.
    for name in ("ANSIBLE_CONFIG", "ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_CALLBACKS_ENABLED"):
        env.pop(name, None)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".venv" / "collections"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-tmp"),
        ANSIBLE_HOST_PATTERN_MISMATCH="ignore",
        # One docker exec per task instead of several: the runs stay fast on a busy machine.
        ANSIBLE_PIPELINING="1",
        ANSIBLE_FORKS="10",
    )
    return env


def docker_exec(host: str, command: str) -> None:
    subprocess.run(["docker", "exec", host, "sh", "-c", command], check=True, timeout=60, capture_output=True)


def run_cases(cases: list[Case], tmp: Path) -> list[Case]:
    """One validate.yml run with every case's change applied (one case, or one batch)."""
    inventory = base_inventory()
    for case in cases:
        case.change(inventory)
    name = cases[0].batch or cases[0].name
    hosts = {h for group in inventory["all"]["children"].values() for h in group["hosts"]}
    path = tmp / f"{name}.yml"
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    playbook = str(Path(sys.executable).parent / "ansible-playbook")
    setups = [c.host_setup for c in cases if c.host_setup]
    for setup in setups:
        docker_exec(setup[0], setup[1])
    try:
        result = subprocess.run(
            [playbook, "-i", str(path), str(PLAYBOOK)],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
            env=environment(tmp),
            cwd=tmp,
        )
    finally:
        for setup in setups:
            docker_exec(setup[0], setup[2])
    (tmp / f"{name}.log").write_text(result.stdout + result.stderr)
    for case in cases:
        case.output, case.returncode, case.hosts = result.stdout + result.stderr, result.returncode, hosts
    return cases


def runs(cases: list[Case]) -> list[list[Case]]:
    """The cases grouped into runs: each batch once, every other case alone, in the table's order."""
    grouped: dict[str, list[Case]] = {}
    for case in cases:
        grouped.setdefault(case.batch or f"case:{case.name}", []).append(case)
    return list(grouped.values())


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    tmp = tmp_path_factory.mktemp("validate")
    (tmp / "ansible-tmp").mkdir()
    start = time.monotonic()
    shared = runs([c for c in CASES if not c.host_setup])
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        done = [c for group in pool.map(lambda g: run_cases(g, tmp), shared) for c in group]
    # Cases that change a host run alone, so no other case sees the change.
    alone = runs([c for c in CASES if c.host_setup])
    done += [c for group in alone for c in run_cases(group, tmp)]
    print(
        f"\nKUBEHA-FIGURE validate.cases: {len(done)} cases in {len(shared) + len(alone)} runs "
        f"in {time.monotonic() - start:.0f} s"
    )
    return {c.name: c for c in done}


def printed_line(severity: str, host: str, variable: str) -> re.Pattern[str]:
    return re.compile(rf"{severity.upper()} \[{re.escape(host)}\] {re.escape(variable)}: [^\n]*? Fix: [^\n]*")


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_validation_case(results: dict[str, Case], name: str) -> None:
    case = results[name]
    tail = case.output[-5000:]
    if case.passes:
        assert case.returncode == 0, f"{name}: the valid inventory failed validation:\n{tail}"
        assert "ERROR [" not in case.output, tail
    else:
        assert case.returncode != 0, f"{name}: validation passed a broken inventory:\n{tail}"
        assert "Fail with every error, one line each" in case.output, f"{name}: failed before validating:\n{tail}"
    for severity, host, variable, fix in case.expected:
        lines = printed_line(severity, host, variable).findall(case.output)
        assert any(fix in line for line in lines), f"{name}: no {severity} for {host} {variable} with '{fix}':\n{tail}"
    recap = {m["host"]: m for m in RECAP_LINE.finditer(case.output)}
    assert case.hosts <= set(recap), f"{name}: hosts missing from the recap:\n{tail}"
    changed = {h: m["changed"] for h, m in recap.items() if int(m["changed"])}
    assert not changed, f"{name}: validation changed hosts {changed}:\n{tail}"
    unreachable = {h for h, m in recap.items() if int(m["unreachable"])}
    assert not unreachable, f"{name}: unreachable {unreachable}:\n{tail}"
    failed = {h for h, m in recap.items() if int(m["failed"])}
    # The checks run once, on the play's first host; their failure stops every host of the play
    # (Ansible counts it on that host only).
    if case.passes:
        assert not failed, f"{name}: failed on {failed}:\n{tail}"
    else:
        assert len(failed) == 1, f"{name}: failed on {failed}:\n{tail}"
        assert failed <= case.hosts, f"{name}: failed on {failed}:\n{tail}"


def test_the_runtime_warning_names_the_installed_version(results: dict[str, Case]) -> None:
    output = results["distribution-containerd-older-than-the-release-expects"].output
    line = printed_line("warning", "val-w1", "prerequisites_containerd_source").search(output)
    assert line, output[-4000:]
    expected = r"containerd 1\.\d+\.\d+ is installed; Kubernetes 1\.37 expects containerd 2\.0\.0 or newer"
    assert re.search(expected, line[0])
    # The load balancer runs no kubelet: its runtime is not checked.
    assert not printed_line("warning", "val-lb1", "prerequisites_containerd_source").search(output)


def test_each_error_is_its_own_failure_line(results: dict[str, Case]) -> None:
    output = results["every-problem-at-once"].output
    failures = [line for line in output.splitlines() if line.startswith("failed: [") and "(item=ERROR [" in line]
    # The service network, the worker's name and the load balancer's VRRP password.
    assert len(failures) == 3, "\n".join(failures) or output[-4000:]


def test_the_vrrp_password_is_not_printed(results: dict[str, Case]) -> None:
    for case in results.values():
        assert BASE_VARS["loadbalancer_keepalived_password"] not in case.output, case.name


def test_batched_cases_break_different_variables() -> None:
    """A batch's cases stay apart: each its own variable, all failing or all passing."""
    for batch in {c.batch for c in CASES if c.batch}:
        cases = [c for c in CASES if c.batch == batch]
        variables = [v for c in cases for v in {e[2] for e in c.expected}]
        assert len(variables) == len(set(variables)), f"{batch}: {variables}"
        assert len({c.passes for c in cases}) == 1, batch
        assert not any(c.host_setup for c in cases), batch


def test_the_scenario_has_enough_cases() -> None:
    assert len(CASES) >= 45
