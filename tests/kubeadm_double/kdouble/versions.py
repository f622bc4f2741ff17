"""Which kubeadm release the double claims to be, and the texts that differ between releases.

The version comes from $KUBEADM_DOUBLE_VERSION, else the `version` file beside this package
(a packaged kubeadm or kubelet carries its own, tests/package_repo/), else
/etc/kubeadm-double/version, else DEFAULT_VERSION. Differences reproduced (FACTS.md §1.4, §4.2,
§4.3, §10; FACTS-2.md part A):
  * 1.29+: super-admin.conf on the init node; admin.conf user in group kubeadm:cluster-admins.
  * 1.32+: "any number of control-plane nodes running" (older: "of the control-plane node").
  * 1.30-1.32 kubelet-check/api-check wait lines; 1.33+ control-plane-check lines.
  * 1.34+: errors start with "error: " and preflight prints its block before the error.
  * v1beta4 config from 1.31; v1beta3 accepted up to 1.36 (a deprecation warning from 1.31),
    refused by 1.37 with kubeadm's "old API spec" message.
  * etcd, pause and CoreDNS images, the Go version and the kubeadm feature gates per minor.
  * 1.35+: the ContainerRuntimeVersion warning (for a runtime without the RuntimeConfig CRI
    method) naming the release that removes the fallback; cgroup v1 is a SystemVerification
    error and the kubelet refuses it unless failCgroupV1 is false.
  * 1.36+: the [bootstrap-token] line for the API server's kubelet client.
  * 1.37+: the Port-<api port> preflight probe binds localAPIEndpoint.address, not every address.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

VERSION_FILE = "/etc/kubeadm-double/version"
PACKAGE_VERSION_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "version")
DEFAULT_VERSION = "v1.37.1"
STACK_HINT = "To see the stack trace of this error execute with --v=5 or higher"
GO_VERSIONS = {
    28: "go1.20.14",
    29: "go1.21.13",
    30: "go1.22.12",
    31: "go1.22.12",
    32: "go1.23.8",
    33: "go1.24.4",
    34: "go1.24.6",
    # Newest patch seen of each minor (real `kubeadm version` captures: 1.35.0 go1.25.5 ...
    # 1.35.7 go1.25.12; 1.36.0/1.36.1 go1.26.2, 1.36.4 go1.26.5). No 1.37 capture was found:
    # 1.37 is built with Go 1.26 (1.38 moved to 1.27), the patch is a guess.
    35: "go1.25.12",
    36: "go1.26.5",
    37: "go1.26.6",
}
# The exact Go version of releases seen in real captures (else the minor's, above).
GO_VERSIONS_BY_RELEASE = {
    "v1.35.0": "go1.25.5",
    "v1.35.1": "go1.25.6",
    "v1.35.2": "go1.25.7",
    "v1.35.5": "go1.25.9",
    "v1.35.7": "go1.25.12",
    "v1.36.0": "go1.26.2",
    "v1.36.1": "go1.26.2",
    "v1.36.4": "go1.26.5",
}
# Images kubeadm deploys, by minor: (etcd tag, pause tag, CoreDNS tag). From `kubeadm config
# images list` tables and real `upgrade plan` output (FACTS-2.md §5, §1.4).
IMAGES = {
    28: ("3.5.9-0", "3.9", "v1.10.1"),
    29: ("3.5.10-0", "3.9", "v1.11.1"),
    30: ("3.5.12-0", "3.9", "v1.11.1"),
    31: ("3.5.15-0", "3.10", "v1.11.3"),
    32: ("3.5.16-0", "3.10", "v1.11.3"),
    33: ("3.5.21-0", "3.10", "v1.12.0"),
    34: ("3.6.5-0", "3.10.1", "v1.12.1"),
    35: ("3.6.6-0", "3.10.1", "v1.13.1"),
    36: ("3.6.8-0", "3.10.2", "v1.14.2"),
    37: ("3.7.0-0", "3.10.2", "v1.14.6"),
}
# kubeadm feature gates: name -> (first minor that knows it, first minor that rejects it).
FEATURE_GATES = {
    "PublicKeysECDSA": (19, 37),
    "RootlessControlPlane": (22, 1000),
    "EtcdLearnerMode": (27, 33),
    "WaitForAllControlPlaneComponents": (30, 35),
    "ControlPlaneKubeletLocalMode": (31, 36),
    "NodeLocalCRISocket": (32, 37),
}
# kubeadm's deprecated-API warning (1.34-1.36) and its refusal of a removed API (1.37+).
MIGRATE_HINT = (
    "'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the new, "
    "similar spec using a newer API version."
)


@dataclass(frozen=True)
class Release:
    version: str  # "v1.33.4"

    @property
    def minor(self) -> int:
        return int(self.version.split(".")[1])

    @property
    def patch(self) -> int:
        return int(self.version.split(".")[2].split("-")[0])

    @property
    def super_admin(self) -> bool:
        return self.minor >= 29

    @property
    def admin_group(self) -> str:
        return "kubeadm:cluster-admins" if self.minor >= 29 else "system:masters"

    @property
    def error_prefix(self) -> str:
        return "error: " if self.minor >= 34 else ""

    @property
    def go_version(self) -> str:
        return GO_VERSIONS_BY_RELEASE.get(self.version) or GO_VERSIONS.get(self.minor, GO_VERSIONS[max(GO_VERSIONS)])

    def images(self) -> tuple[str, str, str]:
        """(etcd, pause, CoreDNS) tags this kubeadm deploys; 1.34.0/1.34.1 still had etcd 3.6.4-0."""
        etcd, pause, coredns = IMAGES.get(self.minor, IMAGES[max(IMAGES)] if self.minor > max(IMAGES) else IMAGES[28])
        if self.minor == 34 and self.patch < 2:
            etcd = "3.6.4-0"
        return etcd, pause, coredns

    def image_list(self, kubernetes_version: str) -> list[str]:
        """What `kubeadm config images list` prints, in its order."""
        etcd, pause, coredns = self.images()
        repo = "registry.k8s.io"
        components = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy")
        return [
            *(f"{repo}/{c}:{kubernetes_version}" for c in components),
            f"{repo}/coredns/coredns:{coredns}",
            f"{repo}/pause:{pause}",
            f"{repo}/etcd:{etcd}",
        ]

    def feature_gate_known(self, name: str) -> bool:
        first, removed = FEATURE_GATES.get(name, (1000, 0))
        return first <= self.minor < removed

    def known_feature_gates(self) -> list[str]:
        return sorted(n for n in FEATURE_GATES if self.feature_gate_known(n))

    def runtime_config_removal(self) -> str:
        """The release that drops the kubelet's cgroupDriver fallback, as this kubeadm's warning says."""
        return f"1.{self.minor + 1}"

    def version_info(self) -> dict:
        """The version.Info record that `kubeadm version -o json` and the API's /version print."""
        return {
            "major": "1",
            "minor": str(self.minor),
            "gitVersion": self.version,
            "gitCommit": "0" * 40,
            "gitTreeState": "clean",
            "buildDate": "2025-01-01T00:00:00Z",
            "goVersion": self.go_version,
            "compiler": "gc",
            "platform": "linux/amd64",
        }

    def envelope(self, message: str) -> str:
        """The text kubeadm prints on stderr when a command fails (exit code 1)."""
        return f"{self.error_prefix}{message}\n{STACK_HINT}\n"

    def phase_error(self, phase: str, message: str) -> str:
        return self.envelope(f"error execution phase {phase}: {message}")

    def config_api_versions(self) -> set[str]:
        supported = set()
        if self.minor <= 36:
            supported.add("kubeadm.k8s.io/v1beta3")
        if self.minor >= 31:
            supported.add("kubeadm.k8s.io/v1beta4")
        return supported

    def cp_join_sentence(self) -> str:
        if self.minor >= 32:
            return "You can now join any number of control-plane nodes running the following command on each as root:"
        return "You can now join any number of the control-plane node running the following command on each as root:"

    def images_hint(self) -> str:
        if self.minor >= 31:
            return "[preflight] You can also perform this action beforehand using 'kubeadm config images pull'"
        return "[preflight] You can also perform this action in beforehand using 'kubeadm config images pull'"

    def config_api_deprecated(self, api: str) -> bool:
        """v1beta3 is deprecated since 1.31 (the v1beta4 release)."""
        return api == "kubeadm.k8s.io/v1beta3" and self.minor >= 31

    def config_api_removed(self, api: str) -> str | None:
        """The last kubeadm able to read (and migrate) an API this one no longer reads."""
        return "v1.36" if api == "kubeadm.k8s.io/v1beta3" and self.minor >= 37 else None

    def etcd_image(self) -> str:
        return self.images()[0]


def parse_version(text: str) -> str:
    text = text.strip()
    if not text.startswith("v"):
        text = "v" + text
    if not re.fullmatch(r"v1\.\d+\.\d+", text):
        raise ValueError(f"invalid version {text!r}")
    return text


def current() -> Release:
    raw = os.environ.get("KUBEADM_DOUBLE_VERSION")
    for path in (PACKAGE_VERSION_FILE, VERSION_FILE):
        if raw:
            break
        try:
            with open(path, encoding="utf-8") as handle:
                raw = handle.read()
        except OSError:
            continue
    return Release(parse_version(raw or DEFAULT_VERSION))
