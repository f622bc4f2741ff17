"""A stand-in for one kube-apiserver behind the load balancer, for the `loadbalancer` scenario.

Serves HTTPS (a self-signed certificate) on one port:
  GET /readyz   200 "ok", or 500 "not ready" while the marker file exists;
  GET /whoami   200 and the backend's name, so a test sees which backend answered.

Each connection is handled in its own thread, TLS handshake included, so a client that connects
and says nothing (a TCP check) cannot stall the others.
"""

from __future__ import annotations

import argparse
import socket
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HANDSHAKE_TIMEOUT = 5.0


class FixtureServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext, name: str, marker: Path) -> None:
        super().__init__(address, Handler)
        self.context = context
        self.name = name
        self.marker = marker

    def finish_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:  # type: ignore[override]
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except OSError:
            return  # a plain TCP connect or a failed handshake: nothing to answer
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()


class Handler(BaseHTTPRequestHandler):
    server: FixtureServer

    def do_GET(self) -> None:
        if self.path == "/readyz":
            if self.server.marker.exists():
                self._reply(500, "not ready\n")
            else:
                self._reply(200, "ok\n")
        elif self.path == "/whoami":
            self._reply(200, f"{self.server.name}\n")
        else:
            self._reply(404, "not found\n")

    def _reply(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: health checks every second would flood the journal."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="name returned by /whoami")
    parser.add_argument("--bind", required=True, help="address to listen on")
    parser.add_argument("--port", type=int, default=6443)
    parser.add_argument("--cert", required=True, type=Path)
    parser.add_argument("--key", required=True, type=Path)
    parser.add_argument("--unready-marker", required=True, type=Path, help="/readyz fails while this file exists")
    args = parser.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server = FixtureServer((args.bind, args.port), context, args.name, args.unready_marker)
    server.serve_forever()


if __name__ == "__main__":
    main()
