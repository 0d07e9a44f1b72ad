"""Submitting jobs and reading their state: the one client the service and the CLI use.

A job is one Celery task whose id is the job id, plus a :class:`~haybale.jobs.records.JobRecord` written
before the task is sent. Reading a job combines the two: the record says whose it is (a job of another
tenant is "unknown"), Celery's result backend says where it is (queued, running, success, failed, cancelled)
and holds its result or error. Nothing lives in the submitting process, so any process with the same
settings — a restarted service, another replica — sees the same jobs.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from haybale.app.settings import Settings
from haybale.errors import RuntimeFailure, UsageError
from haybale.jobs.records import JobRecord, JobRecords

__all__ = [
    "FINISHED_STATUSES",
    "JobFinishedError",
    "JobQueue",
    "JobView",
    "JobsUnavailableError",
]

#: Job statuses after which nothing changes any more.
FINISHED_STATUSES = ("success", "failed", "cancelled")
_STATUS_OF_STATE = {
    "PENDING": "queued",
    "RECEIVED": "queued",
    "STARTED": "running",
    "PROGRESS": "running",
    "RETRY": "retrying",
    "SUCCESS": "success",
    "FAILURE": "failed",
    "REVOKED": "cancelled",
}
#: Publishing a job waits at most about this long for an unreachable broker (a request is waiting).
_SUBMIT_RETRY_POLICY = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.3, "interval_max": 1.0}


class JobsUnavailableError(RuntimeFailure):
    """The job queue is not configured, or its broker / result backend cannot be reached."""


class JobFinishedError(UsageError):
    """The job has already finished (or was cancelled), so it cannot be cancelled."""

    status_code = 409


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class JobView:
    """A job as its submitter sees it.

    Attributes:
        record: what was submitted.
        status: queued, running, retrying, success, failed or cancelled.
        progress: ``{"done", "total", "worker"}`` while a worker reports progress.
        result: the job's result (status success): the ``/process`` body, or ``{"result": ...}`` of a
            pipeline.
        error: why it failed, or why it is being retried.
        finished_at: when it finished (ISO 8601, UTC).
    """

    record: JobRecord
    status: str
    progress: dict[str, Any] | None = None
    result: Any = None
    error: str | None = None
    finished_at: str | None = None

    @property
    def job_id(self) -> str:
        """The job id."""
        return self.record.job_id

    @property
    def finished(self) -> bool:
        """Whether the job has reached a final status."""
        return self.status in FINISHED_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """The job as JSON (the body of ``GET /jobs/{id}``)."""
        body: dict[str, Any] = {
            "job_id": self.job_id,
            "status": self.status,
            "kind": self.record.kind,
            "label": self.record.label,
            "created_at": _iso(self.record.created_at),
            "finished_at": self.finished_at,
            "progress": self.progress,
            "result": self.result,
            "error": self.error,
        }
        body.update(self.record.detail)
        return body


def _error_text(info: Any) -> str:
    if isinstance(info, BaseException):
        return f"{type(info).__name__}: {info}"
    return str(info)


class JobQueue:
    """Submit jobs to the workers and follow them.

    Args:
        settings: the settings (broker, result backend, queue, TTL).
        broker_url: use this broker instead of the settings' one.

    Raises:
        SettingsError: no broker is configured.
        MissingDependencyError: celery is not installed.
    """

    def __init__(self, settings: Settings, broker_url: str | None = None) -> None:
        from haybale.jobs.celery_app import build_celery_app

        self.settings = settings
        self.app = build_celery_app(settings, broker_url)
        self.records = JobRecords(self.app.backend.client, settings.jobs_ttl)

    @property
    def connection_errors(self) -> tuple[type[BaseException], ...]:
        """What the broker and result backend raise when unreachable."""
        from kombu.exceptions import OperationalError
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        return (OperationalError, RedisConnectionError, RedisTimeoutError, ConnectionError)

    def _unavailable(self, exc: BaseException) -> JobsUnavailableError:
        return JobsUnavailableError(
            f"The job queue cannot be reached ({type(exc).__name__}: {exc}); nothing was submitted or "
            "changed. Retry when the broker (HAYBALE_BROKER_URL) is back."
        )

    def submit(
        self,
        task_name: str,
        payload: dict[str, Any],
        *,
        kind: str,
        tenant: str | None,
        label: str = "",
        detail: dict[str, Any] | None = None,
    ) -> JobView:
        """Record a job and send its task.

        Raises:
            JobsUnavailableError: the broker or the result backend cannot be reached.
        """
        record = JobRecord(uuid.uuid4().hex, kind, tenant, time.time(), label, dict(detail or {}))
        try:
            self.records.create(record)
            self.app.send_task(
                task_name,
                args=[{**payload, "tenant": tenant}],
                task_id=record.job_id,
                queue=self.settings.jobs_queue,
                retry=True,
                retry_policy=_SUBMIT_RETRY_POLICY,
            )
        except self.connection_errors as exc:
            raise self._unavailable(exc) from exc
        return JobView(record, "queued")

    def get(self, job_id: str, tenant: str | None) -> JobView:
        """The job ``job_id`` as ``tenant`` sees it.

        Raises:
            UnknownJobError: no such job for this tenant.
            JobsUnavailableError: the result backend cannot be reached.
        """
        try:
            record = self.records.get(job_id, tenant)
            return self._view(record)
        except self.connection_errors as exc:
            raise self._unavailable(exc) from exc

    def recent(self, tenant: str | None, limit: int = 50) -> list[JobView]:
        """The tenant's most recent jobs, newest first."""
        try:
            return [self._view(record) for record in self.records.recent(tenant, limit)]
        except self.connection_errors as exc:
            raise self._unavailable(exc) from exc

    def _view(self, record: JobRecord) -> JobView:
        meta = self.app.backend.get_task_meta(record.job_id)
        state = str(meta.get("status") or "PENDING")
        status = _STATUS_OF_STATE.get(state, "running")
        info = meta.get("result")
        done = meta.get("date_done")
        finished_at = done.isoformat() if hasattr(done, "isoformat") else (str(done) if done else None)
        if status == "success":
            return JobView(record, status, result=info, finished_at=finished_at)
        if status in ("failed", "retrying", "cancelled"):
            error = _error_text(info) if info is not None else None
            return JobView(record, status, error=error, finished_at=finished_at)
        progress = info if state == "PROGRESS" and isinstance(info, dict) else None
        return JobView(record, status, progress=progress)

    def cancel(self, job_id: str, tenant: str | None) -> JobView:
        """Cancel a job: a queued job is dropped (no worker will run it); a running job finishes the atomic
        batch it is writing and no other part of it starts.

        Raises:
            UnknownJobError: no such job for this tenant.
            JobFinishedError: the job already finished.
            JobsUnavailableError: the broker or result backend cannot be reached.
        """
        try:
            view = self.get(job_id, tenant)
            if view.finished:
                raise JobFinishedError(
                    f"Job {job_id} has already finished ({view.status}); there is nothing to cancel."
                )
            self.records.request_cancel(job_id)
            self.app.control.revoke(job_id)
            if view.status == "queued":
                self.app.backend.mark_as_revoked(job_id, "cancelled before it started")
            return self._view(view.record)
        except self.connection_errors as exc:
            raise self._unavailable(exc) from exc

    def close(self) -> None:
        """Release the broker and backend connections."""
        self.app.close()
