"""Fixtures for the service tests: the real app served by uvicorn on a free 127.0.0.1 port.

``running_service(settings)`` builds the app with :func:`haybale.service.create_app` and serves it in a
background thread; tests talk to it over real HTTP (httpx, and the openai client for the chat routes).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

CORPUS = Path(__file__).resolve().parents[2] / "examples" / "corpus"


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
