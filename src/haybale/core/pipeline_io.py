"""Pipeline to/from dicts, YAML (safe loader/dumper only) and JSON (DESIGN §4)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from haybale.core.component import is_component
from haybale.core.serialization import allowed_modules_scope, import_class, unsafe_templates_scope
from haybale.errors import DeserializationError, HaybaleError, SerializationError

if TYPE_CHECKING:
    from haybale.core.pipeline import Pipeline

__all__ = ["dump_text", "parse_text", "pipeline_from_dict", "pipeline_to_dict"]

_TOP_LEVEL_KEYS = ("metadata", "max_runs_per_component", "components", "connections")


def pipeline_to_dict(pipeline: Pipeline) -> dict[str, Any]:
    """Serialize a pipeline; errors name the component that could not be serialized."""
    components: dict[str, Any] = {}
    for name, instance in pipeline.walk():
        try:
            data = instance.to_dict()
        except HaybaleError as exc:
            raise SerializationError(f"Cannot serialize component '{name}': {exc}") from exc
        except Exception as exc:
            raise SerializationError(
                f"Cannot serialize component '{name}' ({type(instance).__qualname__}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(data, dict) or "type" not in data:
            raise SerializationError(
                f"Component '{name}'.to_dict() must return {{'type': ..., 'init_parameters': {{...}}}}, got "
                f"{data!r}."
            )
        components[name] = data
    return {
        "metadata": dict(pipeline.metadata),
        "max_runs_per_component": pipeline.max_runs_per_component,
        "components": components,
        "connections": [{"sender": s, "receiver": r} for s, r in pipeline.connections()],
    }


def _load_component(name: str, data: Any) -> Any:
    if not isinstance(data, dict):
        raise DeserializationError(
            f"Component '{name}': expected a mapping with 'type' and 'init_parameters', got {data!r}."
        )
    unknown = set(data) - {"type", "init_parameters"}
    if unknown:
        raise DeserializationError(
            f"Component '{name}': unknown key(s) {sorted(unknown)}; allowed: 'type', 'init_parameters'."
        )
    type_name = data.get("type")
    if not isinstance(type_name, str):
        raise DeserializationError(
            f"Component '{name}': missing or non-string key 'type' (got {type_name!r})."
        )
    if not isinstance(data.get("init_parameters", {}) or {}, dict):
        raise DeserializationError(f"Component '{name}': key 'init_parameters' must be a mapping.")
    try:
        cls = import_class(type_name)
    except DeserializationError as exc:
        raise DeserializationError(f"Component '{name}': {exc}") from exc
    if not is_component(cls):
        raise DeserializationError(
            f"Component '{name}': type '{type_name}' is not a @component class, so it cannot be a pipeline "
            "component."
        )
    try:
        return cls.from_dict(data)
    except HaybaleError as exc:
        raise DeserializationError(f"Component '{name}' ({type_name}): {exc}") from exc
    except Exception as exc:
        raise DeserializationError(
            f"Component '{name}' ({type_name}) failed to load from its init_parameters: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def pipeline_from_dict(
    cls: type[Pipeline],
    data: dict[str, Any],
    allowed_modules: Iterable[str] | None,
    allow_unsafe_templates: bool = False,
) -> Pipeline:
    """Build a pipeline from :func:`pipeline_to_dict` output (``allow_unsafe_templates``: see
    :func:`~haybale.core.serialization.unsafe_templates_scope`).

    Raises:
        DeserializationError: malformed data, a type that is not allow-listed, or a component that fails to
            load; the message names the component and the key.
    """
    if not isinstance(data, dict):
        raise DeserializationError(
            f"A pipeline must be a mapping at the top level, got {type(data).__name__}."
        )
    unknown = set(data) - set(_TOP_LEVEL_KEYS)
    if unknown:
        raise DeserializationError(
            f"Unknown top-level key(s) {sorted(unknown)} in the pipeline; allowed: {list(_TOP_LEVEL_KEYS)}."
        )
    components = data.get("components") or {}
    connections = data.get("connections") or []
    if not isinstance(components, dict):
        raise DeserializationError("Key 'components' must be a mapping of name -> {type, init_parameters}.")
    if not isinstance(connections, list):
        raise DeserializationError("Key 'connections' must be a list of {sender, receiver} mappings.")
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise DeserializationError("Key 'metadata' must be a mapping.")
    max_runs = data.get("max_runs_per_component", 100)
    if not isinstance(max_runs, int) or isinstance(max_runs, bool) or max_runs < 1:
        raise DeserializationError(
            f"Key 'max_runs_per_component' must be a positive integer, got {max_runs!r}."
        )
    pipeline = cls(metadata=metadata, max_runs_per_component=max_runs)
    with allowed_modules_scope(allowed_modules), unsafe_templates_scope(allow_unsafe_templates):
        for name, component_data in components.items():
            pipeline.add_component(str(name), _load_component(str(name), component_data))
    for index, connection in enumerate(connections):
        if (
            not isinstance(connection, dict)
            or not isinstance(connection.get("sender"), str)
            or not isinstance(connection.get("receiver"), str)
        ):
            raise DeserializationError(
                f"connections[{index}] must be {{'sender': 'a.out', 'receiver': 'b.in'}}, got {connection!r}."
            )
        try:
            pipeline.connect(connection["sender"], connection["receiver"])
        except HaybaleError as exc:
            raise DeserializationError(f"connections[{index}]: {exc}") from exc
    return pipeline


def dump_text(data: dict[str, Any], fmt: str) -> str:
    """Dump a pipeline dict as YAML (``safe_dump``) or JSON."""
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False)
    if fmt != "yaml":
        raise SerializationError(f"Unknown format {fmt!r}; use 'yaml' or 'json'.")
    import yaml

    try:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError as exc:
        raise SerializationError(
            f"Cannot write the pipeline as YAML: {exc}. Init parameters must be plain data (str, numbers, "
            "bools, None, lists, dicts)."
        ) from exc


def parse_text(text: str | bytes) -> dict[str, Any]:
    """Parse YAML or JSON (JSON is valid YAML) with the safe loader.

    Raises:
        DeserializationError: malformed text (with line and column) or a non-mapping document.
    """
    import yaml

    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown position"
        detail = f"{problem} ({context})" if context else problem
        raise DeserializationError(f"Malformed pipeline YAML at {where}: {detail}.") from exc
    if not isinstance(data, dict):
        raise DeserializationError(
            "A pipeline YAML must be a mapping with 'components' and 'connections', got "
            f"{type(data).__name__}."
        )
    return data
