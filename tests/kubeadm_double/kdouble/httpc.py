"""A small HTTPS JSON client used for etcd's v3 gateway and for the API double."""

from __future__ import annotations

import http.client
import json
import ssl
import tempfile
from urllib.parse import urlsplit


class HTTPError(Exception):
    def __init__(self, status: int, body: bytes, url: str):
        super().__init__(f"HTTP {status} from {url}: {body[:200]!r}")
        self.status = status
        self.body = body

    def json(self) -> dict:
        try:
            return json.loads(self.body)
        except ValueError:
            return {}


def tls_context(ca_file=None, cert_file=None, key_file=None, ca_data=None, verify=True) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        if ca_data:
            ctx.load_verify_locations(cadata=ca_data.decode() if isinstance(ca_data, bytes) else ca_data)
        else:
            ctx.load_verify_locations(cafile=ca_file)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # discovery's first, deliberately unverified fetch
    if cert_file:
        ctx.load_cert_chain(cert_file, key_file)
    return ctx


def context_with_pem(ctx: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """Load an in-memory client certificate (ssl only takes files, so use a private temp file)."""
    with tempfile.NamedTemporaryFile(mode="wb", suffix=".pem") as handle:
        handle.write(cert_pem + b"\n" + key_pem)
        handle.flush()
        ctx.load_cert_chain(handle.name)
    return ctx


def request(
    ctx: ssl.SSLContext,
    url: str,
    method: str = "GET",
    body=None,
    *,
    headers=None,
    timeout: float = 10.0,
    content_type: str = "application/json",
):
    """Returns (status, parsed JSON or raw bytes). Raises HTTPError for status >= 400, OSError on transport."""
    parts = urlsplit(url)
    conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, context=ctx, timeout=timeout)
    path = parts.path + ("?" + parts.query if parts.query else "")
    data = None
    hdrs = {"Accept": "application/json"}
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs["Content-Type"] = content_type
    hdrs.update(headers or {})
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    if resp.status >= 400:
        raise HTTPError(resp.status, raw, url)
    try:
        return resp.status, json.loads(raw) if raw else {}
    except ValueError:
        return resp.status, raw
