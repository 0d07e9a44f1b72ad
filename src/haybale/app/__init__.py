"""The application layer shared by the ``haybale`` CLI and the service.

:class:`Settings` reads the configuration (environment variables, CLI options); :class:`Application` builds
from it, once and lazily, everything both fronts need: the document store, the embedders, the conversion
pipeline, the exactly-once :class:`~haybale.indexing.Indexer`, the hybrid query stack and the RAG pipeline.
A CLI command and an HTTP route doing the same thing run the same code.

Importing this package imports neither pydantic nor any model; its names load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Application": "haybale.app.application",
    "Settings": "haybale.app.settings",
}

__all__ = ["Application", "Settings"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'haybale.app' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
