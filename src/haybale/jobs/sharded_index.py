"""``haybale index`` across workers: plan here, index in shards on the workers, report as one run.

1. The files are planned here exactly as a single-process run plans them (:meth:`Indexer.plan
   <haybale.indexing.indexer.Indexer.plan>`): unchanged files are skipped before anything is sent.
2. The files to process are cut into shards of ``batch_files`` and each shard is one task. A worker indexes
   its shard through :meth:`Indexer.index_sources <haybale.indexing.indexer.Indexer.index_sources>` with one
   atomic ``replace_documents``, so chunk ids, chunk counts and metadata are those of a single-process run,
   and a shard run twice (redelivered after a worker died) changes nothing the second time.
3. Progress comes from the result backend: every shard's state is read in one round trip per poll, so it
   counts files finished on every worker, and a broker that goes away only pauses it.
4. Pruning (``--prune``) runs here once every shard has finished.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haybale.errors import RuntimeFailure
from haybale.indexing.indexer import FileOutcome, IndexReport, SourceInput
from haybale.jobs.options import IndexingOptions
from haybale.jobs.tasks import INDEX_FILES_TASK

__all__ = ["ShardedRun", "WorkersLostError", "index_with_workers"]

_MGET_GROUP = 500


class WorkersLostError(RuntimeFailure):
    """Every worker this run started has exited while shards were still waiting; the logs say why."""

    retryable = False


@dataclass
class ShardedRun:
    """The outcome of :func:`index_with_workers`.

    Attributes:
        report: one :class:`FileOutcome` per source, as a single-process run reports it.
        files_by_worker: how many files each worker processed.
        shards: how many tasks the files were cut into.
    """

    report: IndexReport
    files_by_worker: Counter[str] = field(default_factory=Counter)
    shards: int = 0


def _shard_outcomes(meta: dict[str, Any], shard: list[SourceInput]) -> tuple[list[FileOutcome], str | None]:
    """The outcomes a finished shard reported (or a failure for each of its files), and its worker."""
    state, result = meta.get("status"), meta.get("result")
    if state == "SUCCESS" and isinstance(result, dict):
        outcomes = [
            FileOutcome(str(src), status, int(chunks), int(replaced), error, tuple(pages or ()))
            for src, status, chunks, replaced, error, pages in result.get("outcomes", [])
        ]
        return outcomes, result.get("worker")
    reason = "cancelled" if state == "REVOKED" else f"{type(result).__name__}: {result}"
    if isinstance(result, dict):  # an exception the backend could not rebuild
        reason = f"{result.get('exc_type', 'error')}: {result.get('exc_message', result)}"
    return [FileOutcome(item.key, "failed", error=f"worker task failed: {reason}") for item in shard], None


class _ShardTracker:
    """The shards in flight and what the result backend says about them."""

    def __init__(self, queue: Any, shards: dict[str, list[SourceInput]]) -> None:
        self.backend = queue.app.backend
        self.connection_errors = queue.connection_errors
        self.waiting = dict(shards)
        self.running: dict[str, int] = {}

    def poll(self) -> list[tuple[str, dict[str, Any]]]:
        """(task id, meta) of the shards that finished since the last poll.

        Raises:
            the backend's connection errors, when it cannot be reached.
        """
        finished = []
        ids = list(self.waiting)
        self.running.clear()
        for start in range(0, len(ids), _MGET_GROUP):
            group = ids[start : start + _MGET_GROUP]
            raws = self.backend.mget([self.backend.get_key_for_task(task_id) for task_id in group])
            for task_id, raw in zip(group, raws, strict=True):
                if raw is None:
                    continue
                meta = self.backend.decode_result(raw)
                if meta.get("status") in ("SUCCESS", "FAILURE", "REVOKED"):
                    finished.append((task_id, meta))
                elif meta.get("status") in ("STARTED", "PROGRESS"):
                    self.running[task_id] = 1
        return finished


def _wait_for_shards(
    tracker: _ShardTracker,
    run: ShardedRun,
    record: Callable[[FileOutcome], None],
    *,
    on_wait: Callable[[str], None] | None,
    workers_alive: Callable[[], int] | None,
    poll_s: float,
) -> None:
    """Poll until every shard finished, recording outcomes as shards finish."""
    while tracker.waiting:
        try:
            finished = tracker.poll()
        except tracker.connection_errors as exc:
            if on_wait is not None:
                on_wait(f"result backend unreachable ({type(exc).__name__}); waiting for it")
            finished = []
        for task_id, meta in finished:
            outcomes, worker = _shard_outcomes(meta, tracker.waiting.pop(task_id))
            for outcome in outcomes:
                record(outcome)
            if worker:
                run.files_by_worker[worker] += len(outcomes)
        if not tracker.waiting:
            return
        if on_wait is not None:
            on_wait(f"{len(tracker.running)} shards running, {len(tracker.waiting)} left")
        if workers_alive is not None and workers_alive() == 0:
            raise WorkersLostError(
                f"Every worker exited with {len(tracker.waiting)} shards left; nothing half-written "
                "stays behind (re-run the command to finish). The workers' logs say why they stopped."
            )
        time.sleep(poll_s)


def _send_shards(
    queue: Any, pending: list[SourceInput], options: IndexingOptions, batch_files: int
) -> dict[str, list[SourceInput]]:
    shards: dict[str, list[SourceInput]] = {}
    for start in range(0, len(pending), batch_files):
        shard = pending[start : start + batch_files]
        payload = {
            "tenant": None,
            "options": options.to_dict(),
            "sources": [[item.key, str(item.content)] for item in shard],
        }
        result = queue.app.send_task(INDEX_FILES_TASK, args=[payload], queue=queue.settings.jobs_queue)
        shards[result.id] = shard
    return shards


def index_with_workers(
    application: Any,
    queue: Any,
    paths: Iterable[str | Path],
    *,
    prune: bool = False,
    batch_files: int = 32,
    on_plan: Callable[[int, int], None] | None = None,
    on_outcome: Callable[[FileOutcome], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
    workers_alive: Callable[[], int] | None = None,
    poll_s: float = 0.2,
) -> ShardedRun:
    """Index ``paths`` into ``application``'s store through the workers of ``queue``.

    Args:
        application: the submitter's :class:`~haybale.app.application.Application` (store, chunking).
        queue: the :class:`~haybale.jobs.queue.JobQueue` whose workers do the work.
        paths: files and folders.
        prune: delete indexed sources under ``paths`` whose files are gone, once every shard is done.
        batch_files: files per shard (one task, one atomic write).
        on_plan: called with (files found, files to process) once planned.
        on_outcome: called with each source's outcome as soon as its shard finished.
        on_wait: called with a line saying what the run waits for (workers busy, broker unreachable).
        workers_alive: how many workers this run started are alive; when it drops to 0 the run stops.
        poll_s: seconds between polls of the result backend.

    Raises:
        WorkersLostError: every local worker exited with shards left.
        DocumentStoreUsageError: the store cannot be shared between processes (``memory``).
    """
    started = time.perf_counter()
    paths = list(paths)
    options = IndexingOptions.from_settings(application.settings)
    indexer = application.indexer(batch_files=batch_files)
    run = ShardedRun(IndexReport())

    def record(outcome: FileOutcome) -> None:
        run.report.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    pending, settled = indexer.plan(paths)
    if on_plan is not None:
        on_plan(len(pending) + sum(1 for o in settled if o.status == "unchanged"), len(pending))
    for outcome in settled:
        record(outcome)
    tracker = _ShardTracker(queue, _send_shards(queue, pending, options, batch_files))
    run.shards = len(tracker.waiting)
    try:
        _wait_for_shards(tracker, run, record, on_wait=on_wait, workers_alive=workers_alive, poll_s=poll_s)
    except BaseException:
        _cancel(queue, list(tracker.waiting))
        raise
    if prune:
        for outcome in indexer.prune(paths):
            record(outcome)
    run.report.seconds = time.perf_counter() - started
    return run


def _cancel(queue: Any, task_ids: list[str]) -> None:
    """Drop shards nobody took yet (an interrupted run); a shard being written finishes its atomic write."""
    if not task_ids:
        return
    with contextlib.suppress(Exception):  # best effort: the broker may be the reason we stopped
        for task_id in task_ids:
            queue.records.request_cancel(task_id)
        queue.app.control.revoke(task_ids)
