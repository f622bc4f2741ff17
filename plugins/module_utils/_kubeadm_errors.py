# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Why kubeadm failed: the failure categories, their advice, and the classifier.

Private to kubeha.kubeadm: the names here may change in any release. Pure functions over
kubeadm's stdout and stderr; KubeadmError is the one failure shape every module reports.
Runs on the managed node: standard library only, Python 3.9+.
"""

from __future__ import annotations

import re
from typing import Any

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
    "version_skew",
    "skipped_minor",
    "downgrade",
    "unhealthy_control_plane",
    "etcd",
    "timeout",
    "unknown",
)

# Categories that mean "this node already runs Kubernetes": a reset would destroy a working node.
NEVER_RESET = frozenset({"already_initialized", "already_joined"})

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
        "re-run so that a fresh token is minted (kubeha.kubeadm.kubeadm_join_credentials)",
    ),
    "ca_hash_mismatch": (
        "the cluster CA does not match discovery_token_ca_cert_hashes",
        "pass the hashes kubeha.kubeadm.kubeadm_join_credentials returns for this cluster",
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
    "version_skew": (
        "the installed kubeadm does not match the requested version (kubeadm is older than the target, "
        "a minor or more newer, or the cluster's kubelets are too old for it)",
        "install the kubeadm package of the target version on this node first (kubeadm version -o short "
        "must print it), then re-run",
    ),
    "skipped_minor": (
        "the requested version skips a minor release: kubeadm upgrades one minor at a time",
        "upgrade to the next minor first (for example 1.36.x to 1.37.y), then to the one after",
    ),
    "downgrade": (
        "the requested version is older than the version this node or cluster runs",
        "request the version the cluster runs or a newer one; downgrades are not supported",
    ),
    "unhealthy_control_plane": (
        "kubeadm's cluster health checks failed (a control plane NotReady, its health-check Job did not "
        "complete, or static pod manifests missing)",
        "make every control plane Ready (kubectl get nodes; systemctl status kubelet on the failing one) and "
        "run the upgrade on a control plane node itself, then re-run",
    ),
    "etcd": (
        "the local etcd could not be backed up, upgraded or did not become available again",
        "check etcd on this node (crictl ps, /var/log/pods, etcdctl endpoint health) and its free disk space; "
        "kubeadm restored the old manifests, so re-run once etcd is healthy",
    ),
    "timeout": (
        "a control-plane component did not come back within kubeadm's timeout after its manifest changed",
        "check the kubelet and the component's static pod on this node (journalctl -u kubelet, crictl ps -a); "
        "kubeadm rolled the component back, so re-run once the cause is fixed",
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


# Ordered: kubeadm's version-policy and health texts (FACTS-2 part B §2.5), then the control-plane
# phase failures; each is matched case-insensitively in kubeadm's error text.
_UPGRADE_RULES = (
    ("skipped_minor", ("kubeadm can upgrade only 1 minor version at a time",)),
    ("downgrade", ("kubeadm can downgrade only 1 minor version at a time",)),
    (
        "version_skew",
        (
            "higher than the kubeadm minor release",
            "is higher than the kubeadm version",
            "can only be used to upgrade to kubernetes version",
            "there are kubelets in this cluster that are too old",
            "equal to or lower than the minimum supported version",
        ),
    ),
    (
        "unhealthy_control_plane",
        (
            "notready control-planes",
            "upgrade/health",
            "upgrade-health-check",
            "manifests don't seem to exist on disk",
        ),
    ),
    ("etcd", ("etcd",)),
    ("timeout", ("timed out waiting", "did not change after")),
)


def classify_upgrade_failure(stdout: str, stderr: str) -> str:
    """One of FAILURE_CATEGORIES for a failed ``kubeadm upgrade plan|apply|node``.

    The version-policy, health, etcd and timeout texts first; anything else is classified as
    init and join failures are (preflight, kubelet_unhealthy, endpoint_unreachable, unknown),
    with their etcd category folded into ``etcd``.
    """
    text = error_text(stdout, stderr).lower()
    everything = (stdout + "\n" + stderr).lower()
    checks = failed_preflight_checks(stdout, stderr)
    if any(check in ("ControlPlaneNodesReady", "CreateJob", "StaticPodManifest") for check in checks):
        return "unhealthy_control_plane"
    for category, phrases in _UPGRADE_RULES:
        # kubeadm <= 1.31 printed its policy and health errors on stdout, without an error envelope;
        # the progress lines name etcd and timeouts too, so those two are read from the error only.
        where = text if category in ("etcd", "timeout") else everything
        if any(phrase in where for phrase in phrases):
            return category
    category = classify_failure(stdout, stderr)
    return "etcd" if category == "etcd_unhealthy" else category


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
