"""Shared pieces of the unit tests: the collection on sys.path, fixtures, a CA, a module harness.

The harness runs a module's main() as Ansible would, with its arguments patched in, kubeadm
replaced by a fake runner that checks each argv against the case table and answers with real
kubeadm output, and /etc/kubernetes replaced by a temporary directory.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.util
import json
import pathlib
import re
import stat
import sys
import tempfile
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
NOW = datetime.datetime(2025, 5, 12, 13, 0, 0, tzinfo=datetime.timezone.utc)


def _make_collection_importable() -> None:
    """ansible_collections.kubeha.kubeadm must resolve to this checkout."""
    try:
        found = importlib.util.find_spec("ansible_collections.kubeha.kubeadm") is not None
    except ModuleNotFoundError:
        found = False
    if found:
        return
    collections = REPO / ".venv" / "collections"
    if not (collections / "ansible_collections" / "kubeha" / "kubeadm").exists():
        collections = pathlib.Path(tempfile.mkdtemp(prefix="kubeha-collections-"))
        (collections / "ansible_collections" / "kubeha").mkdir(parents=True)
        (collections / "ansible_collections" / "kubeha" / "kubeadm").symlink_to(REPO)
    sys.path.insert(0, str(collections))


_make_collection_importable()

# Imported only once the collection is importable.
from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils import (  # noqa: E402
    _kubeadm_credentials,
    _kubeadm_errors,
    _kubeadm_node,
)


def read_fixture(name: str) -> str:
    """A fixture file exactly as stored (no newline translation)."""
    with open(FIXTURES / name, encoding="utf-8", newline="") as handle:
        return handle.read()


def fixture_sections(name: str) -> list[tuple[str, str]]:
    """(title, text) of each capture in a fixture that separates them with ``### `` lines."""
    sections: list[tuple[str, list[str]]] = []
    for line in read_fixture(name).splitlines(keepends=True):
        if line.startswith("### "):
            sections.append((line[4:].strip(), []))
        elif sections:
            sections[-1][1].append(line)
    texts = [(title, "".join(lines)) for title, lines in sections]
    return [(title, text.rstrip("\n") + "\n") for title, text in texts if text.strip()]


def fixture_section(name: str, index: int) -> str:
    return fixture_sections(name)[index][1]


@pytest.fixture(scope="session")
def ca() -> dict[str, Any]:
    """A self-signed RSA CA as kubeadm makes one, its PEM and its pin computed by cryptography."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {
        "pem": certificate.public_bytes(serialization.Encoding.PEM).decode(),
        "hash": "sha256:" + hashlib.sha256(spki).hexdigest(),
    }


# --------------------------------------------------------------------------------------------
# Module harness

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTi==
    server: https://k8s-api.example.com:6443
  name: kubernetes
"""

# The lines of a stacked-etcd kube-apiserver manifest that node-state probing reads.
STACKED_APISERVER_MANIFEST = """spec:
  containers:
  - command:
    - kube-apiserver
    - --etcd-servers=https://127.0.0.1:2379
"""


def versioned_manifest(component: str, tag: str) -> str:
    """A static pod manifest whose image carries ``tag`` (node files named ``manifests/<c>.yaml@<tag>``)."""
    manifest = STACKED_APISERVER_MANIFEST if component == "kube-apiserver" else "spec:\n  containers:\n  - command:\n"
    if component != "kube-apiserver":
        manifest += f"    - {component}\n"
    return manifest + f"    image: registry.k8s.io/{component}:{tag}\n"


# What kubeadm leaves on disk after each kind of run (FACTS.md 4.1), with stacked etcd.
EFFECTS = {
    "init": [
        "admin.conf",
        "super-admin.conf",
        "kubelet.conf",
        "manifests/kube-apiserver.yaml",
        "manifests/etcd.yaml",
        "pki/ca.crt",
    ],
    "join_worker": ["kubelet.conf", "pki/ca.crt"],
    "join_control_plane": [
        "admin.conf",
        "kubelet.conf",
        "manifests/kube-apiserver.yaml",
        "manifests/etcd.yaml",
        "pki/ca.crt",
    ],
    "interrupted_join": ["bootstrap-kubelet.conf", "pki/ca.crt"],
}

_SECRET_TOKEN_RE = re.compile(r"(?<![a-z0-9])[a-z0-9]{6}\.[a-z0-9]{16}(?![a-z0-9])")
_SECRET_KEY_RE = re.compile(r"(?<![0-9a-fA-F:])[0-9a-fA-F]{64}(?![0-9a-fA-F])")


class ModuleExit(Exception):
    def __init__(self, kind: str, payload: dict[str, Any]) -> None:
        super().__init__(kind)
        self.kind = kind
        self.payload = payload


class Harness:
    """Runs one case of a module's table against a fake kubeadm."""

    def __init__(self, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, ca: dict[str, Any]) -> None:
        self.root = tmp_path / "etc-kubernetes"
        self.tmpdir = tmp_path / "module-tmp"
        self.kubeadm = tmp_path / "bin" / "kubeadm"
        self.root.mkdir()
        self.tmpdir.mkdir()
        self.kubeadm.parent.mkdir()
        self.kubeadm.write_text("#!/bin/sh\nexit 99\n")
        self.kubeadm.chmod(0o755)
        self.ca = ca
        self.monkeypatch = monkeypatch
        self.warnings: list[str] = []
        self.calls: list[list[str]] = []
        self.configs: list[list[Any]] = []

    def substitute(self, value: Any) -> Any:
        if isinstance(value, str):
            for name, replacement in (
                ("{kubeadm}", str(self.kubeadm)),
                ("{tmpdir}", str(self.tmpdir)),
                ("{root}", str(self.root)),
                ("{ca_hash}", self.ca["hash"]),
            ):
                value = value.replace(name, replacement)
            return value
        if isinstance(value, list):
            return [self.substitute(item) for item in value]
        if isinstance(value, dict):
            return {key: self.substitute(item) for key, item in value.items()}
        return value

    def place(self, names: list[str]) -> None:
        for entry in names:
            name, _at, image_tag = entry.partition("@")
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if name == "pki/ca.crt":
                path.write_text(self.ca["pem"])
            elif name in ("admin.conf", "super-admin.conf"):
                path.write_text(KUBECONFIG)
            elif image_tag:
                path.write_text(versioned_manifest(pathlib.Path(name).stem, image_tag))
            elif name == "manifests/kube-apiserver.yaml":
                path.write_text(STACKED_APISERVER_MANIFEST)
            else:
                path.write_text("# written by the test harness\n")

    def reset(self) -> None:
        for name in _kubeadm_node.NODE_FILES.values():
            path = self.root / name
            if path.exists():
                path.unlink()

    def output(self, spec: Any) -> str:
        if spec is None:
            return ""
        if isinstance(spec, str):
            return self.substitute(spec)
        text = fixture_section(spec["fixture"], spec["section"]) if "section" in spec else read_fixture(spec["fixture"])
        for old, new in spec.get("replace") or []:
            text = text.replace(old, new)
        return text

    def run(self, module: Any, case: dict[str, Any]) -> ModuleExit:
        self.place(case.get("node") or [])
        runs = list(self.substitute(case.get("runs") or []))
        harness = self

        def run_command(_self: Any, args: Any, check_rc: bool = True, environ_update: Any = None, **_kw: Any):
            assert isinstance(args, list), "argv must be a list"
            assert check_rc is False
            assert environ_update == {"LC_ALL": "C"}
            harness.calls.append(list(args))
            assert runs, f"unexpected command {args}"
            expected = runs.pop(0)
            assert args == expected["argv"]
            if "--config" in args:
                path = pathlib.Path(args[args.index("--config") + 1])
                assert stat.S_IMODE(path.stat().st_mode) == 0o600
                harness.configs.append([json.loads(part) for part in path.read_text().split("---\n")])
                if "config" in expected:
                    assert harness.configs[-1] == expected["config"]
            effect = expected.get("effect")
            if isinstance(effect, list):
                harness.place(effect)
            elif effect == "reset":
                harness.reset()
            elif effect:
                harness.place(EFFECTS[effect])
            return expected.get("rc", 0), harness.output(expected.get("stdout")), harness.output(expected.get("stderr"))

        def exit_json(_self: Any, **kwargs: Any) -> None:
            raise ModuleExit("exit", kwargs)

        def fail_json(_self: Any, **kwargs: Any) -> None:
            raise ModuleExit("fail", kwargs)

        self.monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
        self.monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
        self.monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
        self.monkeypatch.setattr(basic.AnsibleModule, "warn", lambda _self, text: harness.warnings.append(text))
        self.monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda *_args, **_kw: str(harness.kubeadm))
        self.monkeypatch.setattr(module, "KUBERNETES_DIR", str(self.root))
        self.monkeypatch.setattr(_kubeadm_credentials, "utc_now", lambda: NOW)

        args = dict(self.substitute(case.get("params") or {}))
        args.update(_ansible_tmpdir=str(self.tmpdir), _ansible_check_mode=bool(case.get("check_mode")))
        with patch_module_args(args), pytest.raises(ModuleExit) as outcome:
            module.main()
        assert not runs, f"expected commands did not run: {[run['argv'] for run in runs]}"
        assert not list(self.tmpdir.iterdir()), "a config file was left behind"
        return outcome.value

    def known_secrets(self, case: dict[str, Any]) -> set[str]:
        """Every token or certificate key the case fed in, through options or kubeadm's output."""
        texts = [json.dumps(case.get("params") or {})]
        for run in case.get("runs") or []:
            texts += [self.output(self.substitute(run.get("stdout"))), self.output(self.substitute(run.get("stderr")))]
        secrets: set[str] = set()
        for text in texts:
            secrets.update(_SECRET_TOKEN_RE.findall(text))
            secrets.update(_SECRET_KEY_RE.findall(text))
        return secrets


@pytest.fixture
def harness(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, ca: dict[str, Any]) -> Harness:
    return Harness(tmp_path, monkeypatch, ca)


def load_cases(path: pathlib.Path) -> list[Any]:
    with open(path, encoding="utf-8") as handle:
        cases = yaml.safe_load(handle)
    return [pytest.param(case, id=case["id"]) for case in cases]


def assert_subset(expected: Any, actual: Any, where: str = "result") -> None:
    """Every key of ``expected`` is in ``actual`` with the same value (recursively for dicts)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected a dict, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing in {sorted(actual)}"
            assert_subset(value, actual[key], f"{where}.{key}")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def check_outcome(harness: Harness, case: dict[str, Any], outcome: ModuleExit) -> None:
    """Compare a module's exit or failure with the case, and look for leaked secrets."""
    expected_kind = "fail" if "fail" in case else "exit"
    assert outcome.kind == expected_kind, outcome.payload
    expected = dict(harness.substitute(case.get(expected_kind) or {}))
    msg_contains = expected.pop("msg_contains", [])
    msg_excludes = expected.pop("msg_excludes", [])
    assert_subset(expected, outcome.payload)
    for text in msg_contains:
        assert text in outcome.payload["msg"]
    for text in msg_excludes:
        assert text not in json.dumps(outcome.payload)
    if "node_after" in case:
        assert _kubeadm_node.probe_node_state(str(harness.root)).role == case["node_after"]
    if "commands" in case:
        assert outcome.payload["commands"] == harness.substitute(case["commands"])
    if "warnings" in case:
        assert harness.warnings == harness.substitute(case["warnings"])
    public = {key: value for key, value in outcome.payload.items() if key != "join_credentials"}
    dumped = json.dumps(public)
    for secret in harness.known_secrets(case):
        assert secret.lower() not in dumped.lower(), f"secret {secret[:6]}... leaked"
    if outcome.kind == "fail":
        assert "\n" not in outcome.payload["msg"], "the failure message must be one line"
        assert outcome.payload["failure_category"] in _kubeadm_errors.FAILURE_CATEGORIES
    for call in harness.calls:
        assert all(isinstance(word, str) for word in call)
