"""A real HTTP(S) source of truth for the tests: threaded, loopback only.

It serves Ansible dynamic-inventory JSON behind a bearer token or basic auth, a token
endpoint (POST {"username", "password"} -> {"access_token": ...}) and one path per
error case. TLS uses a CA made here with `cryptography` (make_ca / server_cert).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class InventoryServer:
    """``with InventoryServer(inventory, token=..., tls=(cert, key)) as srv: srv.url("/inv")``"""

    def __init__(self, inventory: dict, *, token: str | None = None,
                 basic: tuple[str, str] | None = None,
                 credentials: tuple[str, str] | None = None,
                 tls: tuple[Path, Path] | None = None, fail_first: int = 2,
                 slow: float = 3.0):
        self.inventory = inventory
        self.token = token              # bearer token /inv wants (None: no auth)
        self.basic = basic              # or (user, password) for basic auth
        self.credentials = credentials  # what /token accepts; it answers self.token
        self.fail_first = fail_first    # /flaky answers 503 this many times, then /inv
        self.slow = slow
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, headers)
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(tls[0]), str(tls[1]))
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "/inv", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.httpd.server_address[1]}{path}"

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for _, p, _ in self.requests if p == path)

    def __enter__(self) -> "InventoryServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(server: InventoryServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep the test output clean
            pass

        def _send(self, status: int, body, ctype: str = "application/json") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> None:
            with server.lock:
                server.requests.append((self.command, self.path, dict(self.headers)))

        def _authorized(self) -> bool:
            given = self.headers.get("Authorization", "")
            if server.token is not None and given == f"Bearer {server.token}":
                return True
            if server.basic is not None:
                expected = base64.b64encode(":".join(server.basic).encode()).decode()
                if given == f"Basic {expected}":
                    return True
            return server.token is None and server.basic is None

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self._record()
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = {}
            if self.path == "/token":
                if server.credentials and (body.get("username"), body.get("password")) \
                        == server.credentials:
                    return self._send(200, {"access_token": server.token, "expires_in": 300})
                return self._send(401, {"error": "invalid_grant"})
            if self.path == "/token-no-field":
                return self._send(200, {"token_type": "bearer"})
            return self._send(404, {"error": "not found"})

        def do_GET(self) -> None:  # noqa: N802
            self._record()
            path = self.path.split("?", 1)[0]
            if path == "/flaky":
                with server.lock:
                    server.fail_first -= 1
                    failing = server.fail_first >= 0
                if failing:
                    return self._send(503, b"busy", "text/plain")
                path = "/inv"
            if path == "/down":
                return self._send(500, b"boom", "text/plain")
            if path == "/slow":
                time.sleep(server.slow)
                return self._send(200, server.inventory)
            if path == "/drip":  # a byte at a time, each well within the read timeout
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                try:
                    for _ in range(600):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.05)
                except OSError:
                    pass  # the client gave up
                return None
            if path == "/forbidden":
                return self._send(403, {"error": "forbidden"})
            if path == "/html":
                return self._send(200, b"<html><body>login</body></html>", "text/html")
            if path == "/shape":
                return self._send(200, ["web1", "web2"])
            if path == "/badgroup":
                return self._send(200, {"web": {"hosts": "web1"}})
            if path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/inv")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if path != "/inv":
                return self._send(404, {"error": "not found"})
            if not self._authorized():
                return self._send(401, {"error": "unauthorized"})
            return self._send(200, server.inventory)

    return Handler


# -- a test CA ---------------------------------------------------------------------------
def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(directory: Path, name: str = "fleetcheck test CA") -> tuple[Path, object, object]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    path = directory / f"{name.replace(' ', '-')}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, cert, key


def server_cert(directory: Path, ca_cert, ca_key, ip: str = "127.0.0.1",
                dns: str = "localhost") -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(dns)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(dns), x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
