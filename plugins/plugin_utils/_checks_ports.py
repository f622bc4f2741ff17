# Copyright: kubeha developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the collection: port numbers, and ports that collide on one host.

The load balancer that shares a host with a control plane (haproxy's frontend on the API
server's port) is the topology check's (``cluster_problems``); these are the numbers themselves
and the ports kubeadm's components hold on every node.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.kubeha.kubeadm.plugins.plugin_utils import _cluster
from ansible_collections.kubeha.kubeadm.plugins.plugin_utils._checks_common import ALL, lb_settings

# What kubeadm's components listen on (kubeadm's PortOpenCheck preflight and the ports table of
# the Kubernetes docs): on every node, and in addition on a control plane.
NODE_PORTS = {10250: "the kubelet", 10256: "kube-proxy's health check"}
CONTROL_PLANE_PORTS = {
    **NODE_PORTS,
    2379: "etcd's client port",
    2380: "etcd's peer port",
    10257: "kube-controller-manager",
    10259: "kube-scheduler",
}
# The Service NodePort range kube-proxy forwards on every node (the API server's default).
NODE_PORT_RANGE = (30000, 32767)
# The play passes kubeha_api_port to the loadbalancer role as its frontend port.
FRONTEND_VARIABLE = "kubeha_api_port"


def ports(checker: Any) -> None:
    api_port(checker)
    frontend_ports(checker)


def api_port(checker: Any) -> None:
    report = checker.report
    raw = checker.cluster.get("api_port")
    if raw in (None, ""):
        return
    if _cluster.port_number(raw) is None:
        report.error(
            ALL,
            "kubeha_api_port",
            f"'{raw}' is not a port: the API server's port is an integer from 1 to 65535.",
            f"set kubeha_api_port to an integer 1-65535, or leave it unset for {_cluster.DEFAULT_API_PORT}.",
        )
        return
    port = _cluster.port_number(raw)
    if checker.cps and port in CONTROL_PLANE_PORTS:
        report.error(
            checker.cps,
            "kubeha_api_port",
            f"{port} is {CONTROL_PLANE_PORTS[port]}'s port on every control plane: the API server cannot "
            f"listen there too (kubeadm's preflight check Port-{port} fails).",
            f"set kubeha_api_port to a free port, e.g. {_cluster.DEFAULT_API_PORT} (the default) or 8443.",
        )
    elif checker.cps and NODE_PORT_RANGE[0] <= port <= NODE_PORT_RANGE[1]:
        report.warning(
            checker.cps,
            "kubeha_api_port",
            f"{port} is inside the Service NodePort range ({NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}): a "
            "NodePort Service given the same port would take the API server's traffic on this node.",
            f"set kubeha_api_port outside the NodePort range, e.g. {_cluster.DEFAULT_API_PORT}.",
        )


def frontend_ports(checker: Any) -> None:
    """haproxy's frontend on a load balancer that is also a Kubernetes node must miss the node's ports."""
    for host in checker.lbs:
        if host not in checker.hosts:
            continue
        raw = lb_settings(checker, host).get("frontend_port")
        if raw in (None, ""):
            continue
        port = _cluster.port_number(raw)
        if port is None:
            checker.report.error(
                host,
                FRONTEND_VARIABLE,
                f"haproxy's frontend port '{raw}' is not a port (an integer from 1 to 65535).",
                f"set {FRONTEND_VARIABLE} to an integer 1-65535.",
            )
            continue
        taken = CONTROL_PLANE_PORTS if host in checker.cps else NODE_PORTS if host in checker.nodes else {}
        if port in taken:
            checker.report.error(
                host,
                FRONTEND_VARIABLE,
                f"haproxy's frontend port {port} is {taken[port]}'s port on this host, which is also a "
                "Kubernetes node: one of them cannot start.",
                f"set {FRONTEND_VARIABLE} to a port no Kubernetes component uses "
                "(e.g. the default 6443), or move the load balancer to a host that is not a node.",
            )
