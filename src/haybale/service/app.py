"""The app factory: :func:`create_app` builds the FastAPI app of the haybale RAG service.

Nothing happens at import time; ``create_app`` opens the store named by the settings, and models load on
first use. Errors are JSON ``{"detail": ...}`` by fault (:mod:`haybale.service.errors`): 4xx for the client's
mistakes (with what to fix), 503/500 for failures of what the service depends on; neither leaves anything
half-written, and the service keeps serving.
"""

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from haybale.app.settings import Settings

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

    return jsonable_encoder(errors, custom_encoder={Exception: str, bytes: lambda b: f"<{len(b)} bytes>"})


#: Longest text of a request echoed back in a validation error (``input``); longer ones are cut.
_ECHO_CHARS = 200


def _shortened(value: Any, depth: int = 0) -> Any:
    """``value`` with every string longer than :data:`_ECHO_CHARS` cut, so a 422 never echoes a huge input."""
    if isinstance(value, str) and len(value) > _ECHO_CHARS:
        return f"{value[:_ECHO_CHARS]}... ({len(value):,} characters)"
    if depth < 8 and isinstance(value, dict):
        return {key: _shortened(item, depth + 1) for key, item in value.items()}
    if depth < 8 and isinstance(value, list | tuple):
        return [_shortened(item, depth + 1) for item in value]
    return value


def _readable(error: Any, content_type: str | None) -> Any:
    """A validation error as answered: its ``input`` shortened, and a whole-body error of a request whose
    body was not sent as JSON with the fix in its message (FastAPI reads such a body as text, and only says
    the text is not an object)."""
    if not isinstance(error, dict):
        return error
    if "input" in error:
        error = {**error, "input": _shortened(error["input"])}
    if tuple(error.get("loc", ())) != ("body",) or (content_type and "json" in content_type.lower()):
        return error
    sent = "without a Content-Type" if content_type is None else f"as {content_type!r}"
    hint = f"the body was sent {sent}: send it as JSON with 'Content-Type: application/json'"
    return {**error, "msg": f"{error.get('msg', 'Invalid body')} ({hint})"}


def _unparsable_body(cause: BaseException | None) -> str | None:
    """What was wrong with a JSON body FastAPI could not parse for a reason other than bad syntax (it says
    only "There was an error parsing the body"), or None for any other cause."""
    from haybale.service.uploads import unreadable_json

    if not isinstance(cause, RecursionError | UnicodeDecodeError):
        return None
    return f"The JSON body cannot be read: {unreadable_json(cause)}. Nothing was changed."


def _install_error_handlers(app: Any) -> None:
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    from haybale.service.errors import error_body
    from haybale.service.json_response import SafeJSONResponse

    async def http_error(request: Any, exc: Any) -> Any:
        status = int(getattr(exc, "status_code", 400))
        headers = dict(getattr(exc, "headers", None) or {})
        detail = _unparsable_body(exc.__cause__) or getattr(exc, "detail", str(exc))
        body = error_body(request.url.path, status, detail)
        return SafeJSONResponse(body, status_code=status, headers=headers or None)

    async def invalid_request(request: Any, exc: Any) -> Any:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else str(exc)
        if isinstance(errors, list):
            content_type = request.headers.get("content-type")
            errors = [_readable(error, content_type) for error in errors]
        return SafeJSONResponse(error_body(request.url.path, 422, jsonable_errors(errors)), status_code=422)

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)


#: How long ``/health`` waits for the store before it answers 503.
_READY_TIMEOUT_S = 5.0
#: An id no document has: the readiness probe's lookup (an index seek on every store).
_PROBE_ID = "haybale-readiness-probe"


def _probe_store(state: Any) -> None:
    """One cheap read of the service's store, outside any tenant scope (raises when it cannot answer)."""
    state.app.opened_store.store.count_documents({"field": "id", "operator": "==", "value": _PROBE_ID})


def _install_health_routes(app: "FastAPI", state: Any) -> None:
    """``/health`` (readiness: the store answers) and ``/health/live`` (the process answers)."""
    from haybale import __version__
    from haybale.service.errors import RETRY_AFTER_SECONDS
    from haybale.service.schemas import HEALTHY, HealthResponse

    @app.get(
        "/health",
        response_model=HealthResponse,
        responses={503: {"description": "Not ready: the document store does not answer."}},
    )
    async def health() -> Any:
        """Readiness: the service is up and its document store answers (needs no API key). 503 while the
        store is unreachable or slow to answer (over ``_READY_TIMEOUT_S``); ``/health/live`` checks only the
        process."""
        from haybale.service.json_response import SafeJSONResponse

        try:
            await asyncio.wait_for(asyncio.to_thread(_probe_store, state), _READY_TIMEOUT_S)
        except Exception as error:  # any failure means "not ready"; the cause goes to the log, not the caller
            late = f"did not answer within {_READY_TIMEOUT_S:g} s"
            cause = late if isinstance(error, TimeoutError) else type(error).__name__
            logger.warning("/health: the document store is not ready (%s): %s", cause, error)
            body = {
                "status": "unavailable",
                "version": __version__,
                "detail": f"The document store is not ready ({cause}); the service log has the cause.",
            }
            return SafeJSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        return HealthResponse(status=HEALTHY, version=__version__)

    @app.get("/health/live", response_model=HealthResponse)
    async def live() -> HealthResponse:
        """Liveness: the process serves HTTP (needs no API key; does not touch the store)."""
        return HealthResponse(status=HEALTHY, version=__version__)


class _ErrorMiddleware:
    """ASGI middleware answering every other exception by fault (see :mod:`haybale.service.errors`).

    Starlette's own last-resort handler re-raises after answering, which makes servers drop the keep-alive
    connection; answering here keeps the connection usable for the client's next request.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # the status line is out: nothing can be answered any more
                raise
            from haybale.service.errors import error_body, error_headers, log_failure, status_and_detail
            from haybale.service.json_response import SafeJSONResponse

            path = scope.get("path", "")
            status, detail = status_and_detail(exc)
            log_failure(scope.get("method", ""), path, status, exc)
            headers = error_headers(exc, status)
            response = SafeJSONResponse(
                error_body(path, status, detail), status_code=status, headers=headers or None
            )
            await response(scope, receive, send)


def _warm_query_model(state: Any) -> None:
    try:
        state.app.query_batcher().warm_up()
    except Exception:  # the first query reports the failure with its proper status
        logging.getLogger(__name__).warning("Warming up the query embedder failed", exc_info=True)


def create_app(settings: Settings | None = None, *, chat_generator: Any = None) -> "FastAPI":
    """Build the haybale service app.

    Args:
        settings: the settings; default :meth:`Settings.load` (the environment).
        chat_generator: the chat generator answering ``/v1/chat/completions`` (default: from the settings'
            LLM configuration, the local SmolLM2 when none is set).

    Returns:
        The FastAPI app; serve it with uvicorn (``haybale serve`` does).

    Raises:
        DocumentStoreError: the store URL is invalid.
        SettingsError: the environment holds an invalid setting.
        MissingDependencyError: fastapi is not installed.
    """
    try:
        from fastapi import Depends, FastAPI
        from fastapi.responses import PlainTextResponse
    except ImportError as exc:
        from haybale.errors import MissingDependencyError

        raise MissingDependencyError.for_extra("fastapi", "service", "The haybale service") from exc
    from haybale import __version__
    from haybale.service.dependencies import metrics_operator
    from haybale.service.json_response import SafeJSONResponse
    from haybale.service.request_guard import METRICS_PATH, RequestGuardMiddleware
    from haybale.service.routes_documents import build_documents_router
    from haybale.service.routes_jobs import build_jobs_router
    from haybale.service.routes_openai import build_openai_router
    from haybale.service.routes_pipelines import build_pipelines_router
    from haybale.service.routes_vision import build_vision_router
    from haybale.service.state import ServiceState

    settings = settings if settings is not None else Settings.load()
    state = ServiceState(settings, chat_generator=chat_generator)

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        state.observability.start()  # pipeline metrics, trace export and live scoring, as the settings say
        if settings.embedding_backend != "torch":
            # ONNX backends export the bundled model on first use (seconds, once per machine): start it now,
            # in the background, so the first query does not pay it. Requests meanwhile wait for the model.
            warm = threading.Thread(target=_warm_query_model, args=(state,), name="haybale-warm", daemon=True)
            warm.start()
        try:
            yield
        finally:
            state.observability.stop()
            state.close()  # release database and broker connections when the server stops

    app = FastAPI(
        lifespan=lifespan,
        default_response_class=SafeJSONResponse,
        title="haybale",
        version=__version__,
        description="Index files and answer questions from them: hybrid search, RAG, OpenAI-compatible chat.",
    )
    app.state.haybale = state
    _install_error_handlers(app)
    app.add_middleware(
        RequestGuardMiddleware,
        api_keys=settings.api_keys,
        metrics_api_key=settings.metrics_api_key,
        max_upload_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(_ErrorMiddleware)
    app.add_middleware(_MetricsMiddleware, metrics=state.metrics)

    _install_health_routes(app, state)

    @app.get(METRICS_PATH, response_class=PlainTextResponse, dependencies=[Depends(metrics_operator)])
    async def metrics() -> Any:
        """Request counts and latencies, document counters, per-component latency percentiles and token
        usage of the served pipelines, and live rubric scores, in the Prometheus text format. Operator-only:
        with API keys configured it needs the metrics key (``HAYBALE_METRICS_API_KEY``)."""
        text = state.metrics.render() + state.observability.render()
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    app.include_router(build_documents_router())
    app.include_router(build_vision_router())
    app.include_router(build_pipelines_router())
    app.include_router(build_jobs_router())
    app.include_router(build_openai_router())
    return app
