"""plugins/module_utils/_kubeadm_pki.py: the CA pin, against the cryptography library's own computation."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_pki import (
    ca_cert_hashes,
    ca_cert_hashes_from_file,
)
from conftest import NOW
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# --------------------------------------------------------------------------------------------
# CA pin


def _certificate(key, *, version_1: bool = False) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "etcd-ca")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(2**70)
        .not_valid_before(NOW)
        .not_valid_after(NOW + datetime.timedelta(days=1))
    )
    if not version_1:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _pin(key) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def test_ca_cert_hash_rsa(ca: dict, tmp_path) -> None:
    path = tmp_path / "ca.crt"
    path.write_text(ca["pem"])
    assert ca_cert_hashes_from_file(str(path)) == [ca["hash"]]


def test_ca_cert_hash_ecdsa_and_bundle() -> None:
    first, second = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP384R1())
    bundle = _certificate(first) + b"\n" + _certificate(second)
    assert ca_cert_hashes(bundle) == [_pin(first), _pin(second)]
    assert ca_cert_hashes(_certificate(first).decode()) == [_pin(first)]


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        ("", "no PEM certificate"),
        ("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n", "not valid PEM"),
        ("-----BEGIN CERTIFICATE-----\nAgEB\n-----END CERTIFICATE-----\n", "not a DER certificate"),
        ("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "truncated"),
    ],
)
def test_ca_cert_hash_rejects(pem: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ca_cert_hashes(pem)
