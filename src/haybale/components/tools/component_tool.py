"""ComponentTool: expose a component (or a whole pipeline) to a chat model as a tool."""

from __future__ import annotations

import inspect
import re
import threading
import types
from typing import Any, Union, get_args, get_origin

from haybale.core.component import get_input_sockets, is_component
from haybale.core.serialization import deserialize_object
from haybale.errors import ComponentError, DeserializationError
from haybale.tools.from_function import python_type_to_json_schema
from haybale.tools.tool import Tool

__all__ = ["ComponentTool", "input_schema"]

# Inputs a model should never fill: they configure the run, not the question.
_HIDDEN_INPUTS = frozenset({"streaming_callback", "generation_kwargs", "tools"})


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z][a-z])", r"_\1\2", name).lower()


def _convert_argument(value: Any, annotation: Any) -> Any:
    """Rebuild data classes (Document, ChatMessage, ...) from the JSON objects the model sent."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        for option in get_args(annotation):
            if option is not type(None):
                return _convert_argument(value, option)
        return value
    if origin in (list, tuple, set) and isinstance(value, list):
        args = get_args(annotation)
        return [_convert_argument(item, args[0]) for item in value] if args else value
    from_dict = getattr(annotation, "from_dict", None) if isinstance(annotation, type) else None
    if callable(from_dict) and isinstance(value, dict):
        return from_dict(value)
    return value


def _is_pipeline(candidate: Any) -> bool:
    from haybale.core.pipeline import Pipeline

    return isinstance(candidate, Pipeline)


def _tool_inputs(target: Any, is_pipeline: bool) -> list[tuple[str, Any, bool]]:
    """``(name, type, mandatory)`` of the inputs a caller can give a component or a pipeline."""
    if not is_pipeline:
        found: list[tuple[str, Any, bool]] = []
        for socket in get_input_sockets(target).values():
            socket_type: Any = socket.type
            found.append(
                (socket.name, list[socket_type] if socket.is_variadic else socket_type, socket.is_mandatory)
            )
        return found
    merged: dict[str, tuple[Any, bool]] = {}
    for sockets in target.inputs().values():
        for socket_name, info in sockets.items():
            known_type, mandatory = merged.get(socket_name, (info["type"], False))
            merged[socket_name] = (known_type, mandatory or bool(info["is_mandatory"]))
    return [(name, tp, mandatory) for name, (tp, mandatory) in merged.items()]


def input_schema(
    target: Any, tool_name: str, hidden: set[str] | frozenset[str] = frozenset()
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON schema of the inputs a caller gives a component or pipeline, and the Python type of each.

    Each input becomes a property, typed from its socket (a pipeline's free inputs by name: one value reaches
    every component input of that name); mandatory inputs are required. Inputs in ``hidden``, those that
    configure a run (``streaming_callback``, ``generation_kwargs``, ``tools``) and optional inputs whose type
    has no JSON form are left out.

    Raises:
        ComponentError: a mandatory input has a type without a JSON form.
    """
    properties: dict[str, Any] = {}
    required: list[str] = []
    annotations: dict[str, Any] = {}
    for socket_name, socket_type, mandatory in _tool_inputs(target, _is_pipeline(target)):
        if socket_name in hidden or socket_name in _HIDDEN_INPUTS or socket_name in properties:
            continue
        where = f"input {socket_name!r} of component tool {tool_name!r}"
        try:
            properties[socket_name] = python_type_to_json_schema(socket_type, where)
        except ComponentError:
            if mandatory:
                raise
            continue  # an optional input the model cannot express: leave it to its default
        annotations[socket_name] = socket_type
        if mandatory:
            required.append(socket_name)
    return {"type": "object", "properties": properties, "required": required}, annotations


def _first_paragraph(doc: str | None) -> str:
    text = inspect.cleandoc(doc or "")
    return text.split("\n\n", 1)[0].replace("\n", " ").strip()


class ComponentTool(Tool):
    """A component, or a whole :class:`~haybale.core.pipeline.Pipeline`, wrapped as a :class:`Tool`.

    The JSON schema is derived from the component's input sockets (for a pipeline: its free inputs, by name,
    each value reaching every component input of that name): each input becomes a parameter (typed
    from the socket; mandatory inputs are required). Inputs that configure a run rather than carry data
    (``streaming_callback``, ``generation_kwargs``, ``tools``) are not offered to the model. Data classes such
    as :class:`Document` are accepted as their ``to_dict()`` JSON and rebuilt before the component runs. The
    tool returns the output dict of the component (or pipeline), warmed up on first use.

    Args:
        component: a ``@component`` instance or a Pipeline.
        name: the tool name; defaults to the class name in snake_case (``"pipeline"`` for pipelines).
        description: defaults to the first paragraph of the component's docstring (a pipeline's
            ``metadata["description"]``).
        inputs_from_state: see :class:`Tool`.
        outputs_to_state: see :class:`Tool`.

    Raises:
        ComponentError: when ``component`` is not a component, or a mandatory input has a type without a
            JSON form.
    """

    def __init__(
        self,
        component: Any,
        name: str | None = None,
        description: str | None = None,
        inputs_from_state: dict[str, str] | None = None,
        outputs_to_state: dict[str, str] | None = None,
    ) -> None:
        is_pipeline = _is_pipeline(component)
        if not is_pipeline and (not is_component(component) or isinstance(component, type)):
            raise ComponentError(
                f"ComponentTool needs an instance of a @component class or a Pipeline, got {component!r}."
            )
        if is_pipeline:
            tool_name = name or "pipeline"
            default_description = (
                str(component.metadata.get("description") or "") if component.metadata else ""
            )
        else:
            tool_name = name or _snake_case(type(component).__name__)
            default_description = _first_paragraph(type(component).__doc__)
        hidden = set((inputs_from_state or {}).values())
        parameters, annotations = input_schema(component, tool_name, hidden)
        self._is_pipeline = is_pipeline
        self.component = component
        self._annotations = annotations
        self._warm_lock = threading.Lock()
        self._warm = False
        super().__init__(
            name=tool_name,
            description=description or default_description or tool_name,
            parameters=parameters,
            function=self._run_component,
            inputs_from_state=dict(inputs_from_state or {}),
            outputs_to_state=dict(outputs_to_state or {}),
        )
        self._given_name, self._given_description = name, description

    def warm_up(self) -> None:
        """Warm up the wrapped component (idempotent)."""
        with self._warm_lock:
            if not self._warm:
                warm_up = getattr(self.component, "warm_up", None)
                if callable(warm_up):
                    warm_up()
                self._warm = True

    def _run_component(self, **arguments: Any) -> Any:
        self.warm_up()
        converted = {
            key: _convert_argument(value, self._annotations.get(key, Any)) for key, value in arguments.items()
        }
        if self._is_pipeline:
            return self.component.run(converted)  # flat inputs: each reaches every free input of that name
        return self.component.run(**converted)

    def to_dict(self) -> dict[str, Any]:
        """Serialize as the wrapped component's own ``to_dict()`` plus the tool settings."""
        return {
            "type": f"{type(self).__module__}.{type(self).__qualname__}",
            "data": {
                ("pipeline" if self._is_pipeline else "component"): self.component.to_dict(),
                "name": self._given_name,
                "description": self._given_description,
                "inputs_from_state": dict(self.inputs_from_state),
                "outputs_to_state": dict(self.outputs_to_state),
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ComponentTool:
        """Build from :meth:`to_dict` output; the component type must be allow-listed.

        Raises:
            DeserializationError: malformed data or a component type that is not allow-listed.
        """
        body = data.get("data")
        if not isinstance(body, dict) or not (
            isinstance(body.get("component"), dict) or isinstance(body.get("pipeline"), dict)
        ):
            raise DeserializationError(
                f"Cannot load a ComponentTool from {data!r}: expected {{'type': ..., 'data': {{'component': "
                "{...}, ...}} (or 'pipeline': {...})."
            )
        if isinstance(body.get("pipeline"), dict):
            from haybale.core.pipeline import Pipeline

            wrapped: Any = Pipeline.from_dict(body["pipeline"])
        else:
            wrapped = deserialize_object(body["component"])
        return cls(
            component=wrapped,
            name=body.get("name"),
            description=body.get("description"),
            inputs_from_state=body.get("inputs_from_state"),
            outputs_to_state=body.get("outputs_to_state"),
        )
