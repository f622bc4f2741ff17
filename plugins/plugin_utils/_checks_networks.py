# Copyright: kubeha developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the collection: the pod and service networks' sizes and families.

(Their syntax and their overlaps with each other and with the hosts' networks are checked in
``cluster_problems``; this runs after it, on the networks that parsed.)
"""

from __future__ import annotations

from typing import Any

from ansible_collections.kubeha.kubeadm.plugins.plugin_utils._checks_common import (
    ALL,
    address,
    endpoint_host,
    family,
    integer,
)

# kube-controller-manager's --node-cidr-mask-size defaults (kubeadm sets --allocate-node-cidrs
# when the cluster has a pod subnet): the share of the pod network each node gets.
NODE_CIDR_MASK = {4: 24, 6: 64}
# kube-controller-manager refuses a cluster CIDR more than this many bits wider than a node's share.
NODE_CIDR_MAX_DIFF = 16
# The growth the capacity warning assumes: the inventory may come to hold twice the nodes it has.
GROWTH_FACTOR = 2
# kubeadm refuses a service subnet with more host bits than this (/12 for IPv4, /108 for IPv6).
SERVICE_MAX_HOST_BITS = 20
# kubeadm gives the API server's Service the service network's first address and CoreDNS's the tenth.
SERVICE_DNS_INDEX = 10
# Calico's IP pool block size: the pool must hold at least one block; IPv4 20-32, IPv6 116-128.
CALICO_BLOCK_SIZE = {4: (20, 32), 6: (116, 128)}


def networks(checker: Any) -> None:
    pod, service = checker.pod_net, checker.service_net
    if pod is not None:
        pod_capacity(checker, pod)
        calico_blocks(checker, pod)
    if service is not None:
        service_size(checker, service)
    if pod is not None and service is not None and pod.version != service.version:
        checker.report.error(
            ALL,
            "kubeha_service_cidr",
            f"the service network {service} is {family(service.version)} but the pod network {pod} is "
            f"{family(pod.version)}: a single-stack cluster has both in one address family.",
            f"set kubeha_service_cidr and kubeha_pod_network_cidr to networks of the same family "
            f"(e.g. {'10.96.0.0/12' if pod.version == 4 else 'fd00:10:96::/108'} with this pod network).",
        )
    if service is not None:
        advertise_family(checker, service)
    inside_cluster_networks(checker)


def node_cidr_mask(checker: Any, version: int) -> tuple[int, str]:
    """kube-controller-manager's node CIDR mask for the family, and where it comes from."""
    config = checker.cluster.get("kubeadm_config") or {}
    args = ((config.get("ClusterConfiguration") or {}).get("controllerManager") or {}).get("extraArgs")
    if isinstance(args, list):  # kubeadm.k8s.io/v1beta4: [{name, value}]
        args = {str(a.get("name")): a.get("value") for a in args if isinstance(a, dict)}
    args = args if isinstance(args, dict) else {}
    for name in (f"node-cidr-mask-size-ipv{version}", "node-cidr-mask-size"):
        mask = integer(args.get(name))
        if mask is not None:
            return mask, f"node-cidr-mask-size /{mask} (kubeadm_init_config_overrides)"
    return NODE_CIDR_MASK[version], f"kube-controller-manager's default node-cidr-mask-size /{NODE_CIDR_MASK[version]}"


def pod_capacity(checker: Any, pod: Any) -> None:
    mask, source = node_cidr_mask(checker, pod.version)
    var = "kubeha_pod_network_cidr"
    if mask < pod.prefixlen:
        checker.report.error(
            ALL,
            var,
            f"the pod network {pod} is smaller than one node's share of it ({source}): "
            "kube-controller-manager refuses to start.",
            f"set kubeha_pod_network_cidr to a /{mask - 8} or wider network (e.g. 10.244.0.0/16 for IPv4).",
        )
        return
    if mask - pod.prefixlen > NODE_CIDR_MAX_DIFF:
        checker.report.error(
            ALL,
            var,
            f"the pod network {pod} is more than {NODE_CIDR_MAX_DIFF} bits wider than a node's share ({source}): "
            "kube-controller-manager refuses to start.",
            f"set kubeha_pod_network_cidr to a /{mask - NODE_CIDR_MAX_DIFF} or narrower network.",
        )
        return
    room = 2 ** (mask - pod.prefixlen)
    nodes = len(checker.nodes)
    if room < nodes:
        checker.report.error(
            ALL,
            var,
            f"the pod network {pod} has room for {room} node(s) ({source}) but the inventory has {nodes} nodes: "
            "the others get no pod CIDR (CIDRNotAvailable).",
            f"set kubeha_pod_network_cidr to a /{mask - (GROWTH_FACTOR * nodes - 1).bit_length()} or wider network.",
        )
    elif room < GROWTH_FACTOR * nodes:
        checker.report.warning(
            ALL,
            var,
            f"the pod network {pod} has room for {room} node(s) ({source}), the inventory has {nodes}: it cannot "
            f"grow to {GROWTH_FACTOR * nodes} nodes (the growth this check assumes, {GROWTH_FACTOR}x), and the pod "
            "network cannot be changed once the cluster runs.",
            f"set kubeha_pod_network_cidr to a /{mask - (GROWTH_FACTOR * nodes - 1).bit_length()} or wider network "
            "before the cluster is created.",
        )


def calico_blocks(checker: Any, pod: Any) -> None:
    size = integer(checker.cluster.get("cni_block_size"))
    if size is None:
        return
    low, high = CALICO_BLOCK_SIZE[pod.version]
    if not CALICO_BLOCK_SIZE[4][0] <= size <= CALICO_BLOCK_SIZE[6][1]:
        return  # outside every family's sizes: the role input check's (_checks_inputs)
    if not low <= size <= high or size < pod.prefixlen:
        checker.report.error(
            ALL,
            "cni_calico_block_size",
            f"Calico's block size /{size} does not fit the {family(pod.version)} pod network {pod}: "
            f"it must be {low}-{high} and no wider than the pool.",
            f"set cni_calico_block_size to {max(low, pod.prefixlen)}-{high} (the default is 26 for IPv4; "
            "122 for IPv6).",
        )


def service_size(checker: Any, service: Any) -> None:
    if service.num_addresses <= SERVICE_DNS_INDEX:
        checker.report.error(
            ALL,
            "kubeha_service_cidr",
            f"the service network {service} has {service.num_addresses} addresses; kubeadm gives the API "
            f"server's Service the first ({service[1]}) and CoreDNS's the tenth, which it lacks.",
            f"set kubeha_service_cidr to a /{service.max_prefixlen - 4} or wider network (default 10.96.0.0/12).",
        )
    host_bits = service.max_prefixlen - service.prefixlen
    if host_bits > SERVICE_MAX_HOST_BITS:
        checker.report.error(
            ALL,
            "kubeha_service_cidr",
            f"the service network {service} is too large: kubeadm refuses more than {SERVICE_MAX_HOST_BITS} host "
            f"bits (wider than /{service.max_prefixlen - SERVICE_MAX_HOST_BITS}).",
            f"set kubeha_service_cidr to a /{service.max_prefixlen - SERVICE_MAX_HOST_BITS} or narrower network "
            "(default 10.96.0.0/12).",
        )


def advertise_family(checker: Any, service: Any) -> None:
    """The API server advertises its node address: it must be of the service network's family."""
    wrong = []
    for host in checker.cps:
        own = address((checker.hosts.get(host) or {}).get("node_address"))
        if own is not None and own.version != service.version:
            wrong.append(host)
    if wrong:
        checker.report.error(
            wrong,
            "kubeha_service_cidr",
            f"the service network {service} is {family(service.version)} but these control planes advertise "
            f"{family(6 if service.version == 4 else 4)} addresses (kubeha_node_address): the API server "
            "refuses to start.",
            "set kubeha_service_cidr (and kubeha_pod_network_cidr) to the family of the control planes' "
            "addresses, or give them addresses of the service network's family.",
        )


def inside_cluster_networks(checker: Any) -> None:
    """The control-plane endpoint's address inside the pod or service network is routed away."""
    ip = address(endpoint_host(checker.layout.control_plane_endpoint))
    if ip is None:
        return
    for net, var in ((checker.pod_net, "kubeha_pod_network_cidr"), (checker.service_net, "kubeha_service_cidr")):
        if net is not None and ip.version == net.version and ip in net:
            checker.report.error(
                ALL,
                var,
                f"the control-plane endpoint's address {ip} is inside {net}: the nodes would route it into "
                "the cluster's own network instead of to the load balancers.",
                f"set {var} to a network that does not hold {ip}.",
            )
