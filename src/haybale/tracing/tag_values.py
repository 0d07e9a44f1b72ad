"""Turning tag values into what tracing backends accept (strings, numbers, booleans)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["coerce_tag_value", "jsonable"]

_PRIMITIVES = (str, bool, int, float)


def jsonable(value: Any) -> Any:
    """``json.dumps`` fallback: sets sorted, objects through ``to_dict()``, anything else as ``repr``."""
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        try:
            return to_dict()
        except Exception:  # a to_dict that refuses (e.g. a token secret) falls back to repr
            return repr(value)
    return repr(value)


def coerce_tag_value(value: Any) -> str | bool | int | float:
    """A primitive stays as it is; anything else becomes JSON (objects via their ``to_dict()``), or ``repr``.

    Args:
        value: any tag value.

    Returns:
        A ``str``, ``bool``, ``int`` or ``float`` that every backend can store.
    """
    if value is None:
        return ""
    if isinstance(value, _PRIMITIVES):
        return value
    try:
        return json.dumps(value, default=jsonable, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)
