"""The application layer shared by the ``haybale`` CLI and the service.

:class:`Settings` reads the configuration (environment variables, CLI options); :class:`Application` builds
from it, once and lazily, everything both fronts need: the document store, the embedders, the conversion
pipeline, the exactly-once :class:`~haybale.indexing.Indexer`, the hybrid query stack and the RAG pipeline.
A CLI command and an HTTP route doing the same thing run the same code.

Importing this package imports neither pydantic nor any model; its names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from haybale._lazy_exports import lazy_exports

if TYPE_CHECKING:
    from haybale.app.application import Application
    from haybale.app.settings import Settings

__all__ = ["Application", "Settings"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Application": "haybale.app.application",
        "Settings": "haybale.app.settings",
    },
)
