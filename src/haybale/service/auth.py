"""API keys with tenant scope.

Each configured API key belongs to one tenant. With keys configured, every route except ``/health`` needs
``Authorization: Bearer <key>``: a missing or unknown key is 401; a request that names another tenant than its
key's (the ``X-Haybale-Tenant`` header, or ``tenant`` in upload metadata) is 403. The caller's tenant then
scopes every store call of the request (:mod:`haybale.stores.tenant_scope`): each tenant's documents carry
``meta.tenant`` and no read, write or delete can reach another tenant's. Without keys there is no tenant.
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
    "check_tenant_claim",
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
    if not authorization:
        raise AuthError(401, "Missing API key: send the header 'Authorization: Bearer <your API key>'.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "Malformed Authorization header: use 'Authorization: Bearer <your API key>'.")
    tenant = _key_tenant(api_keys, token.strip())
    if tenant is None:
        raise AuthError(401, "Invalid API key: it is not one of the keys configured for this service.")
    check_tenant_claim(Caller(tenant), tenant_header, f"the {TENANT_HEADER} header")
    return Caller(tenant=tenant)


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
