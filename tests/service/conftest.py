"""Fixtures for the service tests: the real app served by uvicorn on a free 127.0.0.1 port.

``running_service(settings)`` builds the app with :func:`haybale.service.create_app` and serves it in a
background thread; tests talk to it over real HTTP (httpx, and the openai client for the chat routes).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

CORPUS = Path(__file__).resolve().parents[2] / "examples" / "corpus"

#: A served pipeline: one BM25Retriever over the SQLite file at ``{path}`` (fill in with ``.format``).
BM25_PIPELINE = """
components:
  retriever:
    type: haybale.components.retrievers.bm25.BM25Retriever
    init_parameters:
      document_store:
        type: haybale.stores.sqlite.SQLiteDocumentStore
        init_parameters: {{path: "{path}"}}
      top_k: 50
connections: []
"""


@dataclass
class RunningService:
    """A served app: its base URL, an httpx client on it, and the app's state (to inspect the store)."""

    url: str
    client: httpx.Client
    state: Any

    def count(self, filters: dict[str, Any] | None = None) -> int:
        """Documents in the service's store matching ``filters`` (read directly, not over HTTP)."""
        return int(self.state.store.count_documents(filters))


@contextlib.contextmanager
def running_service(settings: Any, **app_kwargs: Any) -> Iterator[RunningService]:
    """Serve ``create_app(settings, **app_kwargs)`` with uvicorn until the block ends."""
    from haybale.service import create_app
    from haybale.testing.openai_compatible_server import OpenAICompatibleServer

    app = create_app(settings, **app_kwargs)
    with OpenAICompatibleServer(app) as server:
        url = f"http://127.0.0.1:{server.port}"
        with httpx.Client(base_url=url, timeout=120.0) as client:
            yield RunningService(url=url, client=client, state=app.state.haybale)


def upload(
    service: RunningService,
    path: Path | None = None,
    *,
    name: str | None = None,
    data: bytes | None = None,
    metadata: str | None = None,
    headers: dict[str, str] | None = None,
    route: str = "/process",
) -> httpx.Response:
    """POST a file as multipart ``file`` (plus the ``metadata`` form field when given)."""
    content = data if data is not None else path.read_bytes() if path is not None else b""
    file_name = name or (path.name if path is not None else "upload.bin")
    form = {"metadata": metadata} if metadata is not None else None
    return service.client.post(route, files={"file": (file_name, content)}, data=form, headers=headers)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serve_process(
    *args: str, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Run ``haybale serve --port <free> ARGS`` as a real process until the block ends; yield its base URL.

    Raises:
        AssertionError: the process exited, or /health did not answer within 60 s (with its output).
    """
    port = free_port()
    command = [sys.executable, "-m", "haybale.cli.main", "serve", "--port", str(port), *args]
    output = log.open("w") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text() if log is not None else "haybale serve exited"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "haybale serve did not start within 120 s"
            time.sleep(0.2)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=60)
        if log is not None:
            output.close()  # type: ignore[union-attr]
