"""The haybale RAG service: a FastAPI app (``create_app``) served by ``haybale serve``.

Importing this package imports neither FastAPI nor any model: :func:`create_app` does, when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from haybale._lazy_exports import lazy_exports

if TYPE_CHECKING:
    from haybale.service.app import create_app
    from haybale.service.settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "create_app": "haybale.service.app",
        "ServiceSettings": "haybale.service.settings",
    },
)
