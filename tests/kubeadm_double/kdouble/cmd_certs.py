"""`kubeadm certs check-expiration` and `kubeadm certs renew` (FACTS-2 part B §5).

Renewal is real x509 work on the node's PKI: each renewed leaf gets a new RSA-2048 key, a new
serial and a validity of one year from the double's clock (clock.now(), so the test clock
offset moves "now"), keeping its subject and extensions (SANs, usages) and signed by the
existing CA. As kubeadm does, NotBefore is the CA's NotBefore, so a renewal made under a
forward clock offset is already valid for peers running on real time. CAs, sa.key and
kubelet.conf are never renewed. Only this node changes; the running API server and etcd keep
serving the old certificates until their static pods restart.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from datetime import timedelta

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from . import clock, httpc, pki, versions
from .apiclient import Client
from .cli import Fail, FlagSpec, out, parse
from .cmd_init import cmd_certs as cmd_certificate_key
from .common import ADMIN_CONF, COMMON, KUBE

RENEW_FLAGS = {**COMMON, "config": "str", "cert-dir": "str", "kubeconfig": "str"}
EXPIRATION_FLAGS = {
    **RENEW_FLAGS,
    "output": "str",
    "allow-missing-template-keys": "bool",
    "show-managed-fields": "bool",
}
OUTPUT_API = "output.kubeadm.k8s.io/v1alpha3"

# Handler order is kubeadm's (alphabetical): name, file, CA, long name. Files ending in .conf are
# kubeconfigs under /etc/kubernetes; the others are <cert-dir>/<file>.crt|.key.
HANDLERS = (
    (
        "admin.conf",
        "admin.conf",
        "ca",
        "certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself",
    ),
    ("apiserver", "apiserver", "ca", "certificate for serving the Kubernetes API"),
    ("apiserver-etcd-client", "apiserver-etcd-client", "etcd-ca", "certificate the apiserver uses to access etcd"),
    (
        "apiserver-kubelet-client",
        "apiserver-kubelet-client",
        "ca",
        "certificate for the API server to connect to kubelet",
    ),
    (
        "controller-manager.conf",
        "controller-manager.conf",
        "ca",
        "certificate embedded in the kubeconfig file for the controller manager to use",
    ),
    (
        "etcd-healthcheck-client",
        "etcd/healthcheck-client",
        "etcd-ca",
        "certificate for liveness probes to healthcheck etcd",
    ),
    ("etcd-peer", "etcd/peer", "etcd-ca", "certificate for etcd nodes to communicate with each other"),
    ("etcd-server", "etcd/server", "etcd-ca", "certificate for serving etcd"),
    ("front-proxy-client", "front-proxy-client", "front-proxy-ca", "certificate for the front proxy client"),
    (
        "scheduler.conf",
        "scheduler.conf",
        "ca",
        "certificate embedded in the kubeconfig file for the scheduler manager to use",
    ),
    ("super-admin.conf", "super-admin.conf", "ca", "certificate embedded in the kubeconfig file for the super-admin"),
)
CAS = (("ca", "ca"), ("etcd-ca", "etcd/ca"), ("front-proxy-ca", "front-proxy-ca"))
DONE = (
    "Done renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and "
    "etcd, so that they can use the new certificates."
)


def handlers(release: versions.Release) -> list[tuple[str, str, str, str]]:
    return [h for h in HANDLERS if h[0] != "super-admin.conf" or release.super_admin]


# --- reading --------------------------------------------------------------------------------
def _kubeconfig_cert(path: str) -> x509.Certificate | None:
    try:
        config = pki.read_kubeconfig(path)
        data = config["users"][0]["user"]["client-certificate-data"]
    except (OSError, KeyError, IndexError, TypeError, yaml.YAMLError):
        return None
    return x509.load_pem_x509_certificate(base64.b64decode(data))


def _file_cert(cert_dir: str, base: str) -> x509.Certificate | None:
    path = os.path.join(cert_dir, base + ".crt")
    if not os.path.exists(path):
        return None
    return pki.load_cert(path)


def _cert(cert_dir: str, file: str) -> x509.Certificate | None:
    if file.endswith(".conf"):
        return _kubeconfig_cert(os.path.join(KUBE, file))
    return _file_cert(cert_dir, file)


def _entry(name: str, cert: x509.Certificate | None, ca_name: str | None) -> dict:
    entry: dict = {"name": name}
    if cert is None:
        entry.update({"expirationDate": None, "residualTime": 0, "externallyManaged": False})
    else:
        expires = cert.not_valid_after_utc
        entry.update(
            {
                "expirationDate": clock.rfc3339(expires),
                "residualTime": int((expires - clock.now()).total_seconds()),
                "externallyManaged": False,
            }
        )
    if ca_name:
        entry["caName"] = ca_name
    entry["missing"] = cert is None
    return entry


def expiration_info(cert_dir: str, release: versions.Release) -> dict:
    return {
        "kind": "CertificateExpirationInfo",
        "apiVersion": OUTPUT_API,
        "certificates": [_entry(name, _cert(cert_dir, file), ca) for name, file, ca, _long in handlers(release)],
        "certificateAuthorities": [_entry(name, _file_cert(cert_dir, base), None) for name, base in CAS],
    }


# --- printing -------------------------------------------------------------------------------
def tabwrite(lines: list[str], minwidth: int = 10, padding: int = 3) -> list[str]:
    """Go's text/tabwriter with a ' ' padchar and no flags: a column's width is set per block of
    consecutive lines that have a tab-terminated cell in that column."""
    cells = [line.split("\t") for line in lines]
    rendered: list[str] = []

    def write(line0: int, line1: int, widths: list[int]) -> None:
        for row in cells[line0:line1]:
            rendered.append("".join(c.ljust(widths[j]) if j < len(widths) else c for j, c in enumerate(row)))

    def fmt(line0: int, line1: int, widths: list[int]) -> None:
        column, this = len(widths), line0
        while this < line1:
            if column >= len(cells[this]) - 1:
                this += 1
                continue
            write(line0, this, widths)
            line0, width = this, minwidth
            while this < line1 and column < len(cells[this]) - 1:
                width = max(width, len(cells[this][column]) + padding)
                this += 1
            fmt(line0, this, [*widths, width])
            line0 = this
        write(line0, line1, widths)

    fmt(0, len(cells), [])
    return rendered


def text_table(info: dict) -> list[str]:
    def row(entry: dict, with_ca: bool) -> str:
        if entry["missing"]:
            return f"!MISSING! {entry['name']}" + "\t" * (4 if with_ca else 3)
        expires = clock.parse_rfc3339(entry["expirationDate"])
        cols = [entry["name"], expires.strftime("%b %d, %Y %H:%M UTC"), clock.short_human(entry["residualTime"])]
        if with_ca:
            cols.append(entry.get("caName", ""))
        cols.append(f"{'yes' if entry['externallyManaged'] else 'no':<8}")
        return "\t".join(cols)

    lines = ["CERTIFICATE\tEXPIRES\tRESIDUAL TIME\tCERTIFICATE AUTHORITY\tEXTERNALLY MANAGED"]
    lines += [row(e, True) for e in info["certificates"]]
    lines.append("")
    lines.append("CERTIFICATE AUTHORITY\tEXPIRES\tRESIDUAL TIME\tEXTERNALLY MANAGED")
    lines += [row(e, False) for e in info["certificateAuthorities"]]
    return tabwrite(lines)


def read_cluster_config(prefix: str, values: dict, release: versions.Release) -> None:
    """kubeadm's getInternalCfg preamble: kubeadm-config through the admin kubeconfig, or the
    fall-back line when the cluster cannot be read."""
    if "config" in values:
        return
    path = values.get("kubeconfig", ADMIN_CONF)
    try:
        Client.from_kubeconfig(path).call("GET", "/api/v1/namespaces/kube-system/configmaps/kubeadm-config", timeout=10)
    except (httpc.HTTPError, OSError, KeyError, IndexError, TypeError, ValueError, yaml.YAMLError):
        out(f"[{prefix}] Error reading configuration from the Cluster. Falling back to default configuration")
        out()
        return
    if release.minor >= 31:
        out(f'[{prefix}] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...')
        if release.minor >= 34:
            out(f"[{prefix}] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it.")
        else:
            out(f"[{prefix}] Use 'kubeadm init phase upload-config --config your-config.yaml' to re-upload it.")
    else:
        out(f"[{prefix}] Reading configuration from the cluster...")
        out(
            f"[{prefix}] FYI: You can look at this config file with "
            "'kubectl -n kube-system get cm kubeadm-config -o yaml'"
        )
    out()


def cmd_check_expiration(argv: list[str], release: versions.Release) -> int:
    values, _positional, _given = parse(argv, FlagSpec(EXPIRATION_FLAGS, {"o": "output"}), release)
    fmt = values.get("output", "")
    if fmt not in ("", "text", "json", "yaml"):
        raise Fail(
            release.envelope(
                f'unable to match a printer suitable for the output format "{fmt}", allowed formats are: json,text,yaml'
            )
        )
    cert_dir = values.get("cert-dir", pki.PKI_DIR)
    if fmt in ("", "text"):
        read_cluster_config("check-expiration", values, release)
        for line in text_table(expiration_info(cert_dir, release)):
            out(line)
        return 0
    info = expiration_info(cert_dir, release)
    if fmt == "json":
        sys.stdout.write(json.dumps(info, indent=4) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump(info, default_flow_style=False))
    sys.stdout.flush()
    return 0


# --- renewing -------------------------------------------------------------------------------
def renewed(old: x509.Certificate, ca_cert: x509.Certificate, ca_key):
    """A new key and certificate with old's subject and extensions, signed by the CA."""
    key = pki.new_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(old.subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(os.urandom(8), "big") >> 1)
        .not_valid_before(ca_cert.not_valid_before_utc)
        .not_valid_after(clock.now() + timedelta(days=pki.LEAF_DAYS))
    )
    for ext in old.extensions:
        if isinstance(ext.value, x509.SubjectKeyIdentifier):
            continue  # bound to the old key
        builder = builder.add_extension(ext.value, critical=ext.critical)
    return builder.sign(ca_key, hashes.SHA256()), key


def renew_one(cert_dir: str, file: str, ca: str) -> bool:
    """False when the certificate (or the kubeconfig's embedded one) is missing."""
    ca_base = dict(CAS)[ca]
    ca_cert = pki.load_cert(os.path.join(cert_dir, ca_base + ".crt"))
    ca_key = pki.load_key(os.path.join(cert_dir, ca_base + ".key"))
    if file.endswith(".conf"):
        path = os.path.join(KUBE, file)
        old = _kubeconfig_cert(path)
        if old is None:
            return False
        cert, key = renewed(old, ca_cert, ca_key)
        config = pki.read_kubeconfig(path)
        config["users"][0]["user"]["client-certificate-data"] = base64.b64encode(pki.cert_pem(cert)).decode()
        config["users"][0]["user"]["client-key-data"] = base64.b64encode(pki.key_pem(key)).decode()
        pki.write_kubeconfig(path, config)
        return True
    old = _file_cert(cert_dir, file)
    if old is None:
        return False
    cert, key = renewed(old, ca_cert, ca_key)
    pki.write_file(os.path.join(cert_dir, file + ".key"), pki.key_pem(key), 0o600)
    pki.write_file(os.path.join(cert_dir, file + ".crt"), pki.cert_pem(cert), 0o644)
    return True


def cmd_renew(argv: list[str], release: versions.Release) -> int:
    values, positional, _given = parse(argv, FlagSpec(RENEW_FLAGS), release)
    known = {h[0]: h for h in handlers(release)}
    target = positional[0] if positional else ""
    if target != "all" and target not in known:
        raise Fail(release.envelope(f'unknown command "{target}" for "kubeadm certs renew"'))
    cert_dir = values.get("cert-dir", pki.PKI_DIR)
    read_cluster_config("renew", values, release)
    chosen = list(known.values()) if target == "all" else [known[target]]
    for _name, file, ca, long_name in chosen:
        if renew_one(cert_dir, file, ca):
            out(f"{long_name} renewed")
        else:
            out(f"MISSING! {long_name}")
    if target == "all":
        out()
        out(DONE)
    return 0


def cmd_certs(argv: list[str], release: versions.Release) -> int:
    sub = argv[0] if argv else ""
    if sub == "check-expiration":
        return cmd_check_expiration(argv[1:], release)
    if sub == "renew":
        return cmd_renew(argv[1:], release)
    return cmd_certificate_key(argv, release)
