"""The endpoints of the real HTTP server the fetcher tests run against (http.server on 127.0.0.1)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PDF_BYTES = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML_BODY = "<html><head><title>Hay</title></head><body><p>Needles in haystacks, caf\u00e9.</p></body></html>"
BIG_SIZE = 5000
SLOW_SECONDS = 1.5


@dataclass
class ServerState:
    """What the server saw: request counts per path and the User-Agent of every request."""

    hits: dict[str, int] = field(default_factory=dict)
    user_agents: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, path: str, user_agent: str) -> int:
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            self.user_agents.setdefault(path, []).append(user_agent)
            return self.hits[path]


@dataclass
class LocalServer:
    """A running server: its base URL and what it saw."""

    base: str
    state: ServerState

    def url(self, path: str) -> str:
        return self.base + path


def make_handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

        def _send(self, status: int, body: bytes, content_type: str | None, **headers: str) -> None:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            count = state.record(path, self.headers.get("User-Agent", ""))
            if path == "/html":
                self._send(200, HTML_BODY.encode("utf-8"), "text/html; charset=utf-8")
            elif path == "/text":
                self._send(200, b"plain words", "text/plain")
            elif path == "/latin1":
                self._send(200, "caf\u00e9".encode("latin-1"), 'text/plain; charset="ISO-8859-1"')
            elif path == "/pdf":
                self._send(200, PDF_BYTES, "application/pdf")
            elif path == "/no-type.pdf":
                self._send(200, PDF_BYTES, None)
            elif path == "/redirect":
                self._send(302, b"", "text/plain", Location="/html")
            elif path == "/redirect-chain":
                self._send(301, b"", "text/plain", Location="/redirect")
            elif path == "/redirect-loop":
                self._send(302, b"", "text/plain", Location="/redirect-loop")
            elif path == "/redirect-to-metadata":  # a public-looking hop to the cloud metadata service
                self._send(302, b"", "text/plain", Location="http://169.254.169.254/latest/meta-data/")
            elif path == "/redirect-to-loopback":
                port = self.server.server_address[1]
                self._send(302, b"", "text/plain", Location=f"http://127.0.0.1:{port}/text")
            elif path == "/redirect-to-file":
                self._send(302, b"", "text/plain", Location="file:///etc/passwd")
            elif path == "/missing":
                self._send(404, b"not here", "text/plain")
            elif path.startswith("/flaky"):  # 500 on the first request per path, then 200
                if count == 1:
                    self._send(500, b"boom", "text/plain")
                else:
                    self._send(200, b"recovered", "text/plain")
            elif path == "/busy":  # 429 once, then 200
                if count == 1:
                    self._send(429, b"slow down", "text/plain")
                else:
                    self._send(200, b"ok now", "text/plain")
            elif path == "/always-500":
                self._send(500, b"boom", "text/plain")
            elif path == "/big-declared":
                self._send(200, b"x" * BIG_SIZE, "text/plain")
            elif path == "/big-streamed":  # no Content-Length: chunked, so the cap must apply while streaming
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for _ in range(BIG_SIZE // 500):
                    self.wfile.write(b"1f4\r\n" + b"y" * 500 + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            elif path == "/slow":
                time.sleep(SLOW_SECONDS)
                self._send(200, b"finally", "text/plain")
            elif path.startswith("/delay"):
                time.sleep(0.4)
                self._send(200, path.encode(), "text/plain")
            else:
                self._send(404, b"unknown", "text/plain")

    return Handler


class QuietHTTPServer(ThreadingHTTPServer):
    """A threading server that stays silent when a client hangs up early (timeouts, refused big bodies)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore the broken pipes the timeout and size-cap tests cause on purpose."""
