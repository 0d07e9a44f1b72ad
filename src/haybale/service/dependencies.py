"""Request-scoped helpers shared by the routers: the app's :class:`ServiceState` and the caller."""

from __future__ import annotations

from typing import Any

from haybale.service.auth import TENANT_HEADER, Caller, authenticate
from haybale.service.state import ServiceState

__all__ = ["caller_of", "state_of"]


def state_of(request: Any) -> ServiceState:
    """The :class:`ServiceState` of the app serving ``request``."""
    state: ServiceState = request.app.state.haybale
    return state


def caller_of(request: Any) -> Caller:
    """Authenticate ``request`` (FastAPI dependency); raises :class:`~haybale.service.auth.AuthError`."""
    settings = state_of(request).settings
    return authenticate(
        settings.api_keys, request.headers.get("authorization"), request.headers.get(TENANT_HEADER)
    )
