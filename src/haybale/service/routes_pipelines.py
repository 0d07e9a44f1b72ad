"""``GET /pipelines`` and ``POST /pipelines/{name}/run``: run pipelines loaded from YAML files.

The request body is the pipeline's run inputs, nested (``{"retriever": {"query": "..."}}``) or flat
(``{"query": "..."}``), as for ``Pipeline.run``. The response is ``{"result": ...}`` with documents, answers
and messages as JSON (their ``to_dict()`` form). With API keys, every free ``filters`` input of the pipeline
is restricted to the caller's tenant, as on ``/query``.
"""

import dataclasses
import math
from typing import Annotated, Any

from haybale.service.auth import Caller, scope_filters
from haybale.service.dependencies import caller_of, state_of

__all__ = ["build_pipelines_router", "to_jsonable"]


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


def _nested(free: dict[str, dict[str, Any]], names: set[str], data: dict[str, Any]) -> dict[str, Any]:
    """Flat inputs rewritten to the nested form, as ``Pipeline.run`` would route them."""
    if all(key in names and isinstance(value, dict) for key, value in data.items()):
        return {key: dict(value) for key, value in data.items()}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in data.items():
        targets = [name for name, sockets in free.items() if key in sockets]
        if not targets:  # let the pipeline report it with its own message
            return data
        for name in targets:
            nested.setdefault(name, {})[key] = value
    return nested


def scoped_run_inputs(pipeline: Any, data: dict[str, Any], caller: Caller) -> dict[str, Any]:
    """``data`` with every free ``filters`` input validated and restricted to the caller's tenant.

    Raises:
        FilterError: a ``filters`` input is malformed.
    """
    from haybale.filters import validate_filters

    free: dict[str, dict[str, Any]] = pipeline.inputs()
    targets = [name for name, sockets in free.items() if "filters" in sockets]
    if not targets:
        return data
    nested = _nested(free, {name for name, _ in pipeline.walk()}, data)
    for name in targets:
        inputs = nested.get(name)
        given = inputs.get("filters") if isinstance(inputs, dict) else None
        validate_filters(given)
        if caller.tenant is not None:
            nested.setdefault(name, {})["filters"] = scope_filters(given, caller)
    return nested


def build_pipelines_router() -> Any:
    """The APIRouter serving the YAML pipelines."""
    from fastapi import APIRouter, Body, Depends, Request

    router = APIRouter(tags=["pipelines"])

    def current_caller(request: Request) -> Caller:
        return caller_of(request)

    CallerDep = Annotated[Caller, Depends(current_caller)]

    @router.get("/pipelines")
    async def list_pipelines(request: Request, caller: CallerDep) -> dict[str, Any]:
        """The names of the pipelines this service runs."""
        return {"pipelines": state_of(request).pipelines.names()}

    @router.post("/pipelines/{name}/run")
    async def run_pipeline(
        name: str,
        request: Request,
        caller: CallerDep,
        inputs: Annotated[dict[str, Any], Body(description="The pipeline's run inputs.")],
    ) -> dict[str, Any]:
        """Run pipeline ``name`` with the body as its inputs; returns ``{"result": ...}``."""
        import asyncio

        registry = state_of(request).pipelines
        pipeline = await asyncio.to_thread(registry.get, name)
        result = await pipeline.run_async(scoped_run_inputs(pipeline, inputs, caller))
        return {"result": to_jsonable(result)}

    return router
