"""Cheap copies for copy-on-share isolation between components.

The pipeline never deep-copies every value on every hop. It copies only where a value is shared: a caller's
input handed to a component, an output fanned out to several receivers, an output that is also returned to the
caller. Those copies are *structural*: containers and dataclass instances are rebuilt, immutable leaves
(``str``, numbers, ``bytes``, tuples of those) are shared. Copiers are compiled once per declared socket type,
so a ``list[float]`` embedding is copied with one ``list.copy()`` instead of a per-element walk.
"""

from __future__ import annotations

import dataclasses
import enum
import types
from collections.abc import Callable
from typing import Annotated, Any, Final, Literal, TypeVar, get_args, get_origin, get_type_hints

from haybale.core.types import is_union

__all__ = ["ATOM_TYPES", "Copier", "copier_for_type", "copy_value"]

Copier = Callable[[Any], Any]

_ATOMS: Final[frozenset[type]] = frozenset(
    {str, int, float, bool, bytes, complex, type(None), range, types.FunctionType, types.BuiltinFunctionType}
)
#: Types whose values are immutable leaves: never copied.
ATOM_TYPES: Final = _ATOMS
_is_atom_type = _ATOMS.__contains__
_dataclass_copiers: dict[type, Copier] = {}


def _copy_list(value: list[Any]) -> list[Any]:
    if value and _is_atom_type(type(value[0])) and all(map(_is_atom_type, map(type, value))):
        return value.copy()
    return [copy_value(item) for item in value]


def copy_value(value: Any) -> Any:  # noqa: PLR0911 - dispatch on the value's type, one return per kind
    """Return a copy of ``value`` that shares nothing mutable with it (immutable leaves are shared).

    Dataclass instances are rebuilt field by field; unknown objects fall back to ``copy.deepcopy`` and, when
    they cannot be copied at all (locks, connections), are shared as they are.
    """
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is list:
        return _copy_list(value)
    if kind is dict:
        return {key: copy_value(item) for key, item in value.items()}
    if kind is tuple:
        if all(map(_is_atom_type, map(type, value))):
            return value
        return tuple(copy_value(item) for item in value)
    if kind is set:
        return set(value)
    if kind is frozenset or isinstance(value, enum.Enum | type | types.ModuleType):
        return value
    if dataclasses.is_dataclass(kind):
        return _dataclass_copier(kind)(value)
    return _deepcopy_or_share(value)


def _deepcopy_or_share(value: Any) -> Any:
    import copy

    try:
        return copy.deepcopy(value)
    except Exception:
        return value


def _dataclass_copier(cls: type) -> Copier:
    cached = _dataclass_copiers.get(cls)
    if cached is not None:
        return cached

    def late(value: Any) -> Any:  # stands in while the field copiers compile (recursive types)
        return _dataclass_copiers[cls](value)

    _dataclass_copiers[cls] = late
    try:
        hints = get_type_hints(cls)
    except Exception:
        hints = {}
    has_dict = "__slots__" not in cls.__dict__
    field_copiers = tuple(
        (f.name, copier_for_type(hints.get(f.name, Any)) or _identity) for f in dataclasses.fields(cls)
    )
    needed = tuple((name, fn) for name, fn in field_copiers if fn is not _identity)

    def copy_dataclass(value: Any) -> Any:
        if type(value) is not cls or not has_dict:
            return _deepcopy_or_share(value)
        clone = object.__new__(cls)
        state = value.__dict__.copy()
        for name, fn in needed:
            if name in state:
                state[name] = fn(state[name])
        clone.__dict__.update(state)
        return clone

    _dataclass_copiers[cls] = copy_dataclass
    return copy_dataclass


def _identity(value: Any) -> Any:
    return value


def _list_copier(element: Copier | None) -> Copier:
    if element is None:
        return lambda v: v.copy() if type(v) is list else copy_value(v)
    return lambda v: [element(x) for x in v] if type(v) is list else copy_value(v)


def _dict_copier(element: Copier | None) -> Copier:
    if element is None:
        return lambda v: v.copy() if type(v) is dict else copy_value(v)
    return lambda v: {k: element(x) for k, x in v.items()} if type(v) is dict else copy_value(v)


def _optional_copier(inner: Copier) -> Copier:
    return lambda v: None if v is None else inner(v)


def copier_for_type(tp: Any) -> Copier | None:  # noqa: PLR0911 - dispatch on the declared type
    """Compile a copier for values of declared type ``tp``; None means values are immutable (no copy).

    The copier trusts the declaration only as far as it can check it cheaply (``type(v) is list``); anything
    else goes through :func:`copy_value`.
    """
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if tp is Any or isinstance(tp, TypeVar):
        return copy_value
    if tp in _ATOMS or get_origin(tp) is Literal:
        return None
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return None
    origin = get_origin(tp)
    if is_union(tp):
        members = [m for m in get_args(tp) if m is not type(None)]
        if len(members) == 1:
            inner = copier_for_type(members[0])
            return None if inner is None else _optional_copier(inner)
        if all(copier_for_type(m) is None for m in members):
            return None
        return copy_value
    if origin is list:
        args = get_args(tp)
        return _list_copier(copier_for_type(args[0]) if args else copy_value)
    if origin is dict:
        args = get_args(tp)
        return _dict_copier(copier_for_type(args[1]) if len(args) == 2 else copy_value)
    if origin is tuple:
        elements = [a for a in get_args(tp) if a is not Ellipsis]
        if elements and all(copier_for_type(a) is None for a in elements):
            return None
        return copy_value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        dc_copier = _dataclass_copier(tp)
        return lambda v: dc_copier(v) if type(v) is tp else copy_value(v)
    return copy_value
