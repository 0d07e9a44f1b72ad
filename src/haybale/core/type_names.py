"""Types as strings: serialize a type annotation to text and resolve it back without ``eval``.

Used by components whose init parameters are types (``BranchJoiner(type_)``, ``ListJoiner(list_type_)``,
``ConditionalRouter`` output types). ``type_to_string(list[Document])`` gives
``"list[haybale.dataclasses.document.Document]"``; :func:`type_from_string` parses such text with :mod:`ast`,
accepts only names, dotted paths, subscripts and ``|`` unions, and imports dotted classes through the
allow-list of :func:`haybale.core.serialization.import_class` (``haybale.*`` plus what the caller allows).
"""

from __future__ import annotations

import ast
import builtins
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from haybale.core.serialization import import_class
from haybale.errors import DeserializationError, SerializationError

__all__ = ["type_from_string", "type_to_string"]

_BUILTIN_TYPES: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in (
        "str",
        "int",
        "float",
        "bool",
        "bytes",
        "dict",
        "list",
        "tuple",
        "set",
        "frozenset",
        "object",
    )
}
_TYPING_NAMES: dict[str, Any] = {
    "Any": Any,
    "Optional": typing.Optional,
    "Union": Union,
    "Literal": Literal,
    "List": list,
    "Dict": dict,
    "Tuple": tuple,
    "Set": set,
}


def type_to_string(tp: Any) -> str:  # noqa: PLR0911 - one return per kind of annotation reads best
    """Render ``tp`` as text that :func:`type_from_string` turns back into an equal type.

    Raises:
        SerializationError: for annotations that cannot be expressed (callables, type variables, ...).
    """
    if tp is None or tp is type(None):
        return "None"
    if tp is Any:
        return "typing.Any"
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        return " | ".join(type_to_string(arg) for arg in args)
    if origin is Literal:
        return f"typing.Literal[{', '.join(repr(arg) for arg in args)}]"
    if origin is not None and args:
        return f"{type_to_string(origin)}[{', '.join(type_to_string(arg) for arg in args)}]"
    if isinstance(tp, type):
        if tp.__module__ == "builtins":
            return tp.__name__
        if "<locals>" in tp.__qualname__:
            raise SerializationError(
                f"Type {tp.__qualname__} is defined inside a function and cannot be serialized by name; "
                "define it at module level."
            )
        return f"{tp.__module__}.{tp.__qualname__}"
    raise SerializationError(
        f"Cannot serialize the type annotation {tp!r}; use classes, generics and unions."
    )


def _resolve(node: ast.expr, text: str) -> Any:  # noqa: PLR0911 - one return per allowed AST node kind
    if isinstance(node, ast.Constant):
        if node.value is None:
            return type(None)
        return node.value  # only meaningful inside Literal[...]
    if isinstance(node, ast.Name):
        if node.id in _BUILTIN_TYPES:
            return _BUILTIN_TYPES[node.id]
        if node.id in _TYPING_NAMES:
            return _TYPING_NAMES[node.id]
        raise DeserializationError(
            f"Unknown type name {node.id!r} in {text!r}. Use builtins (str, int, list, ...), typing names, "
            "or a full dotted path such as 'haybale.dataclasses.Document'."
        )
    if isinstance(node, ast.Attribute):
        dotted = ast.unparse(node)
        if dotted.startswith("typing."):
            name = dotted[len("typing.") :]
            if name in _TYPING_NAMES:
                return _TYPING_NAMES[name]
            raise DeserializationError(f"Unsupported typing name {dotted!r} in {text!r}.")
        return import_class(dotted)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return Union[_resolve(node.left, text), _resolve(node.right, text)]  # noqa: UP007
    if isinstance(node, ast.Subscript):
        origin = _resolve(node.value, text)
        elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        args = tuple(_resolve(element, text) for element in elements)
        try:
            return origin[args if len(args) > 1 else args[0]]
        except TypeError as error:
            raise DeserializationError(
                f"Invalid generic {ast.unparse(node)!r} in {text!r}: {error}"
            ) from error
    raise DeserializationError(
        f"Unsupported syntax {ast.unparse(node)!r} in type {text!r}: only names, dotted paths, [..] and | "
        "are allowed."
    )


def type_from_string(text: str) -> Any:
    """Resolve text produced by :func:`type_to_string` (or written by hand) into a type; never evaluates code.

    Raises:
        DeserializationError: malformed text, unknown names, or a dotted path outside the allow-list.
    """
    if not isinstance(text, str) or not text.strip():
        raise DeserializationError(f"A type must be given as a non-empty string, got {text!r}.")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise DeserializationError(f"Cannot parse type {text!r}: {error.msg}.") from error
    return _resolve(tree.body, text)
