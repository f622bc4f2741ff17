# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kubeadm configuration documents and the argv of kubeadm init, join and reset.

Private to kubeha.kubeadm: the names here may change in any release. Pure builders: the
``config`` option becomes documents of the right apiVersion with the other options merged in,
or flags when no config is given. Runs on the managed node: standard library only, Python 3.9+.
"""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


def kubeadm_config_api_version(version: tuple[int, int, int]) -> str:
    """kubeadm.k8s.io/v1beta4 from Kubernetes 1.31 on, v1beta3 before (v1beta3 is gone in 1.37)."""
    return "kubeadm.k8s.io/v1beta4" if version[:2] >= (1, 31) else "kubeadm.k8s.io/v1beta3"


KUBEADM_KINDS = ("InitConfiguration", "ClusterConfiguration", "JoinConfiguration")
OTHER_KINDS = {
    "KubeletConfiguration": "kubelet.config.k8s.io/v1beta1",
    "KubeProxyConfiguration": "kubeproxy.config.k8s.io/v1alpha1",
}
INIT_KINDS = ("InitConfiguration", "ClusterConfiguration", "KubeletConfiguration", "KubeProxyConfiguration")
JOIN_KINDS = ("JoinConfiguration",)

# Where kubeadm's argument maps live; v1beta4 turned them into lists of {name, value}.
_EXTRA_ARGS_PATHS = {
    "InitConfiguration": (("nodeRegistration", "kubeletExtraArgs"),),
    "JoinConfiguration": (("nodeRegistration", "kubeletExtraArgs"),),
    "ClusterConfiguration": (
        ("apiServer", "extraArgs"),
        ("controllerManager", "extraArgs"),
        ("scheduler", "extraArgs"),
        ("etcd", "local", "extraArgs"),
    ),
}


def _arg_value(value: Any) -> str:
    """Command-line arguments are strings to kubeadm; YAML booleans become true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _convert_extra_args(value: Any, api_version: str, where: str) -> Any:
    if isinstance(value, dict):
        pairs = [(str(name), _arg_value(item)) for name, item in value.items()]
    elif isinstance(value, list):
        pairs = []
        for item in value:
            if not isinstance(item, dict) or "name" not in item:
                raise ValueError(f"{where}: expected a map, or a list of {{name, value}} items")
            pairs.append((str(item["name"]), _arg_value(item.get("value"))))
    else:
        return value
    if api_version.endswith("v1beta3"):
        names = [name for name, _value in pairs]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"{where}: {', '.join(repeated)} repeated, which kubeadm.k8s.io/v1beta3 cannot express")
        return dict(pairs)
    if api_version.endswith("v1beta4"):
        return [{"name": name, "value": item} for name, item in pairs]
    return value


def build_config_documents(
    config: Mapping[str, Any], allowed_kinds: Iterable[str], api_version: str
) -> dict[str, dict[str, Any]]:
    """kind -> document (apiVersion and kind first) from the ``config`` option.

    The option maps kind names to document bodies. kubeadm kinds get ``api_version`` unless
    the body names its own apiVersion; extraArgs maps and {name, value} lists are converted to
    the form that apiVersion uses, so one config works with v1beta3 and v1beta4.
    """
    allowed = tuple(allowed_kinds)
    documents: dict[str, dict[str, Any]] = {}
    for kind, body in (config or {}).items():
        if kind not in allowed:
            raise ValueError(f"config: unsupported kind {kind!r}; expected one of {', '.join(allowed)}")
        if not isinstance(body, (dict, type(None))):
            raise ValueError(f"config.{kind} must be a dictionary")
        document = json.loads(json.dumps(body or {}))  # a deep copy of plain data
        own_version = document.pop("apiVersion", None)
        document.pop("kind", None)
        version = own_version or (api_version if kind in KUBEADM_KINDS else OTHER_KINDS[kind])
        for path in _EXTRA_ARGS_PATHS.get(kind, ()):
            parent = document
            for key in path[:-1]:
                parent = parent.get(key) if isinstance(parent, dict) else None
            if isinstance(parent, dict) and path[-1] in parent:
                parent[path[-1]] = _convert_extra_args(parent[path[-1]], version, f"config.{kind}.{'.'.join(path)}")
        documents[kind] = {"apiVersion": version, "kind": kind, **document}
    return documents


def set_config_field(
    documents: dict[str, dict[str, Any]], api_version: str, kind: str, path: str, value: Any, *, option: str
) -> None:
    """Put an option's value at ``path`` (dotted) of the ``kind`` document.

    Creates the document and intermediate maps as needed; fails when the config already
    holds a different value, so an option and the config never silently disagree.
    """
    if value is None:
        return
    document = documents.setdefault(kind, {"apiVersion": api_version, "kind": kind})
    keys = path.split(".")
    parent = document
    for key in keys[:-1]:
        child = parent.setdefault(key, {})
        if not isinstance(child, dict):
            raise ValueError(f"config.{kind}.{'.'.join(keys[:-1])} must be a dictionary")
        parent = child
    current = parent.get(keys[-1])
    if current is not None and current != value:
        raise ValueError(f"{option} and config.{kind}.{path} disagree; set only one of them")
    parent[keys[-1]] = value


def render_config(documents: Mapping[str, Mapping[str, Any]]) -> str:
    """A multi-document kubeadm config file. Each document is JSON, which is valid YAML."""
    order = (*KUBEADM_KINDS, *OTHER_KINDS)
    parts = [json.dumps(documents[kind], indent=2) + "\n" for kind in order if kind in documents]
    return "---\n".join(parts)


def write_private_file(path: str, content: str) -> None:
    """Create ``path`` readable by its owner only (it may hold a token or certificate key)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(content)


def remove_file(path: str | None) -> None:
    if path and os.path.exists(path):
        os.remove(path)


# --------------------------------------------------------------------------------------------
# argv builders


def _ignore_preflight_args(names: Iterable[str] | None) -> list[str]:
    names = [name for name in (names or []) if name]
    for name in names:
        if not re.match(r"\A[A-Za-z0-9_.-]+\Z", name):
            raise ValueError(f"ignore_preflight_errors: {name!r} is not a preflight check name")
    return ["--ignore-preflight-errors", ",".join(names)] if names else []


_INIT_FLAGS = (
    ("control_plane_endpoint", "--control-plane-endpoint"),
    ("pod_network_cidr", "--pod-network-cidr"),
    ("service_cidr", "--service-cidr"),
    ("kubernetes_version", "--kubernetes-version"),
    ("apiserver_advertise_address", "--apiserver-advertise-address"),
    ("node_name", "--node-name"),
    ("cri_socket", "--cri-socket"),
)

# option -> (kind, path) where the option goes when a config file is used instead of flags.
INIT_CONFIG_FIELDS = {
    "control_plane_endpoint": ("ClusterConfiguration", "controlPlaneEndpoint"),
    "pod_network_cidr": ("ClusterConfiguration", "networking.podSubnet"),
    "service_cidr": ("ClusterConfiguration", "networking.serviceSubnet"),
    "kubernetes_version": ("ClusterConfiguration", "kubernetesVersion"),
    "apiserver_advertise_address": ("InitConfiguration", "localAPIEndpoint.advertiseAddress"),
    "node_name": ("InitConfiguration", "nodeRegistration.name"),
    "cri_socket": ("InitConfiguration", "nodeRegistration.criSocket"),
}

JOIN_CONFIG_FIELDS = {
    "api_server_endpoint": ("JoinConfiguration", "discovery.bootstrapToken.apiServerEndpoint"),
    "token": ("JoinConfiguration", "discovery.bootstrapToken.token"),
    "discovery_token_ca_cert_hashes": ("JoinConfiguration", "discovery.bootstrapToken.caCertHashes"),
    "certificate_key": ("JoinConfiguration", "controlPlane.certificateKey"),
    "apiserver_advertise_address": ("JoinConfiguration", "controlPlane.localAPIEndpoint.advertiseAddress"),
    "node_name": ("JoinConfiguration", "nodeRegistration.name"),
    "cri_socket": ("JoinConfiguration", "nodeRegistration.criSocket"),
}


def build_init_argv(kubeadm: str, params: Mapping[str, Any], config_path: str | None = None) -> list[str]:
    """argv of ``kubeadm init``: flags, or ``--config`` (which kubeadm will not mix with them)."""
    argv = [kubeadm, "init"]
    if config_path:
        argv += ["--config", config_path]
    else:
        for option, flag in _INIT_FLAGS:
            if params.get(option):
                argv += [flag, str(params[option])]
    if params.get("upload_certs"):
        argv.append("--upload-certs")
    return argv + _ignore_preflight_args(params.get("ignore_preflight_errors"))


def build_init_documents(params: Mapping[str, Any], api_version: str) -> dict[str, dict[str, Any]]:
    """The ``config`` option with the other init options merged in."""
    documents = build_config_documents(params.get("config") or {}, INIT_KINDS, api_version)
    for option, (kind, path) in INIT_CONFIG_FIELDS.items():
        set_config_field(documents, api_version, kind, path, params.get(option) or None, option=option)
    documents.setdefault("InitConfiguration", {"apiVersion": api_version, "kind": "InitConfiguration"})
    return documents


def build_join_argv(kubeadm: str, params: Mapping[str, Any], config_path: str | None = None) -> list[str]:
    """argv of ``kubeadm join``; the CA is always pinned, never skipped."""
    argv = [kubeadm, "join"]
    if config_path:
        argv += ["--config", config_path]
    else:
        argv += [params["api_server_endpoint"], "--token", params["token"]]
        for ca_hash in params["discovery_token_ca_cert_hashes"]:
            argv += ["--discovery-token-ca-cert-hash", ca_hash]
        if params.get("control_plane"):
            argv.append("--control-plane")
            if params.get("certificate_key"):
                argv += ["--certificate-key", params["certificate_key"]]
        for option, flag in (
            ("apiserver_advertise_address", "--apiserver-advertise-address"),
            ("node_name", "--node-name"),
            ("cri_socket", "--cri-socket"),
        ):
            if params.get(option) and (option != "apiserver_advertise_address" or params.get("control_plane")):
                argv += [flag, str(params[option])]
    return argv + _ignore_preflight_args(params.get("ignore_preflight_errors"))


def build_join_documents(params: Mapping[str, Any], api_version: str) -> dict[str, dict[str, Any]]:
    """The ``config`` option with the other join options merged in."""
    documents = build_config_documents(params.get("config") or {}, JOIN_KINDS, api_version)
    join = documents.get("JoinConfiguration", {})
    if "controlPlane" in join and not params.get("control_plane"):
        raise ValueError("config.JoinConfiguration.controlPlane is set but control_plane is false")
    for option, (kind, path) in JOIN_CONFIG_FIELDS.items():
        value = params.get(option) or None
        if path.startswith("controlPlane.") and not params.get("control_plane"):
            continue
        set_config_field(documents, api_version, kind, path, value, option=option)
    if params.get("control_plane"):
        documents.setdefault("JoinConfiguration", {"apiVersion": api_version, "kind": "JoinConfiguration"})
        documents["JoinConfiguration"].setdefault("controlPlane", {})
    return documents


def build_reset_argv(kubeadm: str, cri_socket: str | None = None) -> list[str]:
    argv = [kubeadm, "reset", "--force"]
    return [*argv, "--cri-socket", cri_socket] if cri_socket else argv


def join_command(credentials: Mapping[str, Any], control_plane: bool = False) -> str | None:
    """A ready-made ``kubeadm join`` command line, as ``kubeadm token create --print-join-command``."""
    if not credentials.get("token") or (control_plane and not credentials.get("certificate_key")):
        return None
    words = ["kubeadm", "join", credentials["api_server_endpoint"], "--token", credentials["token"]]
    for ca_hash in credentials["discovery_token_ca_cert_hashes"]:
        words += ["--discovery-token-ca-cert-hash", ca_hash]
    if control_plane:
        words += ["--control-plane", "--certificate-key", credentials["certificate_key"]]
    return " ".join(words)
