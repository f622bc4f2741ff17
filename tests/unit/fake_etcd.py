"""A fake of etcd's v3 JSON gateway as ansible.module_utils.urls.open_url reaches it.

Answers the way etcd 3.4 does (member IDs as decimal strings, an unstarted member without name
or client URLs, /health 503 with {"health":"false"} without a leader, gRPC errors as JSON
bodies), so the etcd modules run end to end through their real transport code. Tests set what
each URL does: answer, refuse the connection, time out, or fail TLS.
"""

from __future__ import annotations

import datetime
import io
import json
import socket
import ssl
import urllib.error
from email.message import Message
from typing import Any

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.kubeha.kubeadm.plugins.module_utils import _etcd
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ENDPOINT = "https://127.0.0.1:2379"


def member(member_id: int, name: str, address: str, learner: bool = False) -> dict[str, Any]:
    """A member as member/list shows it; ``name=""`` is one that was added and never started."""
    entry: dict[str, Any] = {"ID": str(member_id), "peerURLs": [f"https://{address}:2380"]}
    if name:
        entry["name"] = name
        entry["clientURLs"] = [f"https://{address}:2379"]
    if learner:
        entry["isLearner"] = True
    return entry


CP1 = member(10276657743932975437, "cp1", "10.0.0.11")
CP2 = member(9372538179322589801, "cp2", "10.0.0.12")
CP3 = member(4196471543651342873, "cp3", "10.0.0.13")
STALE_CP4 = member(3018002441098458721, "", "10.0.0.14")
LEARNER_CP4 = member(3018002441098458721, "cp4", "10.0.0.14", learner=True)


class Response:
    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body

    def getcode(self) -> int:
        return self.status

    def read(self) -> bytes:
        return self.body


class FakeEtcd:
    """A cluster whose endpoint member is the first one; what each client URL does is settable.

    ``behaviour[client_url]``: "healthy" (default), "no_leader" (503, health false), "refused",
    "timeout", "tls", "http_error" (500, not JSON).
    """

    def __init__(self, members: list[dict[str, Any]], leader: dict[str, Any] | None = None) -> None:
        self.members = [dict(m) for m in members]
        self.local = members[0]
        self.leader = leader if leader is not None else members[0]
        self.behaviour: dict[str, str] = {}
        self.remove_error: tuple[int, dict[str, Any]] | None = None
        self.status_missing = False
        self.calls: list[tuple[str, str, Any]] = []
        self.options: list[dict[str, Any]] = []

    # --- what a test arranges ----------------------------------------------------------------
    def down(self, *members: dict[str, Any], how: str = "timeout") -> None:
        for entry in members:
            for url in entry.get("clientURLs") or []:
                self.behaviour[url] = how
            if entry is self.local:
                self.behaviour[ENDPOINT] = how

    def no_quorum(self) -> None:
        """Every member still up answers /health without a leader."""
        self.leader = None
        for entry in self.members:
            for url in entry.get("clientURLs") or []:
                self.behaviour.setdefault(url, "no_leader")
        self.behaviour.setdefault(ENDPOINT, "no_leader")

    def names(self) -> list[str]:
        return sorted(m.get("name", "") for m in self.members)

    def removals(self) -> list[str]:
        return [payload["ID"] for method, url, payload in self.calls if url.endswith("/member/remove")]

    # --- open_url ----------------------------------------------------------------------------
    def open_url(self, url: str, data: bytes | None = None, method: str | None = None, **options: Any) -> Response:
        payload = json.loads(data) if data is not None else None
        self.calls.append((method or "GET", url, payload))
        self.options.append(options)
        split = url.partition("/v3/") if "/v3/" in url else url.rpartition("/")
        base, path = split[0].rstrip("/"), split[2]
        how = self.behaviour.get(base, "healthy")
        if how == "refused":
            raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
        if how == "timeout":
            raise urllib.error.URLError(socket.timeout("timed out"))
        if how == "tls":
            raise urllib.error.URLError(ssl.SSLError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"))
        if how == "http_error":
            raise self._http_error(url, 500, b"internal error\n")
        if url.endswith("/health"):
            if how == "no_leader":
                raise self._http_error(url, 503, b'{"health":"false"}')
            return Response(200, b'{"health":"true"}')
        return self._api(url, path, payload)

    def _api(self, url: str, path: str, payload: Any) -> Response:
        header = {"cluster_id": "14841639068965178418", "member_id": self.local["ID"], "raft_term": "4"}
        if path == "cluster/member/list":
            return self._json({"header": header, "members": self.members})
        if path == "maintenance/status":
            if self.status_missing:
                raise self._http_error(url, 404, b"404 page not found\n")
            status: dict[str, Any] = {"header": header, "version": "3.4.23", "dbSize": "20480"}
            if self.leader is not None:
                status["leader"] = self.leader["ID"]
            return self._json(status)
        if path == "cluster/member/remove":
            if self.remove_error is not None:
                code, body = self.remove_error
                raise self._http_error(url, code, json.dumps(body).encode())
            kept = [m for m in self.members if m["ID"] != payload["ID"]]
            if len(kept) == len(self.members):
                body = {"error": "etcdserver: member not found", "message": "etcdserver: member not found", "code": 5}
                raise self._http_error(url, 404, json.dumps(body).encode())
            self.members = kept
            return self._json({"header": header, "members": self.members})
        raise self._http_error(url, 404, b"404 page not found\n")

    @staticmethod
    def _json(body: dict[str, Any]) -> Response:
        return Response(200, json.dumps(body).encode())

    @staticmethod
    def _http_error(url: str, code: int, body: bytes) -> urllib.error.HTTPError:
        return urllib.error.HTTPError(url, code, "error", Message(), io.BytesIO(body))


# --------------------------------------------------------------------------------------------
# Running a module against the fake


class ModuleExit(Exception):
    def __init__(self, kind: str, payload: dict[str, Any]) -> None:
        super().__init__(kind)
        self.kind = kind
        self.payload = payload


def run_module(module: Any, params: dict[str, Any], fake: FakeEtcd, monkeypatch: Any, check_mode: bool = False):
    """main() of an etcd module with ``params``, its requests answered by ``fake``."""

    def exit_json(_self: Any, **kwargs: Any) -> None:
        raise ModuleExit("exit", kwargs)

    def fail_json(_self: Any, **kwargs: Any) -> None:
        raise ModuleExit("fail", kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(_etcd, "open_url", fake.open_url)
    with patch_module_args({**params, "_ansible_check_mode": check_mode}), pytest.raises(ModuleExit) as outcome:
        module.main()
    return outcome.value


def write_pki(directory: Any) -> dict[str, Any]:
    """A CA, a client certificate and its private key as files, as kubeadm lays them out.

    Returns the module options that point at them and the key's PEM, which no result or error
    may ever contain.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-etcd-healthcheck-client")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    pki = directory / "pki" / "etcd"
    pki.mkdir(parents=True)
    (pki / "ca.crt").write_text(cert_pem)
    (pki / "healthcheck-client.crt").write_text(cert_pem)
    (pki / "healthcheck-client.key").write_text(key_pem)
    (pki / "healthcheck-client.key").chmod(0o600)
    return {
        "params": {
            "ca_path": str(pki / "ca.crt"),
            "client_cert": str(pki / "healthcheck-client.crt"),
            "client_key": str(pki / "healthcheck-client.key"),
        },
        "key_pem": key_pem,
    }


def key_lines(key_pem: str) -> list[str]:
    """The base64 lines of a PEM key: none of them may appear anywhere in a result or error."""
    return [line for line in key_pem.splitlines() if line and not line.startswith("-----")]
