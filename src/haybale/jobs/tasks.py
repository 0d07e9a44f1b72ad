"""The tasks workers run. Each one does its work through the code the CLI and the service already use:

* ``haybale.index_files`` — a shard of ``haybale index``: files on disk (by path) through
  :meth:`Indexer.index_sources <haybale.indexing.indexer.Indexer.index_sources>`;
* ``haybale.process_uploads`` — an asynchronous ``POST /process``: the uploads through
  :func:`~haybale.service.ingestion.index_uploads`, answered with the same body as the synchronous route;
* ``haybale.run_pipeline`` — an asynchronous ``POST /pipelines/{name}/run``: a served pipeline (by name, from
  the worker's ``HAYBALE_PIPELINES_DIR``) through :func:`~haybale.service.pipeline_runs.run_served_pipeline`,
  the one code path of served pipeline runs (input routing, file-input refusal, tenant scope, JSON result).

Every task runs inside ``tenant_scope(job tenant)`` over the worker's tenant-scoped store, so a job only ever
sees its own tenant's documents. A task whose cancellation was asked for before it started is dropped. A task
failing for a transient reason (store or broker unreachable, a remote model server down) is retried with
exponential backoff; other failures are final and reported with their message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from haybale.app.settings import Settings
from haybale.errors import fault_of
from haybale.jobs.options import IndexingOptions, JobPayloadError

__all__ = [
    "INDEX_FILES_TASK",
    "PROCESS_UPLOADS_TASK",
    "RUN_PIPELINE_TASK",
    "WorkerRuntime",
    "is_transient",
    "register_tasks",
    "retry_delay",
]

INDEX_FILES_TASK = "haybale.index_files"
PROCESS_UPLOADS_TASK = "haybale.process_uploads"
RUN_PIPELINE_TASK = "haybale.run_pipeline"
#: Custom Celery state of a task that reports how far it got.
PROGRESS_STATE = "PROGRESS"
_PROGRESS_EVERY_S = 0.5

logger = logging.getLogger("haybale.jobs")
T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    """Whether a failure may go away by itself (a dependency down), so the task is worth retrying."""
    with contextlib.suppress(ImportError):
        from kombu.exceptions import OperationalError
        from redis.exceptions import ConnectionError as RedisConnectionError

        if isinstance(exc, OperationalError | RedisConnectionError):
            return True
    return fault_of(exc) == "runtime" and bool(getattr(exc, "retryable", True))


def retry_delay(retries: int, base_s: float, max_s: float) -> float:
    """Seconds before retry number ``retries + 1``: exponential from ``base_s``, capped, with jitter."""
    delay = min(max_s, base_s * (2**retries))
    return float(delay * (0.75 + random.random() / 2))  # jitter, not security


class WorkerRuntime:
    """What a worker process builds once and reuses across tasks: applications (store, models, indexer) per
    set of indexing options, the served pipelines, and the event loop served pipelines run on.

    Args:
        settings: the worker's settings (store, credentials, model servers, pipelines folder).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._applications: dict[IndexingOptions, Any] = {}
        self._pipelines: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def application(self, options: IndexingOptions) -> Any:
        """The tenant-scoped :class:`~haybale.app.application.Application` for ``options``.

        Raises:
            WrongStoreError: the job was planned against another store.
        """
        from haybale.app.application import Application

        settings = options.settings_for(self.settings)
        with self._lock:
            application = self._applications.get(options)
            if application is None:
                application = Application(settings, tenant_scoped=True)
                self._applications[options] = application
            return application

    def pipelines(self) -> Any:
        """The :class:`~haybale.service.pipeline_registry.PipelineRegistry` of ``HAYBALE_PIPELINES_DIR``."""
        from haybale.service.pipeline_registry import PipelineRegistry

        with self._lock:
            if self._pipelines is None:
                self._pipelines = PipelineRegistry(self.settings.pipelines_dir, self.settings.allowed_modules)
            return self._pipelines

    def run_coroutine(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` to completion on this worker's event loop.

        One loop serves every task of the worker (created on first use), so async clients that components
        keep between runs stay bound to a loop that is still open.
        """
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            loop = self._loop
        return loop.run_until_complete(coroutine)

    def close(self) -> None:
        """Release the stores' connections and close the event loop."""
        with self._lock:
            for application in self._applications.values():
                application.close()
            self._applications.clear()
            if self._loop is not None:
                self._loop.close()
                self._loop = None


# ------------------------------------------------------------------------------------------ task bodies
def _tenant_of(payload: dict[str, Any]) -> str | None:
    tenant = payload.get("tenant")
    if tenant is not None and not isinstance(tenant, str):
        raise JobPayloadError(f"A job's tenant must be a string or null, got {type(tenant).__name__}.")
    return tenant


def _file_source(key: str, path: str) -> Any:
    """A file on disk as a :class:`SourceInput`, hashed here (what is indexed is what was read)."""
    from haybale.indexing.indexer import SourceInput
    from haybale.indexing.source_tracker import file_sha256

    return SourceInput.for_file(key, path, file_sha256(Path(path)))


def index_files(task: Any, runtime: WorkerRuntime, payload: dict[str, Any]) -> dict[str, Any]:
    """Index a shard of files (``payload["sources"]``: ``[key, path]`` pairs) exactly once."""
    from haybale.indexing.indexer import FileOutcome
    from haybale.stores.tenant_scope import tenant_scope

    options = IndexingOptions.from_dict(payload.get("options"))
    pairs = payload.get("sources")
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        raise JobPayloadError("An index job must carry 'sources', a list of [key, path] pairs.")
    application = runtime.application(options)
    outcomes: list[FileOutcome] = []
    sources = []
    for key, path in pairs:
        try:
            sources.append(_file_source(str(key), str(path)))
        except OSError as exc:
            outcomes.append(FileOutcome(str(key), "failed", error=f"cannot read file: {exc.strerror or exc}"))
    report_progress = _progress_reporter(task, total=len(pairs), done=len(outcomes))
    with tenant_scope(_tenant_of(payload)), application.write_lock:
        report = application.indexer(batch_files=max(1, len(sources))).index_sources(
            sources, on_outcome=report_progress
        )
    outcomes.extend(report.outcomes)
    return {
        "outcomes": [
            [o.source, o.status, o.chunks, o.replaced, o.error, list(o.ocr_pages)] for o in outcomes
        ],
        "worker": task.request.hostname,
    }


def process_uploads(task: Any, runtime: WorkerRuntime, payload: dict[str, Any]) -> dict[str, Any]:
    """Index uploaded files exactly as ``POST /process`` does; the result is its response body."""
    from haybale.jobs.payloads import decode_uploads
    from haybale.service.ingestion import index_uploads, process_response
    from haybale.stores.tenant_scope import tenant_scope

    options = IndexingOptions.from_dict(payload.get("options"))
    uploads = decode_uploads(payload.get("uploads"))
    application = runtime.application(options)
    _progress_reporter(task, total=len(uploads), done=0)(None)
    with tenant_scope(_tenant_of(payload)):
        outcomes = index_uploads(application, uploads)
    body: dict[str, Any] = process_response(outcomes).model_dump()
    return body


def run_pipeline(task: Any, runtime: WorkerRuntime, payload: dict[str, Any]) -> dict[str, Any]:
    """Run a served pipeline (``payload["pipeline"]``, from the worker's ``HAYBALE_PIPELINES_DIR``) through
    :func:`~haybale.service.pipeline_runs.run_served_pipeline`, the code path of
    ``POST /pipelines/{name}/run`` (input routing, file inputs, tenant scope); the result is that route's
    body, ``{"result": ...}``."""
    from haybale.jobs.payloads import decode_streams
    from haybale.service.pipeline_runs import run_served_pipeline

    name = payload.get("pipeline")
    data = payload.get("inputs") or {}
    if not isinstance(name, str) or not isinstance(data, dict):
        raise JobPayloadError(
            "A pipeline job must carry 'pipeline' (the name of a served pipeline) and 'inputs' (an object)."
        )
    pipeline = runtime.pipelines().get(name)
    files = decode_streams(payload.get("files") or {})
    _progress_reporter(task, total=1, done=0)(None)
    result = runtime.run_coroutine(run_served_pipeline(pipeline, data, files, _tenant_of(payload)))
    return {"result": result}


def _progress_reporter(task: Any, total: int, done: int) -> Callable[[Any], None]:
    """A callback storing ``PROGRESS`` (files done of total, this worker) at most twice a second."""
    state = {"done": done, "last": 0.0}

    def report(outcome: Any) -> None:
        if outcome is not None:
            state["done"] += 1
        now = time.monotonic()
        if outcome is not None and now - state["last"] < _PROGRESS_EVERY_S and state["done"] < total:
            return
        state["last"] = now
        meta = {"done": int(state["done"]), "total": total, "worker": task.request.hostname}
        with contextlib.suppress(Exception):  # progress is best effort; the result is what counts
            task.update_state(state=PROGRESS_STATE, meta=meta)

    return report


# ------------------------------------------------------------------------------------- registration
@contextlib.contextmanager
def _retrying(task: Any, settings: Settings) -> Iterator[None]:
    """Turn a transient failure into a Celery retry with backoff (until ``jobs_max_retries``)."""
    try:
        yield
    except Exception as exc:
        retries = int(task.request.retries or 0)
        if not is_transient(exc) or retries >= settings.jobs_max_retries:
            raise
        delay = retry_delay(retries, settings.jobs_retry_backoff, settings.jobs_retry_backoff_max)
        logger.warning(
            "job %s failed (%s: %s); retry %d in %.1f s",
            task.request.id,
            type(exc).__name__,
            exc,
            retries + 1,
            delay,
        )
        raise task.retry(exc=exc, countdown=delay, max_retries=settings.jobs_max_retries) from exc


def _dropped_if_cancelled(task: Any) -> None:
    """Drop a job whose cancellation was asked for before a worker took it (marked REVOKED)."""
    from celery.exceptions import Ignore

    from haybale.jobs.records import JobRecords

    job_id = task.request.id
    if job_id and JobRecords(task.backend.client, 60).cancel_requested(job_id):
        task.backend.mark_as_revoked(job_id, "cancelled before it started", request=task.request)
        raise Ignore()


def register_tasks(app: Any, settings: Settings) -> WorkerRuntime:
    """Register haybale's tasks on the Celery ``app``; they run with a :class:`WorkerRuntime` over
    ``settings`` (built lazily: a submitter that never runs a task builds nothing)."""
    runtime = WorkerRuntime(settings)
    bodies = {
        INDEX_FILES_TASK: index_files,
        PROCESS_UPLOADS_TASK: process_uploads,
        RUN_PIPELINE_TASK: run_pipeline,
    }
    for name, body in bodies.items():

        def run(task: Any, payload: dict[str, Any], _body: Any = body) -> dict[str, Any]:
            if not isinstance(payload, dict):
                raise JobPayloadError(f"A job's payload must be an object, got {type(payload).__name__}.")
            _dropped_if_cancelled(task)
            with _retrying(task, settings):
                result: dict[str, Any] = _body(task, runtime, payload)
                return result

        run.__name__ = run.__qualname__ = name.rsplit(".", 1)[1]
        app.task(name=name, bind=True, max_retries=settings.jobs_max_retries)(run)
    app.haybale_runtime = runtime
    return runtime
