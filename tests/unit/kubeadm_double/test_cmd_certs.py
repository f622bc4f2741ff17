"""The kubeadm double's `certs check-expiration` and `certs renew`, run in-process on a PKI made
by the double's own pki module in a temporary directory (the contract scenario runs the same
commands on real double nodes). Texts are those recorded in FACTS-2 part B §5."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import sys
from datetime import datetime, timezone

import pytest
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_certs import due, parse_expiration
from cryptography import x509

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "kubeadm_double"))

from kdouble import cmd_certs, pki, versions

DAY = 86400
FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
# FACTS-2 part B §5.2, the real table of a first control plane (kubeadm 1.34+), without its preamble.
RECORDED = (FIXTURES / "FACTS2_certs_check_expiration_v1.34.txt").read_text(encoding="utf-8").split("\n\n", 1)[1]
# FACTS-2 part B §5.4 (after its preamble).
RENEW_ALL_TAIL = (
    pathlib.Path(__file__)
    .resolve()
    .parents[1]
    .joinpath("fixtures", "FACTS2_certs_renew_all_v1.34.txt")
    .read_text(encoding="utf-8")
    .split("\n\n", 1)[1]
)
LEAVES = {
    "apiserver": ("ca", "kube-apiserver"),
    "apiserver-kubelet-client": ("ca", "kube-apiserver-kubelet-client"),
    "front-proxy-client": ("front-proxy-ca", "front-proxy-client"),
    "apiserver-etcd-client": ("etcd/ca", "kube-apiserver-etcd-client"),
    "etcd/server": ("etcd/ca", "node1"),
    "etcd/peer": ("etcd/ca", "node1"),
    "etcd/healthcheck-client": ("etcd/ca", "kube-etcd-healthcheck-client"),
}
KUBECONFIGS = ("admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf")


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> pathlib.Path:
    """A control plane's PKI and kubeconfigs as the double's init writes them (made once: RSA is slow)."""
    root = tmp_path_factory.mktemp("double-node")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pki, "PKI_DIR", str(root / "pki"))
        for base, cn in (("ca", "kubernetes"), ("front-proxy-ca", "front-proxy-ca"), ("etcd/ca", "etcd-ca")):
            pki.write_pair(base, *pki.make_ca(cn))
        for base, (ca, cn) in LEAVES.items():
            server = base in ("apiserver", "etcd/server", "etcd/peer")
            issued = pki.issue(
                *pki.load_pair(ca), cn, server=server, client=not server, dns=("node1", "localhost"), ips=("10.0.0.1",)
            )
            pki.write_pair(base, *issued)
        ca = pki.load_pair("ca")
        for name in KUBECONFIGS:
            cert, key = pki.issue(*ca, f"user-{name}", ("kubeadm:cluster-admins",), client=True)
            config = pki.kubeconfig("https://10.0.0.1:6443", ca[0], "u", cert=cert, key=key)
            pki.write_kubeconfig(str(root / name), config)
    return root


@pytest.fixture
def node(template, tmp_path, monkeypatch):
    """A copy of the template node under tmp_path, the double pointed at it."""
    root = tmp_path / "node"
    shutil.copytree(template, root)
    monkeypatch.setattr(pki, "PKI_DIR", str(root / "pki"))
    monkeypatch.setattr(cmd_certs, "KUBE", str(root))
    monkeypatch.setenv("KUBEADM_DOUBLE_VERSION", "v1.34.1")
    monkeypatch.delenv("KUBEADM_DOUBLE_CLOCK_OFFSET", raising=False)
    return root


def kubeadm(capsys, *argv: str) -> str:
    # no reachable cluster here: every command reads kubeadm-config through a kubeconfig that does not exist
    extra = ["--kubeconfig", "/nonexistent/admin.conf"] if argv[0] != "check-expiration" or "-o" not in argv else []
    assert cmd_certs.cmd_certs([*argv, *extra], versions.current()) == 0
    return capsys.readouterr().out


def expiration(capsys) -> dict:
    return json.loads(kubeadm(capsys, "check-expiration", "-o", "json"))


def test_tabwriter_reproduces_the_recorded_table():
    rows = [line.rstrip(" ").replace("   ", "\t") for line in RECORDED.splitlines()]
    lines = []
    for row in rows:
        cells = [cell.strip() for cell in row.split("\t") if cell.strip()]
        if cells and cells[-1] == "no":
            cells[-1] = "no      "
        lines.append("\t".join(cells))
    assert "\n".join(cmd_certs.tabwrite(lines)) + "\n" == RECORDED


def test_check_expiration_text_layout(node, capsys):
    text = kubeadm(capsys, "check-expiration")
    head, table = text.split("\n\n", 1)
    assert (
        head == "[check-expiration] Error reading configuration from the Cluster. Falling back to default configuration"
    )
    lines = table.splitlines()
    assert lines[0] == RECORDED.splitlines()[0]
    assert [line.split()[0] for line in lines[1:12]] == [line.split()[0] for line in RECORDED.splitlines()[1:12]]
    assert all(line.endswith("no      ") and "   364d   " in line for line in lines[1:12])
    assert lines[13] == RECORDED.splitlines()[13]


def test_joined_node_shows_super_admin_missing(node, capsys):
    os.remove(node / "super-admin.conf")
    lines = kubeadm(capsys, "check-expiration").splitlines()
    assert lines[2].startswith("CERTIFICATE                  EXPIRES")  # column 0 widened to 29
    assert lines[13] == "!MISSING! super-admin.conf".ljust(29 + 25 + 16 + 24)
    assert expiration(capsys)["certificates"][-1] == {
        "name": "super-admin.conf",
        "expirationDate": None,
        "residualTime": 0,
        "externallyManaged": False,
        "caName": "ca",
        "missing": True,
    }
    assert "MISSING! certificate embedded in the kubeconfig file for the super-admin\n" in kubeadm(
        capsys, "renew", "all"
    )


def test_json_shape(node, capsys):
    info = expiration(capsys)
    assert list(info) == ["kind", "apiVersion", "certificates", "certificateAuthorities"]
    assert info["kind"] == "CertificateExpirationInfo"
    assert info["apiVersion"] == "output.kubeadm.k8s.io/v1alpha3"
    assert list(info["certificates"][0]) == [
        "name",
        "expirationDate",
        "residualTime",
        "externallyManaged",
        "caName",
        "missing",
    ]
    assert list(info["certificateAuthorities"][0]) == [
        "name",
        "expirationDate",
        "residualTime",
        "externallyManaged",
        "missing",
    ]
    assert [c["caName"] for c in info["certificates"]] == [
        "ca", "ca", "etcd-ca", "ca", "ca", "etcd-ca", "etcd-ca", "etcd-ca", "front-proxy-ca", "ca", "ca"
    ]  # fmt: skip
    assert all(364 * DAY < c["residualTime"] <= 365 * DAY for c in info["certificates"])


def test_renew_all_under_a_forward_clock(node, capsys, monkeypatch):
    monkeypatch.setenv("KUBEADM_DOUBLE_CLOCK_OFFSET", "7920h")  # 330 days ahead
    before = expiration(capsys)
    assert all(30 * DAY < c["residualTime"] < 36 * DAY for c in before["certificates"])
    old = pki.load_cert(str(node / "pki" / "apiserver.crt"))
    ca = pki.load_cert(str(node / "pki" / "ca.crt"))

    text = kubeadm(capsys, "renew", "all")
    assert text.split("\n\n", 1)[1] == RENEW_ALL_TAIL

    after = expiration(capsys)
    assert all(364 * DAY < c["residualTime"] <= 365 * DAY for c in after["certificates"])
    for a, b in zip(after["certificateAuthorities"], before["certificateAuthorities"]):
        assert abs(a["residualTime"] - b["residualTime"]) < 60  # CAs are never renewed
    new = pki.load_cert(str(node / "pki" / "apiserver.crt"))
    assert new.serial_number != old.serial_number
    assert new.subject == old.subject
    san = x509.SubjectAlternativeName
    assert new.extensions.get_extension_for_class(san) == old.extensions.get_extension_for_class(san)
    assert new.public_key().public_numbers() != old.public_key().public_numbers()
    new.verify_directly_issued_by(ca)
    # valid for peers on real time already (NotBefore is the CA's), expiring a year after the double's "now"
    assert new.not_valid_before_utc == ca.not_valid_before_utc
    assert new.not_valid_before_utc <= datetime.now(timezone.utc)
    for base in LEAVES:
        assert (node / "pki" / f"{base}.key").stat().st_mode & 0o777 == 0o600
    for name in KUBECONFIGS:
        assert (node / name).stat().st_mode & 0o777 == 0o600
    assert "BEGIN" not in text


def test_renew_one_and_unknown_name(node, capsys):
    old = pki.load_cert(str(node / "pki" / "front-proxy-client.crt"))
    tail = kubeadm(capsys, "renew", "front-proxy-client").split("\n\n", 1)[1]
    assert tail == "certificate for the front proxy client renewed\n"
    assert pki.load_cert(str(node / "pki" / "front-proxy-client.crt")).serial_number != old.serial_number
    before_admin = (node / "admin.conf").read_text()
    kubeadm(capsys, "renew", "admin.conf")
    assert (node / "admin.conf").read_text() != before_admin
    with pytest.raises(cmd_certs.Fail, match='unknown command "nope" for "kubeadm certs renew"'):
        cmd_certs.cmd_certs(["renew", "nope"], versions.current())


def test_the_modules_parser_reads_the_doubles_json(node, capsys, monkeypatch):
    """kubeha.kubeadm.kubeadm_certs (summary.yml, certificates.yml) on the double's output."""
    os.remove(node / "super-admin.conf")
    facts = parse_expiration(kubeadm(capsys, "check-expiration", "-o", "json"))
    assert len(facts["certificates"]) == 11
    assert [c["name"] for c in facts["certificates"] if c["missing"]] == ["super-admin.conf"]
    assert {c["residual_days"] for c in facts["certificates"] if not c["missing"]} == {364}
    assert due(facts["certificates"], 30 * DAY, False) == []
    monkeypatch.setenv("KUBEADM_DOUBLE_CLOCK_OFFSET", "8040h")  # 335 days ahead
    facts = parse_expiration(kubeadm(capsys, "check-expiration", "-o", "json"))
    assert len(due(facts["certificates"], 30 * DAY, False)) == 10
    assert all(ca["residual_days"] > 365 for ca in facts["certificate_authorities"])
