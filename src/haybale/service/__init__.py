"""The haybale RAG service: a FastAPI app (``create_app``) served by ``haybale serve``.

Importing this package imports neither FastAPI nor any model: :func:`create_app` does, when called.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "create_app": "haybale.service.app",
    "ServiceSettings": "haybale.service.settings",
}

__all__ = ["ServiceSettings", "create_app"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'haybale.service' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
