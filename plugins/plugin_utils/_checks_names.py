# Copyright: kubeha developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the collection: the names a user gives, by the rules of where they end up.

(A node name's RFC 1123 form and its uniqueness are checked in ``cluster_problems``.)
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.kubeha.kubeadm.plugins.plugin_utils._checks_common import ALL

# The kubelet labels its Node kubernetes.io/hostname=<node name>; a label value is at most 63 characters.
LABEL_VALUE_MAX = 63
# The cluster name names the kubeconfig's cluster and context (kubernetes-admin@<name>) and the
# kubeconfig file on the controller (~/.kube/<name>.config): a DNS subdomain (RFC 1123), as
# Kubernetes names are, keeps it valid in all of them (no '/', blank or '@').
DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
CLUSTER_NAME = re.compile(rf"^{DNS_LABEL}(\.{DNS_LABEL})*$")
CLUSTER_NAME_MAX = 253


def names(checker: Any) -> None:
    node_name_lengths(checker)
    cluster_name(checker)
    keepalived_members(checker)


def node_name_lengths(checker: Any) -> None:
    for host in checker.nodes:
        name = str((checker.hosts.get(host) or {}).get("node_name") or "")
        if LABEL_VALUE_MAX < len(name) <= 253:
            checker.report.error(
                host,
                "kubeha_node_name",
                f"the node name is {len(name)} characters: the kubelet labels its Node kubernetes.io/hostname "
                f"with it, and a label value is at most {LABEL_VALUE_MAX}, so the node never registers.",
                f"set kubeha_node_name for {host} to at most {LABEL_VALUE_MAX} characters, "
                f"e.g. kubeha_node_name: {name[:LABEL_VALUE_MAX].rstrip('.-')}.",
            )


def cluster_name(checker: Any) -> None:
    raw = str(checker.cluster.get("cluster_name") or "")
    if not raw or len(raw) > CLUSTER_NAME_MAX or not CLUSTER_NAME.match(raw):
        suggestion = re.sub(r"[^a-z0-9.-]+", "-", raw.lower())
        suggestion = ".".join(p.strip("-") for p in suggestion.split(".") if p.strip("-"))[:CLUSTER_NAME_MAX]
        checker.report.error(
            ALL,
            "kubeha_cluster_name",
            f"'{raw}' is not a valid cluster name: it names the kubeconfig's cluster and context and the "
            "kubeconfig file on the controller, so it must be a DNS subdomain (RFC 1123: lowercase letters, "
            f"digits, '-' and '.', starting and ending with a letter or digit, at most {CLUSTER_NAME_MAX} characters).",
            f"set kubeha_cluster_name, e.g. kubeha_cluster_name: {suggestion.strip('.') or 'kubernetes'}.",
        )


def keepalived_members(checker: Any) -> None:
    """loadbalancer_keepalived_hosts names inventory hosts of the load balancer group, each once."""
    for host in checker.lbs:
        lb = (checker.hosts.get(host) or {}).get("lb") or {}
        if lb.get("keepalived_enabled") not in (True, "True", "true"):
            continue
        members = [str(h) for h in lb.get("keepalived_hosts") or []]
        strangers = [m for m in members if m not in checker.lbs]
        twice = sorted({m for m in members if members.count(m) > 1})
        if strangers or twice:
            what = []
            if strangers:
                what.append(f"{', '.join(strangers)} not in the load balancer group")
            if twice:
                what.append(f"{', '.join(twice)} more than once")
            checker.report.error(
                host,
                "loadbalancer_keepalived_hosts",
                f"lists {'; '.join(what)}: every member gets a VRRP priority from its place in the list.",
                f"list each load balancer of the group once ({', '.join(checker.lbs)}), in order of preference.",
            )
