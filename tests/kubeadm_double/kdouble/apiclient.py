"""How kubeadm and the kubelet double talk to the API double: from a kubeconfig, with retries
on transport errors the way client-go's callers in kubeadm poll."""

from __future__ import annotations

import base64
import os
import ssl
import time

from . import httpc, pki


class Client:
    def __init__(self, server: str, ctx: ssl.SSLContext, bearer: str | None = None):
        self.server = server.rstrip("/")
        self.ctx = ctx
        self.bearer = bearer

    @classmethod
    def from_kubeconfig(cls, path: str) -> Client:
        config = pki.read_kubeconfig(path)
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        ctx = httpc.tls_context(ca_data=base64.b64decode(cluster["certificate-authority-data"]))
        bearer = user.get("token")
        if "client-certificate-data" in user:
            httpc.context_with_pem(
                ctx, base64.b64decode(user["client-certificate-data"]), base64.b64decode(user["client-key-data"])
            )
        elif "client-certificate" in user:
            ctx.load_cert_chain(user["client-certificate"], user.get("client-key") or user["client-certificate"])
        return cls(cluster["server"], ctx, bearer)

    def call(self, method: str, path: str, body=None, *, content_type="application/json", timeout=10.0, retry_for=0.0):
        """One request; with retry_for > 0 transport errors and 5xx are retried for that long."""
        headers = {"Authorization": f"Bearer {self.bearer}"} if self.bearer else {}
        deadline = time.monotonic() + retry_for
        while True:
            try:
                return httpc.request(
                    self.ctx,
                    self.server + path,
                    method,
                    body,
                    headers=headers,
                    timeout=timeout,
                    content_type=content_type,
                )[1]
            except httpc.HTTPError as err:
                if err.status < 500 or time.monotonic() >= deadline:
                    raise
            except (OSError, ssl.SSLError):
                if time.monotonic() >= deadline:
                    raise
            time.sleep(1)

    def get(self, path: str, retry_for: float = 0.0):
        return self.call("GET", path, retry_for=retry_for)

    def create(self, path: str, obj: dict, retry_for: float = 30.0):
        return self.call("POST", path, obj, retry_for=retry_for)

    def patch(self, path: str, patch: dict, retry_for: float = 30.0):
        return self.call("PATCH", path, patch, content_type="application/merge-patch+json", retry_for=retry_for)

    def apply(self, path: str, obj: dict, retry_for: float = 30.0):
        """Create or merge (the double's server-side apply), used for kubeadm's config maps."""
        return self.call(
            "PATCH",
            path + "?fieldManager=kubeadm&force=true",
            obj,
            content_type="application/apply-patch+yaml",
            retry_for=retry_for,
        )

    def delete(self, path: str, retry_for: float = 0.0):
        return self.call("DELETE", path, retry_for=retry_for)


def exists(path: str) -> bool:
    return os.path.exists(path)
