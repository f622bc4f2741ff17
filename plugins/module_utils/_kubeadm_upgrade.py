# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Upgrading a node with kubeadm: `kubeadm upgrade plan -o json` read as typed facts, and
`kubeadm upgrade apply` (first control plane) or `kubeadm upgrade node` (the others, workers).

Private to kubeha.kubeadm: the names here may change in any release. Only the machine-readable
plan (output.kubeadm.k8s.io/v1alpha3 UpgradePlan, kubeadm 1.30+) is read, never the text table.
What a node runs is read from its files: a control plane's version is the one of its
kube-apiserver, kube-controller-manager and kube-scheduler manifests (the images kubeadm
writes), a worker's the one its kubelet binary reports (`kubeadm upgrade node` only rewrites a
worker's kubelet configuration; the kubelet package upgrade moves its version). The version
policy kubeadm enforces (one minor at a time, no downgrade, kubeadm of the target's version) is
checked here first, so that a refusal names the fix before kubeadm runs.
Runs on the managed node: standard library only, Python 3.9+.
"""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, Any

from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_errors import (
    KubeadmError,
    classify_upgrade_failure,
    describe_failure,
)
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_node import probe_node_state
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_output import parse_version
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_session import Session

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_session import CommandResult, Runner

OUTPUT_API = "output.kubeadm.k8s.io/v1alpha3"
ACTIONS = ("plan", "apply", "node")
# The static pods whose images carry the control plane's version (etcd has its own).
VERSIONED_MANIFESTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
_STRICT_VERSION_RE = re.compile(r"\Av?(\d+)\.(\d+)\.(\d+)\Z")
_CONFIG_VERSION_RE = re.compile(r"^kubernetesVersion:\s*[\"']?(v?\d+\.\d+\.\d+)", re.MULTILINE)
_IMAGE_RE = re.compile(r"^\s*(?:-\s*)?image:\s*[\"']?\S*?/?(?P<name>[a-z-]+):(?P<tag>v?\d+\.\d+\.\d+)", re.MULTILINE)

Version = tuple[int, int, int]


def strict_version(value: Any, option: str = "version") -> Version:
    """(major, minor, patch) of an "X.Y.Z" or "vX.Y.Z" option; ValueError otherwise."""
    match = _STRICT_VERSION_RE.match(str(value).strip())
    if not match:
        raise ValueError(f"{option} must be a Kubernetes release X.Y.Z (for example 1.37.1), got {value!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def version_str(version: Version | None) -> str | None:
    return None if version is None else "{}.{}.{}".format(*version)


def _normal(text: str | None) -> str | None:
    """kubeadm's version strings ("v1.37.1", "1.37.1") as X.Y.Z; None for anything else."""
    match = _STRICT_VERSION_RE.match((text or "").strip())
    return "{}.{}.{}".format(*match.groups()) if match else None


def _json_object(stdout: str) -> dict[str, Any] | None:
    """The JSON object kubeadm printed; lines before it (printer or klog leftovers) are skipped.
    None when it printed nothing: kubeadm's structured plan is empty when no upgrade is available."""
    lines = stdout.replace("\r\n", "\n").split("\n")
    for index, line in enumerate(lines):
        if line.startswith("{"):
            try:
                found = json.loads("\n".join(lines[index:]))
            except ValueError as exc:
                raise ValueError(f"kubeadm upgrade plan -o json printed no valid JSON: {exc}") from exc
            if not isinstance(found, dict):
                raise ValueError("kubeadm upgrade plan -o json printed no JSON object")
            return found
    if stdout.strip():
        raise ValueError("kubeadm upgrade plan -o json printed no JSON object")
    return None


def _component(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": str(entry["name"]),
        "node": entry.get("nodeName") or None,
        "current_version": str(entry.get("currentVersion") or "") or None,
        "new_version": str(entry.get("newVersion") or "") or None,
    }


def _config_api(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "group": str(entry["group"]),
        "current_version": entry.get("currentVersion") or None,
        "preferred_version": entry.get("preferredVersion") or None,
        "manual_upgrade_required": bool(entry.get("manualUpgradeRequired")),
    }


def _choose_upgrade(upgrades: list[Mapping[str, Any]], target: str | None) -> Mapping[str, Any] | None:
    """The available upgrade whose control plane goes to ``target``; without one, the last
    (kubeadm lists the patch release of the current minor first, the newest target last)."""
    if not upgrades:
        return None
    for upgrade in upgrades:
        for entry in upgrade.get("components") or []:
            if entry.get("name") == "kube-apiserver" and _normal(entry.get("newVersion")) == target:
                return upgrade
    return upgrades[-1]


def parse_plan(stdout: str, target: str | None = None) -> dict[str, Any]:
    """Typed facts from `kubeadm upgrade plan -o json`; ValueError if it is not an UpgradePlan.

    Returns ``description``, ``components`` and ``config_apis`` of the available upgrade that
    goes to ``target`` (X.Y.Z), plus ``available`` (the targets kubeadm offers). An empty output
    (kubeadm prints nothing when nothing is to be upgraded) gives no components.
    """
    plan = _json_object(stdout)
    if plan is None:
        return {"description": None, "components": [], "config_apis": [], "available": []}
    if plan.get("kind") != "UpgradePlan":
        raise ValueError("kubeadm upgrade plan -o json printed no UpgradePlan")
    if plan.get("apiVersion") != OUTPUT_API:
        raise ValueError(f"unsupported upgrade plan output API {plan.get('apiVersion')!r} (expected {OUTPUT_API})")
    try:
        upgrades = list(plan.get("availableUpgrades") or [])
        chosen = _choose_upgrade(upgrades, target)
        available = []
        for upgrade in upgrades:
            for entry in upgrade.get("components") or []:
                if entry.get("name") == "kube-apiserver" and _normal(entry.get("newVersion")) not in available:
                    available.append(_normal(entry.get("newVersion")))
        return {
            "description": chosen.get("description") if chosen else None,
            "components": [_component(entry) for entry in (chosen or {}).get("components") or []],
            "config_apis": [_config_api(entry) for entry in plan.get("configVersions") or []],
            "available": [version for version in available if version],
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"unexpected upgrade plan entry: {exc}") from exc


def manifest_version(root: str, name: str) -> str | None:
    """X.Y.Z of a control-plane static Pod manifest's image (None when missing or unreadable)."""
    try:
        with open(os.path.join(root, "manifests", f"{name}.yaml"), encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return None
    for match in _IMAGE_RE.finditer(text):
        if match.group("name") == name:
            return _normal(match.group("tag"))
    return None


def manifest_versions(root: str) -> dict[str, str | None]:
    """X.Y.Z of each versioned control-plane manifest's image (None when missing or unreadable)."""
    return {name: manifest_version(root, name) for name in VERSIONED_MANIFESTS}


def _lowest(versions: list[str | None]) -> str | None:
    """The oldest of the versions (None if one is unknown): a half-upgraded node is not at the target."""
    if not versions or any(version is None for version in versions):
        return None
    return min(versions, key=strict_version)


class _Upgrade:
    """One run of the module on one node."""

    def __init__(
        self, session: Session, params: Mapping[str, Any], root: str, kubelet: str | None, kubectl: str | None
    ) -> None:
        self.session = session
        self.params = params
        self.root = root
        self.kubelet = kubelet
        self.kubectl = kubectl
        self.action = params.get("action")
        self.state = probe_node_state(root)

    # --- what the node runs ---------------------------------------------------------------
    def binary_version(self, argv: list[str], name: str) -> Version:
        result = self.session.run(argv)
        version = parse_version(result.stdout) if result.rc == 0 else None
        if version is None:
            raise self.session.error(
                f"{name} did not report its version (rc {result.rc}): check that {argv[0]} is the {name} binary",
                result=result,
            )
        return version

    def node_version(self) -> str | None:
        if self.state.role == "control_plane":
            return _lowest(list(manifest_versions(self.root).values()))
        if not self.kubelet:
            raise self.session.error("kubelet not found on this worker (set kubelet_path)")
        return version_str(self.binary_version([self.kubelet, "--version"], "kubelet"))

    def configured_version(self) -> str | None:
        """kubeadm-config's kubernetesVersion (what `upgrade node` upgrades to), read with kubectl
        through this control plane's admin.conf; None when it cannot be read (with a warning)."""
        if not self.kubectl:
            self.session.warnings.append("kubectl not found: kubeadm-config's version was not checked")
            return None
        argv = [self.kubectl, "--kubeconfig", os.path.join(self.root, "admin.conf"), "get", "configmap"]
        argv += ["--namespace", "kube-system", "kubeadm-config", "--output", "jsonpath={.data.ClusterConfiguration}"]
        result = self.session.run(argv)
        match = _CONFIG_VERSION_RE.search(result.stdout) if result.rc == 0 else None
        if match is None:
            self.session.warnings.append(f"kubeadm-config's version could not be read with kubectl (rc {result.rc})")
            return None
        return _normal(match.group(1))

    # --- argv --------------------------------------------------------------------------------
    def common_flags(self) -> list[str]:
        flags = []
        if self.params.get("ignore_preflight_errors"):
            flags += ["--ignore-preflight-errors", ",".join(self.params["ignore_preflight_errors"])]
        return flags

    def changing_argv(self, target: str) -> list[str]:
        kubeadm = self.session.kubeadm
        argv = (
            [kubeadm, "upgrade", "apply", f"v{target}", "--yes"]
            if self.action == "apply"
            else [
                kubeadm,
                "upgrade",
                "node",
            ]
        )
        if not self.params.get("certificate_renewal", True):
            argv.append("--certificate-renewal=false")
        return argv + self.common_flags()

    # --- failures ----------------------------------------------------------------------------
    def fail(self, result: CommandResult, action: str) -> Exception:
        category = classify_upgrade_failure(result.stdout, result.stderr)
        return self.session.error(describe_failure(action, category, result.stdout, result.stderr), category, result)

    def refuse(self, category: str, msg: str) -> Exception:
        return self.session.error(f"kubeadm upgrade {self.action} refused ({category}): {msg}", category)

    def check_policy(self, current: str | None, target: str, kubeadm_version: Version, check_mode: bool) -> None:
        """kubeadm's version policy, checked before any change, each refusal with its fix. In check
        mode an old kubeadm is only a warning: the package upgrade that would precede is not run."""
        wanted = strict_version(target)
        if current is not None:
            now = strict_version(current)
            if wanted < now:
                raise self.refuse(
                    "downgrade",
                    f"this node runs {current} and {target} is older; downgrades are not supported. "
                    f"Request {current} or a newer release.",
                )
            if wanted[:2] > (now[0], now[1] + 1):
                raise self.refuse(
                    "skipped_minor",
                    f"this node runs {current} and {target} skips a minor; kubeadm upgrades one minor at a time. "
                    f"Upgrade to a 1.{now[1] + 1}.x release first.",
                )
        if kubeadm_version[:2] != wanted[:2] or kubeadm_version < wanted:
            fix = (
                f"the installed kubeadm is {version_str(kubeadm_version)}, the target {target}. Install the "
                f"kubeadm package of {target} on this node first (kubeadm version -o short must print v{target})."
            )
            if not check_mode:
                raise self.refuse("version_skew", fix)
            self.session.warnings.append(f"in a real run kubeadm upgrade {self.action} would be refused: {fix}")

    # --- the plan ----------------------------------------------------------------------------
    def plan(
        self, target: str | None, kubeadm_version: Version, current: str | None, *, tolerate: bool = False
    ) -> dict[str, Any]:
        """The plan; with ``tolerate`` (a node at the target, left alone) a failed kubeadm plan is a
        warning and the plan has the local versions only, so that a re-run does not stop there."""
        wanted = target or version_str(kubeadm_version)
        facts: dict[str, Any] = {"description": None, "components": [], "config_apis": [], "available": []}
        if self.state.role == "control_plane" and self.state.admin_conf:
            argv = [self.session.kubeadm, "upgrade", "plan"]
            if target:
                argv.append(f"v{target}")
            result = self.session.run([*argv, *self.common_flags(), "-o", "json"])
            try:
                if result.rc != 0:
                    raise self.fail(result, "kubeadm upgrade plan")
                try:
                    facts = parse_plan(result.stdout, wanted)
                except ValueError as exc:
                    raise self.session.error(str(exc), result=result) from exc
            except KubeadmError as exc:
                if not tolerate:
                    raise
                self.session.warnings.append(f"this node is at {wanted} and was left alone; {exc.msg}")
        cluster = None
        for component in facts["components"]:
            if component["name"] == "kube-proxy":
                cluster = _normal(component["current_version"])
        if cluster is None and self.state.role == "control_plane":
            # Nothing to upgrade, by kubeadm's reading: the cluster runs what this node runs.
            cluster = current
        return {
            "kubeadm_version": version_str(kubeadm_version),
            "cluster_version": cluster,
            "target_version": wanted,
            "kubeadm_upgrade_required": kubeadm_version < strict_version(wanted),
            "description": facts["description"],
            "available_upgrades": facts["available"],
            "components": facts["components"],
            "config_apis": facts["config_apis"],
        }

    # --- the run -----------------------------------------------------------------------------
    def run(self, check_mode: bool) -> dict[str, Any]:
        session = self.session
        if self.action not in ACTIONS:
            raise session.error(f"action must be one of {', '.join(ACTIONS)}, got {self.action!r}")
        target = None
        if self.params.get("version") not in (None, ""):
            try:
                target = version_str(strict_version(self.params["version"]))
            except ValueError as exc:
                raise session.error(str(exc)) from None
        elif self.action != "plan":
            raise session.error(f"version is required with action={self.action} (the target release, X.Y.Z)")
        role = self.state.role
        if role not in ("control_plane", "worker"):
            raise session.error(
                f"kubeadm upgrade runs on a node of a cluster, and this one is not (its kubeadm files say {role}); "
                "join it first with the target version instead.",
                category="preflight",
            )
        if self.action == "apply" and role != "control_plane":
            raise session.error(
                "kubeadm upgrade apply runs on the first control plane, and this node is a worker; "
                "use action=node on workers.",
                category="preflight",
            )
        kubeadm_version = self.binary_version([session.kubeadm, "version", "-o", "short"], "kubeadm")
        before = self.node_version()
        result: dict[str, Any] = {
            "changed": False,
            "node_role": role,
            "node_version_before": before,
            "node_version_after": before,
            "commands": session.commands,
            "warnings": session.warnings,
        }
        at_target = target is not None and before == target
        if at_target and self.action == "apply":
            # An apply stopped after the manifests and before upload-config left kubeadm-config at
            # the old release, which every other node's `upgrade node` would then go back to.
            configured = self.configured_version()
            at_target = configured in (None, target)
        if self.action == "plan" or at_target:
            result["plan"] = self.plan(target, kubeadm_version, before, tolerate=self.action != "plan")
            return result
        self.check_policy(before, target, kubeadm_version, check_mode)
        result["plan"] = self.plan(target, kubeadm_version, before)
        result["changed"] = True
        if check_mode:
            return result
        argv = self.changing_argv(target)
        outcome = session.run(argv)
        if outcome.rc != 0:
            action = "kubeadm upgrade node" if self.action == "node" else f"kubeadm upgrade apply v{target}"
            raise self.fail(outcome, action)
        result.update(stdout=session.scrub(outcome.stdout), stderr=session.scrub(outcome.stderr))
        self.state = probe_node_state(self.root)
        after = self.node_version()
        result["node_version_after"] = after
        if role == "control_plane" and after != target:
            raise session.error(
                f"kubeadm upgrade {self.action} succeeded but left this control plane at {after}, not {target}: "
                "the cluster's kubeadm-config still names the old release. Run action=apply on the first "
                "control plane first, then action=node here.",
                category="version_skew",
                result=outcome,
            )
        return result


def upgrade_node(
    params: Mapping[str, Any],
    runner: Runner,
    *,
    kubeadm: str,
    root: str,
    tmpdir: str,
    check_mode: bool,
    kubelet: str | None = None,
    kubectl: str | None = None,
) -> dict[str, Any]:
    """The kubeadm_upgrade module's work: plan, apply or node on this node. Raises KubeadmError.

    ``tmpdir`` is run_module's workflow argument: no file is written here."""
    del tmpdir
    return _Upgrade(Session(runner, kubeadm), params, root, kubelet, kubectl).run(check_mode)
