"""Stand-in for this node's API server during kubeadm_init's endpoint check (never left on disk:
the role passes this text to `python3 -c`).

Serves HTTPS on ADDRESS:PORT with a throw-away self-signed certificate and answers every GET
with 200 and the run's nonce, so that a load balancer's HTTPS or TCP health check marks this
node UP and a request through the control-plane endpoint can prove it reached this node.
Exits on GET /kubeha-endpoint-probe/quit or after SECONDS.

usage: python3 -c "<this text>" ADDRESS PORT NONCE SECONDS
"""

from __future__ import annotations

import http.server
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path


def main(address: str, port: int, nonce: str, seconds: float) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="kubeha-endpoint-probe-"))
    try:
        subprocess.run(  # noqa: S603 - a fixed argv
            [  # noqa: S607 - openssl from PATH, like the other tools kubeadm needs
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=kubeha-endpoint-probe",
                "-keyout",
                str(workdir / "tls.key"),
                "-out",
                str(workdir / "tls.crt"),
            ],
            check=True,
            capture_output=True,
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(workdir / "tls.crt", workdir / "tls.key")

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                body = f"kubeha-endpoint-probe {nonce}\n".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                if self.path == "/kubeha-endpoint-probe/quit":
                    threading.Thread(target=self.server.shutdown, daemon=True).start()

            def finish(self) -> None:
                # Leave no TIME_WAIT socket on the API port, which kubeadm's preflight must find
                # free: let the client close first, and reset a connection it keeps open.
                super().finish()
                try:
                    self.connection.settimeout(2)
                    while self.connection.recv(1024):
                        pass
                except OSError:
                    pass
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer((address, port), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        timer = threading.Timer(seconds, server.shutdown)
        timer.daemon = True
        timer.start()
        server.serve_forever()
        server.server_close()
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])))
