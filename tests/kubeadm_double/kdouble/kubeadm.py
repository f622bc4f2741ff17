"""The kubeadm double's entry point: `kubeadm version` and the dispatch to the other commands.
Output streams, texts and exit codes follow FACTS.md (see ../README.md)."""

from __future__ import annotations

import json
import sys

import yaml

from . import versions
from .cli import Fail, FlagSpec, out, parse
from .cmd_certs import cmd_certs
from .cmd_init import cmd_init
from .cmd_join import cmd_join
from .cmd_reset import cmd_reset
from .cmd_token import cmd_token
from .cmd_upgrade import cmd_upgrade
from .common import COMMON, check_feature_gates, load_config_docs, version_fallback

VERSION_FLAGS = {**COMMON, "output": "str"}


# --- version ----------------------------------------------------------------------------------
def cmd_version(argv: list[str], release: versions.Release) -> int:
    values, _positional, _given = parse(argv, FlagSpec(VERSION_FLAGS, {"o": "output"}), release)
    info = release.version_info()
    fmt = values.get("output", "")
    if fmt == "short":
        out(release.version)
    elif fmt == "json":
        out(json.dumps({"clientVersion": info}, indent=2))
    elif fmt == "yaml":
        sys.stdout.write(yaml.safe_dump({"clientVersion": info}, default_flow_style=False))
    elif fmt == "":
        if release.minor >= 35:
            # Go's %#v prints the (empty) emulation and compatibility fields too (real 1.35/1.36 output).
            empty = ("emulationMajor", "emulationMinor", "minCompatibilityMajor", "minCompatibilityMinor")
            info = {"major": info["major"], "minor": info["minor"], **dict.fromkeys(empty, ""), **info}
        fields = ", ".join(f'{k[0].upper() + k[1:]}:"{v}"' for k, v in info.items())
        out(f"kubeadm version: &version.Info{{{fields}}}")
    else:
        raise Fail(release.envelope(f"invalid output format: {fmt}"))
    return 0


# --- config images list -------------------------------------------------------------------------
IMAGES_FLAGS = {
    **COMMON,
    "kubernetes-version": "str",
    "output": "str",
    "config": "str",
    "image-repository": "str",
    "feature-gates": "str",
}


def cmd_config(argv: list[str], release: versions.Release) -> int:
    """`kubeadm config images list`: the images this kubeadm deploys (no other `config` command)."""
    if argv[:2] != ["images", "list"]:
        raise Fail(release.envelope(f'unknown command "{" ".join(argv[:2])}" for "kubeadm config"'))
    values, _positional, _given = parse(argv[2:], FlagSpec(IMAGES_FLAGS, {"o": "output"}), release)
    if "feature-gates" in values:
        check_feature_gates(values["feature-gates"], release, flag=True)
    version = values.get("kubernetes-version")
    if "config" in values:
        cluster = load_config_docs(values["config"], release).get("ClusterConfiguration", {})
        version = cluster.get("kubernetesVersion") or version
    version = versions.parse_version(version) if version else version_fallback(release)
    images = release.image_list(version)
    fmt = values.get("output", "text")
    if fmt == "text":
        for image in images:
            out(image)
    elif fmt == "json":
        out(json.dumps({"kind": "Images", "apiVersion": "output.kubeadm.k8s.io/v1alpha1", "images": images}, indent=4))
    else:
        raise Fail(release.envelope(f"invalid output format: {fmt}"))
    return 0


# --- entry point ----------------------------------------------------------------------------
COMMANDS = {
    "version": cmd_version,
    "init": cmd_init,
    "join": cmd_join,
    "token": cmd_token,
    "certs": cmd_certs,
    "reset": cmd_reset,
    "config": cmd_config,
    "upgrade": cmd_upgrade,
}


def main(argv: list[str]) -> int:
    try:
        release = versions.current()
    except ValueError as exc:
        sys.stderr.write(f"kubeadm double: {exc}\n")
        return 1
    try:
        if not argv or argv[0] not in COMMANDS:
            if argv and not argv[0].startswith("-"):
                raise Fail(release.envelope(f'unknown command "{argv[0]}" for "kubeadm"'))
            out("kubeadm: easily bootstrap a secure Kubernetes cluster (test double, see its README)")
            return 0
        return COMMANDS[argv[0]](argv[1:], release)
    except Fail as failure:
        sys.stderr.write(failure.text)
        sys.stderr.flush()
        return 1
