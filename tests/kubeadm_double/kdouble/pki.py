"""Real x509 PKI laid out as kubeadm lays it out in /etc/kubernetes/pki, and kubeconfig files.

Keys are RSA-2048 (kubeadm's default encryptionAlgorithm), CAs are valid 10 years and leaf
certificates 1 year. Private keys are written 0600 and certificates 0644, as kubeadm does.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
from datetime import datetime, timedelta, timezone

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PKI_DIR = "/etc/kubernetes/pki"
KUBE_DIR = "/etc/kubernetes"
CA_YEARS = 10
LEAF_DAYS = 365


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def load_cert(path: str) -> x509.Certificate:
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def load_key(path: str):
    with open(path, "rb") as handle:
        return serialization.load_pem_private_key(handle.read(), password=None)


def spki_pin(cert: x509.Certificate) -> str:
    """kubeadm's CA pin: sha256 of the DER SubjectPublicKeyInfo (pubkeypin.Hash)."""
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def _name(common_name: str, orgs: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _serial() -> int:
    return int.from_bytes(os.urandom(8), "big") >> 1


def make_ca(common_name: str):
    key = new_key()
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, True, False, False, False), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def issue(
    ca_cert: x509.Certificate,
    ca_key,
    common_name: str,
    orgs: tuple[str, ...] = (),
    *,
    server: bool = False,
    client: bool = False,
    dns: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
    public_key=None,
):
    """Sign a leaf certificate; returns (cert, key) where key is None if public_key was given."""
    key = None
    if public_key is None:
        key = new_key()
        public_key = key.public_key()
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    usages = []
    if server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, orgs))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(_serial())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
    )
    sans: list[x509.GeneralName] = [x509.DNSName(name) for name in dns]
    sans += [x509.IPAddress(ipaddress.ip_address(addr)) for addr in ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def write_file(path: str, data: bytes, mode: int) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def write_pair(base: str, cert: x509.Certificate, key) -> None:
    """base is e.g. "etcd/server" under PKI_DIR: writes base.crt (0644) and base.key (0600)."""
    write_file(os.path.join(PKI_DIR, base + ".crt"), cert_pem(cert), 0o644)
    if key is not None:
        write_file(os.path.join(PKI_DIR, base + ".key"), key_pem(key), 0o600)


def load_pair(base: str):
    return load_cert(os.path.join(PKI_DIR, base + ".crt")), load_key(os.path.join(PKI_DIR, base + ".key"))


def write_sa_keys() -> None:
    key = new_key()
    write_file(os.path.join(PKI_DIR, "sa.key"), key_pem(key), 0o600)
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    write_file(os.path.join(PKI_DIR, "sa.pub"), pub, 0o644)


def kubeconfig(server: str, ca_cert: x509.Certificate, user: str, *, cert=None, key=None, cert_file=None) -> dict:
    """A kubeconfig as kubeadm writes it: cluster "kubernetes", context "<user>@kubernetes"."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    user_entry: dict = {}
    if cert_file:
        user_entry = {"client-certificate": cert_file, "client-key": cert_file}
    elif cert is not None:
        user_entry = {"client-certificate-data": b64(cert_pem(cert)), "client-key-data": b64(key_pem(key))}
    return {
        "apiVersion": "v1",
        "clusters": [
            {"cluster": {"certificate-authority-data": b64(cert_pem(ca_cert)), "server": server}, "name": "kubernetes"}
        ],
        "contexts": [{"context": {"cluster": "kubernetes", "user": user}, "name": f"{user}@kubernetes"}],
        "current-context": f"{user}@kubernetes",
        "kind": "Config",
        "preferences": {},
        "users": [{"name": user, "user": user_entry}],
    }


def write_kubeconfig(path: str, config: dict) -> None:
    write_file(path, yaml.safe_dump(config, default_flow_style=False).encode(), 0o600)


def read_kubeconfig(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)
