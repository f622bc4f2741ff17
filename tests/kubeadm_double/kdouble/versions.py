"""Which kubeadm release the double claims to be, and the texts that differ between releases.

The version comes from $KUBEADM_DOUBLE_VERSION, else the `version` file beside this package
(a packaged kubeadm or kubelet carries its own, tests/package_repo/), else
/etc/kubeadm-double/version, else DEFAULT_VERSION. Differences reproduced (FACTS.md §1.4, §4.2, §4.3, §10):
  * 1.29+: super-admin.conf on the init node; admin.conf user in group kubeadm:cluster-admins.
  * 1.32+: "any number of control-plane nodes running" (older: "of the control-plane node").
  * 1.30-1.32 kubelet-check/api-check wait lines; 1.33+ control-plane-check lines.
  * 1.34+: errors start with "error: " and preflight prints its block before the error.
  * v1beta3 config accepted up to 1.35, v1beta4 from 1.31.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

VERSION_FILE = "/etc/kubeadm-double/version"
PACKAGE_VERSION_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "version")
DEFAULT_VERSION = "v1.33.4"
STACK_HINT = "To see the stack trace of this error execute with --v=5 or higher"
GO_VERSIONS = {28: "go1.20.14", 29: "go1.21.13", 30: "go1.22.12", 31: "go1.22.12", 32: "go1.23.8", 33: "go1.24.4"}


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
        return GO_VERSIONS.get(self.minor, "go1.24.6")

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
        if self.minor <= 35:
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

    def etcd_image(self) -> str:
        return {28: "3.5.9-0", 29: "3.5.10-0", 30: "3.5.12-0", 31: "3.5.15-0", 32: "3.5.16-0"}.get(
            self.minor, "3.5.21-0"
        )


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
