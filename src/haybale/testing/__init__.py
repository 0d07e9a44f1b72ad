"""haybale.testing: shipped test helpers (the document store conformance suite, sample components).

Importing this package never imports pytest; the conformance suite (which needs pytest) loads on first use of
``haybale.testing.DocumentStoreConformance``.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "DocumentStoreConformance": "haybale.testing.document_store_conformance",
    "FILTER_CASES": "haybale.testing.filter_cases",
    "INVALID_FILTERS": "haybale.testing.filter_cases",
    "filter_corpus": "haybale.testing.filter_cases",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'haybale.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
