"""Checks made before any route reads a request body: the API key, and the body's size.

FastAPI reads and parses a JSON body before it resolves a route's dependencies, so without this guard an
unauthenticated client could make the service buffer a body of any size (and only then hear 401), and an
authenticated one could send JSON bodies far beyond the upload limit. Here, with API keys configured, a
request that carries a body is authenticated first (the same :func:`~haybale.service.auth.authenticate` the
routes use; the route dependency still runs) and refused with 401/403 before a byte of it is read. Every body,
JSON or multipart, is then held to ``max_upload_bytes`` plus room for multipart framing: a declared
``Content-Length`` above it is refused at once, a body that grows past it (chunked, or a lying header) is cut
off; either way 413 with the same message as an oversized upload, and the connection is closed so a client
still sending cannot desynchronise the next request. ``/health`` needs no key and is not checked; a request
to ``/metrics`` is held to the operator's metrics key instead of a tenant key (as its route is). FastAPI's
own pages (the OpenAPI schema and the interactive docs) have no route dependency, so with API keys configured
they are authenticated here: the schema lists every route and parameter, which is not for anonymous callers.
"""

from __future__ import annotations

from typing import Any

from haybale.service.auth import TENANT_HEADER, authenticate, authorize_metrics
from haybale.service.errors import ServiceError, error_body

__all__ = ["METRICS_PATH", "RequestGuardMiddleware"]

_PUBLIC_PATHS = frozenset({"/health", "/health/live"})
#: FastAPI's schema and documentation pages: no route dependency checks their caller.
_SCHEMA_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
#: The operator's route: its key is the metrics key, not a tenant's.
METRICS_PATH = "/metrics"


def _carries_body(headers: Any) -> bool:
    length = headers.get("content-length")
    return (length is not None and length.strip() != "0") or "transfer-encoding" in headers


async def _refuse(scope: Any, receive: Any, send: Any, error: ServiceError) -> None:
    from haybale.service.json_response import SafeJSONResponse

    headers = {**error.headers, "Connection": "close"}  # the unread body must not become the next request
    body = error_body(scope.get("path", ""), error.status_code, error.detail)
    await SafeJSONResponse(body, status_code=error.status_code, headers=headers)(scope, receive, send)


class RequestGuardMiddleware:
    """ASGI middleware: authenticate requests that carry a body before reading it, and limit every body.

    Args:
        app: the wrapped ASGI app.
        api_keys: key -> tenant (empty: no authentication).
        metrics_api_key: the operator's key for ``/metrics`` (None: none configured).
        max_upload_bytes: the largest upload; bodies may exceed it by the multipart framing allowance.
    """

    def __init__(
        self, app: Any, api_keys: dict[str, str], max_upload_bytes: int, metrics_api_key: str | None = None
    ) -> None:
        from haybale.service.uploads import MULTIPART_OVERHEAD

        self.app = app
        self.api_keys = api_keys
        self.metrics_api_key = metrics_api_key
        self.max_upload_bytes = max_upload_bytes
        self.max_body_bytes = max_upload_bytes + MULTIPART_OVERHEAD

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        from starlette.datastructures import Headers

        if scope["type"] != "http" or scope.get("path") in _PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.api_keys and scope.get("path") in _SCHEMA_PATHS:
            try:
                authenticate(self.api_keys, headers.get("authorization"), headers.get(TENANT_HEADER))
            except ServiceError as error:
                await _refuse(scope, receive, send, error)
                return
        if not _carries_body(headers):
            await self.app(scope, receive, send)
            return
        from haybale.service.uploads import too_large

        try:
            if scope.get("path") == METRICS_PATH:
                authorize_metrics(self.api_keys, self.metrics_api_key, headers.get("authorization"))
            elif self.api_keys:
                authenticate(self.api_keys, headers.get("authorization"), headers.get(TENANT_HEADER))
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                raise too_large(self.max_upload_bytes)
        except ServiceError as error:  # AuthError (401/403) or the 413
            await _refuse(scope, receive, send, error)
            return
        await self._serve_limited(scope, receive, send)

    async def _serve_limited(self, scope: Any, receive: Any, send: Any) -> None:
        """Run the app with the body cut off at the limit (then 413, and the app's own answer dropped)."""
        from haybale.service.uploads import too_large

        received = 0
        started = refused = False

        async def limited_receive() -> Any:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes and not started:
                    refused = True
                    await _refuse(scope, receive, send, too_large(self.max_upload_bytes))
                    return {"type": "http.disconnect"}  # the app stops reading; its answer is dropped
            return message

        async def guarded_send(message: Any) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:  # after a 413 the app's failure to read the rest of the body is expected
                raise
