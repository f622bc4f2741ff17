# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parsers of kubeadm's output, and the scrubbing of secrets from anything reported.

Private to kubeha.kubeadm: the names here may change in any release. Pure functions: join
commands, init and upload-certs output, token list/create, timestamps, durations, versions and
kubeconfig servers. Runs on the managed node: standard library only, Python 3.9+.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

TOKEN_RE = re.compile(r"\A[a-z0-9]{6}\.[a-z0-9]{16}\Z")
CERTIFICATE_KEY_RE = re.compile(r"\A[0-9a-fA-F]{64}\Z")
CA_CERT_HASH_RE = re.compile(r"\Asha256:[0-9a-fA-F]{64}\Z")
REDACTED = "<redacted>"

DEFAULT_NODE_TOKEN_GROUP = "system:bootstrappers:kubeadm:default-node-token"


_TOKEN_ANYWHERE_RE = re.compile(r"(?<![a-z0-9])[a-z0-9]{6}\.[a-z0-9]{16}(?![a-z0-9])")
_KEY_IN_CONTEXT_RE = re.compile(
    r"((?:--certificate-key[= ]+|certificate key:\s*|[\"']?certificateKey[\"']?\s*:\s*[\"']?))[0-9a-fA-F]{64}"
)


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Return ``value`` (str, or lists/dicts of them) with tokens and certificate keys replaced.

    Replaced: every given secret, anything shaped like a bootstrap token, and a 64-hex value
    where kubeadm prints a certificate key. CA cert hashes are public and stay.
    """
    secrets = sorted((s for s in secrets if s), key=len, reverse=True)
    if isinstance(value, str):
        for secret in secrets:
            value = re.sub(re.escape(secret), REDACTED, value, flags=re.IGNORECASE)
        value = _TOKEN_ANYWHERE_RE.sub(REDACTED, value)
        return _KEY_IN_CONTEXT_RE.sub(lambda match: match.group(1) + REDACTED, value)
    if isinstance(value, (list, tuple)):
        return [redact(item, secrets) for item in value]
    if isinstance(value, dict):
        return {key: redact(item, secrets) for key, item in value.items()}
    return value


_CONTINUATION_RE = re.compile(r"[ \t]*\\[ \t]*\r?\n[ \t]*")
_JOIN_LINE_RE = re.compile(r"(?:^|[ \t])kubeadm[ \t]+join[ \t]+(?P<args>[^\n]*)", re.MULTILINE)
_WITHHELD = "<value withheld>"
_JOIN_VALUE_FLAGS = ("token", "discovery-token-ca-cert-hash", "certificate-key")


def _join_lines(text: str) -> str:
    """Undo kubeadm's line continuations (space, backslash, newline, TAB or spaces)."""
    return _CONTINUATION_RE.sub(" ", text.replace("\r\n", "\n"))


def _parse_join_args(args: str) -> dict[str, Any]:
    words = [word for word in args.replace(_WITHHELD, "<value-withheld>").split() if word != "\\"]
    parsed: dict[str, Any] = {
        "api_server_endpoint": None,
        "token": None,
        "discovery_token_ca_cert_hashes": [],
        "control_plane": False,
        "certificate_key": None,
    }
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if not word.startswith("--"):
            if parsed["api_server_endpoint"] is None:
                parsed["api_server_endpoint"] = word
            continue
        name, has_value, value = word[2:].partition("=")
        if name == "control-plane":
            parsed["control_plane"] = True
            continue
        if not has_value:
            # A flag and its value as two words; unknown flags (e.g. --cri-socket) are skipped.
            if index < len(words) and not words[index].startswith("--"):
                value = words[index]
                index += 1
            elif name in _JOIN_VALUE_FLAGS:
                continue
        value = None if value == "<value-withheld>" else value
        if name == "token":
            parsed["token"] = value
        elif name == "discovery-token-ca-cert-hash":
            if value and value not in parsed["discovery_token_ca_cert_hashes"]:
                parsed["discovery_token_ca_cert_hashes"].append(value)
        elif name == "certificate-key":
            parsed["certificate_key"] = value
    return parsed


def parse_join_commands(text: str) -> list[dict[str, Any]]:
    """Every ``kubeadm join`` command in ``text``, in order, parsed.

    Each item has ``api_server_endpoint``, ``token``, ``discovery_token_ca_cert_hashes``,
    ``control_plane`` (bool) and ``certificate_key``. Continuations may be indented with TABs
    or spaces, lines may carry trailing spaces, flags may use ``--flag=value``, unknown flags
    are ignored, values printed as ``<value withheld>`` come back as None.
    """
    commands = []
    for match in _JOIN_LINE_RE.finditer(_join_lines(text)):
        parsed = _parse_join_args(match.group("args"))
        if parsed["api_server_endpoint"]:
            commands.append(parsed)
    return commands


def parse_init_output(stdout: str) -> dict:
    """Join parameters from the output of ``kubeadm init`` (any version 1.28+).

    Returns ``api_server_endpoint`` ("host:port"), ``token``, ``discovery_token_ca_cert_hashes``
    (list of "sha256:<hex>") and ``certificate_key`` (None unless a control-plane join command
    with ``--certificate-key`` is printed, i.e. init ran with --upload-certs). Anchors on the
    ``kubeadm join`` commands, not on the prose around them, whose wording changed in 1.32.
    Raises ValueError when the output holds no join command.
    """
    commands = parse_join_commands(stdout)
    if not commands:
        raise ValueError("no 'kubeadm join' command found in the kubeadm init output")
    workers = [command for command in commands if not command["control_plane"]]
    control_planes = [command for command in commands if command["control_plane"]]
    first = workers[0] if workers else commands[0]
    if not first["token"]:
        raise ValueError("the 'kubeadm join' command in the kubeadm init output has no --token value")
    hashes = list(first["discovery_token_ca_cert_hashes"])
    for command in commands:
        hashes.extend(h for h in command["discovery_token_ca_cert_hashes"] if h not in hashes)
    keys = [command["certificate_key"] for command in control_planes if command["certificate_key"]]
    return {
        "api_server_endpoint": first["api_server_endpoint"],
        "token": first["token"],
        "discovery_token_ca_cert_hashes": hashes,
        "certificate_key": keys[0] if keys else None,
    }


_KEY_LINE_RE = re.compile(r"^\s*([0-9a-fA-F]{64})\s*$")


def parse_certificate_key(stdout: str) -> str:
    """The key printed by ``kubeadm certs certificate-key`` (one line of 64 hex digits)."""
    keys = [match.group(1) for match in map(_KEY_LINE_RE.match, stdout.splitlines()) if match]
    if not keys:
        raise ValueError("no 64-hex-digit certificate key in the output of kubeadm certs certificate-key")
    return keys[-1]


def parse_upload_certs_output(stdout: str) -> str | None:
    """The key after ``[upload-certs] Using certificate key:``, or None when none is printed.

    Works on the output of ``kubeadm init --upload-certs`` and ``kubeadm init phase upload-certs``.
    """
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if line.strip() == "[upload-certs] Using certificate key:" and index + 1 < len(lines):
            match = _KEY_LINE_RE.match(lines[index + 1])
            if match:
                return match.group(1)
    return None


def parse_token_create(stdout: str) -> str:
    """The token printed by ``kubeadm token create`` (without --print-join-command)."""
    for line in reversed(stdout.splitlines()):
        if TOKEN_RE.match(line.strip()):
            return line.strip()
    raise ValueError("no bootstrap token in the output of kubeadm token create")


def parse_timestamp(value: str) -> datetime.datetime:
    """An aware datetime from RFC 3339 text as kubeadm prints it (Z or a numeric offset)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    match = re.match(r"\A(.*T\d{2}:\d{2}:\d{2})(\.\d+)?([+-]\d{2}:\d{2})\Z", text)
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    fraction = (match.group(2) or "")[:7].ljust(7, "0") if match.group(2) else ""
    return datetime.datetime.fromisoformat(match.group(1) + fraction + match.group(3))


def format_timestamp(moment: datetime.datetime) -> str:
    """UTC ISO 8601 with a Z, to the second: 2025-05-12T13:14:15Z."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass(frozen=True)
class BootstrapToken:
    """One entry of ``kubeadm token list -o json``."""

    token: str
    description: str
    expires: datetime.datetime | None
    usages: tuple[str, ...]
    groups: tuple[str, ...]

    @property
    def token_id(self) -> str:
        return self.token.split(".", 1)[0]

    def can_join_nodes(self) -> bool:
        """Usable by kubeadm join: authentication and signing, in the default node-token group."""
        return {"authentication", "signing"} <= set(self.usages) and DEFAULT_NODE_TOKEN_GROUP in self.groups


def _json_documents(text: str) -> list[Any]:
    decoder = json.JSONDecoder()
    documents = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
            continue
        if char not in "{[":
            newline = text.find("\n", index)
            index = len(text) if newline < 0 else newline + 1
            continue
        document, index = decoder.raw_decode(text, index)
        documents.append(document)
    return documents


def parse_token_list(stdout: str) -> list[BootstrapToken]:
    """Tokens from ``kubeadm token list -o json``.

    kubeadm prints one JSON object (kind BootstrapToken, output.kubeadm.k8s.io/v1alpha3) per
    token, one after another, not a JSON list; a list or a v1 List is accepted too. Lines that
    are not JSON (a klog line that got mixed in) are skipped. Raises ValueError on broken JSON.
    """
    try:
        documents = _json_documents(stdout)
    except ValueError as exc:
        raise ValueError(f"kubeadm token list printed invalid JSON: {exc}") from None
    items: list[Any] = []
    for document in documents:
        if isinstance(document, list):
            items.extend(document)
        elif isinstance(document, dict) and isinstance(document.get("items"), list):
            items.extend(document["items"])
        else:
            items.append(document)
    tokens = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            continue
        expires = item.get("expires")
        tokens.append(
            BootstrapToken(
                token=item["token"],
                description=str(item.get("description") or ""),
                expires=parse_timestamp(expires) if expires else None,
                usages=tuple(item.get("usages") or ()),
                groups=tuple(item.get("groups") or ()),
            )
        )
    return tokens


def select_reusable_token(
    tokens: Iterable[BootstrapToken], now: datetime.datetime, min_ttl: datetime.timedelta
) -> BootstrapToken | None:
    """The join-capable token with the most lifetime left, if that is more than ``min_ttl``."""
    usable = [
        token
        for token in tokens
        if TOKEN_RE.match(token.token)
        and token.can_join_nodes()
        and (token.expires is None or token.expires - now > min_ttl)
    ]
    if not usable:
        return None
    far_future = datetime.datetime.max.replace(tzinfo=datetime.timezone.utc)
    return max(usable, key=lambda token: token.expires or far_future)


_DURATION_RE = re.compile(r"\A(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?\Z")


def parse_duration(value: str) -> datetime.timedelta:
    """A Go-style duration of hours, minutes and seconds (2h, 90m, 1h30m, 2h0m0s)."""
    match = _DURATION_RE.match(value.strip())
    if not value.strip() or not match:
        raise ValueError(f"not a duration like 2h, 45m or 1h30m: {value!r}")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return datetime.timedelta(hours=hours, minutes=minutes, seconds=seconds)


_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) from ``kubeadm version -o short`` or a version option (v1.32.4)."""
    match = _VERSION_RE.search(text or "")
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


_SERVER_RE = re.compile(r"^\s*server:\s*[\"']?(?:https?://)?([^\s\"'/]+)", re.MULTILINE)


def parse_kubeconfig_server(text: str) -> str | None:
    """host:port of the first cluster ``server:`` in a kubeconfig, as kubeadm prints it in join."""
    match = _SERVER_RE.search(text)
    return match.group(1) if match else None
