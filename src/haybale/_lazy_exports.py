"""One way for a package to export names that load on first use (so importing it stays cheap).

A package lists what it exports and where each name lives, and imports the same names under
``TYPE_CHECKING`` so type checkers and IDEs see the real classes::

    from typing import TYPE_CHECKING
    from haybale._lazy_exports import lazy_exports

    if TYPE_CHECKING:
        from haybale.stores.sqlite import SQLiteDocumentStore

    __all__ = ["SQLiteDocumentStore"]
    __getattr__, __dir__ = lazy_exports(__name__, {"SQLiteDocumentStore": "haybale.stores.sqlite"})

The first access imports the module and caches the value in the package, so later accesses cost nothing.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package`` for its lazily loaded ``exports``.

    Args:
        package: the package's ``__name__``.
        exports: exported name -> the module that defines it.
    """
    table = dict(exports)

    def __getattr__(name: str) -> Any:
        where = table.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        module = sys.modules[package]
        return sorted({*vars(module), *table})

    return __getattr__, __dir__
