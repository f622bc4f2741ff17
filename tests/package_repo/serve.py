"""HTTPS server of the test package repositories, run inside the repository container.

  serve.py ROOT PORT   serves ROOT/www with ROOT/tls/server.crt and server.key (see pkgrepo.py)

Standard library only: it runs on the node image's own python3. Logs one line per request
on stderr (the journal), which the scenario's tests read to see what the nodes fetched.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import ssl
import sys
from pathlib import Path


class Handler(http.server.SimpleHTTPRequestHandler):
    # Keep-alive, as a mirror's server does: apt fetches several files per connection.
    protocol_version = "HTTP/1.1"


class Server(http.server.ThreadingHTTPServer):
    def shutdown_request(self, request) -> None:
        # End TLS with close_notify: OpenSSL 3 clients (apt 3.0 on Debian 13) refuse a bare EOF
        # ("unexpected eof while reading").
        with contextlib.suppress(OSError, ValueError):
            request.unwrap()
        super().shutdown_request(request)


def main() -> int:
    root, port = Path(sys.argv[1]), int(sys.argv[2])
    handler = functools.partial(Handler, directory=str(root / "www"))
    server = Server(("0.0.0.0", port), handler)  # noqa: S104 - the scenario's network
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(root / "tls" / "server.crt", root / "tls" / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
