# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What kubeha.kubeadm's kubeadm_init and kubeadm_join modules share.

Private to the collection: the names here may change in any release. Everything that can be a
pure function is one (parsers, the failure classifier, argv and config builders, the CA pin);
the two workflows, init_node() and join_node(), take a ``runner`` callable that executes one
argv and returns ``(rc, stdout, stderr)``, so unit tests drive every branch with a fake runner.
Runs on the managed node: standard library only, Python 3.9+.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import hashlib
import json
import os
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    Runner = Callable[[list[str]], tuple[int, str, str]]
    Clock = Callable[[], datetime.datetime]

KUBERNETES_DIR = "/etc/kubernetes"

TOKEN_RE = re.compile(r"\A[a-z0-9]{6}\.[a-z0-9]{16}\Z")
CERTIFICATE_KEY_RE = re.compile(r"\A[0-9a-fA-F]{64}\Z")
CA_CERT_HASH_RE = re.compile(r"\Asha256:[0-9a-fA-F]{64}\Z")
REDACTED = "<redacted>"

DEFAULT_NODE_TOKEN_GROUP = "system:bootstrappers:kubeadm:default-node-token"
# kubeadm deletes the kubeadm-certs Secret two hours after an upload (DefaultCertTokenDuration).
CERTIFICATE_KEY_LIFETIME = datetime.timedelta(hours=2)

FAILURE_CATEGORIES = (
    "already_initialized",
    "already_joined",
    "preflight",
    "token_invalid",
    "ca_hash_mismatch",
    "endpoint_unreachable",
    "certificate_key_expired",
    "certificate_key_invalid",
    "etcd_unhealthy",
    "kubelet_unhealthy",
    "unknown",
)

# Categories that mean "this node already runs Kubernetes": a reset would destroy a working node.
_NEVER_RESET = frozenset({"already_initialized", "already_joined"})

# category: (what went wrong, how to fix it); both end up in one line of the failure message.
FAILURE_ADVICE = {
    "already_initialized": (
        "this node already runs a control plane (its static pod manifests or ports are taken)",
        "nothing to initialise; run kubeadm reset on the node first only if it must leave its cluster",
    ),
    "already_joined": (
        "this node has already joined a cluster (/etc/kubernetes/kubelet.conf exists)",
        "nothing to join; run kubeadm reset on the node first only if it must join again",
    ),
    "preflight": (
        "kubeadm's preflight checks failed",
        "fix the failed checks on the node (or list expected ones in ignore_preflight_errors) and re-run",
    ),
    "token_invalid": (
        "the bootstrap token is unknown to the cluster or has expired",
        "re-run so that a fresh token is minted (kubeha.kubeadm.kubeadm_init with join_credentials)",
    ),
    "ca_hash_mismatch": (
        "the cluster CA does not match discovery_token_ca_cert_hashes",
        "pass the hashes kubeha.kubeadm.kubeadm_init returns for this cluster",
    ),
    "endpoint_unreachable": (
        "the API server endpoint did not answer (load balancer or control planes down, wrong address, firewall)",
        "check that the endpoint is right and reachable from this node (curl -k https://ENDPOINT/livez), then re-run",
    ),
    "certificate_key_expired": (
        "certificate key expired: the kubeadm-certs Secret is gone (kubeadm deletes it 2 hours after the upload)",
        "re-run so that a fresh key is uploaded",
    ),
    "certificate_key_invalid": (
        "the certificate key does not decrypt the uploaded certificates (wrong key, or a newer upload replaced it)",
        "re-run so that a fresh key is uploaded, and join control planes one at a time with that key",
    ),
    "etcd_unhealthy": (
        "the etcd cluster is unhealthy or still lists a member that no longer exists",
        "check etcd on a healthy control plane and remove stale members (etcdctl member list / member remove)",
    ),
    "kubelet_unhealthy": (
        "the kubelet, or the control-plane static pods it runs, did not become healthy",
        "check systemctl status kubelet and journalctl -xeu kubelet (container runtime, cgroup driver, swap)",
    ),
    "unknown": (
        "kubeadm failed",
        "read stdout and stderr in this result",
    ),
}


class KubeadmError(Exception):
    """A failure to report with fail_json; every field is already scrubbed of secrets."""

    def __init__(
        self,
        msg: str,
        *,
        category: str = "unknown",
        rc: int | None = None,
        stdout: str = "",
        stderr: str = "",
        cmd: list[str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(msg)
        self.msg = msg
        self.category = category
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.cmd = cmd
        self.extra = extra

    def fail_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for AnsibleModule.fail_json()."""
        kwargs: dict[str, Any] = {"msg": self.msg, "failure_category": self.category}
        if self.rc is not None:
            kwargs.update(rc=self.rc, stdout=self.stdout, stderr=self.stderr)
        if self.cmd is not None:
            kwargs["cmd"] = self.cmd
        kwargs.update(self.extra)
        return kwargs


# --------------------------------------------------------------------------------------------
# Secrets


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


# --------------------------------------------------------------------------------------------
# Parsers


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


def kubeadm_config_api_version(version: tuple[int, int, int]) -> str:
    """kubeadm.k8s.io/v1beta4 from Kubernetes 1.31 on, v1beta3 before (v1beta3 is gone in 1.36)."""
    return "kubeadm.k8s.io/v1beta4" if version[:2] >= (1, 31) else "kubeadm.k8s.io/v1beta3"


_SERVER_RE = re.compile(r"^\s*server:\s*[\"']?(?:https?://)?([^\s\"'/]+)", re.MULTILINE)


def parse_kubeconfig_server(text: str) -> str | None:
    """host:port of the first cluster ``server:`` in a kubeconfig, as kubeadm prints it in join."""
    match = _SERVER_RE.search(text)
    return match.group(1) if match else None


# --------------------------------------------------------------------------------------------
# Failure classification


_KLOG_RE = re.compile(r"^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ [^ \]]+\] ")
_PHASE_RE = re.compile(r"^(?:error: )?error execution phase (?P<phase>[\w./-]+):")
_CHECK_RE = re.compile(r"^\s*\[ERROR (?P<check>[^\]]+)\]")
_STACK_HINT = "To see the stack trace of this error"

_NETWORK_WORDS = (
    "connection refused",
    "no route to host",
    "i/o timeout",
    "no such host",
    "network is unreachable",
    "client.timeout exceeded",
    "context deadline exceeded",
    "tls handshake timeout",
)


def _noise(line: str) -> bool:
    stripped = line.strip()
    return not stripped or bool(_KLOG_RE.match(stripped)) or stripped.startswith('{"level"')


def error_text(stdout: str, stderr: str) -> str:
    """kubeadm's error message: from ``error execution phase`` (or ``error:``) to the stack hint.

    Without such a line, the meaningful lines of stderr (klog and etcd-client JSON lines
    dropped). Multi-line, as kubeadm 1.34+ may wrap it.
    """
    for stream in (stderr, stdout):
        lines = stream.replace("\r\n", "\n").split("\n")
        for index, line in enumerate(lines):
            if _PHASE_RE.match(line.strip()) or line.startswith("error: "):
                region = []
                for following in lines[index:]:
                    if following.strip().startswith(_STACK_HINT):
                        break
                    region.append(following.rstrip())
                return "\n".join(part for part in region if part.strip()).strip()

    def meaningful(stream: str) -> list[str]:
        return [
            line.rstrip()
            for line in stream.splitlines()
            if not _noise(line) and not line.strip().startswith(_STACK_HINT)
        ]

    # stdout is full of progress lines that mention the same words; only its last line may be the error.
    return "\n".join(meaningful(stderr) or meaningful(stdout)[-1:]).strip()


def failed_preflight_checks(stdout: str, stderr: str) -> list[str]:
    """Names of the ``[ERROR <check>]`` lines kubeadm printed (warnings excluded)."""
    names = []
    for line in (stdout + "\n" + stderr).splitlines():
        match = _CHECK_RE.match(line)
        if match and match.group("check") not in names:
            names.append(match.group("check"))
    return names


# Ordered: the first rule that matches kubeadm's error text names the category.
_ERROR_TEXT_RULES = (
    ("certificate_key_expired", ('secret "kubeadm-certs" was not found', "this secret might have expired")),
    (
        "certificate_key_invalid",
        (
            "error decoding secret data with provided key",
            "message authentication failed",
            "error decoding certificate key",
        ),
    ),
    ("ca_hash_mismatch", ("are pinned", "ca certificate hash", "cluster ca found in cluster-info")),
    (
        "token_invalid",
        (
            "could not find a jws signature",
            "failed to verify jws signature",
            "is invalid for this cluster or it has expired",
        ),
    ),
    # Discovery errors that are none of the above: kubeadm could not get cluster-info.
    ("endpoint_unreachable", ("cluster-info", "identity of the api server")),
    ("etcd_unhealthy", ("etcdserver:", "etcd cluster is not healthy", "error syncing endpoints with etcd")),
    ("kubelet_unhealthy", ("waiting for the kubelet", "kubelet isn't running or healthy")),
)
_PHASE_CATEGORIES = {
    "check-etcd": "etcd_unhealthy",
    "etcd-join": "etcd_unhealthy",
    "control-plane-join/etcd": "etcd_unhealthy",
    "wait-control-plane": "kubelet_unhealthy",
    "kubelet-wait-bootstrap": "kubelet_unhealthy",
}


def classify_failure(stdout: str, stderr: str) -> str:
    """One of FAILURE_CATEGORIES for a failed kubeadm init/join/phase run.

    Understands the <=1.33 envelope (``error execution phase X: ...``) and the 1.34+ one
    (``error: error execution phase X: ...``, the preflight block printed on its own), and
    ignores klog lines and the benign etcd-client warnings of a control-plane join.
    """
    checks = failed_preflight_checks(stdout, stderr)
    text = error_text(stdout, stderr)
    lowered = text.lower()
    match = _PHASE_RE.match(text)
    phase = match.group("phase") if match else ""
    everything = (stdout + "\n" + stderr).lower()
    rules = [
        ("already_joined", "FileAvailable--etc-kubernetes-kubelet.conf" in checks),
        ("already_initialized", any(check.startswith("FileAvailable--etc-kubernetes-manifests-") for check in checks)),
        ("preflight", bool(checks) or "some fatal errors occurred" in lowered or "preflight checks failed" in lowered),
        *((category, any(words in lowered for words in phrases)) for category, phrases in _ERROR_TEXT_RULES),
        (_PHASE_CATEGORIES.get(phase, "unknown"), phase in _PHASE_CATEGORIES),
        # kubeadm init prints this on stdout before a wait-control-plane error.
        ("kubelet_unhealthy", "the kubelet is not healthy after" in everything),
        ("endpoint_unreachable", any(words in lowered for words in _NETWORK_WORDS)),
    ]
    return next((category for category, matched in rules if matched), "unknown")


def describe_failure(action: str, category: str, stdout: str, stderr: str) -> str:
    """The one-line failure message: category, explanation, fix, and kubeadm's own words."""
    explanation, fix = FAILURE_ADVICE.get(category, FAILURE_ADVICE["unknown"])
    if category == "preflight":
        checks = failed_preflight_checks(stdout, stderr)
        if checks:
            explanation = f"{explanation}: {', '.join(checks)}"
    said = " ".join(error_text(stdout, stderr).split())
    if len(said) > 400:
        said = said[:397] + "..."
    message = f"{action} failed ({category}): {explanation}. Fix: {fix}."
    return f"{message} kubeadm said: {said}" if said else message


# --------------------------------------------------------------------------------------------
# CA pin


_PEM_CERT_RE = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.DOTALL)


def _der_element(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, start of content, end of element) of the DER element at ``offset``."""
    if offset + 2 > len(data):
        raise ValueError("truncated DER element")
    tag = data[offset]
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise ValueError("unsupported DER length")
        if start + count > len(data):
            raise ValueError("truncated DER element")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    end = start + length
    if end > len(data):
        raise ValueError("truncated DER element")
    return tag, start, end


def certificate_spki(der: bytes) -> bytes:
    """The DER SubjectPublicKeyInfo of an X.509 certificate (RFC 5280 TBSCertificate order)."""
    sequence = 0x30
    tag, start, _end = _der_element(der, 0)
    if tag != sequence:
        raise ValueError("not a DER certificate")
    tag, position, _tbs_end = _der_element(der, start)
    if tag != sequence:
        raise ValueError("not a DER certificate: no TBSCertificate")
    tag, _start, end = _der_element(der, position)
    if tag == 0xA0:  # [0] EXPLICIT version
        position = end
    # serialNumber INTEGER, signature, issuer, validity, subject; then subjectPublicKeyInfo.
    for expected in (0x02, sequence, sequence, sequence, sequence):
        tag, _start, end = _der_element(der, position)
        if tag != expected:
            raise ValueError("unexpected element in TBSCertificate")
        position = end
    tag, _start, end = _der_element(der, position)
    if tag != sequence:
        raise ValueError("no SubjectPublicKeyInfo in TBSCertificate")
    return der[position:end]


def ca_cert_hashes(pem: str | bytes) -> list[str]:
    """``sha256:<hex>`` of each certificate's public key, as kubeadm pins the cluster CA.

    kubeadm hashes the DER SubjectPublicKeyInfo of every certificate in the CA bundle.
    """
    text = pem.decode("ascii", "replace") if isinstance(pem, bytes) else pem
    hashes = []
    for body in _PEM_CERT_RE.findall(text):
        try:
            der = base64.b64decode("".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the CA certificate is not valid PEM") from None
        digest = "sha256:" + hashlib.sha256(certificate_spki(der)).hexdigest()
        if digest not in hashes:
            hashes.append(digest)
    if not hashes:
        raise ValueError("no PEM certificate found")
    return hashes


def ca_cert_hashes_from_file(path: str) -> list[str]:
    """ca_cert_hashes() of a PEM file, e.g. /etc/kubernetes/pki/ca.crt."""
    with open(path, "rb") as handle:
        return ca_cert_hashes(handle.read())


# --------------------------------------------------------------------------------------------
# Node state


@dataclasses.dataclass(frozen=True)
class NodeState:
    """Which of kubeadm's files exist under the Kubernetes directory (/etc/kubernetes)."""

    admin_conf: bool = False
    super_admin_conf: bool = False
    apiserver_manifest: bool = False
    kubelet_conf: bool = False
    bootstrap_kubelet_conf: bool = False
    ca_crt: bool = False
    etcd_manifest: bool = False
    # The API server's manifest points at a local etcd (stacked etcd, kubeadm's default).
    stacked_etcd: bool = False

    @property
    def role(self) -> str:
        """none, control_plane, worker, or interrupted (a join or init that stopped half-way)."""
        if self.bootstrap_kubelet_conf or (
            not self.kubelet_conf and (self.admin_conf or self.super_admin_conf or self.apiserver_manifest)
        ):
            return "interrupted"
        # A control-plane join writes kubelet.conf (kubelet-start) before the etcd-join phase
        # adds the member and writes etcd.yaml: a stacked node without it stopped in between.
        if self.kubelet_conf and self.apiserver_manifest and self.stacked_etcd and not self.etcd_manifest:
            return "interrupted"
        if self.kubelet_conf and self.apiserver_manifest:
            return "control_plane"
        if self.kubelet_conf:
            return "worker"
        return "none"

    def to_dict(self) -> dict[str, Any]:
        state = dataclasses.asdict(self)
        state["role"] = self.role
        # super-admin.conf is written by kubeadm init (1.29+) only, never by a join.
        state["init_node"] = self.super_admin_conf
        return state


NODE_FILES = {
    "admin_conf": "admin.conf",
    "super_admin_conf": "super-admin.conf",
    "apiserver_manifest": "manifests/kube-apiserver.yaml",
    "kubelet_conf": "kubelet.conf",
    "bootstrap_kubelet_conf": "bootstrap-kubelet.conf",
    "ca_crt": "pki/ca.crt",
    "etcd_manifest": "manifests/etcd.yaml",
}
# kubeadm's API server flag for stacked etcd (IPv4 and IPv6 loopback).
LOCAL_ETCD_SERVERS = ("--etcd-servers=https://127.0.0.1:2379", "--etcd-servers=https://[::1]:2379")


def _uses_local_etcd(manifest: str) -> bool:
    try:
        with open(manifest, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return False
    return any(flag in text for flag in LOCAL_ETCD_SERVERS)


def probe_node_state(root: str = KUBERNETES_DIR) -> NodeState:
    """What kubeadm has left on this node, from files only (no API call)."""
    found = {field: os.path.exists(os.path.join(root, name)) for field, name in NODE_FILES.items()}
    return NodeState(**found, stacked_etcd=_uses_local_etcd(os.path.join(root, NODE_FILES["apiserver_manifest"])))


# --------------------------------------------------------------------------------------------
# kubeadm configuration documents


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


# --------------------------------------------------------------------------------------------
# Workflows


@dataclasses.dataclass
class CommandResult:
    argv: list[str]
    rc: int
    stdout: str
    stderr: str


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class Session:
    """Runs kubeadm, records what ran, and knows the secrets to scrub from anything reported."""

    def __init__(self, runner: Runner, kubeadm: str = "kubeadm", secrets: Iterable[str | None] = ()) -> None:
        self.runner = runner
        self.kubeadm = kubeadm
        self.secrets: set[str] = {secret for secret in secrets if secret}
        self.commands: list[list[str]] = []
        self.warnings: list[str] = []

    def scrub(self, value: Any) -> Any:
        return redact(value, self.secrets)

    def run(self, argv: list[str]) -> CommandResult:
        self.commands.append(self.scrub(argv))
        rc, stdout, stderr = self.runner(argv)
        return CommandResult(argv, rc, stdout or "", stderr or "")

    def error(
        self, msg: str, category: str = "unknown", result: CommandResult | None = None, **extra: Any
    ) -> KubeadmError:
        fields: dict[str, Any] = {"category": category, "commands": list(self.commands), **extra}
        if result is not None:
            fields.update(rc=result.rc, stdout=result.stdout, stderr=result.stderr, cmd=result.argv)
        scrubbed = self.scrub({"msg": msg, **fields})
        return KubeadmError(scrubbed.pop("msg"), **scrubbed)

    def check(self, result: CommandResult, action: str) -> CommandResult:
        """Raise a classified KubeadmError when ``result`` failed."""
        if result.rc != 0:
            category = classify_failure(result.stdout, result.stderr)
            raise self.error(describe_failure(action, category, result.stdout, result.stderr), category, result)
        return result

    def version(self) -> tuple[int, int, int]:
        result = self.check(self.run([self.kubeadm, "version", "-o", "short"]), "kubeadm version")
        version = parse_version(result.stdout)
        if version is None:
            raise self.error("kubeadm version printed no version", result=result)
        return version

    def reset(self, cri_socket: str | None) -> CommandResult:
        return self.run(build_reset_argv(self.kubeadm, cri_socket))

    def run_with_config(self, argv: list[str], path: str | None, documents: Mapping[str, Any] | None) -> CommandResult:
        """Run ``argv`` with ``documents`` written to ``path`` for the duration of the call only."""
        if documents is None or path is None:
            return self.run(argv)
        write_private_file(path, render_config(documents))
        try:
            return self.run(argv)
        finally:
            remove_file(path)

    def fail_and_reset(
        self, result: CommandResult, action: str, reset: bool, cri_socket: str | None, **extra: Any
    ) -> KubeadmError:
        """The error for a failed init/join, after resetting the node when that is allowed."""
        category = classify_failure(result.stdout, result.stderr)
        msg = describe_failure(action, category, result.stdout, result.stderr)
        reset_done = False
        if reset and category not in _NEVER_RESET:
            outcome = self.reset(cri_socket)
            reset_done = outcome.rc == 0
            if reset_done:
                msg += " The node was reset (kubeadm reset) so that a re-run starts clean."
            else:
                said = " ".join(error_text(outcome.stdout, outcome.stderr).split())[:200]
                msg += f" kubeadm reset failed as well (rc {outcome.rc}): {said}"
        elif not reset:
            msg += " The node was left as kubeadm left it (reset_on_failure is false)."
        return self.error(msg, category, result, reset_after_failure=reset_done, **extra)


def _config_error(session: Session, exc: ValueError) -> KubeadmError:
    return session.error(f"invalid kubeadm configuration: {exc}")


def _init_version(session: Session, params: Mapping[str, Any]) -> tuple[int, int, int]:
    """The Kubernetes version that decides the config apiVersion: the option, else kubeadm's own."""
    config = params.get("config") or {}
    cluster = config.get("ClusterConfiguration") or {}
    for candidate in (params.get("kubernetes_version"), cluster.get("kubernetesVersion")):
        version = parse_version(str(candidate)) if candidate else None
        if version:
            return version
    return session.version()


def _validate_durations(session: Session, params: Mapping[str, Any]) -> tuple[datetime.timedelta, datetime.timedelta]:
    try:
        ttl = parse_duration(params.get("token_ttl") or "2h")
        min_ttl = parse_duration(params.get("token_min_ttl") or "1h")
    except ValueError as exc:
        raise session.error(str(exc)) from None
    if ttl.total_seconds() <= 0:
        raise session.error("token_ttl must be a positive duration")
    # token_min_ttl only matters when tokens may be reused.
    if params.get("token_reuse", True) and ttl <= min_ttl:
        raise session.error("token_ttl must be longer than token_min_ttl, or a new token would never be reused")
    return ttl, min_ttl


def _run_init(session: Session, params: Mapping[str, Any], tmpdir: str, result: dict[str, Any]) -> str:
    config_path = documents = None
    if params.get("config"):
        version = _init_version(session, params)
        api_version = kubeadm_config_api_version(version)
        try:
            documents = build_init_documents(params, api_version)
        except ValueError as exc:
            raise _config_error(session, exc) from None
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


def _upload_certs(session: Session, params: Mapping[str, Any], tmpdir: str) -> str:
    """Upload the control-plane certificates encrypted with a new key; return the key.

    The key is generated first and handed to the upload explicitly (so a repeated upload with
    it is idempotent), through --config because kubeadm will not mix --certificate-key with
    it; the config also names kubeadm's own version so the phase does not look one up online.
    """
    config = params.get("config") or {}
    user_init = config.get("InitConfiguration") or {}
    key = user_init.get("certificateKey")
    if not key:
        outcome = session.check(
            session.run([session.kubeadm, "certs", "certificate-key"]), "kubeadm certs certificate-key"
        )
        try:
            key = parse_certificate_key(outcome.stdout)
        except ValueError as exc:
            raise session.error(str(exc), result=outcome) from None
    session.secrets.add(key)
    version = session.version()
    api_version = kubeadm_config_api_version(version)
    documents: dict[str, dict[str, Any]] = {
        "InitConfiguration": {"apiVersion": api_version, "kind": "InitConfiguration", "certificateKey": key},
        "ClusterConfiguration": {
            "apiVersion": api_version,
            "kind": "ClusterConfiguration",
            "kubernetesVersion": "v{}.{}.{}".format(*version),
        },
    }
    user_cluster = config.get("ClusterConfiguration") or {}
    for field in ("certificatesDir", "etcd"):  # what decides which certificates are uploaded
        if field in user_cluster:
            documents["ClusterConfiguration"][field] = user_cluster[field]
    try:
        for option in ("apiserver_advertise_address", "cri_socket"):
            kind, path = INIT_CONFIG_FIELDS[option]
            set_config_field(documents, api_version, kind, path, params.get(option) or None, option=option)
    except ValueError as exc:
        raise _config_error(session, exc) from None
    path = os.path.join(tmpdir, "kubeadm-upload-certs.yaml")
    argv = [session.kubeadm, "init", "phase", "upload-certs", "--upload-certs", "--config", path]
    outcome = session.check(session.run_with_config(argv, path, documents), "kubeadm init phase upload-certs")
    printed = parse_upload_certs_output(outcome.stdout)
    if printed is not None and printed.lower() != key.lower():
        raise session.error(
            "kubeadm init phase upload-certs used another certificate key than the one given", result=outcome
        )
    if "Skipping phase" in outcome.stdout:
        raise session.error("kubeadm init phase upload-certs skipped the upload", result=outcome)
    return key


def _cluster_identity(
    session: Session, params: Mapping[str, Any], root: str, init_stdout: str | None
) -> tuple[str, list[str]]:
    """(API server endpoint, CA cert hashes): from admin.conf and pki/ca.crt, as kubeadm does."""
    admin_conf = os.path.join(root, "admin.conf")
    parsed_init: dict[str, Any] = {}
    if init_stdout:
        try:
            parsed_init = parse_init_output(init_stdout)
        except ValueError:
            parsed_init = {}
    endpoint = None
    if os.path.exists(admin_conf):
        with open(admin_conf, encoding="utf-8", errors="replace") as handle:
            endpoint = parse_kubeconfig_server(handle.read())
    endpoint = endpoint or parsed_init.get("api_server_endpoint") or params.get("control_plane_endpoint")
    if not endpoint:
        raise session.error(f"cannot tell the API server endpoint: no server in {admin_conf}")
    ca_crt = os.path.join(root, "pki", "ca.crt")
    try:
        hashes = ca_cert_hashes_from_file(ca_crt)
    except (OSError, ValueError) as exc:
        if not parsed_init.get("discovery_token_ca_cert_hashes"):
            raise session.error(f"cannot compute the CA cert hash from {ca_crt}: {exc}") from None
        hashes = parsed_init["discovery_token_ca_cert_hashes"]
    return endpoint, hashes


def _bootstrap_token(
    session: Session, params: Mapping[str, Any], *, admin_conf: str, check_mode: bool, now: datetime.datetime
) -> tuple[str | None, datetime.datetime | None, bool]:
    """(token, expiry, reused): a valid token with enough life left, else a new short-lived one.

    In check mode nothing is created and the token of a would-be creation is None.
    """
    ttl, min_ttl = _validate_durations(session, params)
    listed = session.check(
        session.run([session.kubeadm, "token", "list", "-o", "json", "--kubeconfig", admin_conf]), "kubeadm token list"
    )
    try:
        tokens = parse_token_list(listed.stdout)
    except ValueError as exc:
        raise session.error(str(exc), result=listed) from None
    session.secrets.update(token.token for token in tokens)
    reusable = select_reusable_token(tokens, now, min_ttl) if params.get("token_reuse", True) else None
    if reusable is not None:
        return reusable.token, reusable.expires, True
    if check_mode:
        return None, None, False
    argv = [session.kubeadm, "token", "create", "--ttl", params.get("token_ttl") or "2h", "--kubeconfig", admin_conf]
    created = session.check(session.run(argv), "kubeadm token create")
    try:
        token = parse_token_create(created.stdout)
    except ValueError as exc:
        raise session.error(str(exc), result=created) from None
    session.secrets.add(token)
    return token, now + ttl, False


def _join_credentials(
    session: Session,
    params: Mapping[str, Any],
    *,
    root: str,
    tmpdir: str,
    init_stdout: str | None,
    check_mode: bool,
    now: datetime.datetime,
) -> tuple[dict[str, Any], bool]:
    """(credentials, minted): a token (reused or new), the CA pins, and a certificate key if asked."""
    endpoint, hashes = _cluster_identity(session, params, root, init_stdout)
    admin_conf = os.path.join(root, "admin.conf")
    token, expires, reused = _bootstrap_token(session, params, admin_conf=admin_conf, check_mode=check_mode, now=now)
    minted = not reused
    key = key_expires = None
    if params.get("join_credentials") == "control_plane":
        minted = True
        key = parse_upload_certs_output(init_stdout) if init_stdout else None
        if key is None and not check_mode:
            key = _upload_certs(session, params, tmpdir)
        key_expires = now + CERTIFICATE_KEY_LIFETIME if key else None
    credentials: dict[str, Any] = {
        "api_server_endpoint": endpoint,
        "token": token,
        "token_id": token.split(".", 1)[0] if token else None,
        "token_expires": format_timestamp(expires) if expires else None,
        "token_reused": reused,
        "discovery_token_ca_cert_hashes": hashes,
        "certificate_key": key,
        "certificate_key_expires": format_timestamp(key_expires) if key_expires else None,
    }
    credentials["worker_join_command"] = join_command(credentials)
    credentials["control_plane_join_command"] = join_command(credentials, control_plane=True)
    return credentials, minted


def init_node(
    params: Mapping[str, Any],
    runner: Runner,
    *,
    kubeadm: str = "kubeadm",
    root: str = KUBERNETES_DIR,
    tmpdir: str,
    check_mode: bool = False,
    now: Clock | None = None,
) -> dict[str, Any]:
    """The kubeadm_init module's work: probe, decide, act. Raises KubeadmError on failure."""
    session = Session(runner, kubeadm)
    wanted = params.get("join_credentials") or "none"
    if wanted != "none":
        _validate_durations(session, params)
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
        credentials, minted = _join_credentials(
            session,
            params,
            root=root,
            tmpdir=tmpdir,
            init_stdout=init_stdout,
            check_mode=check_mode,
            now=(now or utc_now)(),
        )
        result["join_credentials"] = credentials
        result["changed"] = result["changed"] or minted
    return result


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
            raise _config_error(session, exc) from None
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


def module_runner(module: Any) -> Runner:
    """A runner over AnsibleModule.run_command: argv only, C locale, exit status not checked."""

    def run(argv: list[str]) -> tuple[int, str, str]:
        executable = argv[0]
        if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
            raise KubeadmError(f"kubeadm not found or not executable: {executable} (set kubeadm_path)")
        return module.run_command(argv, check_rc=False, environ_update={"LC_ALL": "C"})

    return run


def find_kubeadm(module: Any) -> str:
    """kubeadm_path, else kubeadm on PATH or in /usr/bin, /usr/local/bin; the name if nowhere."""
    found = module.get_bin_path("kubeadm", opt_dirs=["/usr/bin", "/usr/local/bin"])
    return module.params.get("kubeadm_path") or found or "kubeadm"
