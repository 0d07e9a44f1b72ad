"""Request-scoped helpers shared by the routers: the app's :class:`ServiceState` and the caller.

Dependencies are ``async`` on purpose: FastAPI runs plain functions in a worker thread, a hop per request
that costs more than the (microseconds of) work they do.
"""

from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import Request

from haybale.service.auth import TENANT_HEADER, Caller, authenticate, authorize_metrics
from haybale.service.state import ServiceState

__all__ = ["CallerDep", "caller_of", "current_caller", "metrics_operator", "state_of"]


def state_of(request: Any) -> ServiceState:
    """The :class:`ServiceState` of the app serving ``request``."""
    state: ServiceState = request.app.state.haybale
    return state


def caller_of(request: Any) -> Caller:
    """Authenticate ``request``; raises :class:`~haybale.service.auth.AuthError` (401/403)."""
    settings = state_of(request).settings
    return authenticate(
        settings.api_keys, request.headers.get("authorization"), request.headers.get(TENANT_HEADER)
    )


async def current_caller(request: Request) -> Caller:
    """FastAPI dependency: the authenticated caller of the request."""
    return caller_of(request)


async def metrics_operator(request: Request) -> None:
    """FastAPI dependency of ``/metrics``: only the operator's metrics key passes (see
    :func:`~haybale.service.auth.authorize_metrics`)."""
    settings = state_of(request).settings
    authorize_metrics(settings.api_keys, settings.metrics_api_key, request.headers.get("authorization"))


#: A route parameter holding the authenticated caller.
CallerDep = Annotated[Caller, Depends(current_caller)]
