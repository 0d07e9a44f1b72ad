"""How a retriever combines its init-time filters with the filters given at run time."""

from __future__ import annotations

from enum import Enum
from typing import Any

from haybale.errors import ComponentError

__all__ = ["FilterPolicy", "apply_filter_policy"]


class FilterPolicy(str, Enum):
    """``replace``: run-time filters, when given, replace the init-time ones (default).
    ``merge``: both apply (their AND); either alone applies when the other is None."""

    REPLACE = "replace"
    MERGE = "merge"

    @classmethod
    def parse(cls, value: Any, where: str) -> FilterPolicy:
        """Accept a FilterPolicy or its string value; raise ComponentError naming ``where`` otherwise."""
        try:
            return value if isinstance(value, FilterPolicy) else cls(value)
        except ValueError:
            raise ComponentError(
                f"{where}: unknown filter_policy {value!r}; use one of {[p.value for p in cls]}."
            ) from None


def apply_filter_policy(
    policy: FilterPolicy, init_filters: dict[str, Any] | None, runtime_filters: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The filters a retrieval runs with, given the init-time and run-time filters."""
    if policy is FilterPolicy.REPLACE or not init_filters:
        return runtime_filters if runtime_filters is not None else init_filters
    if not runtime_filters:
        return init_filters
    return {"operator": "AND", "conditions": [init_filters, runtime_filters]}
