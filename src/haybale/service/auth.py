"""API keys with tenant scope.

Each configured API key belongs to one tenant. With keys configured, every route except ``/health`` needs
``Authorization: Bearer <key>``: a missing or unknown key is 401; a request that names another tenant than its
key's (the ``X-Haybale-Tenant`` header, or ``tenant`` in upload metadata) is 403. The caller's tenant then
scopes every store call of the request (:mod:`haybale.stores.tenant_scope`): each tenant's documents carry
``meta.tenant`` and no read, write or delete can reach another tenant's. Without keys there is no tenant.

``GET /metrics`` reports the whole service's activity, every tenant's, so it is the operator's: with a metrics
key configured (``HAYBALE_METRICS_API_KEY``) it needs that key and no other (:func:`authorize_metrics`); with
tenant keys but no metrics key it is refused; with neither it is open. The metrics key is no tenant key: every
other route refuses it like an unknown key.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from haybale.service.errors import ServiceError
from haybale.stores.tenant_scope import TENANT_META_KEY

__all__ = [
    "TENANT_HEADER",
    "TENANT_META_KEY",
    "AuthError",
    "Caller",
    "authenticate",
    "authorize_metrics",
    "check_tenant_claim",
    "take_tenant_claim",
]

TENANT_HEADER = "X-Haybale-Tenant"


class AuthError(ServiceError):
    """Authentication (401) or authorization (403) failed; the app turns it into ``{"detail": ...}``."""

    def __init__(self, status_code: int, detail: str) -> None:
        headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else None
        super().__init__(status_code, detail, headers=headers)


@dataclass(frozen=True)
class Caller:
    """Who is calling: the tenant of the API key, or None when the service runs without keys."""

    tenant: str | None


def _key_tenant(api_keys: dict[str, str], presented: str) -> str | None:
    # Compare every key in constant time so response timing does not reveal a key's prefix.
    found = None
    for key, tenant in api_keys.items():
        if hmac.compare_digest(key.encode(), presented.encode()):
            found = tenant
    return found


def authenticate(api_keys: dict[str, str], authorization: str | None, tenant_header: str | None) -> Caller:
    """Resolve the caller of a request.

    Args:
        api_keys: key -> tenant; empty means authentication is off.
        authorization: the ``Authorization`` header.
        tenant_header: the ``X-Haybale-Tenant`` header (optional; must match the key's tenant).

    Raises:
        AuthError: 401 for a missing, malformed or unknown key; 403 when the tenant header names another
            tenant.
    """
    if not api_keys:
        return Caller(tenant=None)
    token = _bearer_token(
        authorization,
        "Missing API key: send the header 'Authorization: Bearer <your API key>'.",
        "Malformed Authorization header: use 'Authorization: Bearer <your API key>'.",
    )
    tenant = _key_tenant(api_keys, token)
    if tenant is None:
        raise AuthError(401, "Invalid API key: it is not one of the keys configured for this service.")
    check_tenant_claim(Caller(tenant), tenant_header, f"the {TENANT_HEADER} header")
    return Caller(tenant=tenant)


def _bearer_token(authorization: str | None, missing: str, malformed: str) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; 401 with ``missing`` / ``malformed``."""
    if not authorization:
        raise AuthError(401, missing)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, malformed)
    return token.strip()


_SCRAPE_WITH = "scrape it with 'Authorization: Bearer <the key in HAYBALE_METRICS_API_KEY>'"


def authorize_metrics(api_keys: dict[str, str], metrics_key: str | None, authorization: str | None) -> None:
    """Let the operator read ``/metrics``, which reports every tenant's activity.

    Args:
        api_keys: tenant key -> tenant; empty means tenant authentication is off.
        metrics_key: the operator's metrics key (``HAYBALE_METRICS_API_KEY``); None: not configured.
        authorization: the ``Authorization`` header.

    Raises:
        AuthError: 403 when tenant keys are configured but no metrics key (metrics are then nobody's to read)
            or when a tenant key is presented; 401 for a missing, malformed or unknown key.
    """
    if metrics_key is None:
        if not api_keys:
            return  # no authentication at all: the service is open, /metrics too
        raise AuthError(
            403,
            "Forbidden: /metrics reports the activity of every tenant and is operator-only; tenant API keys "
            f"cannot read it. Set HAYBALE_METRICS_API_KEY on the service and {_SCRAPE_WITH}.",
        )
    token = _bearer_token(
        authorization,
        f"Missing metrics key: /metrics is operator-only; {_SCRAPE_WITH}.",
        f"Malformed Authorization header: /metrics is operator-only; {_SCRAPE_WITH}.",
    )
    if hmac.compare_digest(metrics_key.encode(), token.encode()):
        return
    if _key_tenant(api_keys, token) is not None:
        raise AuthError(
            403,
            "Forbidden: a tenant API key cannot read /metrics (it reports the activity of every tenant); "
            f"{_SCRAPE_WITH}.",
        )
    raise AuthError(401, f"Invalid metrics key: it is not the service's metrics key; {_SCRAPE_WITH}.")


def check_tenant_claim(caller: Caller, claimed: Any, where: str) -> None:
    """Refuse (403) a request that claims a tenant other than the caller's.

    Args:
        caller: the authenticated caller.
        claimed: the tenant the request names (None: it names none).
        where: where the claim was found, for the message.
    """
    if caller.tenant is None or claimed is None:
        return
    if str(claimed) != caller.tenant:
        raise AuthError(
            403,
            f"Forbidden: {where} names tenant {str(claimed)!r}, but your API key belongs to tenant "
            f"{caller.tenant!r}. A key can only read and write its own tenant's documents.",
        )


def take_tenant_claim(caller: Caller, metadata: dict[str, Any], where: str) -> None:
    """Check and remove the ``tenant`` an upload's metadata names (the store stamps the caller's own).

    ``tenant`` is reserved for tenant scoping: with a tenant key it must be the key's tenant (else 403); a
    caller without a tenant (no API keys, or the operator) cannot set it at all (422), since a document
    stored with a chosen tenant would belong to that tenant once keys are configured.
    """
    if TENANT_META_KEY not in metadata:
        return
    if caller.tenant is None:
        raise ServiceError(
            422,
            f"{where} has a {TENANT_META_KEY!r} field, which the service reserves for tenant scoping "
            "(a key's tenant is stored there). Nothing was stored. Rename the field (for example to "
            "'customer'), or configure API keys with tenants (HAYBALE_API_KEYS) to scope documents per "
            "tenant.",
        )
    check_tenant_claim(caller, metadata.get(TENANT_META_KEY), where)
    del metadata[TENANT_META_KEY]
