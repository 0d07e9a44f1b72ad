"""The app factory: :func:`create_app` builds the FastAPI app of the haybale RAG service.

Nothing happens at import time; ``create_app`` opens the store named by the settings, and models load on
first use. Errors are JSON ``{"detail": ...}``: 4xx for the client's mistakes (with what to fix), 5xx for
failures of the service itself; neither leaves anything half-written, and the service keeps serving.
"""

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from haybale.service.settings import ServiceSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from haybale.service.metrics import ServiceMetrics

__all__ = ["create_app"]

logger = logging.getLogger(__name__)


class _MetricsMiddleware:
    """ASGI middleware counting requests and their latency per route template."""

    def __init__(self, app: Any, metrics: "ServiceMetrics") -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def record_status(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(
                scope.get("method", ""), template, status["code"], time.perf_counter() - started
            )


def jsonable_errors(errors: Any) -> Any:
    """Validation errors made JSON-safe (pydantic puts exception objects under ``ctx``)."""
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(errors, custom_encoder={Exception: str})


def _error_status(exc: Exception) -> tuple[int, str]:
    """The HTTP status and detail for an error raised by a route."""
    from haybale.errors import (
        ComponentError,
        DeserializationError,
        FilterError,
        PipelineComponentsBlockedError,
        PipelineRuntimeError,
        PipelineValidationError,
    )
    from haybale.service.ingestion import IngestionError
    from haybale.service.pipeline_registry import UnknownPipelineError

    cause = exc.__cause__ if isinstance(exc, PipelineRuntimeError) and exc.__cause__ is not None else exc
    if isinstance(cause, FilterError):
        return 400, f"Invalid filters: {cause}"
    # First match wins: subclasses before their bases.
    table: list[tuple[type[Exception] | tuple[type[Exception], ...], int, str]] = [
        (IngestionError, 422, "{}"),
        (UnknownPipelineError, 404, "{}"),
        (DeserializationError, 500, "The pipeline could not be loaded (nothing was run): {}"),
        ((PipelineValidationError, PipelineComponentsBlockedError), 422, "Invalid pipeline inputs: {}"),
        (PipelineRuntimeError, 500, "{}"),
        (ComponentError, 422, "{}"),
    ]
    for kinds, status, template in table:
        if isinstance(exc, kinds):
            return status, template.format(exc)
    return 500, f"Internal server error ({type(exc).__name__}): {exc}"


def _error_body(request: Any, status: int, detail: Any) -> dict[str, Any]:
    """``{"detail": ...}``; on the OpenAI-compatible routes also ``{"error": {...}}``, which OpenAI clients
    read their error message from."""
    body: dict[str, Any] = {"detail": detail}
    if request.url.path.startswith("/v1/"):
        kind = "invalid_request_error" if status < 500 else "server_error"
        if status in (401, 403):
            kind = "authentication_error" if status == 401 else "permission_error"
        message = detail if isinstance(detail, str) else str(detail)
        body["error"] = {"message": message, "type": kind, "param": None, "code": None}
    return body


def _install_error_handlers(app: Any) -> None:
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    from haybale.errors import HaybaleError
    from haybale.service.auth import AuthError
    from haybale.service.uploads import UploadError

    async def client_error(request: Any, exc: Exception) -> Any:
        status = getattr(exc, "status_code", 400)
        headers = dict(getattr(exc, "headers", None) or {})
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        detail = getattr(exc, "detail", str(exc))
        return JSONResponse(_error_body(request, status, detail), status_code=status, headers=headers or None)

    async def invalid_request(request: Any, exc: Exception) -> Any:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else str(exc)
        return JSONResponse(_error_body(request, 422, jsonable_errors(errors)), status_code=422)

    async def haybale_error(request: Any, exc: Exception) -> Any:
        status, detail = _error_status(exc)
        if status >= 500:
            logger.error("%s %s failed: %s", request.method, request.url.path, detail, exc_info=exc)
        return JSONResponse(_error_body(request, status, detail), status_code=status)

    app.add_exception_handler(HTTPException, client_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(AuthError, client_error)
    app.add_exception_handler(UploadError, client_error)
    app.add_exception_handler(HaybaleError, haybale_error)
    app.add_exception_handler(Exception, haybale_error)


def create_app(settings: ServiceSettings | None = None, *, chat_generator: Any = None) -> "FastAPI":
    """Build the haybale service app.

    Args:
        settings: the service settings; default :meth:`ServiceSettings.from_env`.
        chat_generator: the chat generator answering ``/v1/chat/completions`` (default: from the settings'
            LLM configuration, the local SmolLM2 when none is set).

    Returns:
        The FastAPI app; serve it with uvicorn (``haybale serve`` does).

    Raises:
        DocumentStoreError: the store URL is invalid.
        MissingDependencyError: fastapi is not installed.
    """
    try:
        from fastapi import Depends, FastAPI, Request
        from fastapi.responses import PlainTextResponse
    except ImportError as exc:
        from haybale.errors import MissingDependencyError

        raise MissingDependencyError.for_extra("fastapi", "service", "The haybale service") from exc
    from haybale import __version__
    from haybale.service.dependencies import caller_of
    from haybale.service.routes_documents import build_documents_router
    from haybale.service.routes_openai import build_openai_router
    from haybale.service.routes_pipelines import build_pipelines_router
    from haybale.service.schemas import HealthResponse
    from haybale.service.state import ServiceState

    settings = settings if settings is not None else ServiceSettings.from_env()
    state = ServiceState(settings, chat_generator=chat_generator)

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        yield
        close = getattr(state.store, "close", None)
        if callable(close):  # release database connections when the server stops
            close()

    app = FastAPI(
        lifespan=lifespan,
        title="haybale",
        version=__version__,
        description="Index files and answer questions from them: hybrid search, RAG, OpenAI-compatible chat.",
    )
    app.state.haybale = state
    _install_error_handlers(app)
    app.add_middleware(_MetricsMiddleware, metrics=state.metrics)

    @app.get("/health", response_model=HealthResponse)
    async def health() -> HealthResponse:
        """Liveness: the service is up (needs no API key)."""
        return HealthResponse(status="ok", version=__version__)

    def authenticated(request: Request) -> None:
        caller_of(request)

    @app.get("/metrics", response_class=PlainTextResponse, dependencies=[Depends(authenticated)])
    async def metrics() -> Any:
        """Request counts, latencies and document counters in the Prometheus text format."""
        return PlainTextResponse(state.metrics.render(), media_type="text/plain; version=0.0.4")

    app.include_router(build_documents_router())
    app.include_router(build_pipelines_router())
    app.include_router(build_openai_router())
    return app
