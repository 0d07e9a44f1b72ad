"""Build a :class:`Tool` from a typed function: the JSON schema comes from its signature and docstring."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, overload

from haybale.errors import ComponentError
from haybale.tools.tool import Tool

__all__ = ["create_tool_from_function", "parse_google_docstring", "python_type_to_json_schema", "tool"]

_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?|Notes?)\s*:\s*$")
_ARG_LINE = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def parse_google_docstring(docstring: str | None) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its description and ``{argument: description}``."""
    if not docstring:
        return "", {}
    lines = inspect.cleandoc(docstring).splitlines()
    summary: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    arg_indent: int | None = None
    for line in lines:
        header = _SECTION.match(line)
        if header:
            section, current, arg_indent = header.group(1), None, None
            continue
        if section is None:
            summary.append(line)
            continue
        if section not in ("Args", "Arguments", "Parameters") or not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        match = _ARG_LINE.match(line)
        if match and (arg_indent is None or indent <= arg_indent):
            arg_indent = indent
            current = match.group(1).lstrip("*")
            args[current] = match.group(2).strip()
        elif current is not None:
            args[current] = f"{args[current]} {line.strip()}".strip()
    return "\n".join(summary).strip(), args


def python_type_to_json_schema(annotation: Any, where: str) -> dict[str, Any]:  # noqa: PLR0911 - one per kind
    """Map a Python type annotation to a JSON schema fragment.

    Supports str, int, float, bool, None, list/tuple/set/dict (with item types), Optional/Union, Literal,
    Enum and dataclasses.

    Raises:
        ComponentError: for types without a JSON representation, naming ``where``.
    """
    simple: dict[Any, dict[str, Any]] = {
        str: {"type": "string"},
        int: {"type": "integer"},
        float: {"type": "number"},
        bool: {"type": "boolean"},
        type(None): {"type": "null"},
        Any: {},
    }
    if annotation in simple:
        return dict(simple[annotation])
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (Union, types.UnionType):
        return {"anyOf": [python_type_to_json_schema(a, where) for a in args]}
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple, set, frozenset):
        schema: dict[str, Any] = {"type": "array"}
        if args:
            schema["items"] = python_type_to_json_schema(args[0], where)
        return schema
    if origin is dict or annotation is dict:
        schema = {"type": "object"}
        if len(args) == 2:
            schema["additionalProperties"] = python_type_to_json_schema(args[1], where)
        return schema
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"enum": [member.value for member in annotation]}
    if isinstance(annotation, type) and callable(getattr(annotation, "from_dict", None)):
        # Classes with their own wire form (Document, ChatMessage, ...): the model sends that JSON object.
        return {
            "type": "object",
            "description": f"a {annotation.__name__} as JSON (the shape of {annotation.__name__}.to_dict())",
        }
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        hints = get_type_hints(annotation)
        props = {
            f.name: python_type_to_json_schema(hints[f.name], where) for f in dataclasses.fields(annotation)
        }
        required = [
            f.name
            for f in dataclasses.fields(annotation)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        return {"type": "object", "properties": props, "required": required}
    raise ComponentError(
        f"Cannot derive a JSON schema for {where}: type {annotation!r} has no JSON form. Use str, int, "
        "float, bool, list[...], dict[str, ...], Literal[...], an Enum or a dataclass, or pass `parameters` "
        "explicitly."
    )


def create_tool_from_function(
    function: Callable[..., Any],
    name: str | None = None,
    description: str | None = None,
    inputs_from_state: dict[str, str] | None = None,
    outputs_to_state: dict[str, str] | None = None,
) -> Tool:
    """Create a :class:`Tool` from a typed function.

    The name defaults to the function's name and the description to its docstring summary. Each parameter
    becomes a property of the schema, typed from its annotation and described from the docstring's ``Args:``
    section; parameters without a default are required. Parameters filled from agent state
    (``inputs_from_state`` values) are left out of the schema.

    Raises:
        ComponentError: when a parameter has no type annotation or a type without a JSON form.
    """
    tool_name = name or function.__name__
    summary, arg_docs = parse_google_docstring(inspect.getdoc(function))
    try:
        hints = typing.get_type_hints(function)
    except (NameError, TypeError) as error:
        raise ComponentError(f"Cannot read the type hints of {tool_name!r}: {error}.") from error
    hidden = set((inputs_from_state or {}).values())
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in inspect.signature(function).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or param.name in hidden:
            continue
        if param.name not in hints:
            raise ComponentError(
                f"Cannot build tool {tool_name!r}: parameter {param.name!r} has no type annotation. Annotate "
                f"it (e.g. `{param.name}: str`) so the model knows what to pass."
            )
        prop = python_type_to_json_schema(
            hints[param.name], f"parameter {param.name!r} of tool {tool_name!r}"
        )
        if param.name in arg_docs:
            prop["description"] = arg_docs[param.name]
        if param.default is param.empty:
            required.append(param.name)
        properties[param.name] = prop
    parameters: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    return Tool(
        name=tool_name,
        description=description or summary or tool_name,
        parameters=parameters,
        function=function,
        inputs_from_state=dict(inputs_from_state or {}),
        outputs_to_state=dict(outputs_to_state or {}),
    )


@overload
def tool(function: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    inputs_from_state: dict[str, str] | None = None,
    outputs_to_state: dict[str, str] | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    inputs_from_state: dict[str, str] | None = None,
    outputs_to_state: dict[str, str] | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Decorator turning a typed function into a :class:`Tool`: ``@tool`` or ``@tool(name=...)``.

    The decorated name is bound to the Tool; the original function stays callable as ``tool.function``. The
    Tool serializes by the module path of that name and loads back the Tool's function.
    """

    def wrap(fn: Callable[..., Any]) -> Tool:
        return create_tool_from_function(fn, name, description, inputs_from_state, outputs_to_state)

    return wrap(function) if function is not None else wrap
