"""Tool: a function a chat model may call, described by a name, a description and a JSON schema."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from haybale.errors import ComponentError, DeserializationError, SerializationError

__all__ = ["Tool", "deserialize_tools", "serialize_tools"]

_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass
class Tool:
    """A callable the model can request, plus what the model sees of it.

    Args:
        name: the name the model calls it by (letters, digits, ``_`` and ``-``; at most 64 characters, as the
            OpenAI API requires).
        description: what the tool does; the model reads it to decide when to call it.
        parameters: JSON schema (``{"type": "object", "properties": {...}, "required": [...]}``) of the
            arguments the model must pass.
        function: called with the model's arguments as keyword arguments.
        inputs_from_state: agent state keys passed to the function, ``{state_key: parameter_name}``; those
            parameters are filled by the :class:`~haybale.components.agents.Agent`, not by the model.
        outputs_to_state: where an agent writes the result, ``{state_key: result_key}``; ``result_key``
            picks a key of a dict result, or the whole result when it is ``""``.

    Raises:
        ComponentError: on an invalid name, a non-object schema or a non-callable function.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[..., Any]
    inputs_from_state: dict[str, str] = field(default_factory=dict)
    outputs_to_state: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _TOOL_NAME.match(self.name):
            raise ComponentError(
                f"Invalid tool name {self.name!r}: use 1-64 letters, digits, '_' or '-' (the OpenAI API "
                "rejects anything else)."
            )
        if not isinstance(self.parameters, dict) or self.parameters.get("type") != "object":
            raise ComponentError(
                f"Tool {self.name!r}: `parameters` must be a JSON schema of type 'object', e.g. "
                "{'type': 'object', 'properties': {'city': {'type': 'string'}}, 'required': ['city']}; "
                f"got {self.parameters!r}."
            )
        if not callable(self.function):
            raise ComponentError(f"Tool {self.name!r}: `function` must be callable, got {self.function!r}.")

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        name: str | None = None,
        description: str | None = None,
        inputs_from_state: dict[str, str] | None = None,
        outputs_to_state: dict[str, str] | None = None,
    ) -> Tool:
        """Create a Tool from a typed function; see :func:`haybale.tools.create_tool_from_function`."""
        from haybale.tools.from_function import create_tool_from_function

        return create_tool_from_function(function, name, description, inputs_from_state, outputs_to_state)

    def invoke(self, **arguments: Any) -> Any:
        """Call the function with ``arguments`` and return its result (exceptions propagate)."""
        return self.function(**arguments)

    @property
    def tool_spec(self) -> dict[str, Any]:
        """The tool in the OpenAI ``tools`` wire format."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def to_dict(self) -> dict[str, Any]:
        """Serialize; the function is stored as its import path.

        Raises:
            SerializationError: for lambdas and nested functions, which cannot be imported back.
        """
        return {
            "type": f"{type(self).__module__}.{type(self).__qualname__}",
            "data": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
                "function": serialize_callable(self.function, where=f"tool {self.name!r}"),
                "inputs_from_state": dict(self.inputs_from_state),
                "outputs_to_state": dict(self.outputs_to_state),
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tool:
        """Build from :meth:`to_dict` output."""
        body = dict(data.get("data", data))
        body["function"] = deserialize_callable(body["function"], where=f"tool {body.get('name')!r}")
        return cls(**body)


def serialize_callable(function: Callable[..., Any], where: str) -> str:
    """Return ``module.qualname`` of an importable function.

    Raises:
        SerializationError: for lambdas, nested functions and objects without an import path.
    """
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    wrapped = getattr(function, "__wrapped__", None)
    if (module is None or qualname is None) and wrapped is not None:
        return serialize_callable(wrapped, where)
    if module is None or qualname is None or "<" in qualname:
        raise SerializationError(
            f"Cannot serialize the function of {where}: {function!r} has no import path (lambdas and nested "
            "functions cannot be saved). Define it at module level."
        )
    return f"{module}.{qualname}"


def deserialize_callable(path: str, where: str) -> Callable[..., Any]:
    """Import a function from ``module.qualname``, only from allow-listed modules (as for component types).

    Raises:
        DeserializationError: when the path is not allow-listed, or the module or attribute cannot be found or
            is not callable.
    """
    from haybale.core.serialization import ALLOWED_MODULES_ENV_VAR, allowed_modules

    prefixes = allowed_modules()
    if not isinstance(path, str) or not any(path == p or path.startswith(p + ".") for p in prefixes):
        module = str(path).rsplit(".", 1)[0]
        raise DeserializationError(
            f"The function {path!r} of {where} is not allow-listed, so it was not imported. Allowed module "
            f"prefixes: {list(prefixes)}. If you trust it, pass allowed_modules=['{module}'] when loading,"
            f" or set {ALLOWED_MODULES_ENV_VAR}={module}."
        )
    parts = path.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module_name, attributes = ".".join(parts[:split]), parts[split:]
        try:
            target: Any = importlib.import_module(module_name)
        except ImportError:
            continue
        try:
            for attribute in attributes:
                target = getattr(target, attribute)
        except AttributeError:
            break
        if isinstance(target, Tool):  # a function decorated with @tool: its module attribute is the Tool
            return target.function
        if callable(target):
            return target  # type: ignore[no-any-return]
        break
    raise DeserializationError(
        f"Cannot load the function {path!r} of {where}: no importable callable has that path. Check the "
        "module is installed and the function is defined at module level."
    )


def serialize_tools(tools: list[Tool] | None) -> list[dict[str, Any]] | None:
    """Serialize a list of tools (or None)."""
    return None if tools is None else [t.to_dict() for t in tools]


def deserialize_tools(data: list[dict[str, Any]] | None) -> list[Tool] | None:
    """Load tools serialized by :func:`serialize_tools`; ComponentTools load through the core allow-list."""
    if data is None:
        return None
    from haybale.core.serialization import deserialize_object

    plain = f"{Tool.__module__}.{Tool.__qualname__}"
    tools: list[Tool] = []
    for item in data:
        if item.get("type", plain) == plain:
            tools.append(Tool.from_dict(item))
            continue
        # Tool subclasses (ComponentTool, ...) load through the core allow-list by their own type name.
        loaded = deserialize_object(item)
        if not isinstance(loaded, Tool):
            raise DeserializationError(
                f"A tool entry names {item.get('type')!r}, which is not a Tool; tools must be Tool instances."
            )
        tools.append(loaded)
    return tools
