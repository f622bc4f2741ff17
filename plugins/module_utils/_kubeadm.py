# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The workflows of kubeha.kubeadm's kubeadm modules: probe the node, decide, act.

Private to the collection: the names here may change in any release. init_node(),
join_node() and credentials_node() take a ``runner`` callable that executes one argv and returns
``(rc, stdout, stderr)``, so unit tests drive every branch with a fake runner. The pure parts
live beside this file, one concern each:

- _kubeadm_errors: failure categories, their advice, classify_failure(), KubeadmError;
- _kubeadm_output: parsers of kubeadm's output (parse_init_output() ...) and redact();
- _kubeadm_pki: the CA pin; _kubeadm_node: NodeState, what kubeadm left on the node;
- _kubeadm_config: config documents and argv; _kubeadm_credentials: minting join credentials;
- _kubeadm_session: Session (runs kubeadm, scrubs secrets) and the module glue.

parse_init_output() and classify_failure() stay importable from here for existing callers.
Runs on the managed node: standard library only, Python 3.9+.
"""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, Any

from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_config import (
    build_init_argv,
    build_init_documents,
    build_join_argv,
    build_join_documents,
    kubeadm_config_api_version,
)
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_credentials import (
    mint_join_credentials,
    validate_durations,
)
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_errors import classify_failure
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_node import KUBERNETES_DIR, probe_node_state
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_output import (
    CA_CERT_HASH_RE,
    CERTIFICATE_KEY_RE,
    TOKEN_RE,
    parse_init_output,
    parse_version,
)
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_session import Session, config_error
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_upgrade import manifest_version

if TYPE_CHECKING:
    import datetime
    from collections.abc import Mapping

    from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_session import Runner

__all__ = [
    "classify_failure",
    "credentials_node",
    "init_node",
    "join_node",
    "node_info",
    "parse_init_output",
    "validate_join_values",
]


def _init_version(session: Session, params: Mapping[str, Any]) -> tuple[int, int, int]:
    """The Kubernetes version that decides the config apiVersion: the option, else kubeadm's own."""
    config = params.get("config") or {}
    cluster = config.get("ClusterConfiguration") or {}
    for candidate in (params.get("kubernetes_version"), cluster.get("kubernetesVersion")):
        version = parse_version(str(candidate)) if candidate else None
        if version:
            return version
    return session.version()


def _run_init(session: Session, params: Mapping[str, Any], tmpdir: str, result: dict[str, Any]) -> str:
    config_path = documents = None
    if params.get("config"):
        version = _init_version(session, params)
        api_version = kubeadm_config_api_version(version)
        try:
            documents = build_init_documents(params, api_version)
        except ValueError as exc:
            raise config_error(session, exc) from None
        config_path = os.path.join(tmpdir, "kubeadm-init.yaml")
        result["config_api_version"] = api_version
    argv = build_init_argv(session.kubeadm, params, config_path)
    outcome = session.run_with_config(argv, config_path, documents)
    if outcome.rc != 0:
        raise session.fail_and_reset(
            outcome, "kubeadm init", params.get("reset_on_failure", True), params.get("cri_socket")
        )
    result.update(stdout=session.scrub(outcome.stdout), stderr=session.scrub(outcome.stderr))
    return outcome.stdout


def init_node(
    params: Mapping[str, Any],
    runner: Runner,
    *,
    kubeadm: str = "kubeadm",
    root: str = KUBERNETES_DIR,
    tmpdir: str,
    check_mode: bool = False,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    """The kubeadm_init module's work: probe, decide, act. Raises KubeadmError on failure."""
    session = Session(runner, kubeadm)
    wanted = params.get("join_credentials") or "none"
    if wanted != "none":
        validate_durations(session, params)
    before = probe_node_state(root)
    result: dict[str, Any] = {
        "changed": False,
        "node_state": before.to_dict(),
        "initialized": False,
        "reset_before_init": False,
        "config_api_version": None,
        "join_credentials": None,
        "commands": session.commands,
        "warnings": session.warnings,
    }
    if before.role == "worker":
        raise session.error(
            "this node has joined a cluster as a worker (/etc/kubernetes/kubelet.conf without a kube-apiserver "
            "manifest); kubeadm_init does not initialise it. Run it on the first control plane.",
            category="already_joined",
        )
    init_stdout = None
    if before.role in ("none", "interrupted"):
        result["changed"] = True
        result["reset_before_init"] = before.role == "interrupted"
        if check_mode:
            return result
        if before.role == "interrupted":
            session.check(session.reset(params.get("cri_socket")), "kubeadm reset of an interrupted init")
        init_stdout = _run_init(session, params, tmpdir, result)
        result["initialized"] = True
    if wanted != "none":
        credentials, minted = mint_join_credentials(
            session,
            params,
            kind=wanted,
            root=root,
            tmpdir=tmpdir,
            check_mode=check_mode,
            now=now,
            init_stdout=init_stdout,
        )
        result["join_credentials"] = credentials
        result["changed"] = result["changed"] or minted
    return result


def credentials_node(
    params: Mapping[str, Any],
    runner: Runner,
    *,
    kubeadm: str = "kubeadm",
    root: str = KUBERNETES_DIR,
    tmpdir: str,
    check_mode: bool = False,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    """The kubeadm_join_credentials module's work. Raises KubeadmError on failure.

    Only a node that runs a control plane (and so has admin.conf and the cluster CA) can mint;
    anything else fails before a command runs, naming what the node is.
    """
    session = Session(runner, kubeadm)
    kind = params.get("kind") or "worker"
    validate_durations(session, params)
    before = probe_node_state(root)
    if before.role != "control_plane" or not before.admin_conf:
        raise session.error(
            "join credentials are minted on a control plane of the cluster, and this node is not one "
            f"(its kubeadm files say {before.role}; admin.conf {'present' if before.admin_conf else 'missing'}). "
            "Run the task on (or delegate it to) a joined control plane."
        )
    credentials, minted = mint_join_credentials(
        session, params, kind=kind, root=root, tmpdir=tmpdir, check_mode=check_mode, now=now
    )
    return {
        "changed": minted,
        "join_credentials": credentials,
        "commands": session.commands,
        "warnings": session.warnings,
    }


def _join_values(params: Mapping[str, Any]) -> dict[str, Any]:
    """The credentials a join will use: the options, else what the config carries."""
    join = (params.get("config") or {}).get("JoinConfiguration") or {}
    discovery = (join.get("discovery") or {}).get("bootstrapToken") or {}
    return {
        "api_server_endpoint": params.get("api_server_endpoint") or discovery.get("apiServerEndpoint"),
        "token": params.get("token") or discovery.get("token"),
        "discovery_token_ca_cert_hashes": params.get("discovery_token_ca_cert_hashes") or discovery.get("caCertHashes"),
        "certificate_key": params.get("certificate_key") or (join.get("controlPlane") or {}).get("certificateKey"),
    }


def validate_join_values(values: Mapping[str, Any], control_plane: bool) -> list[str]:
    """Problems with the join credentials; never quotes a token or key."""
    problems = []
    endpoint = values.get("api_server_endpoint")
    if not endpoint:
        problems.append("api_server_endpoint is required to join")
    elif "://" in endpoint or not re.match(r"\A(?:\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):\d+\Z", endpoint):
        problems.append(f"api_server_endpoint must be host:port without a scheme, got {endpoint!r}")
    token = values.get("token")
    if not token:
        problems.append("token is required to join")
    elif not TOKEN_RE.match(token):
        problems.append("token is not a bootstrap token of the form [a-z0-9]{6}.[a-z0-9]{16}")
    hashes = values.get("discovery_token_ca_cert_hashes") or []
    if not hashes:
        problems.append("discovery_token_ca_cert_hashes is required: joins always pin the cluster CA")
    problems.extend(
        f"discovery_token_ca_cert_hashes: {ca_hash!r} is not sha256:<64 hex digits>"
        for ca_hash in hashes
        if not CA_CERT_HASH_RE.match(str(ca_hash))
    )
    key = values.get("certificate_key")
    if control_plane and key and not CERTIFICATE_KEY_RE.match(key):
        problems.append("certificate_key is not 64 hex digits")
    return problems


def join_node(
    params: Mapping[str, Any],
    runner: Runner,
    *,
    kubeadm: str = "kubeadm",
    root: str = KUBERNETES_DIR,
    tmpdir: str,
    check_mode: bool = False,
) -> dict[str, Any]:
    """The kubeadm_join module's work: probe, decide, act. Raises KubeadmError on failure."""
    values = _join_values(params)
    session = Session(runner, kubeadm, (values["token"], values["certificate_key"]))
    control_plane = bool(params.get("control_plane"))
    wanted_role = "control_plane" if control_plane else "worker"
    before = probe_node_state(root)
    result: dict[str, Any] = {
        "changed": False,
        "node_state": before.to_dict(),
        "joined_as": None,
        "reset_before_join": False,
        "config_api_version": None,
        "commands": session.commands,
        "warnings": session.warnings,
    }
    if before.role == "control_plane":
        result["joined_as"] = "control_plane"
        if not control_plane:
            session.warnings.append(
                "this node is already a control plane; it was asked to join as a worker and was left as is"
            )
        return result
    if before.role == "worker":
        if control_plane:
            raise session.error(
                "this node has already joined the cluster as a worker, and kubeadm cannot turn a worker into a "
                "control plane. Reset it (kubeadm reset) and join it again with control_plane=true, "
                "or keep it a worker.",
                category="already_joined",
            )
        result["joined_as"] = "worker"
        return result

    problems = validate_join_values(values, control_plane)
    if problems and not check_mode:
        raise session.error("cannot join: " + "; ".join(problems))
    if not control_plane:
        session.warnings.extend(
            f"{option} is only used by control-plane joins; it was ignored"
            for option in ("certificate_key", "apiserver_advertise_address")
            if params.get(option)
        )
    result.update(changed=True, joined_as=wanted_role, reset_before_join=before.role == "interrupted")
    if check_mode:
        if problems:
            session.warnings.append("in a real run this join would fail: " + "; ".join(problems))
        return result

    if before.role == "interrupted":
        session.check(session.reset(params.get("cri_socket")), "kubeadm reset of an interrupted join")

    config_path = documents = None
    if params.get("config"):
        api_version = kubeadm_config_api_version(session.version())
        try:
            documents = build_join_documents(params, api_version)
        except ValueError as exc:
            raise config_error(session, exc) from None
        config_path = os.path.join(tmpdir, "kubeadm-join.yaml")
        result["config_api_version"] = api_version
    argv = build_join_argv(kubeadm, params, config_path)
    outcome = session.run_with_config(argv, config_path, documents)
    if outcome.rc != 0:
        raise session.fail_and_reset(
            outcome,
            f"kubeadm join as {wanted_role.replace('_', ' ')}",
            params.get("reset_on_failure", True),
            params.get("cri_socket"),
        )
    after = probe_node_state(root)
    result.update(
        node_state_after=after.to_dict(), stdout=session.scrub(outcome.stdout), stderr=session.scrub(outcome.stderr)
    )
    return result


def _installed_version(session: Session, binary: str | None, argv_tail: list[str], name: str) -> str | None:
    """The version a binary reports (v1.33.4), None when it is not installed or says none."""
    if not binary:
        return None
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        session.warnings.append(f"{name} not found or not executable: {binary}")
        return None
    outcome = session.run([binary, *argv_tail])
    version = parse_version(outcome.stdout) if outcome.rc == 0 else None
    if version is None:
        session.warnings.append(f"{name} ({binary}) did not report its version (rc {outcome.rc})")
        return None
    return "v{}.{}.{}".format(*version)


def _kubectl_version(session: Session, kubectl: str | None) -> str | None:
    """The client version ``kubectl version --client -o json`` reports (v1.37.1), None without one."""
    if not kubectl:
        return None
    outcome = session.run([kubectl, "version", "--client", "-o", "json"])
    try:
        git_version = json.loads(outcome.stdout)["clientVersion"]["gitVersion"] if outcome.rc == 0 else ""
    except (ValueError, KeyError, TypeError):
        git_version = ""
    version = parse_version(git_version) if git_version else None
    if version is None:
        session.warnings.append(f"kubectl ({kubectl}) did not report its version (rc {outcome.rc})")
        return None
    return "v{}.{}.{}".format(*version)


def _package_version(session: Session, package: str, dpkg_query: str | None, rpm: str | None) -> str | None:
    """<status>=<version> as the package manager records it (installed=1.37.1-1.1), None when unknown."""
    if dpkg_query:
        argv = [dpkg_query, "--show", "--showformat", "${db:Status-Status}=${Version}", package]
    elif rpm:
        argv = [rpm, "-q", "--qf", "installed=%{VERSION}", package]
    else:
        return None
    outcome = session.run(argv)
    return (outcome.stdout.strip() or None) if outcome.rc == 0 else None


def _cgroup_filesystem(mounts: str = "/proc/self/mounts") -> str | None:
    """/sys/fs/cgroup's file system as `stat -f -c %T` names it: cgroup2fs (v2) or tmpfs (v1)."""
    try:
        with open(mounts, encoding="utf-8") as handle:
            entries = [line.split() for line in handle]
    except OSError:
        return None
    types = [fields[2] for fields in entries if len(fields) > 2 and fields[1] == "/sys/fs/cgroup"]
    if not types:
        return None
    return "cgroup2fs" if types[-1] == "cgroup2" else types[-1]


def runtime_info(
    session: Session,
    containerd: str | None,
    package_tools: dict[str, str | None],
    root: str = KUBERNETES_DIR,
    mounts: str = "/proc/self/mounts",
) -> dict[str, Any]:
    """What validation reads besides kubeadm's files: containerd, the kubelet package, the running release, cgroups."""
    containerd_version = None
    if containerd:
        outcome = session.run([containerd, "--version"])
        containerd_version = (outcome.stdout.strip() or None) if outcome.rc == 0 else None
    return {
        "containerd_version": containerd_version,
        "kubelet_package": _package_version(
            session, "kubelet", package_tools.get("dpkg-query"), package_tools.get("rpm")
        ),
        "running_version": manifest_version(root, "kube-apiserver"),
        "cgroup_filesystem": _cgroup_filesystem(mounts),
    }


def node_info(
    runner: Runner,
    *,
    kubeadm: str | None,
    kubelet: str | None,
    root: str = KUBERNETES_DIR,
    kubectl: str | bool | None = False,
    containerd: str | bool | None = False,
    package_tools: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """The kubeadm_node_info module's work: what this node is, and which kubeadm and kubelet it has.

    Read only: the files kubeadm left, ``kubeadm version -o short`` and ``kubelet --version``; with
    ``kubectl`` (its path, None when it is not installed; False: not asked) also kubectl's client version;
    with ``containerd`` (likewise) also runtime_info's answer, as ``runtime`` (``package_tools``: the paths
    of dpkg-query and rpm, None where absent).
    """
    session = Session(runner)
    result = {
        "changed": False,
        "node_state": probe_node_state(root).to_dict(),
        "kubeadm_version": _installed_version(session, kubeadm, ["version", "-o", "short"], "kubeadm"),
        "kubelet_version": _installed_version(session, kubelet, ["--version"], "kubelet"),
    }
    if kubectl is not False:
        result["kubectl_version"] = _kubectl_version(session, kubectl or None)
    if containerd is not False:
        result["runtime"] = runtime_info(session, containerd or None, package_tools or {}, root)
    return {**result, "commands": session.commands, "warnings": session.warnings}
