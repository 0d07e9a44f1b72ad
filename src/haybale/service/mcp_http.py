"""``haybale mcp --transport http``: the MCP server over streamable HTTP at ``/mcp``, behind the service's API
keys.

With keys configured, every request needs ``Authorization: Bearer <key>`` (401 otherwise) and may not claim
another tenant in ``X-Haybale-Tenant`` (403), answered as the service answers: ``{"detail": ...}``. The tool
handlers then check each request's key again to run it in that key's tenant scope
(:func:`haybale.service.mcp_server.http_caller`), so a request is never served with another request's tenant.
The transport is stateless and answers JSON: any worker can serve any request.
"""

from __future__ import annotations

import json
from typing import Any

from haybale.service.auth import TENANT_HEADER, AuthError, authenticate

__all__ = ["MCP_PATH", "APIKeyMiddleware", "create_mcp_http_app"]

#: Where the MCP endpoint is served.
MCP_PATH = "/mcp"


class APIKeyMiddleware:
    """ASGI middleware refusing HTTP requests without a valid API key (as the service does).

    Args:
        app: the wrapped ASGI app.
        api_keys: key -> tenant; empty lets every request through.
    """

    def __init__(self, app: Any, api_keys: dict[str, str]) -> None:
        self.app = app
        self.api_keys = api_keys

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Check the key of an HTTP request, then hand it to the wrapped app."""
        if scope.get("type") == "http" and self.api_keys:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            try:
                authenticate(self.api_keys, headers.get("authorization"), headers.get(TENANT_HEADER.lower()))
            except AuthError as exc:
                await _refuse(send, exc)
                return
        await self.app(scope, receive, send)


async def _refuse(send: Any, error: AuthError) -> None:
    body = json.dumps({"detail": error.detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in error.headers.items())
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_mcp_http_app(server: Any, api_keys: dict[str, str], host: str, max_body_bytes: int) -> Any:
    """The ASGI app serving ``server`` (an ``mcp`` lowlevel Server) at :data:`MCP_PATH`.

    Args:
        server: from :func:`haybale.service.mcp_server.build_mcp_server`.
        api_keys: key -> tenant (empty: open access).
        host: the interface it listens on (on 127.0.0.1/localhost the SDK also refuses requests whose Host
            or Origin header names another site: DNS-rebinding protection).
        max_body_bytes: the largest request body accepted.
    """
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        host=host,
        max_request_body_size=max_body_bytes,
    )
    return APIKeyMiddleware(app, api_keys)
