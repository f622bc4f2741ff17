"""`kubeadm upgrade plan|apply|node` (FACTS-2 part B §0-§4), 1.32+ phased wording.

What is real: the cluster is read through the kubeconfig (the API double: `kubeadm-config`,
Nodes, the static pods' mirror Pods, /version), the version policy is kubeadm's (policy.go)
with its texts, the static pod manifests are rewritten with the target's images (the kubelet
double restarts what it runs: etcd and the API server, whose /version then follows the
manifest's tag), certificates are renewed as `kubeadm certs renew` does (cmd_certs), and
`kubeadm-config` gets the new `kubernetesVersion` on apply. The double never fetches remote
versions: without a version, plan falls back to its own as an air-gapped kubeadm does.
Not reproduced: the CreateJob health check (nothing runs Jobs here), CoreDNS/kube-proxy objects
(their lines only), the `--patches` and `--config` contents, kube-controller-manager and
kube-scheduler processes (their manifests are rewritten; their versions in the plan are those
of the node's kube-apiserver mirror Pod, the only ones the kubelet double runs with etcd).
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import sys
import time
from datetime import datetime

import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from . import clock, cmd_certs, faults, httpc, manifests, pki, versions
from .apiclient import Client
from .cli import Fail, FlagSpec, go_duration, klog, out, parse
from .cmd_certs import renew_one
from .common import ADMIN_CONF, COMMON, KUBE, PKI, api_live, bootstrap_token_rbac, hostname, version_fallback, wait_for
from .etcd import Etcd, EtcdError

OUTPUT_API = "output.kubeadm.k8s.io/v1alpha3"
KUBELET_CONF = f"{KUBE}/kubelet.conf"
TMP = f"{KUBE}/tmp"  # noqa: S108 - kubeadm's own backup directory, not /tmp
SHARED = {
    **COMMON,
    "config": "str",
    "kubeconfig": "str",
    "ignore-preflight-errors": "list",
    "allow-experimental-upgrades": "bool",
    "allow-release-candidate-upgrades": "bool",
    "print-config": "bool",
    "feature-gates": "str",
}
PLAN_FLAGS = {**SHARED, "output": "str", "allow-missing-template-keys": "bool", "show-managed-fields": "bool"}
CHANGE_FLAGS = {
    **SHARED,
    "dry-run": "bool",
    "certificate-renewal": "bool",
    "etcd-upgrade": "bool",
    "patches": "str",
    "skip-phases": "list",
}
APPLY_FLAGS = {**CHANGE_FLAGS, "yes": "bool", "force": "bool"}
# Component -> the certificates its upgrade renews (kubeadm's order), as cmd_certs names their files.
RENEWALS = {
    "etcd": (
        ("etcd-server", "etcd/server", "etcd-ca"),
        ("etcd-peer", "etcd/peer", "etcd-ca"),
        (
            "etcd-healthcheck-client",
            "etcd/healthcheck-client",
            "etcd-ca",
        ),
    ),
    "kube-apiserver": (
        ("apiserver", "apiserver", "ca"),
        ("apiserver-kubelet-client", "apiserver-kubelet-client", "ca"),
        ("front-proxy-client", "front-proxy-client", "front-proxy-ca"),
        ("apiserver-etcd-client", "apiserver-etcd-client", "etcd-ca"),
    ),
    "kube-controller-manager": (("controller-manager.conf", "controller-manager.conf", "ca"),),
    "kube-scheduler": (("scheduler.conf", "scheduler.conf", "ca"),),
}
ORDER = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
CP_LABEL = "node-role.kubernetes.io%2Fcontrol-plane"


def _timeout() -> float:
    """kubeadm waits 5m0s per static pod; $KUBEADM_DOUBLE_UPGRADE_TIMEOUT caps that for tests."""
    cap = os.environ.get("KUBEADM_DOUBLE_UPGRADE_TIMEOUT")
    return min(300.0, clock.parse_duration(cap)) if cap else 300.0


def _tuple(version: str) -> tuple[int, int, int]:
    major, minor, patch = version.lstrip("v").split(".")
    return int(major), int(minor), int(patch.split("-")[0])


def _tag(image: str) -> str:
    return image.rsplit(":", 1)[-1] if ":" in image else ""


# --- the cluster ----------------------------------------------------------------------------
class Cluster:
    """What kubeadm reads from the API server before it plans or upgrades."""

    def __init__(self, values: dict, release: versions.Release, *, worker_fallback: bool = False):
        path = values.get("kubeconfig", ADMIN_CONF)
        if not os.path.exists(path) and worker_fallback and os.path.exists(KUBELET_CONF):
            path = KUBELET_CONF  # upgrade node on a worker reads the cluster as the node
        if not os.path.exists(path):
            raise Fail(
                release.envelope(
                    f"couldn't create a Kubernetes client from file {path!r}: open {path}: no such file or directory"
                )
            )
        self.release = release
        self.client = Client.from_kubeconfig(path)
        self.server = self.client.server

    def get(self, path: str, what: str):
        try:
            return self.client.get(path, retry_for=20)
        except httpc.HTTPError as err:
            raise Fail(self.release.envelope(f"{what}: {err.json().get('message', err)}")) from err
        except OSError as err:
            host = self.server.split("://", 1)[-1]
            raise Fail(self.release.envelope(f'{what}: Get "{self.server}{path}": dial tcp {host}: {err}')) from err

    def kubeadm_config(self) -> dict:
        try:
            cm = self.client.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config", retry_for=20)
        except httpc.HTTPError as err:
            if err.status != 404:
                raise Fail(self.release.envelope(f"unable to fetch the kubeadm-config ConfigMap: {err}")) from err
            out(
                '[upgrade] In order to upgrade, a ConfigMap called "kubeadm-config" in the "kube-system" namespace '
                "must exist."
            )
            out("[upgrade] Use 'kubeadm init phase upload-config --config your-config.yaml' to re-upload it.")
            raise Fail(
                self.release.envelope(
                    '[upgrade] FATAL: the ConfigMap "kubeadm-config" in the "kube-system" namespace was not found'
                )
            ) from err
        except OSError as err:
            raise Fail(
                self.release.envelope(
                    f'unable to fetch the kubeadm-config ConfigMap: Get "{self.server}/api/v1/namespaces/kube-system/'
                    f'configmaps/kubeadm-config": {err}'
                )
            ) from err
        return yaml.safe_load(cm.get("data", {}).get("ClusterConfiguration", "")) or {}

    def save_kubeadm_config(self, config: dict) -> None:
        self.client.apply(
            "/api/v1/namespaces/kube-system/configmaps/kubeadm-config",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
                "data": {"ClusterConfiguration": yaml.safe_dump(config, default_flow_style=False)},
            },
            retry_for=60,
        )

    def version(self) -> str:
        """The API server's gitVersion, as kubeadm's version getter reads it."""
        return self.get("/version", "Couldn't fetch cluster version from the API Server")["gitVersion"]

    def nodes(self) -> list[dict]:
        return self.get("/api/v1/nodes", "couldn't list nodes in cluster").get("items", [])

    def control_planes(self) -> list[dict]:
        return self.get(f"/api/v1/nodes?labelSelector={CP_LABEL}", "couldn't list control-plane nodes").get("items", [])

    def mirror_pods(self, component: str) -> list[dict]:
        found = self.get(
            f"/api/v1/namespaces/kube-system/pods?labelSelector=component%3D{component}",
            f"couldn't list the {component} pods",
        )
        return found.get("items", [])

    def versions_of(self, component: str) -> dict[str, str]:
        """Node -> image tag of the component's mirror Pod on it. Pods of deleted Nodes are left
        out: a real cluster's pod garbage collector deletes them, the API double does not."""
        nodes = {node["metadata"]["name"] for node in self.nodes()}
        tags = {}
        for pod in self.mirror_pods(component):
            node = pod.get("spec", {}).get("nodeName", "")
            image = ((pod.get("spec", {}).get("containers") or [{}])[0]).get("image", "")
            if node in nodes:
                tags[node] = _tag(image)
        return tags

    def kubelet_config(self) -> str | None:
        try:
            cm = self.client.get("/api/v1/namespaces/kube-system/configmaps/kubelet-config", retry_for=20)
        except (httpc.HTTPError, OSError):
            return None
        return cm.get("data", {}).get("kubelet")


def print_config_preamble(prefix: str, release: versions.Release) -> None:
    out(f'[{prefix}] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...')
    if release.minor >= 34:
        out(f"[{prefix}] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it.")
    elif release.minor == 33:
        out(f"[{prefix}] Use 'kubeadm init phase upload-config --config your-config-file' to re-upload it.")
    else:
        out(f"[{prefix}] Use 'kubeadm init phase upload-config --config your-config.yaml' to re-upload it.")


def health_checks(cluster: Cluster, ignored: list[str], release: versions.Release, *, phase: str | None) -> None:
    """ControlPlaneNodesReady and StaticPodManifest (phases/upgrade/health.go); CreateJob is not run."""
    problems = []
    not_ready = []
    for node in cluster.control_planes():
        conditions = node.get("status", {}).get("conditions") or []
        if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            not_ready.append(node["metadata"]["name"])
    if not_ready:
        problems.append(
            ("ControlPlaneNodesReady", f"there are NotReady control-planes in the cluster: [{' '.join(not_ready)}]")
        )
    missing = [
        f"{manifests.MANIFESTS}/{c}.yaml" for c in ORDER if not os.path.exists(f"{manifests.MANIFESTS}/{c}.yaml")
    ]
    if missing:
        problems.append(
            (
                "StaticPodManifest",
                "The control plane seems to be Static Pod-hosted, but some of the manifests don't seem to exist "
                "on disk. This probably means you're running 'kubeadm upgrade' on a remote machine, which is not "
                f"supported for a Static Pod-hosted cluster. Manifest files not found: [{' '.join(missing)}]",
            )
        )
    ignore = {name.lower() for name in ignored}
    errors = [f"\t[ERROR {n}]: {m}" for n, m in problems if "all" not in ignore and n.lower() not in ignore]
    warnings = [f"\t[WARNING {n}]: {m}" for n, m in problems if "all" in ignore or n.lower() in ignore]
    if warnings:
        sys.stderr.write("\n".join(warnings) + "\n")
    if errors:
        text = (
            "[upgrade/health] FATAL: [preflight] Some fatal errors occurred:\n"
            + "\n".join(errors)
            + "\n[preflight] If you know what you are doing, you can make a check non-fatal with "
            "`--ignore-preflight-errors=...`"
        )
        raise Fail(release.phase_error(phase, text) if phase else release.envelope(text))


# --- the version policy -----------------------------------------------------------------------
def policy_errors(
    target: str, cluster: str, release: versions.Release, kubelets: list[str]
) -> tuple[list[str], list[str]]:
    """(mandatory, skippable) errors of phases/upgrade/policy.go for this target."""
    new, now, kubeadm = _tuple(target), _tuple(cluster), _tuple(release.version)
    mandatory, skippable = [], []
    if new[1] > now[1] + 1:
        mandatory.append(
            f'Specified version to upgrade to "{target}" is too high; '
            "kubeadm can upgrade only 1 minor version at a time"
        )
    if new[1] < now[1] - 1:
        mandatory.append(
            f'Specified version to downgrade to "{target}" is too low; '
            "kubeadm can downgrade only 1 minor version at a time"
        )
    if new[1] > kubeadm[1]:
        mandatory.append(
            f'Specified version to upgrade to "{target}" is at least one minor release higher than the kubeadm minor '
            f"release ({new[1]} > {kubeadm[1]}). Such an upgrade is not supported"
        )
    minimum = f"v1.{kubeadm[1] - 1}.0"
    if new < _tuple(minimum):
        mandatory.append(
            f'Specified version to upgrade to "{target}" is equal to or lower than the minimum supported version '
            f'"{minimum}". Please specify a higher version to upgrade to'
        )
    if new[1] == kubeadm[1] and new > kubeadm:
        skippable.append(
            f'Specified version to upgrade to "{target}" is higher than the kubeadm version "{release.version}". '
            "Upgrade kubeadm first using the tool you used to install kubeadm"
        )
    if kubeadm[1] > new[1]:
        skippable.append(
            f"Kubeadm version {release.version} can only be used to upgrade to Kubernetes version 1.{kubeadm[1]}"
        )
    too_old = sorted({k for k in kubelets if _tuple(k)[1] < new[1] - 3})
    if too_old:
        skippable.append(
            f"There are kubelets in this cluster that are too old that have these versions [{' '.join(too_old)}]"
        )
    return mandatory, skippable


def enforce_policy(target: str, cluster: str, release: versions.Release, kubelets: list[str], force: bool) -> None:
    mandatory, skippable = policy_errors(target, cluster, release, kubelets)

    def listed(errors: list[str]) -> str:
        return "".join(f"\t- {e}\n" for e in errors)

    if mandatory:
        raise Fail(
            release.phase_error(
                "preflight",
                "the version argument is invalid due to these fatal errors:\n\n"
                f"{listed(mandatory)}\nPlease fix the misalignments highlighted above and try upgrading again",
            )
        )
    if skippable and not force:
        raise Fail(
            release.phase_error(
                "preflight",
                f"the version argument is invalid due to these errors:\n\n{listed(skippable)}\n"
                "Can be bypassed if you pass the --force flag",
            )
        )
    if skippable:
        out(
            f"[upgrade/version] Found {len(skippable)} potential version compatibility errors but skipping since the "
            f"--force flag is set: \n\n{listed(skippable)}"
        )


# --- plan -----------------------------------------------------------------------------------------
def plan_components(cluster: Cluster, cluster_version: str, target: str, release: versions.Release) -> list[dict]:
    """ComponentUpgradePlan rows in kubeadm's order (compute.go)."""

    def row(name, current, new, node=None):
        entry = {"name": name, "currentVersion": current, "newVersion": new}
        if node:
            entry["nodeName"] = node
        return entry

    rows = []
    for node in cluster.nodes():
        rows.append(
            row(
                "kubelet",
                node.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", ""),
                target,
                node["metadata"]["name"],
            )
        )
    apiservers = cluster.versions_of("kube-apiserver")
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        rows += [row(component, tag, target, node) for node, tag in sorted(apiservers.items())]
    # kubeadm prints the cluster version without its "v" here (every real 1.30+ plan, FACTS-2 §1.2).
    rows.append(row("kube-proxy", cluster_version.lstrip("v"), target))
    old_release = versions.Release(cluster_version)
    new_release = versions.Release(target)
    rows.append(row("CoreDNS", old_release.images()[2], new_release.images()[2]))
    rows.append(row("kubeadm", release.version, target))
    new_etcd = new_release.images()[0]
    rows += [row("etcd", tag, new_etcd, node) for node, tag in sorted(cluster.versions_of("etcd").items())]
    return rows


def config_versions() -> list[dict]:
    return [
        {"group": g, "currentVersion": v, "preferredVersion": v, "manualUpgradeRequired": False}
        for g, v in (("kubeproxy.config.k8s.io", "v1alpha1"), ("kubelet.config.k8s.io", "v1beta1"))
    ]


def tabwrite(rows: list[list[str]]) -> list[str]:
    return cmd_certs.tabwrite(["\t".join(r) for r in rows])


def print_plan_text(upgrade: dict, target: str, release: versions.Release) -> None:
    kubelets = [c for c in upgrade["components"] if c["name"] == "kubelet"]
    others = [c for c in upgrade["components"] if c["name"] not in ("kubelet", "kubeadm")]
    out(
        "Components that must be upgraded manually after you have upgraded the control plane with "
        "'kubeadm upgrade apply':"
    )
    for line in tabwrite(
        [["COMPONENT", "NODE", "CURRENT", "TARGET"]]
        + [["kubelet", c["nodeName"], c["currentVersion"], c["newVersion"]] for c in kubelets]
    ):
        out(line)
    out()
    out(f"Upgrade to the latest {upgrade['description']}:")
    out()
    for line in tabwrite(
        [["COMPONENT", "NODE", "CURRENT", "TARGET"]]
        + [[c["name"], c.get("nodeName", ""), c["currentVersion"], c["newVersion"]] for c in others]
    ):
        out(line)
    out()
    out("You can now apply the upgrade by executing the following command:")
    out()
    out(f"\tkubeadm upgrade apply {target}")
    out()
    if _tuple(target) > _tuple(release.version):
        out(f"Note: Before you can perform this upgrade, you have to update kubeadm to {target}.")
        out()
    out("_" * 69)
    out()


def print_config_table(states: list[dict]) -> None:
    out()
    out("The table below shows the current state of component configs as understood by this version of kubeadm.")
    out('Configs that have a "yes" mark in the "MANUAL UPGRADE REQUIRED" column require manual config upgrade or')
    out("resetting to kubeadm defaults before a successful upgrade can be performed. The version to manually")
    out('upgrade to is denoted in the "PREFERRED VERSION" column.')
    out()
    rows = [["API GROUP", "CURRENT VERSION", "PREFERRED VERSION", "MANUAL UPGRADE REQUIRED"]]
    rows += [
        [
            s["group"],
            s["currentVersion"] or "-",
            s["preferredVersion"] or "-",
            "yes" if s["manualUpgradeRequired"] else "no",
        ]
        for s in states
    ]
    for line in tabwrite(rows):
        out(line)
    out("_" * 69)
    out()


def cmd_plan(argv: list[str], release: versions.Release) -> int:
    values, positional, _given = parse(argv, FlagSpec(PLAN_FLAGS, {"o": "output"}), release)
    fmt = values.get("output", "text")
    if fmt not in ("text", "json", "yaml"):
        raise Fail(
            release.envelope(
                f'unable to match a printer suitable for the output format "{fmt}", allowed formats are: json,text,yaml'
            )
        )
    text = fmt == "text"

    def say(line: str = "") -> None:  # kubeadm's printer is silent with -o json|yaml
        if text:
            out(line)

    say("[preflight] Running pre-flight checks.")
    cluster = Cluster(values, release)
    if text:
        print_config_preamble("upgrade/config", release)
    cluster.kubeadm_config()
    say("[upgrade] Running cluster health checks")
    health_checks(cluster, values.get("ignore-preflight-errors", []), release, phase=None)
    say("[upgrade] Fetching available versions to upgrade to")
    cluster_version = cluster.version()
    say(f"[upgrade/versions] Cluster version: {cluster_version.lstrip('v')}")
    say(f"[upgrade/versions] kubeadm version: {release.version}")
    if positional:
        try:
            target = versions.parse_version(positional[0])
        except ValueError as exc:
            raise Fail(release.envelope(f'unable to parse version "{positional[0]}": {exc}')) from exc
    else:
        target = version_fallback(release, line=260)  # air-gapped: never fetches dl.k8s.io
    say(f"[upgrade/versions] Target version: {target}")
    upgrades = []
    if _tuple(target) > _tuple(cluster_version):
        description = (
            f"version in the v1.{_tuple(cluster_version)[1]} series"
            if _tuple(target)[1] == _tuple(cluster_version)[1]
            else "stable version"
        )
        if description != "stable version":
            say(f"[upgrade/versions] Latest version in the v1.{_tuple(cluster_version)[1]} series: {target}")
        upgrades.append(
            {"description": description, "components": plan_components(cluster, cluster_version, target, release)}
        )
    if not upgrades:
        return 0  # "Awesome, you're up-to-date! Enjoy!" is a V(1) log line only
    plan = {
        "kind": "UpgradePlan",
        "apiVersion": OUTPUT_API,
        "availableUpgrades": upgrades,
        "configVersions": config_versions(),
    }
    if fmt == "json":
        sys.stdout.write(json.dumps(plan, indent=4) + "\n")
    elif fmt == "yaml":
        sys.stdout.write(yaml.safe_dump(plan, default_flow_style=False))
    else:
        out()
        for upgrade in upgrades:
            print_plan_text(upgrade, target, release)
        print_config_table(plan["configVersions"])
    sys.stdout.flush()
    return 0


# --- the control-plane phase -----------------------------------------------------------------
def new_manifest(component: str, current: dict, target: str, etcd_tag: str) -> dict:
    pod = json.loads(json.dumps(current))
    container = pod["spec"]["containers"][0]
    repo = container["image"].rsplit("/", 1)[0] if "/" in container["image"] else "registry.k8s.io"
    container["image"] = f"{repo}/{component}:{etcd_tag if component == 'etcd' else target}"
    return pod


def load_manifest(component: str) -> dict:
    with open(f"{manifests.MANIFESTS}/{component}.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def local_endpoint() -> tuple[str, int]:
    pod = load_manifest("kube-apiserver")
    command = pod["spec"]["containers"][0].get("command", [])
    args = dict(a[2:].split("=", 1) for a in command if a.startswith("--") and "=" in a)
    return args.get("advertise-address", "127.0.0.1"), int(args.get("secure-port", "6443"))


def apiserver_at(address: str, port: int, target: str) -> bool:
    if not api_live(address, port):
        return False
    ctx = httpc.tls_context(ca_file=f"{PKI}/ca.crt")
    try:
        return httpc.request(ctx, f"https://{address}:{port}/version", timeout=2)[1].get("gitVersion") == target
    except (httpc.HTTPError, OSError, AttributeError):
        return False


def etcd_healthy() -> bool:
    try:
        Etcd.for_healthcheck(["https://127.0.0.1:2379"], timeout=3).quorum_check(timeout=3)
    except (EtcdError, OSError):
        return False
    return True


def control_plane_phase(  # noqa: PLR0912 - kubeadm's per-component steps in order
    cluster: Cluster, node: str, target: str, values: dict, release: versions.Release
) -> None:
    renew = values.get("certificate-renewal", True)
    etcd_upgrade = values.get("etcd-upgrade", True)
    stamp = datetime.now().strftime("%Y-%m-%d-%H-%M-%S")
    backup = f"{TMP}/kubeadm-backup-manifests-{stamp}"
    upgraded = f"{TMP}/kubeadm-upgraded-manifests{random.randint(10**9, 4 * 10**9)}"  # noqa: S311 - a dir name
    os.makedirs(backup, exist_ok=True)
    os.makedirs(upgraded, exist_ok=True)
    out(f'[upgrade/staticpods] Writing new Static Pod manifests to "{upgraded}"')
    found = len(cluster.versions_of("kube-apiserver")) or 1
    timeout = _timeout()
    etcd_tag = versions.Release(target).etcd_image()
    for component in ORDER:
        if component == "etcd" and not etcd_upgrade:
            continue
        current = load_manifest(component)
        wanted = new_manifest(component, current, target, etcd_tag)
        out(f'[upgrade/staticpods] Preparing for "{component}" upgrade')
        if component == "etcd":
            now_tag = _tag(current["spec"]["containers"][0]["image"])
            if now_tag and _tuple("v" + now_tag.split("-")[0]) > _tuple("v" + etcd_tag.split("-")[0]):
                out(
                    f'[upgrade/etcd] Non fatal issue encountered during upgrade: the desired etcd version "{etcd_tag}" '
                    f'is older than the currently installed "{now_tag}". Skipping etcd upgrade'
                )
                continue
        if wanted == current:
            if release.minor <= 35:
                out(f"[upgrade/staticpods] Current and new manifests of {component} are equal, skipping upgrade")
                continue
            out(
                f"[upgrade/staticpods] Restarting the {component} static pod and backing up its manifest to "
                f'"{backup}/{component}.yaml"'
            )
        if renew:
            for name, file, ca in RENEWALS[component]:
                if renew_one(PKI, file, ca):
                    out(f"[upgrade/staticpods] Renewing {name} certificate")
        pki.write_file(f"{upgraded}/{component}.yaml", yaml.safe_dump(wanted, default_flow_style=False).encode(), 0o600)
        shutil.copy2(f"{manifests.MANIFESTS}/{component}.yaml", f"{backup}/{component}.yaml")
        if wanted != current:
            out(
                f'[upgrade/staticpods] Moving new manifest to "{manifests.MANIFESTS}/{component}.yaml" and backing up '
                f'old manifest to "{backup}/{component}.yaml"'
            )
        manifests.write(component, wanted)
        faults.checkpoint(f"upgrade/{component}-manifest-moved")
        out("[upgrade/staticpods] Waiting for the kubelet to restart the component")
        out(f"[upgrade/staticpods] This can take up to {go_duration(timeout).replace('.000000000', '')}")
        if component == "kube-apiserver":
            address, port = local_endpoint()
            ready = wait_for(lambda a=address, p=port: apiserver_at(a, p, target), timeout, interval=1)
        elif component == "etcd":
            time.sleep(2)  # the kubelet double notices the new manifest within a second
            ready = wait_for(etcd_healthy, timeout, interval=1)
        else:
            ready = True  # the kubelet double does not run the controller manager or the scheduler
        if not ready:
            manifests.write(component, current)
            raise Fail(
                release.phase_error(
                    "control-plane",
                    "couldn't complete the static pod upgrade: couldn't upgrade control plane. kubeadm has tried to "
                    "recover everything into the earlier state. Errors faced: static Pod hash for component "
                    f"{component} on Node {node} did not change after {go_duration(timeout)}: "
                    "timed out waiting for the condition",
                )
            )
        out(f"[apiclient] Found {found} Pods for label selector component={component}")
        out(f'[upgrade/staticpods] Component "{component}" upgraded successfully!')
        if component == "etcd":
            out("[upgrade/etcd] Waiting for etcd to become available")
    out("[upgrade/control-plane] The control plane instance for this node was successfully upgraded!")


def renew_kubeconfigs(values: dict) -> None:
    if not values.get("certificate-renewal", True):
        return
    for name in ("admin.conf", "super-admin.conf"):
        renew_one(PKI, name, "ca")


def back_up(source: str, what: str, directory: str, path: str) -> None:
    """kubeadm's backup of a kubelet file before it rewrites it, with its klog line (printed even
    when not dry-running, a known quirk)."""
    klog(
        "W",
        source,
        f"Using temporary directory {directory} for {what}. To override it set the environment variable "
        "KUBEADM_UPGRADE_DRYRUN_DIR",
    )
    os.makedirs(directory, exist_ok=True)
    if os.path.exists(path):
        shutil.copy2(path, os.path.join(directory, os.path.basename(path)))


def kubelet_config_phase(cluster: Cluster, release: versions.Release) -> None:
    stamp = datetime.now().strftime("%Y-%m-%d-%H-%M-%S")
    directory = f"{TMP}/kubeadm-kubelet-config-{stamp}"
    back_up("postupgrade.go:105", "kubelet config", directory, "/var/lib/kubelet/config.yaml")
    out(f"[upgrade] Backing up kubelet config file to {directory}/config.yaml")
    config = cluster.kubelet_config()
    if config:
        pki.write_file("/var/lib/kubelet/config.yaml", config.encode(), 0o644)
    out('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"')
    out("[upgrade/kubelet-config] The kubelet configuration for this node was successfully upgraded!")


def post_upgrade(release: versions.Release) -> None:
    if release.minor < 35:
        return
    directory = f"{TMP}/kubeadm-kubelet-env{random.randint(10**9, 4 * 10**9)}"  # noqa: S311 - a dir name
    back_up("postupgrade.go:203", "kubelet env file", directory, "/var/lib/kubelet/kubeadm-flags.env")
    out(f"[upgrade] Backing up kubelet env file to {directory}/kubeadm-flags.env")
    out('[kubelet-start] Writing kubelet environment file with flags to file "/var/lib/kubelet/kubeadm-flags.env"')


def addon_phase(cluster: Cluster, node: str, target: str) -> None:
    """Addons wait for the last control plane (the default since 1.28)."""
    behind = sorted(n for n, tag in cluster.versions_of("kube-apiserver").items() if n != node and tag != target)
    if behind:
        for _addon in ("coredns", "kube-proxy"):
            out(
                "[upgrade/addon] Skipping upgrade of addons because control plane instances "
                f"[{' '.join(behind)}] have not been upgraded"
            )
        return
    out("[addons] Applied essential addon: CoreDNS")
    out("[addons] Applied essential addon: kube-proxy")


def this_node() -> str:
    """The Node name: the kubelet's client certificate says it (system:node:<name>)."""
    try:
        config = pki.read_kubeconfig(KUBELET_CONF)
        user = config["users"][0]["user"]
        if user.get("client-certificate-data"):
            pem = base64.b64decode(user["client-certificate-data"])
        else:
            with open(user["client-certificate"], "rb") as handle:
                pem = handle.read()
        names = x509.load_pem_x509_certificate(pem).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        common_name = str(names[0].value)
    except (OSError, KeyError, IndexError, TypeError, ValueError):
        return hostname()
    return common_name.removeprefix("system:node:") if common_name.startswith("system:node:") else hostname()


def prepull(dry_run: bool) -> bool:
    """The image pre-pull lines (nothing is pulled here); True when a dry run ends there."""
    out("[upgrade/preflight] Pulling images required for setting up a Kubernetes cluster")
    out("[upgrade/preflight] This might take a minute or two, depending on the speed of your internet connection")
    out("[upgrade/preflight] You can also perform this action beforehand using 'kubeadm config images pull'")
    if dry_run:
        out("[upgrade/successful] Finished dryrunning successfully!")
    return dry_run


# --- apply ------------------------------------------------------------------------------------
def cmd_apply(argv: list[str], release: versions.Release) -> int:
    values, positional, _given = parse(argv, FlagSpec(APPLY_FLAGS, {"y": "yes", "f": "force"}), release)
    if not positional:
        raise Fail(release.envelope("missing one or more required arguments. Required arguments: [version]"))
    try:
        target = versions.parse_version(positional[0])
    except ValueError as exc:
        raise Fail(release.envelope(f'unable to parse version "{positional[0]}": {exc}')) from exc
    cluster = Cluster(values, release)
    print_config_preamble("upgrade", release)
    config = cluster.kubeadm_config()
    out("[upgrade/preflight] Running preflight checks")
    out("[upgrade] Running cluster health checks")
    health_checks(cluster, values.get("ignore-preflight-errors", []), release, phase="preflight")
    out(f'[upgrade/preflight] You have chosen to upgrade the cluster version to "{target}"')
    cluster_version = cluster.version()
    out(f"[upgrade/versions] Cluster version: {cluster_version}")
    out(f"[upgrade/versions] kubeadm version: {release.version}")
    kubelets = [n.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "") for n in cluster.nodes()]
    enforce_policy(target, cluster_version, release, [k for k in kubelets if k], bool(values.get("force")))
    dry_run = bool(values.get("dry-run"))
    if not (values.get("yes") or values.get("force") or dry_run):
        sys.stdout.write("[upgrade] Are you sure you want to proceed? [y/N]: ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() != "y":
            raise Fail(
                release.phase_error("preflight", "won't proceed; the user didn't answer (Y|y) in order to continue")
            )
    if prepull(dry_run):
        return 0
    node = this_node()
    out(
        f'[upgrade/control-plane] Upgrading your static Pod-hosted control plane to version "{target}" '
        "(timeout: 5m0s)..."
    )
    control_plane_phase(cluster, node, target, values, release)
    out('[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace')
    config["kubernetesVersion"] = target
    cluster.save_kubeadm_config(config)
    out(
        '[kubelet] Creating a ConfigMap "kubelet-config" in namespace kube-system with the configuration for the '
        "kubelets in the cluster"
    )
    renew_kubeconfigs(values)
    out("[upgrade/kubeconfig] The kubeconfig files for this node were successfully upgraded!")
    kubelet_config_phase(cluster, release)
    out("[upgrade/bootstrap-token] Configuring bootstrap token and cluster-info RBAC rules")
    bootstrap_token_rbac(release)
    addon_phase(cluster, node, target)
    post_upgrade(release)
    out()
    out(f'[upgrade] SUCCESS! A control plane node of your cluster was upgraded to "{target}".')
    out()
    out("[upgrade] Now please proceed with upgrading the rest of the nodes by following the right order.")
    return 0


# --- node -------------------------------------------------------------------------------------
def cmd_node(argv: list[str], release: versions.Release) -> int:
    values, positional, _given = parse(argv, FlagSpec(CHANGE_FLAGS), release)
    if positional:
        raise Fail(release.envelope(f'unknown command "{positional[0]}" for "kubeadm upgrade node"'))
    control_plane = os.path.exists(f"{manifests.MANIFESTS}/kube-apiserver.yaml")
    cluster = Cluster(values, release, worker_fallback=True)
    print_config_preamble("upgrade", release)
    config = cluster.kubeadm_config()
    target = versions.parse_version(str(config.get("kubernetesVersion") or release.version))
    out("[upgrade/preflight] Running pre-flight checks")
    dry_run = bool(values.get("dry-run"))
    node = this_node()
    if control_plane:
        if prepull(dry_run):
            return 0
        out(f'[upgrade/control-plane] Upgrading your Static Pod-hosted control plane instance to version "{target}"...')
        control_plane_phase(cluster, node, target, values, release)
        renew_kubeconfigs(values)
        out("[upgrade/kubeconfig] The kubeconfig files for this node were successfully upgraded!")
    else:
        out("[upgrade/preflight] Skipping prepull. Not a control plane node.")
        if dry_run:
            out("[upgrade/successful] Finished dryrunning successfully!")
            return 0
        out("[upgrade/control-plane] Skipping phase. Not a control plane node.")
        out("[upgrade/kubeconfig] Skipping phase. Not a control plane node.")
    kubelet_config_phase(cluster, release)
    if control_plane:
        addon_phase(cluster, node, target)
    else:
        out("[upgrade/addon] Skipping the addon/coredns phase. Not a control plane node.")
        out("[upgrade/addon] Skipping the addon/kube-proxy phase. Not a control plane node.")
    post_upgrade(release)
    return 0


def cmd_upgrade(argv: list[str], release: versions.Release) -> int:
    sub = argv[0] if argv else ""
    commands = {"plan": cmd_plan, "apply": cmd_apply, "node": cmd_node}
    if sub not in commands:
        raise Fail(release.envelope(f'unknown command "{sub}" for "kubeadm upgrade"'))
    return commands[sub](argv[1:], release)
