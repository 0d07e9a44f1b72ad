"""haybale.testing: shipped test helpers (the document store conformance suite, sample components).

Importing this package never imports pytest; the conformance suite (which needs pytest) loads on first use of
``haybale.testing.DocumentStoreConformance``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from haybale._lazy_exports import lazy_exports

if TYPE_CHECKING:
    from haybale.testing.document_store_conformance import DocumentStoreConformance
    from haybale.testing.filter_cases import FILTER_CASES, INVALID_FILTERS, filter_corpus

__all__ = ["FILTER_CASES", "INVALID_FILTERS", "DocumentStoreConformance", "filter_corpus"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "DocumentStoreConformance": "haybale.testing.document_store_conformance",
        "FILTER_CASES": "haybale.testing.filter_cases",
        "INVALID_FILTERS": "haybale.testing.filter_cases",
        "filter_corpus": "haybale.testing.filter_cases",
    },
)
