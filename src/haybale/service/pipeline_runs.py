"""Running a served pipeline for a caller: the one code path of ``POST /pipelines/{name}/run`` and of the MCP
server (``haybale mcp``).

The inputs are routed by the engine exactly as ``Pipeline.run`` routes them (nested or flat); an input that
takes files never accepts a path or URL string from a request, so a served pipeline cannot be made to read the
server's own files; inputs typed as documents or chat messages accept their JSON form. The run happens inside
``tenant_scope(tenant)``, and every store a served pipeline holds is tenant-scoped
(:mod:`haybale.service.pipeline_scoping`), so no input can reach another tenant's documents. Outputs come back
JSON-compatible (documents, answers and messages in their ``to_dict()`` form).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from pathlib import PurePath
from typing import Any

from haybale.dataclasses import ByteStream
from haybale.service.errors import ServiceError

__all__ = ["request_inputs", "run_for_tenant", "run_served_pipeline", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """A JSON-compatible copy of a pipeline output (objects via ``to_dict()``, bytes as their length)."""
    if value is None or isinstance(value, bool | int | str):
        result: Any = value
    elif isinstance(value, float):
        result = value if math.isfinite(value) else None
    elif isinstance(value, dict):
        result = {str(k): to_jsonable(v) for k, v in value.items()}
    elif isinstance(value, list | tuple | set | frozenset):
        result = [to_jsonable(v) for v in value]
    elif isinstance(value, bytes):
        result = f"<{len(value)} bytes>"
    elif callable(getattr(value, "to_dict", None)):
        result = to_jsonable(value.to_dict())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        result = to_jsonable(dataclasses.asdict(value))
    else:
        result = str(value)
    return result


def _type_args(annotation: Any) -> list[Any]:
    """Every type mentioned in ``annotation`` (``list[str | Path]`` -> list, str, Path, ...)."""
    found = [annotation]
    for arg in typing.get_args(annotation):
        found.extend(_type_args(arg))
    return found


def _takes_paths(annotation: Any) -> bool:
    return any(isinstance(t, type) and issubclass(t, PurePath) for t in _type_args(annotation))


def _loadable_types(annotation: Any) -> list[type]:
    """Haybale data classes named in a socket type that have a ``from_dict`` (Document, ChatMessage...)."""
    return [
        t
        for t in _type_args(annotation)
        if isinstance(t, type) and t.__module__.startswith("haybale.dataclasses") and hasattr(t, "from_dict")
    ]


def _from_json(value: Any, kinds: list[type], where: str) -> Any:
    if isinstance(value, list):
        return [_from_json(item, kinds, f"{where}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, dict) or not kinds:
        return value
    errors = []
    for kind in kinds:
        try:
            return kind.from_dict(value)  # type: ignore[attr-defined]
        except Exception as exc:  # try the next type the socket accepts
            errors.append(f"{kind.__name__}: {exc}")
    raise ServiceError(
        422, f"Input {where} is not a valid {' or '.join(k.__name__ for k in kinds)}: {errors}"
    )


def _refuse_paths(value: Any, where: str) -> None:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, str | PurePath):
            raise ServiceError(
                422,
                f"Input {where} takes files, and a request cannot name files on the server ({item!r}). "
                f"Upload the files as multipart/form-data parts named '{where}' (with the other inputs as a "
                "JSON object in the 'inputs' field).",
            )


def request_inputs(pipeline: Any, data: dict[str, Any], files: dict[str, list[ByteStream]]) -> dict[str, Any]:
    """The nested run inputs of a request: routed by the engine, files attached, JSON objects loaded as
    documents or messages where the input expects them, and path strings refused for file inputs.

    Raises:
        PipelineValidationError: unknown inputs or wrong types (from the engine's routing).
        ServiceError: 422 for a path string given to a file input, or a malformed document/message.
    """
    nested = pipeline.route_inputs(data) if data else {}
    for key, streams in files.items():
        component, _, socket = key.partition(".")
        routed = pipeline.route_inputs({component: {socket: streams}} if socket else {key: streams})
        for name, sockets in routed.items():
            nested.setdefault(name, {}).update(sockets)
    free = pipeline.inputs()
    for name, sockets in nested.items():
        for socket, value in list(sockets.items()):
            where = f"{name}.{socket}"
            annotation = free.get(name, {}).get(socket, {}).get("type", Any)
            if _takes_paths(annotation):
                _refuse_paths(value, where)
            kinds = _loadable_types(annotation)
            if kinds:
                sockets[socket] = _from_json(value, kinds, where)
    return nested


async def run_for_tenant(
    pipeline: Any, inputs: dict[str, Any], tenant: str | None, include_outputs_from: set[str] | None = None
) -> dict[str, Any]:
    """Run a served pipeline on routed ``inputs`` (see :func:`request_inputs`) inside the caller's tenant
    scope; returns the raw result.

    Raises:
        PipelineValidationError: wrong input types.
        PipelineRuntimeError: a component failed.
    """
    from haybale.stores.tenant_scope import tenant_scope

    with tenant_scope(tenant):
        result = await pipeline.run_async(inputs, include_outputs_from=include_outputs_from)
    return typing.cast("dict[str, Any]", result)


async def run_served_pipeline(
    pipeline: Any, data: dict[str, Any], files: dict[str, list[ByteStream]], tenant: str | None
) -> dict[str, Any]:
    """Run a served pipeline for a caller of ``tenant``; returns its JSON-compatible result.

    Raises:
        PipelineValidationError: unknown inputs or wrong types.
        ServiceError: 422 for a path string given to a file input, or a malformed document/message.
        PipelineRuntimeError: a component failed.
    """
    result = await run_for_tenant(pipeline, request_inputs(pipeline, data, files), tenant)
    return typing.cast("dict[str, Any]", to_jsonable(result))
