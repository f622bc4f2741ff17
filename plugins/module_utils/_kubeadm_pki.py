# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The cluster CA pin: ``sha256:<hex>`` of a CA certificate's public key, as kubeadm computes it.

Private to kubeha.kubeadm: the names here may change in any release. A minimal DER walk to the
SubjectPublicKeyInfo, so that the managed node needs no cryptography library.
Runs on the managed node: standard library only, Python 3.9+.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

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
