"""Real HTTP upstreams on free local ports, standing where the services would answer."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gateway import proxy, schema
from shared.jwt_auth import KEYS
from shared.ratelimit import LEASES
from shared.topology import DOMAIN_SERVICES


@dataclass
class Upstream:
    url: str
    requests: list[dict] = field(default_factory=list)
    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0
    hang_up: bool = False  # close the connection without an answer
    # Keep connections alive after the first answer, then close one that brings a second request
    # without answering it: a kept-alive connection that went stale in the gateway's pool.
    drop_reused_connections: bool = False


def _handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def setup(self) -> None:
            super().setup()
            self.answered = 0
            if upstream.drop_reused_connections:
                self.protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            upstream.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    # http.server decodes header lines as latin-1: encoding back gives the bytes received.
                    "raw_headers": {name.lower(): value.encode("latin-1") for name, value in self.headers.items()},
                    "body": self.rfile.read(length) if length else b"",
                }
            )
            if upstream.delay:
                time.sleep(upstream.delay)
            if upstream.hang_up or (upstream.drop_reused_connections and self.answered):
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.answered += 1
            self.send_response(upstream.status)
            for name, value in upstream.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(upstream.body)))
            self.end_headers()
            self.wfile.write(upstream.body)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@pytest.fixture
def upstreams(settings) -> Iterator[dict[str, Upstream]]:
    """One real HTTP server per domain service; settings point the gateway at them."""
    servers, found = [], {}
    for spec in DOMAIN_SERVICES:
        upstream = Upstream(url="")
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream))
        upstream.url = f"http://127.0.0.1:{server.server_address[1]}"
        # A short poll interval: shutdown() waits for the serving loop to notice, four times per test.
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        found[spec.name] = upstream
    settings.SERVICE_URLS = {**settings.SERVICE_URLS, **{name: up.url for name, up in found.items()}}
    proxy.reset_clients()  # no connection kept from an earlier test's upstreams
    yield found
    proxy.reset_clients()
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def revocations_read_at_once(settings) -> None:
    """Every token check reads new revocations, so a test sees its own at once (0.5 s apart in production)."""
    settings.TOKEN_REVOCATIONS_REFRESH_SECONDS = 0


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Verification keys, the merged schema and rate-limit leases are kept per process; each test starts
    without them (a lease would outlive the test's rolled-back bucket)."""
    KEYS.clear()
    schema.clear_cache()
    LEASES.clear()
    yield
    KEYS.clear()
    schema.clear_cache()
    LEASES.clear()


def json_body(upstream: Upstream, data: object) -> None:
    upstream.body = json.dumps(data).encode()
