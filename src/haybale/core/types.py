"""Connection type compatibility: which output may feed which input, and the only conversion allowed.

A connection is accepted when every value the sender may produce is a valid value for the receiver:
``int`` into ``int | None`` is fine; ``int | None`` into ``int`` is not; ``list[Document]`` into ``Document``
is refused (it would silently drop all but one element). ``Any`` on either side is accepted. Generics are
compared by origin (a subclass origin is fine: ``list[int]`` into ``Sequence[int]``) and then argument by
argument. The one conversion haybale applies is lossless: a ``T`` feeding a ``list[T]`` input is wrapped
into a one-element list.
"""

from __future__ import annotations

import collections.abc
import types
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

__all__ = ["find_conversion", "is_union", "types_compatible", "value_checker", "wrap_in_list"]


def _strip(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if isinstance(tp, TypeVar):
        return Any
    return tp


def is_union(tp: Any) -> bool:
    """True for ``A | B`` and ``Union[A, B]`` (``Optional[A]`` included)."""
    origin = get_origin(tp)
    return origin is Union or origin is types.UnionType


def _origin_compatible(sender: type, receiver: type) -> bool:
    if receiver is object or issubclass(sender, receiver):
        return True
    numeric_tower = {float: (int,), complex: (int, float)}
    return sender is not bool and sender in numeric_tower.get(receiver, ())


def _args_compatible(sender: Any, receiver: Any, s_origin: type) -> bool:
    s_args, r_args = get_args(sender), get_args(receiver)
    if not s_args or not r_args:
        return True  # a bare generic (``list``) says nothing about its elements
    if s_origin is tuple or get_origin(receiver) is tuple:
        if len(r_args) == 2 and r_args[1] is Ellipsis:
            elements = s_args[:1] if len(s_args) == 2 and s_args[1] is Ellipsis else s_args
            return all(types_compatible(s, r_args[0]) for s in elements)
        if len(s_args) != len(r_args) or Ellipsis in s_args:
            return False
    if isinstance(s_args[0], list) or isinstance(r_args[0], list):  # Callable[[...], R]
        return bool(sender == receiver)
    if len(s_args) != len(r_args):
        return False
    return all(types_compatible(s, r) for s, r in zip(s_args, r_args, strict=True))


def types_compatible(sender: Any, receiver: Any) -> bool:  # noqa: PLR0911 - a decision table, one return per rule
    """True when every value of type ``sender`` is acceptable as a ``receiver`` value (no conversion)."""
    sender, receiver = _strip(sender), _strip(receiver)
    if sender is Any or receiver is Any or sender == receiver:
        return True
    if is_union(sender):
        return all(types_compatible(member, receiver) for member in get_args(sender))
    if is_union(receiver):
        return any(types_compatible(sender, member) for member in get_args(receiver))
    if get_origin(sender) is Literal:
        if get_origin(receiver) is Literal:
            return set(get_args(sender)) <= set(get_args(receiver))
        return all(types_compatible(type(value), receiver) for value in get_args(sender))
    if get_origin(receiver) is Literal:
        return False
    if sender is None:
        sender = type(None)
    if receiver is None:
        receiver = type(None)
    s_origin = get_origin(sender) or sender
    r_origin = get_origin(receiver) or receiver
    if r_origin is collections.abc.Callable and callable(sender) and s_origin is collections.abc.Callable:
        return _args_compatible(sender, receiver, s_origin)
    if not isinstance(s_origin, type) or not isinstance(r_origin, type):
        return False
    if not _origin_compatible(s_origin, r_origin):
        return False
    return _args_compatible(sender, receiver, s_origin)


def wrap_in_list(value: Any) -> list[Any]:
    """The ``T`` into ``list[T]`` conversion."""
    return [value]


def find_conversion(sender: Any, receiver: Any) -> Callable[[Any], Any] | None:
    """Return the lossless conversion that lets ``sender`` feed ``receiver``, or None when there is none.

    Only call this after :func:`types_compatible` said no.
    """
    receiver = _strip(receiver)
    members = get_args(receiver) if is_union(receiver) else (receiver,)
    for raw_member in members:
        member = _strip(raw_member)
        if get_origin(member) is list:
            args = get_args(member)
            if args and types_compatible(sender, args[0]) and _strip(sender) is not Any:
                return wrap_in_list
    return None


_NUMBER_ABCS: dict[type, str] = {int: "Integral", float: "Real", complex: "Complex"}
_SEQUENCE_ORIGINS: tuple[type, ...] = (
    list,
    collections.abc.Sequence,
    collections.abc.MutableSequence,
    collections.abc.Iterable,
    collections.abc.Collection,
)


def _class_check(cls: type) -> Callable[[Any], bool] | None:
    if cls is object:
        return None
    if cls in _NUMBER_ABCS:
        import numbers

        abc = getattr(numbers, _NUMBER_ABCS[cls])
        # the exact type first: an ABC's isinstance is slow, and these checks run on every run() input
        return lambda value: type(value) is cls or isinstance(value, abc)
    if cls in _SEQUENCE_ORIGINS:
        # lenient on purpose: tuples, numpy arrays and other sequences are accepted; a bare string is not
        return lambda value: (
            not isinstance(value, str | bytes | dict) and isinstance(value, collections.abc.Iterable)
        )
    try:
        isinstance(None, cls)
    except TypeError:  # a non-runtime-checkable protocol or an exotic typing construct
        return None
    return lambda value: isinstance(value, cls)


def value_checker(tp: Any) -> Callable[[Any], bool] | None:  # noqa: PLR0911 - one return per kind of type
    """Compile a cheap, shallow check that a value given for a socket of type ``tp`` is plausible.

    Only the outer type is checked (a ``list[Document]`` socket accepts any list-like value, without looking
    at its elements), and numbers follow the numeric tower (``int`` and numpy scalars are fine for ``float``).
    Returns None when every value is accepted (``Any``, type variables, types that cannot be checked at
    runtime).
    """
    tp = _strip(tp)
    if tp is Any:
        return None
    if tp is None or tp is type(None):
        return lambda value: value is None
    if is_union(tp):
        checks = [value_checker(member) for member in get_args(tp)]
        if any(check is None for check in checks):
            return None
        members = tuple(c for c in checks if c is not None)
        return lambda value: any(check(value) for check in members)
    origin = get_origin(tp)
    if origin is Literal:
        allowed = get_args(tp)
        return lambda value: value in allowed
    target = origin if origin is not None else tp
    if not isinstance(target, type):
        return None
    return _class_check(target)
