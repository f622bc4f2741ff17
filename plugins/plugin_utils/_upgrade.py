# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rules an upgrade must pass before any host changes, and which nodes still need it.

Private to the collection. Pure functions over what validation read on the hosts (installed
versions, the version each control plane runs, each etcd member's health, the package index of
the target minor's repository) and on the API (the Node objects); the cluster_problems filter
reports what they find, playbooks/upgrade.yml uses `pending` to leave finished nodes alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

Version = tuple[int, int, int]

# Set on a Node for as long as upgrade.yml works on it (drained, packages moving), removed once
# it is back in service: a node that carries it is not finished even when its versions are.
UPGRADING_ANNOTATION = "kubeha.kubeadm/upgrading"
PACKAGES = ("kubeadm", "kubelet", "kubectl")
VAR = "kubeha_kubernetes_version"
BATCH_VAR = "kubeha_upgrade_worker_batch"
DEFAULT_WORKER_BATCH = "20%"
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def parse_version(value: Any) -> Version | None:
    """`1.37.1`, `v1.37.1`, `kubeadm=v1.37.1`, `kubelet=installed=1.37.1-1.1`; None when absent.

    A package status other than `installed` (a removed package's config files) counts as absent.
    """
    text = str(value or "").strip()
    if "=" in text:
        text = text.split("=", 1)[1]
        if "=" in text:
            status, text = text.split("=", 1)
            if status != "installed":
                return None
    match = _VERSION.search(text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def dotted(version: Version) -> str:
    return ".".join(str(part) for part in version)


@dataclass(frozen=True)
class Node:
    """One Kubernetes node as validation saw it (an inventory host)."""

    host: str
    node_name: str
    control_plane: bool
    # The kube-apiserver manifest's image tag (control planes only; None: no manifest).
    apiserver: Version | None = None
    kubeadm: Version | None = None
    kubelet: Version | None = None
    # prerequisites_source on that host.
    source: str = "packages"
    # ansible_pkg_mgr on that host (empty: not gathered).
    pkg_mgr: str = ""


@dataclass(frozen=True)
class ApiNode:
    """A Node object as the API reports it."""

    ready: bool
    reason: str = ""
    unschedulable: bool = False
    kubelet: Version | None = None
    upgrading: str = ""


@dataclass(frozen=True)
class Repository:
    """What a host read from the target minor's package index."""

    url: str
    status: int
    error: str = ""
    # package -> versions (x.y.z) the index lists
    versions: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    hosts: list[str]
    variable: str
    message: str
    fix: str


def api_nodes(listing: Any) -> dict[str, ApiNode] | None:
    """`kubectl get nodes -o json` (parsed) -> node name -> ApiNode; None when it was not read."""
    if not isinstance(listing, dict) or not isinstance(listing.get("items"), list):
        return None
    found = {}
    for item in listing["items"]:
        meta = item.get("metadata") or {}
        status = item.get("status") or {}
        ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
        found[str(meta.get("name"))] = ApiNode(
            ready=ready.get("status") == "True",
            reason=str(ready.get("reason") or ready.get("message") or ("no Ready condition" if not ready else "")),
            unschedulable=bool((item.get("spec") or {}).get("unschedulable")),
            kubelet=parse_version((status.get("nodeInfo") or {}).get("kubeletVersion")),
            upgrading=str((meta.get("annotations") or {}).get(UPGRADING_ANNOTATION) or ""),
        )
    return found


def package_versions(index: str) -> dict[str, list[str]]:
    """A flat apt `Packages` index -> package -> upstream versions (x.y.z, revision dropped)."""
    found: dict[str, list[str]] = {}
    for stanza in re.split(r"\n\s*\n", index or ""):
        name = re.search(r"(?m)^Package:\s*(\S+)", stanza)
        version = re.search(r"(?m)^Version:\s*(\S+)", stanza)
        if name and version:
            upstream = re.sub(r"-[^-]+$", "", version[1])
            found.setdefault(name[1], [])
            if upstream not in found[name[1]]:
                found[name[1]].append(upstream)
    return found


def batch_size(batch: Any, workers: int) -> int:
    """How many workers upgrade.yml takes out of service at a time (its workers play's `serial`).

    A count, or a percentage of the workers rounded down and at least one, as Ansible's `serial`
    computes it; never more than there are workers. ValueError names what is accepted: 0, a
    negative count or a percentage outside 1-100% would let `serial` take every worker at once.
    """
    text = str(batch).strip() if isinstance(batch, (str, int)) and not isinstance(batch, bool) else ""
    percent = text.endswith("%")
    digits = text[:-1] if percent else text
    if not digits.isdigit() or int(digits) < 1 or (percent and int(digits) > 100):
        raise ValueError(
            f"{BATCH_VAR}: {batch!r} is not a number of workers (1 or more) nor a percentage of them (1% to 100%)."
        )
    size = max(int(int(digits) * workers / 100), 1) if percent else int(digits)
    return min(size, max(workers, 1))


def worker_batches(workers: list[str], batch: Any) -> list[list[str]]:
    """The workers in the batches upgrade.yml takes them in, in inventory order."""
    size = batch_size(batch, len(workers))
    return [workers[start : start + size] for start in range(0, len(workers), size)]


def cluster_version(nodes: list[Node]) -> Version | None:
    """The oldest version a control plane runs: what the cluster as a whole runs."""
    running = [n.apiserver for n in nodes if n.control_plane and n.apiserver is not None]
    return min(running) if running else None


def pending(target: Version, node: Node, api: ApiNode | None) -> bool:
    """Whether upgrade.yml still has work on this node for the target."""
    if api is not None and (api.upgrading or api.kubelet not in (None, target)):
        return True
    if node.control_plane and node.apiserver != target:
        return True
    return node.kubeadm != target or node.kubelet != target


def check(
    target: Version,
    nodes: list[Node],
    api: dict[str, ApiNode] | None,
    etcd: dict[str, bool | None],
    repositories: dict[str, Repository],
    *,
    worker_batch: Any = DEFAULT_WORKER_BATCH,
) -> list[Finding]:
    """Everything that stops an upgrade to `target`, each naming the hosts, the variable and the fix.

    etcd: control-plane host -> its local member is healthy (None: it did not answer).
    repositories: host -> what it read from the target minor's index (hosts on packages).
    """
    running = cluster_version(nodes)
    if running is None:
        return [
            Finding(
                [n.host for n in nodes if n.control_plane] or ["all"],
                VAR,
                "no control plane runs Kubernetes (no kube-apiserver manifest): there is no cluster to upgrade.",
                "build the cluster with playbooks/ha_cluster.yml first.",
            )
        ]
    found = [
        *_downgrades(target, nodes),
        *_minor_steps(target, running, nodes),
        *_membership(nodes),
        *_package_managers(nodes),
        *_worker_batch(nodes, worker_batch),
        *_api_nodes(nodes, api),
        *_etcd_members(etcd),
        *_repositories(target, repositories),
    ]
    return _merge(found)


def _downgrades(target: Version, nodes: list[Node]) -> list[Finding]:
    """Never down: any component newer than the target."""
    found = []
    want = dotted(target)
    newer: dict[str, list[str]] = {}
    for node in nodes:
        for what, version in (("kube-apiserver", node.apiserver), ("kubeadm", node.kubeadm), ("kubelet", node.kubelet)):
            if version is not None and version > target:
                newer.setdefault(node.host, []).append(f"{what} {dotted(version)}")
    if newer:
        highest = max(v for n in nodes for v in (n.apiserver, n.kubeadm, n.kubelet) if v is not None)
        found.append(
            Finding(
                list(newer),
                VAR,
                f"{want} is older than what runs here ("
                + "; ".join(f"{host}: {', '.join(items)}" for host, items in newer.items())
                + "): upgrade.yml never downgrades (kubeadm does not support it).",
                f"set kubeha_kubernetes_version: {dotted(highest)} or a later release; to go back, restore an etcd "
                "snapshot taken before the upgrade onto a cluster rebuilt at the old release.",
            )
        )

    return found


def _minor_steps(target: Version, running: Version, nodes: list[Node]) -> list[Finding]:
    """One minor at a time: the control plane's oldest version and every kubelet."""
    found = []
    want = dotted(target)
    if target[:2] > running[:2] and (target[0] != running[0] or target[1] - running[1] > 1):
        step = f"1.{running[1] + 1}"
        found.append(
            Finding(
                ["all"],
                VAR,
                f"the cluster runs {dotted(running)}; {want} would skip {step}: kubeadm upgrades the control plane "
                "one minor at a time.",
                f"upgrade to {step} first (kubeha_kubernetes_version: {step}.x, its newest patch), then to {want}.",
            )
        )
    else:
        behind = [n.host for n in nodes if n.kubelet is not None and target[1] - n.kubelet[1] > 1]
        if behind:
            found.append(
                Finding(
                    behind,
                    VAR,
                    f"the kubelet is more than one minor older than {want}; each node moves one minor at a time.",
                    f"upgrade these nodes to 1.{target[1] - 1} first (kubeha_kubernetes_version: 1.{target[1] - 1}.x "
                    f"on a run limited to them), then to {want}.",
                )
            )

    return found


def _membership(nodes: list[Node]) -> list[Finding]:
    found = []
    not_joined = [n.host for n in nodes if n.control_plane and n.apiserver is None]
    if not_joined:
        found.append(
            Finding(
                not_joined,
                "kubeha_control_plane_group",
                "has no kube-apiserver manifest: this control plane is not part of the cluster.",
                "join it with playbooks/ha_cluster.yml (at the running version) before upgrading, or take it out "
                "of the inventory.",
            )
        )

    preinstalled = [n.host for n in nodes if n.source != "packages"]
    if preinstalled:
        found.append(
            Finding(
                preinstalled,
                "prerequisites_source",
                "is not 'packages': upgrade.yml moves kubeadm, kubelet and kubectl through the package repository.",
                "set prerequisites_source: packages, or replace the binaries in the host's image and rebuild the node.",
            )
        )

    return found


def _package_managers(nodes: list[Node]) -> list[Finding]:
    """upgrade.yml moves and reads the packages with apt and dpkg: any other manager is refused."""
    found = []
    for node in nodes:
        if node.source == "packages" and node.pkg_mgr and node.pkg_mgr != "apt":
            found.append(
                Finding(
                    [node.host],
                    "ansible_pkg_mgr",
                    f"is {node.pkg_mgr}: upgrade.yml upgrades kubeadm, kubelet and kubectl with apt only (there is "
                    "no tested dnf path), and nothing was changed.",
                    "upgrade the nodes that use this package manager by hand as kubeadm's upgrade guide describes "
                    "(one node at a time, kubeadm first), or run upgrade.yml on a cluster of Debian or Ubuntu hosts.",
                )
            )
    return found


def _worker_batch(nodes: list[Node], batch: Any) -> list[Finding]:
    try:
        batch_size(batch, len([n for n in nodes if not n.control_plane]))
    except ValueError as error:
        return [
            Finding(
                ["all"],
                BATCH_VAR,
                str(error).removeprefix(f"{BATCH_VAR}: "),
                "set it to a count (e.g. 1) or a percentage of the workers (e.g. 20%, the default).",
            )
        ]
    return []


def _api_nodes(nodes: list[Node], api: dict[str, ApiNode] | None) -> list[Finding]:
    """Every node registered and Ready, as the API server reports it."""
    found = []
    if api is None:
        found.append(
            Finding(
                ["all"],
                "kubeha_control_plane_group",
                "the Node objects could not be read from any control plane's API server.",
                "bring an API server back (kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes on a control "
                "plane must answer), then run upgrade.yml again.",
            )
        )
    else:
        for node in nodes:
            state = api.get(node.node_name)
            if state is None:
                found.append(
                    Finding(
                        [node.host],
                        "kubeha_node_name",
                        f"has no Node object {node.node_name} in the cluster.",
                        "join it with playbooks/ha_cluster.yml (at the running version) first, or correct "
                        "kubeha_node_name, or take it out of the inventory.",
                    )
                )
            elif not state.ready:
                found.append(
                    Finding(
                        [node.host],
                        "ansible_host",
                        f"node {node.node_name} is not Ready ({state.reason or 'NotReady'}): an upgrade needs every "
                        "node healthy, since it takes nodes out of service one after another.",
                        "bring it back (kubelet, container runtime, network), or take it out with "
                        f"playbooks/remove_node.yml (-e kubeha_remove_nodes={node.host}), then run upgrade.yml again.",
                    )
                )

    return found


def _etcd_members(etcd: dict[str, bool | None]) -> list[Finding]:
    found = []
    sick = [host for host, healthy in etcd.items() if healthy is not True]
    if sick:
        found.append(
            Finding(
                sick,
                "etcd",
                "the local etcd member is not healthy (or did not answer): every member must be healthy before "
                "an upgrade restarts them one after another, or the cluster loses its quorum on the way.",
                "bring the member back (its etcd static pod, /var/lib/etcd, the peer network), or replace the "
                "control plane with playbooks/remove_node.yml and ha_cluster.yml, then run upgrade.yml again.",
            )
        )

    return found


def _repositories(target: Version, repositories: dict[str, Repository]) -> list[Finding]:
    """The target's three packages in the index each node reads."""
    found = []
    want = dotted(target)
    for host, repo in repositories.items():
        if repo.status != 200:
            found.append(
                Finding(
                    [host],
                    "prerequisites_package_repository_base",
                    f"cannot read the package index {repo.url}Packages ({repo.error or repo.status}).",
                    "check prerequisites_package_repository_base and that this host reaches it and trusts its "
                    "certificate.",
                )
            )
            continue
        missing = [p for p in PACKAGES if want not in repo.versions.get(p, [])]
        if missing:
            has = ", ".join(repo.versions.get("kubeadm", [])) or "none"
            found.append(
                Finding(
                    [host],
                    VAR,
                    f"the repository {repo.url} has no {', '.join(missing)} at {want} (it has {has}).",
                    "request a version the repository carries, or set prerequisites_package_repository_base to a "
                    f"mirror that carries {want}.",
                )
            )
    return found


def _merge(found: list[Finding]) -> list[Finding]:
    """One finding per (variable, message, fix): the same problem on several hosts is one line."""
    merged: dict[tuple[str, str, str], Finding] = {}
    for item in found:
        key = (item.variable, item.message, item.fix)
        if key in merged:
            merged[key].hosts.extend(h for h in item.hosts if h not in merged[key].hosts)
        else:
            merged[key] = Finding(list(item.hosts), item.variable, item.message, item.fix)
    return list(merged.values())
