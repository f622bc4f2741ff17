# Copyright: kubeha developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Everything wrong with an HA cluster's inventory and variables, found before any host changes."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections import defaultdict
from typing import Any, Callable

from ansible.errors import AnsibleFilterError
from ansible_collections.kubeha.kubeadm.plugins.module_utils._etcd import fault_tolerance, quorum_size
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubernetes_releases import (
    EXISTING_ONLY_MINORS,
    KUBEADM_REMOVED_FEATURE_GATES,
    SUPPORTED_MINORS,
    window_text,
)
from ansible_collections.kubeha.kubeadm.plugins.module_utils._runtime_support import (
    calico_for,
    calico_untested,
    containerd_minimum,
    containerd_version,
)
from ansible_collections.kubeha.kubeadm.plugins.plugin_utils import (
    _checks_inputs,
    _checks_names,
    _checks_networks,
    _checks_ports,
    _checks_topology,
    _cluster,
    _upgrade,
)

DOCUMENTATION = r"""
name: cluster_problems
author: kubeha developers
version_added: 0.1.0
short_description: List what is wrong with an HA cluster's inventory and variables
description:
  - Takes the group membership, each host's cluster variables and the few facts validation
    needs, and returns one entry per problem, each naming the host, the variable and the fix.
  - Used by C(kubeha.kubeadm.validate) (C(playbooks/validate.yml)) before any host changes;
    it does not contact any host. A control-plane endpoint given as a name is resolved on the
    controller with C(getaddrinfo) (a name lookup, never a connection); names under the
    C(.invalid) top-level domain are never looked up (RFC 6761).
  - Supported operating systems are defined once, in this plugin; the supported Kubernetes
    minors once, in the collection's C(plugins/module_utils/_kubernetes_releases.py) (see the notes).
  - The init host, the node lists and the default control-plane endpoint are worked out by the
    code behind C(kubeha.kubeadm.cluster_layout), the filter the playbooks take them from, so
    validation checks what the playbooks use.
positional: _input
options:
  _input:
    description: What validation looks at.
    type: dict
    required: true
    suboptions:
      groups:
        description:
          - The three host groups, keyed V(loadbalancer), V(control_plane) and V(workers); each a
            dict with C(name) (the inventory group's name), C(variable) (the variable that selects
            it) and C(hosts) (its inventory hostnames).
        type: dict
        required: true
      cluster:
        description:
          - The cluster-wide variables with the C(kubeha_) prefix dropped (C(kubernetes_version),
            C(control_plane_endpoint), C(api_port), C(pod_network_cidr), C(service_cidr),
            C(cluster_name), C(init_host), C(require_ha), C(allow_cgroup_v1), C(control_plane_vip),
            C(control_plane_lb_port)), plus C(kubeadm_config) (the
            kubeadm_init role's C(kubeadm_init_config_overrides), keyed by kind), C(cni_version), C(cni_manifests),
            C(cni_checksums), C(cni_pinned_checksums), C(cni_test_manifests) and C(cni_block_size) (the cni role's).
          - C(api_port) as the user gave it (empty for the default); one that is not a port is reported
            as C(kubeha_api_port), and the cluster is laid out on the default port meanwhile.
          - When omitted, the C(cluster) view of the init host is used (see O(_input.hosts)).
          - An empty C(control_plane_endpoint) means none was given; the default (the keepalived
            VIP, else the first load balancer's address, on C(api_port)) is then checked.
        type: dict
        required: false
      cni:
        description:
          - What the cni role knows, merged into O(_input.cluster)
            (C(cni_manifests), the manifests it applies, and C(cni_pinned_checksums), its pinned
            sha256 sums by Calico version and file name).
        type: dict
        required: false
      hosts:
        description:
          - One dict per host that answered, with C(host) (inventory hostname), C(node_name),
            C(node_address), C(facts) (the host's C(ansible_facts), subsets
            C(distribution) and C(network)), C(kubeadm_version) and C(kubelet_version) (installed versions, empty when
            absent; C(kubelet=<package status>=<version>) counts only when installed),
            C(containerd_version) (the output of C(containerd --version), empty when absent),
            C(kubectl_version) (the installed kubectl's C(gitVersion), such as C(v1.37.1); empty when absent) and
            C(kubectl_max_skew) (the host's C(prerequisites_kubectl_max_minor_skew)),
            C(running_version) (C(apiserver=<tag>), the image tag in a control plane's
            C(kube-apiserver.yaml) manifest, that is the version the cluster runs; empty without one),
            C(cgroup_fs) (the file system type of C(/sys/fs/cgroup), C(cgroup2fs) for cgroup v2 and
            C(tmpfs) for cgroup v1; empty when unknown),
            C(prerequisites_source), C(containerd_manage), C(containerd_source) and C(containerd_pin)
            (the host's C(prerequisites_containerd_manage), C(prerequisites_containerd_source) and
            C(prerequisites_containerd_version)), C(lb) (the host's load balancer settings, C(frontend_port),
            C(keepalived_enabled), C(keepalived_vip), C(keepalived_hosts), C(keepalived_virtual_router_id),
            C(keepalived_interface), C(keepalived_vip_prefix); the VRRP password only as
            C(keepalived_password_length); C(port_users), the programs listening on haproxy's port on a
            control plane when the load balancer runs there), C(inputs) (every role variable the host
            sets, by name, secret
            options left out, checked against the roles' C(meta/argument_specs.yml) and the ranges and
            formats of C(plugins/plugin_utils/_checks_inputs.py)), C(cluster) (the cluster-wide
            variables as this host sees them, to catch per-host disagreements) and C(etcd)
            (C(member), true on a control plane with a stacked etcd manifest, and C(healthy), its
            local member's C(/health) answer, true when it sees a leader, false without one, null
            without an answer).
        type: list
        elements: dict
        required: true
      unreachable:
        description:
          - The inventory hostnames that the play reading the hosts targeted but that dropped out
            of it (unreachable or failed); hosts left out with C(--limit) are not in it.
          - Each gets its own error; an unreachable control plane counts as an etcd member that
            cannot vote when the quorum is checked.
        type: list
        elements: str
        required: false
        default: []
      upgrade:
        description:
          - Given by C(playbooks/upgrade.yml), to validate an upgrade of the running cluster to
            C(kubernetes_version) instead of an installation. The installed versions may then
            differ from the request; the upgrade's own rules apply instead (one minor at a time,
            never down, every node Ready, every etcd member healthy, the target's packages in
            the repository).
          - C(nodes), the parsed C(kubectl get nodes -o json) read on a control plane (null when no
            API server answered). Each node on packages gives, in O(_input.hosts), a C(repository)
            dict with C(url) (the target minor's repository), C(status) (the HTTP status of reading
            its C(Packages) index), C(error) and C(content) (the index).
          - C(worker_batch), the workers play's batch (C(kubeha_upgrade_worker_batch), default C(20%)),
            is a count of 1 or more or a percentage from 1% to 100%; anything else is an error.
          - A node on packages whose C(ansible_pkg_mgr) (in its C(facts)) is not C(apt) is an error,
            since the upgrade moves the packages with apt only.
          - Without it (an installation), a control plane that runs an older release than the
            request is an error naming C(upgrade.yml); one that runs a newer one, an error too.
        type: dict
        required: false
notes:
  - Supported Kubernetes versions are the three minors upstream maintains (1.35 to 1.37); 1.34,
    past its end of life, only for a cluster that already runs it (a warning says how to upgrade).
  - From Kubernetes 1.35 a node on cgroup v1 is an error unless C(allow_cgroup_v1) is true.
  - Supported systems are Debian 11 to 13,
    Ubuntu 22.04 and 24.04, and RHEL, CentOS Stream, Rocky Linux, AlmaLinux and Oracle Linux 8 to 10.
  - Three or five control planes give etcd fault tolerance; any other number is a warning.
  - A node whose installed containerd is older than the requested Kubernetes minor expects
    (2.0 from 1.36, for the CRI RuntimeConfig method; 1.7.28 for 1.35) is a warning, unless the
    prerequisites role replaces it with C(containerd.io) from a repository
    (C(prerequisites_containerd_source=repository); then only a pinned version that old is), and so is a
    Calico release that Tigera does not test with the requested minor (3.31 with 1.32 to 1.35,
    3.32 with 1.34 to 1.36, 3.33 with 1.35 to 1.37); both tables are in
    C(plugins/module_utils/_runtime_support.py).
  - The checks by concern (ports, networks, names, topology, role inputs) are in
    C(plugins/plugin_utils/_checks_*.py); the documentation site's validation page lists every
    problem they report, generated from their source.
  - The pod network must give every node kube-controller-manager's share (C(node-cidr-mask-size),
    /24 for IPv4 and /64 for IPv6 unless C(kubeadm_config) sets it) and room for twice the inventory's
    nodes (the growth assumed; less is a warning).
  - With no load balancer host and C(control_plane_vip) set, haproxy and keepalived run on the
    control planes; the VIP must be a host address in every control plane's subnet that no host
    has, haproxy's port (C(control_plane_lb_port)) neither the API port nor another control-plane
    component's or a NodePort, and free on every control plane; every control plane needs the VRRP
    password. Load balancer hosts and C(control_plane_vip) together are an error.
  - When control planes already run stacked etcd members and none of those that answered sees
    a leader, the error names the members that must come back; the survivors are never to be
    reset. A new cluster (no etcd manifest yet) has no etcd check.
seealso:
  - plugin: kubeha.kubeadm.cluster_layout
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Collect every problem at once
  ansible.builtin.set_fact:
    problems: "{{ validation_input | kubeha.kubeadm.cluster_problems }}"

- name: Fail once, one line per error
  ansible.builtin.fail:
    msg: "{{ item.line }}"
  loop: "{{ problems | selectattr('severity', '==', 'error') }}"
"""

RETURN = r"""
_value:
  description: The problems found, errors first; empty when the inventory is fine.
  type: list
  elements: dict
  contains:
    severity:
      description: V(error) stops the playbook; V(warning) is only shown.
      type: str
    host:
      description: The inventory host(s) concerned, comma separated, or V(all) for a cluster-wide setting.
      type: str
    variable:
      description: The variable (or inventory group variable) to change.
      type: str
    message:
      description: What is wrong.
      type: str
    fix:
      description: What to do about it.
      type: str
    line:
      description: The whole problem on one line, as printed.
      type: str
"""

# --- What is supported: the single place these are defined ---------------------------------
# (Kubernetes minors: module_utils/_kubernetes_releases.py.)
SUPPORTED_SYSTEMS: dict[str, tuple[str, ...]] = {
    # distribution: versions, matched against distribution_version's leading components
    "Debian": ("11", "12", "13"),
    "Ubuntu": ("22.04", "24.04"),
    "RedHat": ("8", "9", "10"),
    "CentOS": ("9", "10"),
    "Rocky": ("8", "9", "10"),
    "AlmaLinux": ("8", "9", "10"),
    "OracleLinux": ("8", "9", "10"),
}
# The kubelet may be up to three minors older than the API server, never newer.
KUBELET_MAX_MINOR_SKEW = 3
# From this minor on the kubelet refuses to start on a cgroup v1 host (failCgroupV1 defaults to
# true) and kubeadm's SystemVerification preflight check fails there.
CGROUP_V1_FAILS_FROM = 35
# Where to look for a pod network that collides with nothing (first fit is suggested).
POD_CIDR_CANDIDATES = ("10.244.0.0/16", "192.168.0.0/16", "172.20.0.0/16", "100.64.0.0/16")
# Interfaces that Kubernetes and CNIs create on a node: their addresses are not the node's network.
CLUSTER_INTERFACE_PREFIXES = ("cali", "tunl", "vxlan", "flannel", "cni", "kube-ipvs", "cilium", "weave", "lo")
# keepalived's PASS authentication truncates longer passwords.
VRRP_PASSWORD_MAX = 8

ERROR = "error"
WARNING = "warning"
ALL = "all"

DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
RFC1123_SUBDOMAIN = re.compile(rf"^{DNS_LABEL}(\.{DNS_LABEL})*$")
HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*\.?$"
)
VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")

Resolver = Callable[[str], bool]
Problem = dict[str, str]


def _resolves(name: str) -> bool:
    """A name lookup on the controller (no connection is made)."""
    if name.rstrip(".").lower().endswith(".invalid") or name.rstrip(".").lower() == "invalid":
        return False  # RFC 6761 6.4: always a negative answer, without asking anyone
    try:
        return bool(socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP))
    except (OSError, UnicodeError):
        return False


class _Report:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, severity: str, host: str | list[str], variable: str, message: str, fix: str) -> None:
        hosts = host if isinstance(host, str) else ", ".join(host)
        line = f"{severity.upper()} [{hosts}] {variable}: {message} Fix: {fix}"
        self.problems.append(
            {"severity": severity, "host": hosts, "variable": variable, "message": message, "fix": fix, "line": line}
        )

    def error(self, host: str | list[str], variable: str, message: str, fix: str) -> None:
        self.add(ERROR, host, variable, message, fix)

    def warning(self, host: str | list[str], variable: str, message: str, fix: str) -> None:
        self.add(WARNING, host, variable, message, fix)

    def sorted(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: p["severity"] != ERROR)


# --- small parsers -------------------------------------------------------------------------
def _network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(str(value), strict=True)
    except ValueError:
        return None


def _address(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(str(value).strip("[]"))
    except ValueError:
        return None


def _version(value: Any) -> tuple[int, int, int] | None:
    match = VERSION.match(str(value or "").strip())
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def _installed(value: Any) -> tuple[int, int, int] | None:
    """`kubeadm=v1.37.1` (binary), `kubelet=installed=1.37.1-1.1` (package status=version)."""
    return _upgrade.parse_version(value)


def _from_repository(info: dict) -> bool:
    """Whether the prerequisites role installs containerd.io from a repository on this host,
    replacing whatever containerd is installed (prerequisites_containerd_source: repository)."""
    return _tristate(info.get("containerd_manage")) is True and str(info.get("containerd_source") or "") == "repository"


def _tristate(value: Any) -> bool | None:
    """True, False or None (unknown) from a bool or its text form."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    return None


def _dotted(version: tuple[int, int, int]) -> str:
    return ".".join(str(part) for part in version)


def split_endpoint(endpoint: str) -> tuple[str, int] | None:
    """`host:port` or `[v6]:port` into (host, port); None when it is not one."""
    bracketed = re.match(r"^\[(?P<host>[^\]]+)\]:(?P<port>\d{1,5})$", endpoint)
    plain = re.match(r"^(?P<host>[^:\[\]]+):(?P<port>\d{1,5})$", endpoint)
    match = bracketed or plain
    if not match:
        return None
    host, port = match["host"], int(match["port"])
    if not 1 <= port <= 65535:
        return None
    if bracketed:
        return (host, port) if isinstance(_address(host), ipaddress.IPv6Address) else None
    if _address(host) is None and not HOSTNAME.match(host):
        return None
    return host, port


def host_networks(facts: dict[str, Any]) -> list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    """(interface, network) of every address a host holds, from `network` facts, cluster interfaces excluded."""
    found = []
    for interface in facts.get("interfaces") or []:
        if str(interface).startswith(CLUSTER_INTERFACE_PREFIXES):
            continue
        details = facts.get(str(interface).replace("-", "_").replace(".", "_")) or {}
        ipv4 = details.get("ipv4")
        entries = ipv4 if isinstance(ipv4, list) else [ipv4] if ipv4 else []
        entries += details.get("ipv4_secondaries") or []
        for entry in entries:
            try:
                net = ipaddress.ip_interface(f"{entry['address']}/{entry['netmask']}").network
            except (KeyError, TypeError, ValueError):
                continue
            found.append((str(interface), net))
        for entry in details.get("ipv6") or []:
            if entry.get("scope") == "link":
                continue
            try:
                net = ipaddress.ip_interface(f"{entry['address']}/{entry['prefix']}").network
            except (KeyError, TypeError, ValueError):
                continue
            found.append((str(interface), net))
    return found


def host_addresses(facts: dict[str, Any]) -> set[str]:
    return {
        str(ipaddress.ip_address(a))
        for a in (facts.get("all_ipv4_addresses") or []) + (facts.get("all_ipv6_addresses") or [])
    }


def suggest_node_name(name: str) -> str:
    suggestion = re.sub(r"[^a-z0-9.-]+", "-", name.lower())
    suggestion = ".".join(label.strip("-") for label in suggestion.split(".") if label.strip("-"))
    return suggestion[:253] or "node-1"


def _host_inputs(host: str, info: dict[str, Any]) -> _cluster.HostInputs:
    """What the layout needs of a host that answered, from what validation collected there."""
    lb = info.get("lb") or {}
    return _cluster.HostInputs(
        address=str(info.get("node_address") or ""),
        node_name=str(info.get("node_name") or host),
        keepalived_enabled=bool(_tristate(lb.get("keepalived_enabled"))),
        keepalived_vip=str(lb.get("keepalived_vip") or ""),
    )


def _overlaps(net: Any, other: Any) -> bool:
    return net.version == other.version and net.overlaps(other)


# --- the checks ----------------------------------------------------------------------------
class _Checker:
    def __init__(self, data: dict[str, Any], resolver: Resolver) -> None:
        if not isinstance(data, dict):
            raise AnsibleFilterError("cluster_problems expects a dict with groups, cluster and hosts")
        self.report = _Report()
        self.resolves = resolver
        groups = data.get("groups") or {}
        self.group = {
            key: groups.get(key) or {"name": key, "variable": "", "hosts": []}
            for key in ("loadbalancer", "control_plane", "workers")
        }
        for key, default_var in (
            ("loadbalancer", "kubeha_loadbalancer_group"),
            ("control_plane", "kubeha_control_plane_group"),
            ("workers", "kubeha_worker_group"),
        ):
            self.group[key].setdefault("name", key)
            self.group[key]["variable"] = self.group[key].get("variable") or default_var
            self.group[key]["hosts"] = [str(h) for h in self.group[key].get("hosts") or []]
        self.lbs = self.group["loadbalancer"]["hosts"]
        self.cps = self.group["control_plane"]["hosts"]
        self.workers = self.group["workers"]["hosts"]
        self.hosts: dict[str, dict[str, Any]] = {
            str(h["host"]): h for h in data.get("hosts") or [] if isinstance(h, dict) and "host" in h
        }
        # Targeted but dropped out (unreachable or failed); a host that answered never is.
        self.unreachable = [str(h) for h in dict.fromkeys(data.get("unreachable") or []) if str(h) not in self.hosts]
        self.cluster = dict(data.get("cluster") or self._cluster_view())
        # No host answered and no cluster given: only the groups can be checked.
        self.have_cluster = bool(self.cluster)
        self.cluster.update(data.get("cni") or {})
        # The playbook's layout, from the same code (the cluster_layout filter's): the endpoint as
        # given (empty: no external endpoint), else the default the playbook would use.
        try:
            self.layout = _cluster.build_layout(
                {"loadbalancer": self.lbs, "control_plane": self.cps, "workers": self.workers},
                {host: _host_inputs(host, info) for host, info in self.hosts.items()},
                api_port=self.cluster.get("api_port"),
                init_host=self.cluster.get("init_host"),
                control_plane_endpoint=self.cluster.get("control_plane_endpoint"),
                validating=True,
                control_plane_vip=self.cluster.get("control_plane_vip"),
                control_plane_lb_port=self.cluster.get("control_plane_lb_port"),
            )
        except ValueError as error:
            raise AnsibleFilterError(f"cluster_problems: {error}") from error
        self.endpoint_given = self.layout.control_plane_endpoint_given
        # What the endpoint would be without the one given (the fix of an endpoint that bypasses the LBs).
        self.default_endpoint = _cluster.default_endpoint(
            self.layout.loadbalancers,
            {host: _host_inputs(host, info) for host, info in self.hosts.items()},
            self.layout.api_port,
        )
        self.cluster["control_plane_endpoint"] = self.layout.control_plane_endpoint
        self.nodes = self.layout.nodes
        self.everyone = self.layout.all_hosts
        # In inventory order (the playbook's list comes from a set difference).
        self.unreachable = sorted(
            self.unreachable, key=lambda h: self.everyone.index(h) if h in self.everyone else len(self.everyone)
        )
        self.pod_net = None
        self.service_net = None
        self.version = None
        self.upgrade = data.get("upgrade") if isinstance(data.get("upgrade"), dict) else None

    def _cluster_view(self) -> dict[str, Any]:
        """The cluster-wide variables as the init host sees them (the playbook reads them there)."""
        views = {h: info["cluster"] for h, info in self.hosts.items() if isinstance(info.get("cluster"), dict)}
        first = next((views[h] for h in self.cps if h in views), next(iter(views.values()), {}))
        return dict(views.get(_cluster.resolve_init_host(self.cps, first.get("init_host")), first))

    def g(self, key: str) -> str:
        return self.group[key]["name"]

    def run(self) -> list[Problem]:
        self.unanswered()
        self.etcd_quorum()
        self.topology()
        if not self.have_cluster:
            return self.report.sorted()
        self.consistency()
        self.kubernetes_version()
        self.networks()
        self.endpoint()
        self.nodes_identity()
        self.systems()
        if self.upgrade is None:
            self.running_versions()
            self.installed_versions()
        else:
            self.upgrade_rules()
        self.container_runtimes()
        self.cgroups()
        self.keepalived()
        self.control_plane_loadbalancer()
        self.cni()
        self.cni_tested()
        self.kubeadm_overrides()
        # The rules by concern, in plugins/plugin_utils/_checks_*.py.
        _checks_ports.ports(self)
        _checks_networks.networks(self)
        _checks_names.names(self)
        _checks_topology.topology(self)
        _checks_inputs.inputs(self)
        return self.report.sorted()

    # hosts that gave no facts (unreachable, failed): every host check below skips them
    def unanswered(self) -> None:
        for host in self.unreachable:
            remove = (
                f"take it out of the cluster with playbooks/remove_node.yml (-e kubeha_remove_nodes={host}) "
                "and the inventory"
                if host in self.nodes
                else "take it out of the inventory"
            )
            self.report.error(
                host,
                "ansible_host",
                "unreachable (or failed) during validation; nothing was changed.",
                f"start it or fix its connection (ansible_host, ansible_user), or {remove}.",
            )
        # Hosts neither reporting nor unreachable were left out (--limit): not validated.

    def etcd_quorum(self) -> None:
        """Stacked etcd on the control planes: an error when no answering member sees a leader."""
        answering = [
            h for h in self.cps if h in self.hosts and _tristate((self.hosts[h].get("etcd") or {}).get("member"))
        ]
        if not answering:
            return  # a new cluster (no etcd manifest yet), or no control plane answered
        health = {h: _tristate((self.hosts[h].get("etcd") or {}).get("healthy")) for h in answering}
        if any(health.values()):
            return
        lost = [h for h in self.cps if h in self.unreachable]
        unchecked = [h for h in self.cps if h not in self.hosts and h not in self.unreachable]
        members = len(answering) + len(lost)
        silent = [h for h in answering if health[h] is None]
        # What must come back: the lost hosts and the members that did not answer, else every member.
        back = [h for h in self.cps if h in lost or h in silent] or answering
        detail = ", ".join(f"{h}: {'no answer' if health[h] is None else 'no leader'}" for h in answering)
        message = f"etcd quorum lost: {len(answering)} of {members} members reachable ({detail})"
        if lost:
            message += f", {len(lost)} unreachable ({', '.join(lost)})"
        if unchecked:
            message += f"; {', '.join(unchecked)} not checked"
        self.report.error(
            [h for h in self.cps if h in answering or h in lost],
            "etcd",
            f"{message}; a quorum needs {quorum_size(members)}, so the Kubernetes API cannot work until a "
            "majority is back.",
            f"bring back {', '.join(back)} (start the host, fix its connection or its etcd) and re-run; "
            f"do not reset or re-initialise the survivors ({', '.join(answering)}): "
            "their etcd holds the cluster's data.",
        )

    def topology(self) -> None:
        cp_var, n = self.group["control_plane"]["variable"], len(self.cps)
        require_ha = bool(self.cluster.get("require_ha", True))
        if n == 0:
            self.report.error(
                ALL,
                cp_var,
                f"no hosts in the control-plane group '{self.g('control_plane')}'.",
                f"add three control-plane hosts to the group '{self.g('control_plane')}', "
                f"or set {cp_var} to the group that holds them.",
            )
        elif n < 2 and require_ha:
            self.report.error(
                self.cps,
                cp_var,
                f"an HA cluster needs at least two control planes; the group '{self.g('control_plane')}' has {n}.",
                f"add control planes to '{self.g('control_plane')}' (three for etcd fault tolerance), "
                "or set kubeha_require_ha: false for a single control plane.",
            )
        if n and (n < 3 or n % 2 == 0):
            tolerated = fault_tolerance(n)
            self.report.warning(
                self.cps,
                cp_var,
                f"{n} control plane(s): stacked etcd needs {quorum_size(n)} members up and tolerates "
                f"{tolerated} failure(s); {n + 1 if n % 2 == 0 else 3} would tolerate more.",
                f"use an odd number of control planes, at least three (3 or 5), in '{self.g('control_plane')}'.",
            )
        if not self.lbs and not self.endpoint_given and not self.layout.loadbalancer_on_control_planes:
            self.report.error(
                ALL,
                "kubeha_control_plane_endpoint",
                f"no load balancer host in the group '{self.g('loadbalancer')}' and no external endpoint.",
                f"add an haproxy host to '{self.g('loadbalancer')}' ({self.group['loadbalancer']['variable']}), "
                "set kubeha_control_plane_vip to run haproxy and keepalived on the control planes, "
                "or set kubeha_control_plane_endpoint to an existing load balancer's host:port.",
            )
        both = [h for h in self.cps if h in self.workers]
        if both:
            self.report.error(
                both,
                self.group["workers"]["variable"],
                f"in both '{self.g('control_plane')}' and '{self.g('workers')}': a node joins either as a "
                "control plane or as a worker, not both.",
                f"remove it from '{self.g('workers')}' "
                "(to run workloads on control planes, remove their taint instead).",
            )
        port = self.layout.api_port
        for host in [h for h in self.lbs if h in self.cps]:
            # A frontend port that is not a number is the port check's (_checks_ports).
            frontend = _cluster.port_number(((self.hosts.get(host) or {}).get("lb") or {}).get("frontend_port")) or port
            if frontend == port:
                self.report.error(
                    host,
                    self.group["loadbalancer"]["variable"],
                    f"in both '{self.g('loadbalancer')}' and '{self.g('control_plane')}': haproxy's frontend and "
                    f"the API server would both listen on port {port}.",
                    f"use load balancer hosts that are not control planes in '{self.g('loadbalancer')}'.",
                )
        init_host = str(self.cluster.get("init_host") or "")
        if init_host and self.cps and init_host not in self.cps:
            self.report.error(
                ALL,
                "kubeha_init_host",
                f"'{init_host}' is not in the control-plane group '{self.g('control_plane')}'.",
                f"set kubeha_init_host to one of {', '.join(self.cps)} (or leave it unset for the first one).",
            )

    def consistency(self) -> None:
        keys = (
            "kubernetes_version",
            "control_plane_endpoint",
            "pod_network_cidr",
            "service_cidr",
            "api_port",
            "cluster_name",
            "allow_cgroup_v1",
            "control_plane_vip",
            "control_plane_lb_port",
        )
        for key in keys:
            seen: dict[str, list[str]] = defaultdict(list)
            for host in self.nodes:
                view = (self.hosts.get(host) or {}).get("cluster")
                if isinstance(view, dict) and key in view:
                    seen[str(view[key])].append(host)
            if len(seen) > 1:
                detail = "; ".join(f"{value or '(empty)'} on {', '.join(hosts)}" for value, hosts in seen.items())
                self.report.error(
                    list(dict.fromkeys(h for hosts in seen.values() for h in hosts)),
                    f"kubeha_{key}",
                    f"differs between hosts ({detail}).",
                    f"set kubeha_{key} once for the whole cluster (group_vars/all or extra vars), not per host.",
                )

    def kubernetes_version(self) -> None:
        raw = str(self.cluster.get("kubernetes_version") or "")
        version = _version(raw)
        if version is None or raw.startswith("v") or not re.match(r"^\d+\.\d+\.\d+$", raw):
            self.report.error(
                ALL,
                "kubeha_kubernetes_version",
                f"'{raw}' is not a full x.y.z Kubernetes version.",
                "set kubeha_kubernetes_version to a release such as 1.37.1 (no leading v).",
            )
            self.version = version
            return
        self.version = version
        window = window_text()
        fix = f"set kubeha_kubernetes_version to a 1.{SUPPORTED_MINORS[0]}.x to 1.{SUPPORTED_MINORS[-1]}.x release."
        if version[0] == 1 and version[1] in SUPPORTED_MINORS:
            return
        if version[0] == 1 and version[1] in EXISTING_ONLY_MINORS:
            end = EXISTING_ONLY_MINORS[version[1]]
            running = [h for h in self.cps if (self._running(h) or (0, 0))[:2] == version[:2]]
            if running:
                self.report.warning(
                    running,
                    "kubeha_kubernetes_version",
                    f"{raw}: Kubernetes 1.{version[1]} is past its end of life ({end}) and gets no more fixes; "
                    "accepted because this cluster already runs it.",
                    f"upgrade to 1.{version[1] + 1}: on the init host `kubeadm upgrade apply v1.{version[1] + 1}.x` "
                    "with kubeadm of that release, `kubeadm upgrade node` on the other control planes, then the "
                    "kubelets node by node; then set kubeha_kubernetes_version to it "
                    f"(supported: {window}).",
                )
                return
            self.report.error(
                ALL,
                "kubeha_kubernetes_version",
                f"{raw}: Kubernetes 1.{version[1]} is past its end of life ({end}); it is accepted only for a "
                f"cluster that already runs it, and no control plane runs it (supported: {window}).",
                fix,
            )
            return
        self.report.error(
            ALL,
            "kubeha_kubernetes_version",
            f"{raw} is not a supported Kubernetes version (supported: {window}).",
            fix,
        )

    def _running(self, host: str) -> tuple[int, int, int] | None:
        """The version a control plane runs: its kube-apiserver manifest's image tag."""
        return _installed((self.hosts.get(host) or {}).get("running_version"))

    def networks(self) -> None:
        for key, var in (("pod_network_cidr", "kubeha_pod_network_cidr"), ("service_cidr", "kubeha_service_cidr")):
            raw = str(self.cluster.get(key) or "")
            net = _network(raw)
            if net is None:
                try:
                    hint = f" (did you mean {ipaddress.ip_network(raw, strict=False)}?)"
                except ValueError:
                    hint = ""
                self.report.error(
                    ALL,
                    var,
                    f"'{raw}' is not a valid network in CIDR notation{hint}.",
                    f"set {var} to a network address with its prefix, e.g. "
                    f"{'10.244.0.0/16' if key == 'pod_network_cidr' else '10.96.0.0/12'}.",
                )
            setattr(self, "pod_net" if key == "pod_network_cidr" else "service_net", net)
        if self.pod_net and self.service_net and _overlaps(self.pod_net, self.service_net):
            self.report.error(
                ALL,
                "kubeha_pod_network_cidr",
                f"the pod network {self.pod_net} overlaps the service network {self.service_net} "
                "(kubeha_service_cidr).",
                f"choose disjoint networks, e.g. kubeha_pod_network_cidr: {self._free_pod_cidr()}.",
            )
        for host in self.everyone:
            facts = (self.hosts.get(host) or {}).get("facts") or {}
            for interface, net in host_networks(facts):
                for key, var, cidr in (
                    ("pod", "kubeha_pod_network_cidr", self.pod_net),
                    ("service", "kubeha_service_cidr", self.service_net),
                ):
                    if cidr is not None and _overlaps(cidr, net):
                        fix = (
                            "choose a pod network outside the hosts' networks, "
                            f"e.g. kubeha_pod_network_cidr: {self._free_pod_cidr()}."
                            if key == "pod"
                            else "choose a service network outside the hosts' networks."
                        )
                        self.report.error(
                            host,
                            var,
                            f"the {key} network {cidr} overlaps the host's own network {net} on {interface}.",
                            fix,
                        )

    def _free_pod_cidr(self) -> str:
        taken = [self.service_net] if self.service_net else []
        for host in self.everyone:
            taken += [net for _interface, net in host_networks((self.hosts.get(host) or {}).get("facts") or {})]
        for candidate in POD_CIDR_CANDIDATES:
            net = ipaddress.ip_network(candidate)
            if not any(_overlaps(net, other) for other in taken):
                return candidate
        return "a /16 used nowhere on your network"

    def _lb_addresses(self) -> dict[str, str]:
        """Addresses that are the load balancers': their node addresses and keepalived VIPs."""
        found = {}
        for host in self.lbs:
            info = self.hosts.get(host) or {}
            if info.get("node_address"):
                found[str(info["node_address"])] = host
            lb = info.get("lb") or {}
            if lb.get("keepalived_enabled") and lb.get("keepalived_vip"):
                found[str(lb["keepalived_vip"])] = "keepalived VIP"
        return found

    def endpoint(self) -> None:
        raw = str(self.cluster.get("control_plane_endpoint") or "").strip()
        if not raw:
            return
        parsed = split_endpoint(raw)
        var = "kubeha_control_plane_endpoint"
        if parsed is None:
            self.report.error(
                ALL,
                var,
                f"'{raw}' is not a valid host:port (a DNS name or IP address, [brackets] around IPv6, port 1-65535).",
                "set kubeha_control_plane_endpoint to e.g. 'lb.example.com:6443' or '192.0.2.10:6443'.",
            )
            return
        host, port = parsed
        # An endpoint worked out from kubeha_control_plane_vip: that check names the VIP itself.
        derived_from_vip = self.layout.loadbalancer_on_control_planes and not self.endpoint_given
        if _address(host) is None and not derived_from_vip and not self.resolves(host):
            self.report.error(
                ALL,
                var,
                f"the endpoint's host '{host}' does not resolve on the controller.",
                f"add '{host}' to DNS (or /etc/hosts on every node and the controller), "
                "or use the load balancer's IP address.",
            )
        lb_addresses = self._lb_addresses()
        if host in lb_addresses:
            for lb_host in self.lbs:
                frontend = _cluster.port_number(((self.hosts.get(lb_host) or {}).get("lb") or {}).get("frontend_port"))
                if frontend is not None and frontend != port:
                    self.report.error(
                        lb_host,
                        "kubeha_control_plane_endpoint",
                        f"haproxy on this host listens on port {frontend} (kubeha_api_port) but the endpoint "
                        f"{raw} uses port {port}.",
                        f"use port {frontend} in kubeha_control_plane_endpoint (or change kubeha_api_port).",
                    )

    def nodes_identity(self) -> None:
        names: dict[str, list[str]] = defaultdict(list)
        for host in self.nodes:
            info = self.hosts.get(host)
            if info is None:
                continue
            name = str(info.get("node_name") or "")
            names[name].append(host)
            if len(name) > 253 or not RFC1123_SUBDOMAIN.match(name):
                self.report.error(
                    host,
                    "kubeha_node_name",
                    f"'{name}' is not a valid Kubernetes node name (RFC 1123: lowercase letters, digits, '-' and '.', "
                    "starting and ending with a letter or digit, at most 253 characters).",
                    f"set kubeha_node_name for {host}, e.g. kubeha_node_name: {suggest_node_name(name or host)}.",
                )
        for name, hosts in names.items():
            if len(hosts) > 1:
                self.report.error(
                    hosts,
                    "kubeha_node_name",
                    f"the node name '{name}' is used by {len(hosts)} hosts; "
                    "the later ones would replace the first's Node.",
                    "give each host its own kubeha_node_name (the default is its inventory hostname).",
                )
        addresses: dict[str, list[str]] = defaultdict(list)
        for host in self.everyone:
            info = self.hosts.get(host)
            if info is None or not info.get("node_address"):
                continue
            raw = str(info["node_address"])
            address = _address(raw)
            if host in self.nodes and address is None:
                self.report.error(
                    host,
                    "kubeha_node_address",
                    f"'{raw}' is not an IP address; the API server and kubelet advertise an IP.",
                    f"set kubeha_node_address for {host} to its IP address on the cluster network.",
                )
                continue
            key = str(address) if address is not None else raw
            addresses[key].append(host)
            own = host_addresses(info.get("facts") or {})
            if address is not None and own and key not in own:
                self.report.error(
                    host,
                    "kubeha_node_address",
                    f"{key} is not an address of this host (it has {', '.join(sorted(own))}).",
                    f"set kubeha_node_address for {host} to one of its own addresses.",
                )
        for address, hosts in addresses.items():
            if len(hosts) > 1:
                self.report.error(
                    hosts,
                    "kubeha_node_address",
                    f"the address {address} is given to {len(hosts)} hosts.",
                    "give each host its own kubeha_node_address (the default is its ansible_host).",
                )

    def systems(self) -> None:
        for host in self.everyone:
            facts = (self.hosts.get(host) or {}).get("facts") or {}
            if not facts:
                continue
            distribution = str(facts.get("distribution") or "unknown")
            version = str(facts.get("distribution_version") or "")
            supported = SUPPORTED_SYSTEMS.get(distribution, ())
            if not any(version == v or version.startswith(f"{v}.") for v in supported):
                listed = "; ".join(f"{name} {', '.join(versions)}" for name, versions in SUPPORTED_SYSTEMS.items())
                self.report.error(
                    host,
                    "ansible_facts.distribution",
                    f"{distribution} {version or '(unknown version)'} is not a supported operating system.",
                    f"run this host on a supported system ({listed}).",
                )

    def _behind(self) -> list[str]:
        """Control planes that run an older release than the request."""
        if self.version is None:
            return []
        return [h for h in self.cps if (self._running(h) or self.version) < self.version]

    def running_versions(self) -> None:
        """An installation never moves a running cluster to another release: that is upgrade.yml's."""
        if self.version is None:
            return
        want = _dotted(self.version)
        behind = self._behind()
        if behind:
            running = _dotted(min(self._running(h) or self.version for h in behind))
            self.report.error(
                behind,
                "kubeha_kubernetes_version",
                f"{want} is requested but this control plane runs {running}: ha_cluster.yml never upgrades a "
                "running cluster, and nothing was changed.",
                f"upgrade with playbooks/upgrade.yml (ansible-playbook kubeha.kubeadm.upgrade -i <inventory> "
                f"-e kubeha_kubernetes_version={want}), or set kubeha_kubernetes_version: {running}.",
            )
        ahead = [h for h in self.cps if (self._running(h) or self.version) > self.version]
        if ahead:
            running = _dotted(max(self._running(h) or self.version for h in ahead))
            self.report.error(
                ahead,
                "kubeha_kubernetes_version",
                f"{want} is requested but this control plane runs {running}, a newer release: Kubernetes "
                "is never downgraded, and nothing was changed.",
                f"set kubeha_kubernetes_version: {running}.",
            )

    def upgrade_rules(self) -> None:
        """Validation for upgrade.yml: the rules of plugin_utils/_upgrade.py."""
        if self.version is None:
            return
        upgrade = self.upgrade or {}
        nodes = []
        for host in self.nodes:
            info = self.hosts.get(host)
            if info is None:
                continue  # unreachable: reported as such
            nodes.append(
                _upgrade.Node(
                    host=host,
                    node_name=str(info.get("node_name") or host),
                    control_plane=host in self.cps,
                    apiserver=_installed(info.get("running_version")),
                    kubeadm=_installed(info.get("kubeadm_version")),
                    kubelet=_installed(info.get("kubelet_version")),
                    source=str(info.get("prerequisites_source") or "packages"),
                    pkg_mgr=str((info.get("facts") or {}).get("pkg_mgr") or ""),
                )
            )
        etcd = {
            h: _tristate((self.hosts[h].get("etcd") or {}).get("healthy"))
            for h in self.cps
            if h in self.hosts and _tristate((self.hosts[h].get("etcd") or {}).get("member"))
        }
        repositories = {}
        for host, info in self.hosts.items():
            repo = info.get("repository")
            if host not in self.nodes or not isinstance(repo, dict) or not repo.get("url"):
                continue
            status = repo.get("status")
            repositories[str(host)] = _upgrade.Repository(
                url=str(repo.get("url") or ""),
                status=int(status) if str(status).lstrip("-").isdigit() else -1,
                error=str(repo.get("error") or ""),
                versions=_upgrade.package_versions(str(repo.get("content") or "")),
            )
        for finding in _upgrade.check(
            self.version,
            nodes,
            _upgrade.api_nodes(upgrade.get("nodes")),
            etcd,
            repositories,
            worker_batch=upgrade.get("worker_batch", _upgrade.DEFAULT_WORKER_BATCH),
        ):
            self.report.error(finding.hosts, finding.variable, finding.message, finding.fix)

    def installed_versions(self) -> None:
        if self.version is None:
            return
        want = self.version
        behind = self._behind()
        for host in self.nodes:
            info = self.hosts.get(host)
            if info is None or behind:
                continue
            kubeadm = _installed(info.get("kubeadm_version"))
            kubelet = _installed(info.get("kubelet_version"))
            source = str(info.get("prerequisites_source") or "packages")
            if kubeadm is None and source == "preinstalled":
                self.report.error(
                    host,
                    "prerequisites_source",
                    "is 'preinstalled' but kubeadm is not installed on this host.",
                    f"install kubeadm, kubelet and kubectl {_dotted(want)} in the host's image, "
                    "or set prerequisites_source: packages.",
                )
            if kubeadm is not None and kubeadm != want:
                self.report.error(
                    host,
                    "kubeha_kubernetes_version",
                    f"{_dotted(want)} is requested but kubeadm {_dotted(kubeadm)} is installed.",
                    f"set kubeha_kubernetes_version: {_dotted(kubeadm)}, or upgrade the cluster with "
                    "playbooks/upgrade.yml before changing the version here.",
                )
            self._kubectl_skew(host, info, source)
            if kubelet is None:
                continue
            if kubelet[:2] > want[:2] or want[1] - kubelet[1] > KUBELET_MAX_MINOR_SKEW or kubelet[0] != want[0]:
                self.report.error(
                    host,
                    "kubeha_kubernetes_version",
                    f"the installed kubelet {_dotted(kubelet)} is outside the supported skew of {_dotted(want)} "
                    f"(never newer, at most {KUBELET_MAX_MINOR_SKEW} minors older).",
                    f"install kubelet {_dotted(want)} on this host, "
                    "or request a version the installed kubelet supports.",
                )
            elif kubelet != want:
                self.report.warning(
                    host,
                    "kubeha_kubernetes_version",
                    f"the installed kubelet {_dotted(kubelet)} differs from the requested {_dotted(want)}.",
                    f"upgrade the kubelet to {_dotted(want)} after the control plane.",
                )

    def _kubectl_skew(self, host: str, info: dict, source: str) -> None:
        """An image's kubectl must be within the prerequisites role's skew of the request: the role
        checks it only after it has changed the host (packages install the requested kubectl)."""
        kubectl = _installed(info.get("kubectl_version"))
        if source != "preinstalled" or kubectl is None or self.version is None:
            return
        try:
            skew = int(info.get("kubectl_max_skew"))
        except (TypeError, ValueError):
            return  # a bad skew is the role input check's (_checks_inputs)
        want = self.version
        if kubectl[0] == want[0] and abs(kubectl[1] - want[1]) <= skew:
            return
        wanted = f"1.{want[1]}" if skew == 0 else f"1.{max(0, want[1] - skew)} to 1.{want[1] + skew}"
        self.report.error(
            host,
            "kubeha_kubernetes_version",
            f"{_dotted(want)} is requested but the host's image carries kubectl {_dotted(kubectl)}, "
            f"more than prerequisites_kubectl_max_minor_skew ({skew}) minor version(s) away "
            "(kubectl is supported within one minor of the API server).",
            f"put a kubectl {wanted} in the host's image, or request a release "
            f"within {skew} minor version(s) of kubectl {_dotted(kubectl)}.",
        )

    def cgroups(self) -> None:
        """From 1.35 the kubelet refuses cgroup v1 hosts unless the cluster opts in to that mode."""
        if self.version is None or self.version[:2] < (1, CGROUP_V1_FAILS_FROM):
            return
        if _tristate(self.cluster.get("allow_cgroup_v1")):
            return
        v1 = [h for h in self.nodes if str((self.hosts.get(h) or {}).get("cgroup_fs") or "").strip() == "tmpfs"]
        if not v1:
            return
        self.report.error(
            v1,
            "kubeha_allow_cgroup_v1",
            f"the host runs cgroup v1 (/sys/fs/cgroup is tmpfs, not cgroup2fs): from Kubernetes "
            f"1.{CGROUP_V1_FAILS_FROM} the kubelet refuses to start there (failCgroupV1 defaults to true) and "
            "kubeadm's SystemVerification preflight check fails.",
            "move the host to cgroup v2 (a system that boots with it, e.g. Debian 11+, Ubuntu 21.10+, RHEL 9+, "
            "or the kernel argument systemd.unified_cgroup_hierarchy=1), or opt in to the deprecated cgroup v1 "
            "mode with kubeha_allow_cgroup_v1: true (failCgroupV1: false in the KubeletConfiguration and "
            "SystemVerification ignored on init and every join).",
        )

    def keepalived(self) -> None:
        for host in self.lbs:
            info = self.hosts.get(host)
            if info is None:
                continue
            lb = info.get("lb") or {}
            if not lb.get("keepalived_enabled"):
                continue
            raw = str(lb.get("keepalived_vip") or "")
            vip = _address(raw)
            if vip is None:
                self.report.error(
                    host,
                    "loadbalancer_keepalived_vip",
                    f"keepalived is enabled but the VIP '{raw}' is not an IP address.",
                    "set loadbalancer_keepalived_vip to a free address in the load balancers' subnet.",
                )
            else:
                networks = [net for _interface, net in host_networks(info.get("facts") or {})]
                if networks and not any(vip in net for net in networks):
                    self.report.error(
                        host,
                        "loadbalancer_keepalived_vip",
                        f"the VIP {vip} is outside this host's subnets ({', '.join(str(n) for n in networks)}); "
                        "VRRP only moves an address within one subnet.",
                        "set loadbalancer_keepalived_vip to a free address in the load balancers' common subnet.",
                    )
                owners = [h for h in self.everyone if str((self.hosts.get(h) or {}).get("node_address")) == str(vip)]
                if owners:
                    self.report.error(
                        owners,
                        "loadbalancer_keepalived_vip",
                        f"the VIP {vip} is already the address of {', '.join(owners)}.",
                        "set loadbalancer_keepalived_vip to an address no host uses.",
                    )
            length = int(lb.get("keepalived_password_length") or 0)
            if length == 0:
                self.report.error(
                    host,
                    "loadbalancer_keepalived_password",
                    "keepalived is enabled without a VRRP password.",
                    "set loadbalancer_keepalived_password (1 to 8 characters), preferably from a vault.",
                )
            elif length > VRRP_PASSWORD_MAX:
                self.report.error(
                    host,
                    "loadbalancer_keepalived_password",
                    f"the VRRP password is {length} characters; keepalived uses only the first {VRRP_PASSWORD_MAX}.",
                    "set loadbalancer_keepalived_password to 1 to 8 characters.",
                )
            members = [str(h) for h in lb.get("keepalived_hosts") or []]
            if members and host not in members:
                self.report.error(
                    host,
                    "loadbalancer_keepalived_hosts",
                    "keepalived is enabled on this host but it is not in loadbalancer_keepalived_hosts "
                    f"({', '.join(members)}).",
                    "list every load balancer host in loadbalancer_keepalived_hosts "
                    "(or leave it empty for the whole group).",
                )

    def control_plane_loadbalancer(self) -> None:
        """haproxy and keepalived on the control planes: one topology, the VIP, haproxy's port, VRRP."""
        raw = self.layout.control_plane_vip
        if not raw:
            return
        var = "kubeha_control_plane_vip"
        if self.lbs:
            self.report.error(
                self.lbs,
                var,
                f"is set ({raw}), which runs haproxy and keepalived on the control planes, but the group "
                f"'{self.g('loadbalancer')}' has load balancer hosts too.",
                f"choose one: empty '{self.g('loadbalancer')}' for the load balancer on the control planes, or unset "
                f"{var} (the load balancer hosts' own VIP is loadbalancer_keepalived_vip).",
            )
            return
        self._control_plane_vip(raw, var)
        self._control_plane_lb_port()
        missing = [h for h in self.cps if h in self.hosts and not self._password_length(h)]
        if missing:
            self.report.error(
                missing,
                "loadbalancer_keepalived_password",
                "keepalived runs on the control planes (kubeha_control_plane_vip) but has no VRRP password here.",
                "set loadbalancer_keepalived_password (1 to 8 characters, the same on every control plane), "
                "preferably from a vault.",
            )
        long = [h for h in self.cps if self._password_length(h) > VRRP_PASSWORD_MAX]
        if long:
            self.report.error(
                long,
                "loadbalancer_keepalived_password",
                f"the VRRP password is longer than {VRRP_PASSWORD_MAX} characters; keepalived uses only the first "
                f"{VRRP_PASSWORD_MAX}.",
                "set loadbalancer_keepalived_password to 1 to 8 characters.",
            )

    def _password_length(self, host: str) -> int:
        return int(((self.hosts.get(host) or {}).get("lb") or {}).get("keepalived_password_length") or 0)

    def _control_plane_vip(self, raw: str, var: str) -> None:
        vip = _address(raw)
        if vip is None:
            self.report.error(
                ALL,
                var,
                f"'{raw}' is not an IP address.",
                f"set {var} to a free address in the control planes' subnet.",
            )
            return
        outside = {}
        for host in self.cps:
            networks = [net for _interface, net in host_networks((self.hosts.get(host) or {}).get("facts") or {})]
            usable = [
                net
                for net in networks
                if vip in net and (net.prefixlen >= net.max_prefixlen - 1 or vip not in (net[0], net[-1]))
            ]
            if networks and not usable:
                outside[host] = networks
        if outside:
            detail = "; ".join(f"{h}: {', '.join(str(n) for n in nets)}" for h, nets in outside.items())
            self.report.error(
                list(outside),
                var,
                f"the VIP {vip} is not a host address in the subnets of these control planes ({detail}); "
                "VRRP moves an address only within the one subnet they share.",
                f"set {var} to a free address in the subnet every control plane is on.",
            )
        owners = [h for h in self.everyone if _address((self.hosts.get(h) or {}).get("node_address") or "") == vip]
        if owners:
            self.report.error(
                owners,
                var,
                f"the VIP {vip} is already the address of {', '.join(owners)}.",
                f"set {var} to an address no host uses.",
            )
        parsed = split_endpoint(str(self.cluster.get("control_plane_endpoint") or ""))
        port = self.layout.loadbalancer_port
        if self.endpoint_given and parsed and _address(parsed[0]) == vip and parsed[1] != port:
            self.report.error(
                ALL,
                "kubeha_control_plane_endpoint",
                f"names the VIP {vip} on port {parsed[1]}, but haproxy listens there on {port} "
                "(kubeha_control_plane_lb_port).",
                f"use {_cluster.hostport(str(vip), port)} "
                "(or leave kubeha_control_plane_endpoint unset for that default).",
            )

    def _control_plane_lb_port(self) -> None:
        var, port, api = "kubeha_control_plane_lb_port", self.layout.loadbalancer_port, self.layout.api_port
        low, high = _checks_ports.NODE_PORT_RANGE
        other = 8443 if api != 8443 else 9443
        raw = self.cluster.get("control_plane_lb_port")
        if raw not in (None, "") and _cluster.port_number(raw) is None:
            self.report.error(
                ALL,
                var,
                f"'{raw}' is not a port: haproxy's frontend port is an integer from 1 to 65535.",
                f"set {var} to a free port, e.g. {other}, or leave it unset for "
                f"{_cluster.DEFAULT_CONTROL_PLANE_LB_PORT}.",
            )
            return
        if port == api:
            self.report.error(
                ALL,
                var,
                f"haproxy on the control planes would listen on {port}, the API server's own port "
                "(kubeha_api_port): they collide, and kubeadm's Port preflight check (up to 1.36 on every "
                "address) fails init and every control-plane join.",
                f"set {var} to another port free on every control plane, e.g. {other}.",
            )
        elif port in _checks_ports.CONTROL_PLANE_PORTS:
            self.report.error(
                ALL,
                var,
                f"{port} is taken on every control plane ({_checks_ports.CONTROL_PLANE_PORTS[port]}).",
                f"set {var} to a port no Kubernetes component uses, e.g. {other}.",
            )
        elif low <= port <= high:
            self.report.error(
                ALL,
                var,
                f"{port} is in the NodePort range {low}-{high}: a Service given "
                "that NodePort would capture the control planes' API traffic.",
                f"set {var} to a port outside {low}-{high}, e.g. {other}.",
            )
        for host in self.cps:
            users = ((self.hosts.get(host) or {}).get("lb") or {}).get("port_users") or []
            # haproxy is ours (a converged cluster); anything else holds the port.
            others = sorted({str(u) for u in users} - {"haproxy"})
            if others:
                self.report.error(
                    host,
                    var,
                    f"port {port} is already in use on this host by {', '.join(others)}.",
                    f"stop what listens on {port} on this host, or set {var} to a port free on every control plane.",
                )

    def cni(self) -> None:
        """The cni role applies only manifests whose sha256 it knows: user-given or pinned for the version."""
        if "cni_version" not in self.cluster or self.cluster.get("cni_test_manifests"):
            return
        version = str(self.cluster.get("cni_version") or "")
        given = self.cluster.get("cni_checksums") or {}
        pinned = (self.cluster.get("cni_pinned_checksums") or {}).get(version) or {}
        sums = given if isinstance(given, dict) and given else pinned
        manifests = [
            str(m) for m in self.cluster.get("cni_manifests") or ["operator-crds.yaml", "tigera-operator.yaml"]
        ]
        missing = [m for m in manifests if not re.match(r"^[0-9a-f]{64}$", str(sums.get(m, "")))]
        if missing:
            self.report.error(
                ALL,
                "cni_calico_version",
                f"Calico {version or '(empty)'} has no valid sha256 sum for {', '.join(missing)}, "
                "so its manifests cannot be verified.",
                "pin a Calico version whose sums the cni role carries, or give every manifest's sum in "
                "cni_calico_manifest_checksums ({file name: 64 hex digits}).",
            )

    def container_runtimes(self) -> None:
        """A warning for each node whose installed containerd is older than the requested minor expects."""
        if self.version is None:
            return
        minimum = containerd_minimum(self.version[1])
        if minimum is None:
            return
        minor = f"{self.version[0]}.{self.version[1]}"
        for host in self.nodes:
            info = self.hosts.get(host) or {}
            found = containerd_version(info.get("containerd_version"))
            if _from_repository(info):
                # The role puts containerd.io from the repository in place of what is installed:
                # only a pinned version can be older than expected.
                pinned = containerd_version(f"containerd containerd.io {info.get('containerd_pin') or ''}")
                if pinned is not None and pinned < minimum:
                    self.report.warning(
                        host,
                        "prerequisites_containerd_version",
                        f"pins containerd.io {_dotted(pinned)}; Kubernetes {minor} expects containerd "
                        f"{_dotted(minimum)} or newer.",
                        f"pin containerd.io {_dotted(minimum)}+ (or leave prerequisites_containerd_version empty "
                        "for the repository's newest).",
                    )
                continue
            if found is None or found >= minimum:
                continue
            why = (
                "it lacks the CRI RuntimeConfig method (containerd 2.0+), so the kubelet falls back to "
                "the cgroupDriver of its configuration, a fallback upstream is removing"
                if minimum >= (2, 0, 0)
                else "containerd's own support matrix starts there"
            )
            self.report.warning(
                host,
                "prerequisites_containerd_source",
                f"containerd {_dotted(found)} is installed; Kubernetes {minor} expects containerd "
                f"{_dotted(minimum)} or newer ({why}).",
                "set prerequisites_containerd_source: repository (containerd.io from Docker's repository, or "
                "prerequisites_containerd_repository_url for a mirror) and re-run, or put containerd "
                f"{_dotted(minimum)}+ in the host's image.",
            )

    def cni_tested(self) -> None:
        """A warning when Tigera does not test the chosen Calico release with the requested minor."""
        if self.version is None or "cni_version" not in self.cluster or self.cluster.get("cni_test_manifests"):
            return
        release = str(self.cluster.get("cni_version") or "")
        minor = self.version[1]
        known = calico_untested(release, minor)
        if known is None:
            return
        choices = calico_for(minor)
        self.report.warning(
            ALL,
            "cni_calico_version",
            f"Calico {release} {known}, not with the requested {self.version[0]}.{minor} "
            "(Tigera's system requirements).",
            (
                f"set cni_calico_version to a {' or '.join(choices)} release (with its sums in "
                "cni_calico_manifest_checksums unless the cni role pins them)"
                if choices
                else "choose a Calico release whose system requirements list this Kubernetes minor"
            )
            + ", or keep it knowingly.",
        )

    def kubeadm_overrides(self) -> None:
        """The kubeadm_init role's overrides are keyed by kind; they must not contradict the kubeha_ variables."""
        config = self.cluster.get("kubeadm_config") or {}
        if not isinstance(config, dict) or not config:
            return
        var = "kubeadm_init_config_overrides"

        def at(path: str) -> Any:
            node: Any = config
            for key in path.split("."):
                if not isinstance(node, dict) or key not in node:
                    return None
                node = node[key]
            return node

        init = self.hosts.get(self.layout.init_host) or {}
        expected = [
            ("ClusterConfiguration.networking.podSubnet", "pod_network_cidr", "kubeha_pod_network_cidr"),
            ("ClusterConfiguration.networking.serviceSubnet", "service_cidr", "kubeha_service_cidr"),
            ("ClusterConfiguration.controlPlaneEndpoint", "control_plane_endpoint", "kubeha_control_plane_endpoint"),
            ("ClusterConfiguration.kubernetesVersion", "kubernetes_version", "kubeha_kubernetes_version"),
            ("ClusterConfiguration.clusterName", "cluster_name", "kubeha_cluster_name"),
            ("InitConfiguration.localAPIEndpoint.bindPort", "api_port", "kubeha_api_port"),
        ]
        checks = [(path, at(path), self.cluster.get(key), top) for path, key, top in expected]
        checks += [
            (
                "InitConfiguration.localAPIEndpoint.advertiseAddress",
                at("InitConfiguration.localAPIEndpoint.advertiseAddress"),
                init.get("node_address"),
                "kubeha_node_address",
            ),
            (
                "InitConfiguration.nodeRegistration.name",
                at("InitConfiguration.nodeRegistration.name"),
                init.get("node_name"),
                "kubeha_node_name",
            ),
        ]
        gates = at("ClusterConfiguration.featureGates")
        if isinstance(gates, dict) and self.version is not None:
            removed = sorted(
                g for g in gates if self.version[:2] >= (1, KUBEADM_REMOVED_FEATURE_GATES.get(str(g), 1000))
            )
            if removed:
                self.report.error(
                    ALL,
                    var,
                    f"sets ClusterConfiguration.featureGates {', '.join(removed)}, which kubeadm "
                    f"1.{self.version[1]} no longer knows (it fails on unknown feature gates).",
                    f"drop {', '.join(removed)} from {var} ("
                    + ", ".join(f"{g} is gone since 1.{KUBEADM_REMOVED_FEATURE_GATES[g]}" for g in removed)
                    + (
                        "; ECDSA keys: ClusterConfiguration.encryptionAlgorithm"
                        if "PublicKeysECDSA" in removed
                        else "; what they switched is always on"
                    )
                    + ").",
                )
        for path, given, wanted, top in checks:
            if given is None or wanted in (None, ""):
                continue
            if str(given).lstrip("v") != str(wanted).lstrip("v"):
                self.report.error(
                    ALL,
                    var,
                    f"sets {path}: {given}, which contradicts {top}: {wanted}.",
                    f"drop {path} from {var} and set {top} instead.",
                )


def collect(data: dict[str, Any], resolver: Resolver = _resolves) -> list[Problem]:
    """Every problem with the inventory and variables, errors first (resolver: name -> resolves?)."""
    return _Checker(data, resolver).run()


def cluster_problems(data: dict[str, Any]) -> list[Problem]:
    """The filter: every problem with the inventory and variables, errors first."""
    return collect(data)


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"cluster_problems": cluster_problems}
