"""Fixtures: a real HTTP server on 127.0.0.1 in a thread, and a URL on a closed port."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from fetcher_http_server import LocalServer, QuietHTTPServer, ServerState, make_handler


@pytest.fixture(scope="module")
def http_server() -> Iterator[LocalServer]:
    """Start the server on a free port; shut it down after the module."""
    state = ServerState()
    server = QuietHTTPServer(("127.0.0.1", 0), make_handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalServer(base=f"http://127.0.0.1:{server.server_address[1]}", state=state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port_url() -> str:
    """A URL on a port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/anything"
