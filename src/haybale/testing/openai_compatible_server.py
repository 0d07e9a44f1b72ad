"""A real OpenAI-compatible HTTP server for tests, backed by local models.

Tests start it on 127.0.0.1 with uvicorn in a background thread and talk to it with the real ``openai``
client, so the wire format (request fields, base64 embeddings, error bodies, retry headers) is exercised for
real.

    >>> app = create_openai_compatible_app(embedder=sentence_transformers_embedding_function())
    >>> with OpenAICompatibleServer(app) as server:
    ...     OpenAITextEmbedder(base_url=server.base_url, ...)

Routes are added by ``add_*_routes(app, ...)`` functions; :func:`create_openai_compatible_app` calls the ones
whose backend it is given. A new endpoint family (e.g. chat completions) gets its own ``add_..._routes``
function and a keyword argument of the factory.
:class:`FaultInjection` makes the first N requests fail or stall, to test retries and timeouts.
"""

from __future__ import annotations

import asyncio
import base64
import math
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from haybale.components.embedders.sentence_transformers_backend import (
    DEFAULT_SENTENCE_TRANSFORMERS_MODEL,
    load_sentence_transformer,
)
from haybale.errors import optional_dependency

__all__ = [
    "EmbeddingFunction",
    "FaultInjection",
    "OpenAICompatibleServer",
    "add_embeddings_routes",
    "create_openai_compatible_app",
    "openai_error_response",
    "sentence_transformers_embedding_function",
]

#: Turns a batch of texts into one vector per text.
EmbeddingFunction = Callable[[list[str]], list[list[float]]]


@dataclass
class FaultInjection:
    """Make the first ``fail_first`` POST requests fail, and/or the first ``stall_first`` ones stall.

    Attributes:
        fail_first: how many requests answer ``status_code`` before the server behaves.
        status_code: the HTTP status of injected failures (5xx and 429 are retried by OpenAI clients).
        retry_after_ms: sent as ``retry-after-ms`` with failures so client backoff stays short in tests
            (None sends no header: the client then uses its own exponential backoff).
        stall_first: how many requests wait ``stall_s`` seconds before answering (to trigger client timeouts).
        stall_s: the stall duration.
        requests_seen: how many POST requests arrived (read it in tests).
    """

    fail_first: int = 0
    status_code: int = 503
    retry_after_ms: int | None = 1
    stall_first: int = 0
    stall_s: float = 0.0
    requests_seen: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def next_request(self) -> int:
        """Count one request; return its 0-based number."""
        with self._lock:
            number = self.requests_seen
            self.requests_seen += 1
            return number


def openai_error_response(
    status_code: int, message: str, error_type: str, headers: dict[str, str] | None = None
) -> Any:
    """A JSON error in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""
    from fastapi.responses import JSONResponse

    body = {"error": {"message": message, "type": error_type, "param": None, "code": None}}
    return JSONResponse(status_code=status_code, content=body, headers=headers)


def sentence_transformers_embedding_function(
    model: str = DEFAULT_SENTENCE_TRANSFORMERS_MODEL, device: str | None = "cpu"
) -> EmbeddingFunction:
    """An :data:`EmbeddingFunction` backed by a local sentence-transformers model (MiniLM by default)."""
    encoder = load_sentence_transformer(model, device)

    def embed(texts: list[str]) -> list[list[float]]:
        vectors = encoder.encode(texts, batch_size=32, show_progress_bar=False, convert_to_numpy=True)
        return [vector.tolist() for vector in vectors]

    return embed


def _parse_texts(raw: Any) -> list[str] | str:
    """The texts of an ``input`` field, or an error message."""
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(item, str) for item in raw):
        return list(raw)
    if isinstance(raw, list) and raw:
        return "This server accepts 'input' as a string or a list of strings; token arrays are not supported."
    return "'input' must be a non-empty string or a non-empty list of strings."


def _parse_embedding_inputs(body: Any) -> tuple[list[str], str, str, int | None] | str:
    """(texts, model, encoding_format, dimensions) from a request body, or an error message."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return "'model' is required and must be a non-empty string."
    texts = _parse_texts(body.get("input"))
    if isinstance(texts, str):
        return texts
    encoding_format = body.get("encoding_format") or "float"
    if encoding_format not in ("float", "base64"):
        return f"'encoding_format' must be 'float' or 'base64', got {encoding_format!r}."
    dimensions = body.get("dimensions")
    if dimensions is not None and (
        isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1
    ):
        return f"'dimensions' must be a positive integer, got {dimensions!r}."
    return texts, model, encoding_format, dimensions


def _shorten(vector: list[float], dimensions: int | None) -> list[float]:
    """Truncate to ``dimensions`` and re-normalise, as OpenAI's text-embedding-3 models do."""
    if dimensions is None or dimensions >= len(vector):
        return vector
    head = vector[:dimensions]
    norm = math.sqrt(sum(x * x for x in head)) or 1.0
    return [x / norm for x in head]


def _encode(vector: list[float], encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
    return vector


def _install_fault_injection(app: Any, faults: FaultInjection) -> None:
    async def inject_faults(request: Any, call_next: Any) -> Any:
        if request.method != "POST":
            return await call_next(request)
        number = faults.next_request()
        if number < faults.stall_first:
            await asyncio.sleep(faults.stall_s)
        if number < faults.fail_first:
            headers = {} if faults.retry_after_ms is None else {"retry-after-ms": str(faults.retry_after_ms)}
            return openai_error_response(
                faults.status_code,
                f"Injected failure {number + 1} of {faults.fail_first}.",
                "server_error",
                headers,
            )
        return await call_next(request)

    app.middleware("http")(inject_faults)


def _install_api_key_check(app: Any, api_key: str) -> None:
    async def check_api_key(request: Any, call_next: Any) -> Any:
        if request.headers.get("authorization") != f"Bearer {api_key}":
            return openai_error_response(401, "Incorrect API key provided.", "invalid_request_error")
        return await call_next(request)

    app.middleware("http")(check_api_key)


def add_embeddings_routes(app: Any, embedder: EmbeddingFunction) -> None:
    """Serve ``POST /v1/embeddings`` (OpenAI wire format: input str|list[str], model, encoding_format,
    dimensions; usage counts whitespace-separated words as tokens)."""
    from fastapi.responses import JSONResponse

    # A plain Starlette route: the endpoint parses the raw body itself, so malformed requests get
    # OpenAI-shaped errors rather than FastAPI's validation format.
    async def create_embeddings(request: Any) -> Any:
        try:
            body = await request.json()
        except ValueError:
            return openai_error_response(400, "The request body is not valid JSON.", "invalid_request_error")
        parsed = _parse_embedding_inputs(body)
        if isinstance(parsed, str):
            return openai_error_response(400, parsed, "invalid_request_error")
        texts, model, encoding_format, dimensions = parsed
        vectors = await asyncio.to_thread(embedder, texts)
        native = len(vectors[0]) if vectors else 0
        if dimensions is not None and dimensions > native:
            message = f"This model has {native} dimensions; 'dimensions' must be at most {native}."
            return openai_error_response(400, message, "invalid_request_error")
        words = sum(len(text.split()) for text in texts)
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": _encode(_shorten(v, dimensions), encoding_format),
            }
            for i, v in enumerate(vectors)
        ]
        usage = {"prompt_tokens": words, "total_tokens": words}
        return JSONResponse({"object": "list", "model": model, "data": data, "usage": usage})

    app.router.add_route("/v1/embeddings", create_embeddings, methods=["POST"])


def create_openai_compatible_app(
    embedder: EmbeddingFunction | None = None,
    *,
    model_names: list[str] | None = None,
    faults: FaultInjection | None = None,
    api_key: str | None = None,
    chat_backend: Any = None,
) -> Any:
    """Build the FastAPI app.

    Args:
        embedder: serves ``POST /v1/embeddings`` when given.
        model_names: listed by ``GET /v1/models``.
        faults: failures and stalls to inject into POST requests.
        api_key: when set, requests must send ``Authorization: Bearer <api_key>`` (else 401).
        chat_backend: serves ``POST /v1/chat/completions`` when given (a
            :data:`haybale.testing.openai_chat_server.ChatBackend`).
    """
    with optional_dependency("fastapi", extra="service", feature="The OpenAI-compatible test server"):
        from fastapi import FastAPI
    app = FastAPI(title="haybale OpenAI-compatible test server")
    names = list(model_names or ["all-MiniLM-L6-v2"])

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": n, "object": "model", "owned_by": "haybale"} for n in names],
        }

    if embedder is not None:
        add_embeddings_routes(app, embedder)
    if chat_backend is not None:
        from haybale.testing.openai_chat_server import add_chat_completions_routes

        add_chat_completions_routes(app, chat_backend, model_name=names[0])
    # Middlewares run last-added first: the key check runs before fault injection, like a real gateway.
    if faults is not None:
        _install_fault_injection(app, faults)
    if api_key is not None:
        _install_api_key_check(app, api_key)
    return app


class OpenAICompatibleServer:
    """Run an ASGI app with uvicorn on a free 127.0.0.1 port in a background thread (a context manager).

    Attributes:
        port: the bound port.
        base_url: ``http://127.0.0.1:<port>/v1``, ready for ``openai.OpenAI(base_url=...)``.
    """

    def __init__(self, app: Any, startup_timeout_s: float = 20.0, unix_socket: str | None = None) -> None:
        """Prepare the server; :meth:`start` (or ``with``) runs it.

        Args:
            app: the ASGI app.
            startup_timeout_s: how long :meth:`start` waits for the server.
            unix_socket: serve on this UNIX domain socket path instead of a TCP port (``port`` is then 0 and
                ``base_url`` names ``localhost``; clients connect through the socket).
        """
        self.app = app
        self.startup_timeout_s = startup_timeout_s
        self.unix_socket = unix_socket
        if unix_socket is not None:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._socket.bind(unix_socket)
            self.port: int = 0
            self.base_url = "http://localhost/v1"
        else:
            self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._socket.bind(("127.0.0.1", 0))
            self.port = self._socket.getsockname()[1]
            self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> OpenAICompatibleServer:
        """Start serving; returns once the server accepts connections.

        Raises:
            RuntimeError: the server did not start within ``startup_timeout_s``.
        """
        with optional_dependency("uvicorn", extra="service", feature="The OpenAI-compatible test server"):
            import uvicorn
        # lifespan on: apps start and stop as under `haybale serve` (the service installs tracing there)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="auto", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"openai-test-server-{self.port}",
        )
        self._thread.daemon = True
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"The test server on port {self.port} did not start within {self.startup_timeout_s} s."
                )
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()
        if self.unix_socket is not None and os.path.exists(self.unix_socket):
            os.unlink(self.unix_socket)

    def __enter__(self) -> OpenAICompatibleServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
