"""How the service answers errors: by fault, as JSON ``{"detail": ...}``.

* The caller's mistakes (:class:`~haybale.errors.UsageError`, also when a pipeline component raised it) are
  4xx with the message saying what to fix: 400 for malformed filters, 401/403 for keys and tenants, 404 for
  unknown pipelines or models, 409 for id conflicts, 413 for oversized uploads, 422 for the rest.
* Failures of what the service depends on (:class:`~haybale.errors.RuntimeFailure`: the database, a model, a
  remote embedding server) are 503 when a retry may help, else 500, and are logged. A 503 carries
  ``Retry-After``.
* Anything else is a bug: 500, logged with its traceback; the detail names the exception type only.

What a failure left stored is for the route (or the store's error) to say, never assumed here: a route whose
write is one atomic store call made after all checks changes nothing when it fails, but a served pipeline may
write before a later component fails, and ``/delete`` writes to two stores that share no transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from haybale.errors import (
    DuplicateDocumentError,
    FilterError,
    HaybaleError,
    PipelineRuntimeError,
    RuntimeFailure,
    UsageError,
    fault_of,
)

__all__ = ["RETRY_AFTER_SECONDS", "ServiceError", "error_body", "error_headers", "status_and_detail"]

logger = logging.getLogger("haybale.service")

#: The ``Retry-After`` of a 503 answer, in seconds.
RETRY_AFTER_SECONDS = 5


class ServiceError(UsageError):
    """A request the service refuses, with its HTTP status (4xx) and the detail to answer.

    Attributes:
        status_code: the HTTP status.
        detail: the message (or structured detail) for the client.
        headers: extra response headers.
    """

    def __init__(self, status_code: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail if isinstance(detail, str) else str(detail))
        self.status_code = status_code
        self.detail = detail
        self.headers = headers or {}


def _origin(exc: BaseException) -> BaseException:
    """The error a component raised, when ``exc`` wraps one (a pipeline run)."""
    current = exc
    while isinstance(current, PipelineRuntimeError) and current.__cause__ is not None:
        current = current.__cause__
    return current


def _usage_status(origin: BaseException) -> int:
    from haybale.service.pipeline_registry import UnknownPipelineError
    from haybale.stores.tenant_scope import TenantScopeError

    status = getattr(origin, "status_code", None)
    if isinstance(status, int) and 400 <= status < 500:
        return status
    if isinstance(origin, FilterError):
        return 400
    if isinstance(origin, TenantScopeError):
        return 403
    if isinstance(origin, DuplicateDocumentError):
        return 409
    if isinstance(origin, UnknownPipelineError):
        return 404
    return 422


def status_and_detail(exc: BaseException) -> tuple[int, Any]:
    """The HTTP status and ``detail`` for an exception raised while answering a request."""
    origin = _origin(exc)
    fault = fault_of(exc)
    where = ""
    if isinstance(exc, PipelineRuntimeError) and exc.component_name:
        where = f"Component '{exc.component_name}' failed: "
    if fault == "usage":
        detail = getattr(origin, "detail", None) if isinstance(origin, ServiceError) else None
        if detail is None:
            prefix = "Invalid filters: " if isinstance(origin, FilterError) else where
            detail = f"{prefix}{origin}"
        return _usage_status(origin), detail
    if fault == "runtime":
        retryable = getattr(origin, "retryable", True)
        status = 503 if retryable else 500
        return status, f"{where}{origin} (a dependency of the service failed; your request was fine)"
    name = type(origin).__name__
    if isinstance(origin, HaybaleError):
        return 500, f"{where}{origin}"
    return 500, f"Internal server error ({name}); the failure was logged."


def error_headers(exc: BaseException, status: int) -> dict[str, str]:
    """The headers of an error answer: the exception's own on a 4xx, ``Retry-After`` on a 503."""
    if status == 503:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if status < 500:
        return dict(getattr(exc, "headers", None) or {})
    return {}


def error_body(path: str, status: int, detail: Any) -> dict[str, Any]:
    """``{"detail": ...}``; on the OpenAI-compatible routes also ``{"error": {...}}``, which OpenAI clients
    read their message from."""
    body: dict[str, Any] = {"detail": detail}
    if path.startswith("/v1/"):
        kind = "invalid_request_error" if status < 500 else "server_error"
        if status in (401, 403):
            kind = "authentication_error" if status == 401 else "permission_error"
        message = detail if isinstance(detail, str) else str(detail)
        body["error"] = {"message": message, "type": kind, "param": None, "code": None}
    return body


def log_failure(method: str, path: str, status: int, exc: BaseException) -> None:
    """Log a 5xx answer (with the traceback for bugs)."""
    if status < 500:
        return
    if isinstance(_origin(exc), RuntimeFailure):
        logger.error("%s %s failed (%s): %s", method, path, status, _origin(exc))
    else:
        logger.error("%s %s failed (%s)", method, path, status, exc_info=exc)
