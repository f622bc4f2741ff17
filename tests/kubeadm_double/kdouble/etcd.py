"""A client for the real etcd (3.4) through its v3 JSON gateway, with TLS client certificates.

Keys and values travel base64-encoded; 64-bit member IDs travel as decimal strings.
"""

from __future__ import annotations

import base64
import json
import ssl
import time

from . import httpc

PKI = "/etc/kubernetes/pki"


def _b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text or "")


def prefix_end(prefix: bytes) -> bytes:
    end = bytearray(prefix)
    end[-1] += 1
    return bytes(end)


class Etcd:
    def __init__(self, endpoints: list[str], ca: str, cert: str, key: str, timeout: float = 5.0):
        self.endpoints = list(endpoints)
        self.timeout = timeout
        self.ctx: ssl.SSLContext = httpc.tls_context(ca_file=ca, cert_file=cert, key_file=key)

    @classmethod
    def for_apiserver(cls, endpoints, timeout=5.0) -> Etcd:
        return cls(
            endpoints,
            f"{PKI}/etcd/ca.crt",
            f"{PKI}/apiserver-etcd-client.crt",
            f"{PKI}/apiserver-etcd-client.key",
            timeout,
        )

    @classmethod
    def for_healthcheck(cls, endpoints, timeout=5.0) -> Etcd:
        return cls(
            endpoints,
            f"{PKI}/etcd/ca.crt",
            f"{PKI}/etcd/healthcheck-client.crt",
            f"{PKI}/etcd/healthcheck-client.key",
            timeout,
        )

    def call(self, path: str, payload: dict, endpoint: str | None = None, timeout: float | None = None) -> dict:
        """POST to the first endpoint that answers (or to the given one)."""
        last: Exception | None = None
        for ep in [endpoint] if endpoint else self.endpoints:
            try:
                _status, body = httpc.request(
                    self.ctx, ep.rstrip("/") + path, "POST", payload, timeout=timeout or self.timeout
                )
                return body if isinstance(body, dict) else json.loads(body)
            except httpc.HTTPError as exc:
                raise EtcdError(exc.json().get("error") or exc.json().get("message") or str(exc)) from exc
            except OSError as exc:
                last = exc
        raise EtcdError(f"context deadline exceeded ({last})")

    # --- KV ---------------------------------------------------------------------------------
    def get(self, key: str) -> tuple[dict | None, int]:
        """Returns (JSON value or None, mod_revision)."""
        body = self.call("/v3/kv/range", {"key": _b64(key)})
        kvs = body.get("kvs") or []
        if not kvs:
            return None, 0
        return json.loads(_unb64(kvs[0].get("value", ""))), int(kvs[0].get("mod_revision", 0))

    def list(self, prefix: str) -> tuple[list[tuple[dict, int]], int]:
        raw = prefix.encode()
        body = self.call("/v3/kv/range", {"key": _b64(raw), "range_end": _b64(prefix_end(raw))})
        items = [
            (json.loads(_unb64(kv.get("value", ""))), int(kv.get("mod_revision", 0))) for kv in body.get("kvs") or []
        ]
        return items, int(body.get("header", {}).get("revision", 0))

    def create(self, key: str, value: dict) -> int | None:
        """Put only if absent; returns the new revision or None if the key exists."""
        txn = {
            "compare": [{"key": _b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}],
            "success": [{"request_put": {"key": _b64(key), "value": _b64(json.dumps(value))}}],
        }
        body = self.call("/v3/kv/txn", txn)
        if not body.get("succeeded"):
            return None
        return int(body.get("header", {}).get("revision", 0))

    def put(self, key: str, value: dict) -> int:
        body = self.call("/v3/kv/put", {"key": _b64(key), "value": _b64(json.dumps(value))})
        return int(body.get("header", {}).get("revision", 0))

    def delete(self, key: str) -> bool:
        body = self.call("/v3/kv/deleterange", {"key": _b64(key)})
        return int(body.get("deleted", 0)) > 0

    def quorum_check(self, timeout: float = 2.0) -> None:
        """A linearizable read, which needs a leader and a quorum; raises EtcdError otherwise."""
        self.call("/v3/kv/range", {"key": _b64("health")}, timeout=timeout)

    # --- cluster ----------------------------------------------------------------------------
    def members(self, endpoint: str | None = None) -> list[dict]:
        return self.call("/v3/cluster/member/list", {}, endpoint).get("members") or []

    def member_add(self, peer_url: str) -> dict:
        return self.with_backoff(lambda: self.call("/v3/cluster/member/add", {"peerURLs": [peer_url]}, timeout=15.0))

    def member_remove(self, member_id: str) -> None:
        self.with_backoff(lambda: self.call("/v3/cluster/member/remove", {"ID": member_id}, timeout=15.0))

    @staticmethod
    def with_backoff(action, budget: float = 40.0):
        """kubeadm's etcd client retries membership changes with exponential back-off (etcdBackoff):
        etcd refuses them ("unhealthy cluster") until every member has been connected for a while."""
        deadline = time.monotonic() + budget
        delay = 0.05
        while True:
            try:
                return action()
            except EtcdError:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def status(self, endpoint: str, timeout: float = 3.0) -> dict:
        return self.call("/v3/maintenance/status", {}, endpoint, timeout=timeout)


class EtcdError(Exception):
    pass
