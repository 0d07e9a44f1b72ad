"""``GET /pipelines`` and ``POST /pipelines/{name}/run``: run pipelines loaded from YAML files.

The request body is the pipeline's run inputs, nested (``{"retriever": {"query": "..."}}``) or flat
(``{"query": "..."}``), routed by the engine exactly as ``Pipeline.run`` routes them. Files travel as
multipart parts named after the input that takes them (``sources`` or ``converter.sources``) next to an
``inputs`` JSON field; an input that takes files never accepts a path or URL string from a request, so a
served pipeline cannot be made to read the server's own files. Inputs typed as documents or chat messages
accept their JSON form. The response is ``{"result": ...}`` with documents, answers and messages in their
``to_dict()`` form.

The run happens inside ``tenant_scope(caller.tenant)`` and every store the pipeline holds is tenant-scoped
(:mod:`haybale.service.pipeline_scoping`), so no input can reach another tenant's documents.
"""

import json
from typing import Any

from haybale.dataclasses import ByteStream
from haybale.service.dependencies import CallerDep, state_of
from haybale.service.errors import ServiceError
from haybale.service.pipeline_runs import request_inputs, run_served_pipeline, to_jsonable
from haybale.service.routes_jobs import ASYNC_PARAMETER, submit_job, wants_async

__all__ = ["build_pipelines_router", "request_inputs", "to_jsonable"]


def _json(raw: str | bytes, what: str) -> Any:
    """``raw`` parsed as JSON.

    Raises:
        ServiceError: 422 naming ``what`` when it is not JSON, not UTF-8, or nests too deeply to read.
    """
    from haybale.service.uploads import unreadable_json

    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = unreadable_json(exc) or str(exc)
        raise ServiceError(
            422, f"{what} is not valid JSON ({reason}); send the run inputs as a JSON object."
        ) from None


async def _read_request(request: Any, max_bytes: int) -> tuple[dict[str, Any], dict[str, list[ByteStream]]]:
    """The JSON inputs and the uploaded files of a run request (JSON body, or multipart)."""
    from haybale.service.uploads import check_json_value, parse_form

    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await parse_form(request, max_bytes)
        try:
            raw = form.get("inputs")
            data = _json(raw, "The 'inputs' form field") if isinstance(raw, str) and raw.strip() else {}
            files: dict[str, list[ByteStream]] = {}
            for key, part in form.multi_items():
                if isinstance(part, str):
                    continue
                await part.seek(0)
                stream = ByteStream(await part.read(), {"file_name": part.filename or key}, part.content_type)
                files.setdefault(key, []).append(stream)
        finally:
            await form.close()
    else:
        files = {}
        data = _json(await request.body() or b"{}", "The body")
    if not isinstance(data, dict):
        raise ServiceError(422, f"The run inputs must be a JSON object, got {type(data).__name__}.")
    check_json_value(data, "inputs", what="run input")
    return data, files


_RUN_BODY = {
    "parameters": [ASYNC_PARAMETER],
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "Run inputs, nested ({'retriever': {'query': '...'}}) or flat "
                    "({'query': '...'}).",
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "inputs": {"type": "string", "description": "The run inputs as a JSON object."},
                        "sources": {
                            "type": "string",
                            "format": "binary",
                            "description": "Files for an input.",
                        },
                    },
                }
            },
        },
    },
}


def build_pipelines_router() -> Any:
    """The APIRouter serving the YAML pipelines."""
    from fastapi import APIRouter, Request

    router = APIRouter(tags=["pipelines"])

    @router.get("/pipelines")
    async def list_pipelines(request: Request, caller: CallerDep) -> dict[str, Any]:
        """The names of the pipelines this service runs."""
        return {"pipelines": state_of(request).pipelines.names()}

    @router.post("/pipelines/{name}/run", openapi_extra=_RUN_BODY)
    async def run_pipeline(name: str, request: Request, caller: CallerDep) -> Any:
        """Run pipeline ``name`` with the request's inputs; returns ``{"result": ...}``. With ``?async=true``:
        202 and a job id; a worker runs it and ``GET /jobs/{job_id}`` returns the same ``{"result": ...}``."""
        import asyncio

        state = state_of(request)
        pipeline = await asyncio.to_thread(state.pipelines.get, name)
        data, files = await _read_request(request, state.settings.max_upload_bytes)
        if wants_async(request):
            from haybale.jobs.payloads import encode_streams
            from haybale.jobs.tasks import RUN_PIPELINE_TASK

            request_inputs(pipeline, data, files)  # bad inputs are refused now (4xx), not in a failed job

            payload = {"pipeline": name, "inputs": data, "files": encode_streams(files)}
            return await submit_job(
                state,
                RUN_PIPELINE_TASK,
                payload,
                kind="pipeline",
                tenant=caller.tenant,
                label=name,
                detail={"pipeline": name},
            )
        return {"result": await run_served_pipeline(pipeline, data, files, caller.tenant)}

    return router
