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
from .common import COMMON

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
        fields = ", ".join(f'{k[0].upper() + k[1:]}:"{v}"' for k, v in info.items())
        out(f"kubeadm version: &version.Info{{{fields}}}")
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
