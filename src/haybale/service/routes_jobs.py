"""Asynchronous jobs: ``POST /process`` and ``POST /pipelines/{name}/run`` with ``?async=true`` (or the header
``Prefer: respond-async``) answer ``202 Accepted`` with a job id; ``GET /jobs/{id}`` follows the job,
``DELETE /jobs/{id}`` cancels it, ``GET /jobs`` lists the caller's recent jobs.

Without those markers both routes stay synchronous, as before. Jobs run on ``haybale worker`` processes
(:mod:`haybale.jobs`) through the same code as the synchronous routes, so the result of a process job is the
body the synchronous ``/process`` would have answered. Each job carries the caller's tenant: the worker runs
it inside that tenant's scope, and the job API shows a tenant only its own jobs (another tenant's job id is
answered 404, like an unknown one). Job records and results live in the broker's result backend, so a
restarted service, or any replica, answers for jobs submitted before.

A service started without a broker (``HAYBALE_BROKER_URL``) has no jobs: an asynchronous request is refused
with 400 saying how to enable them, and job ids are unknown (404).
"""

import asyncio
from typing import Any

from haybale.service.dependencies import CallerDep, state_of
from haybale.service.errors import ServiceError

__all__ = ["ASYNC_PARAMETER", "ASYNC_QUERY_PARAMETER", "build_jobs_router", "submit_job", "wants_async"]

#: ``?async=true`` asks for a job instead of an answer.
ASYNC_QUERY_PARAMETER = "async"
_TRUE = ("1", "true", "yes", "on")
#: The OpenAPI description of ``?async=true`` (see :mod:`haybale.service.routes_jobs`).
ASYNC_PARAMETER = {
    "name": ASYNC_QUERY_PARAMETER,
    "in": "query",
    "required": False,
    "schema": {"type": "boolean", "default": False},
    "description": "Run as a job: answer 202 with a job id to follow at GET /jobs/{job_id} (also: the header "
    "'Prefer: respond-async'). Needs a service with a job queue.",
}

_JOB_ID = r"^[0-9a-f]{32}$"


def wants_async(request: Any) -> bool:
    """Whether the request asks to run as a job (``?async=true`` or ``Prefer: respond-async``)."""
    if request.query_params.get(ASYNC_QUERY_PARAMETER, "").strip().lower() in _TRUE:
        return True
    return "respond-async" in request.headers.get("prefer", "").lower()


def _queue(state: Any) -> Any:
    jobs = state.jobs
    if jobs is None:
        raise ServiceError(
            400,
            "This service runs without a job queue, so it cannot run requests asynchronously. Send the "
            "request without async=true (or the Prefer: respond-async header) to get the answer directly; "
            "the operator enables jobs with HAYBALE_BROKER_URL and `haybale worker` (see docs/scaling.md).",
        )
    return jobs


def _accepted(view: Any, extra: dict[str, Any]) -> Any:
    from haybale.service.json_response import SafeJSONResponse

    status_url = f"/jobs/{view.job_id}"
    body = {
        "status": view.status,
        "job_id": view.job_id,
        "status_url": status_url,
        **extra,
        "message": f"Accepted as job {view.job_id}; follow it at GET {status_url}.",
    }
    return SafeJSONResponse(body, status_code=202, headers={"Location": status_url})


async def submit_job(
    state: Any,
    task_name: str,
    payload: dict[str, Any],
    *,
    kind: str,
    tenant: str | None,
    label: str,
    detail: dict[str, Any] | None = None,
) -> Any:
    """Submit a job for the caller and answer ``202 Accepted`` (``Location: /jobs/<id>``).

    Raises:
        ServiceError: 400 when the service has no job queue.
        JobsUnavailableError: 503 when the broker cannot be reached (nothing was submitted).
    """
    jobs = _queue(state)
    view = await asyncio.to_thread(
        jobs.submit, task_name, payload, kind=kind, tenant=tenant, label=label, detail=detail
    )
    return _accepted(view, dict(detail or {}))


def build_jobs_router() -> Any:
    """The APIRouter of ``/jobs``."""
    from fastapi import APIRouter, Path, Query, Request

    from haybale.jobs.records import UnknownJobError
    from haybale.service.json_response import SafeJSONResponse

    router = APIRouter(tags=["jobs"])
    job_id_path = Path(pattern=_JOB_ID, description="The id a 202 Accepted answer returned.")

    def unknown(job_id: str) -> UnknownJobError:
        return UnknownJobError(
            f"There is no job {job_id!r}: this service runs without a job queue (HAYBALE_BROKER_URL)."
        )

    @router.get("/jobs")
    async def list_jobs(
        request: Request, caller: CallerDep, limit: int = Query(50, ge=1, le=500)
    ) -> dict[str, Any]:
        """The caller's most recent jobs, newest first."""
        jobs = state_of(request).jobs
        if jobs is None:
            return {"jobs": []}
        views = await asyncio.to_thread(jobs.recent, caller.tenant, limit)
        return {"jobs": [view.to_dict() for view in views]}

    @router.get("/jobs/{job_id}")
    async def get_job(request: Request, caller: CallerDep, job_id: str = job_id_path) -> dict[str, Any]:
        """A job: ``status`` (queued, running, retrying, success, failed, cancelled), ``progress``, and its
        ``result`` (the ``/process`` body, or ``{"result": ...}`` of a pipeline) or ``error``."""
        jobs = state_of(request).jobs
        if jobs is None:
            raise unknown(job_id)
        view = await asyncio.to_thread(jobs.get, job_id, caller.tenant)
        body: dict[str, Any] = view.to_dict()
        return body

    @router.delete("/jobs/{job_id}", status_code=202)
    async def cancel_job(request: Request, caller: CallerDep, job_id: str = job_id_path) -> Any:
        """Cancel a job. A queued job is dropped (``status: cancelled``); a job a worker already runs finishes
        its current atomic write. 409 when it has finished already."""
        jobs = state_of(request).jobs
        if jobs is None:
            raise unknown(job_id)
        view = await asyncio.to_thread(jobs.cancel, job_id, caller.tenant)
        return SafeJSONResponse(view.to_dict(), status_code=202)

    return router
