"""The Celery application of haybale's jobs: one configuration for the submitters and the workers.

Both sides build it from the same :class:`~haybale.app.settings.Settings` (``HAYBALE_BROKER_URL`` and the
other ``HAYBALE_JOBS_*`` variables), so they agree on the broker, the queue and the task names. What makes
redelivery safe is set here:

* ``task_acks_late`` with ``worker_prefetch_multiplier=1``: a task is acknowledged only after it finished,
  and a worker holds one task at a time. A worker killed mid-task never acknowledged it: the broker hands it
  to another worker (on Redis once ``jobs_visibility_timeout`` has passed), and because every task writes
  through the exactly-once :class:`~haybale.indexing.indexer.Indexer` (content-addressed chunk ids, one atomic
  ``replace_documents`` per batch), running it twice never duplicates or half-writes anything.
* ``task_reject_on_worker_lost``: a pool child that dies hands its task back at once.
* Connections to the broker and the result backend are retried without limit: a broker restart pauses the
  workers, it does not stop them.

Tasks are registered by :mod:`haybale.jobs.tasks`; the submitting side never runs them.
"""

from __future__ import annotations

from typing import Any

from haybale.app.settings import Settings
from haybale.errors import SettingsError, optional_dependency

__all__ = ["build_celery_app", "celery_config"]

#: How often (at most) a worker looks for tasks abandoned by a vanished worker, in seconds.
_MAX_RESTORE_INTERVAL_S = 10.0


def celery_config(settings: Settings, broker_url: str | None = None) -> dict[str, Any]:
    """The Celery configuration for ``settings`` (``broker_url`` overrides the settings' broker).

    Raises:
        SettingsError: no broker is configured.
    """
    broker = broker_url or settings.broker_url
    if not broker:
        raise SettingsError(
            "No job queue is configured: set HAYBALE_BROKER_URL=redis://host:6379/0 (or amqp://...) and "
            "start workers with `haybale worker`, or let `haybale index --workers N` start an embedded one."
        )
    backend = settings.result_backend or (broker if broker.startswith("redis") else None)
    if backend is None:
        raise SettingsError(
            "An AMQP broker needs a Redis result backend for job states: set HAYBALE_RESULT_BACKEND="
            "redis://host:6379/0."
        )
    visibility = settings.jobs_visibility_timeout
    restore_interval = max(1, int(min(_MAX_RESTORE_INTERVAL_S, visibility / 4)))
    return {
        "broker_url": broker,
        "result_backend": backend,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "enable_utc": True,
        "timezone": "UTC",
        "task_default_queue": settings.jobs_queue,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_track_started": True,
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "worker_send_task_events": False,
        "worker_hijack_root_logger": False,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "broker_transport_options": {
            "visibility_timeout": visibility,
            "unacked_restore_interval": restore_interval,
            "unacked_restore_throttle": 1,
        },
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": 60,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 2.0,
        },
        "result_expires": settings.jobs_ttl,
        "result_backend_always_retry": True,
        "result_backend_max_retries": 1_000_000,
        "result_backend_base_sleep_between_retries_ms": 100,
        "result_backend_max_sleep_between_retries_ms": 2000,
        "redis_backend_health_check_interval": 5,
        "redis_retry_on_timeout": True,
    }


def build_celery_app(settings: Settings, broker_url: str | None = None) -> Any:
    """A Celery app configured for ``settings``, with haybale's tasks registered.

    Args:
        settings: the settings (broker, queue, retries, and, on a worker, the store and chunking).
        broker_url: use this broker instead of the settings' one.

    Raises:
        SettingsError: no broker is configured.
        MissingDependencyError: celery is not installed (``pip install 'haybale[jobs]'``).
    """
    with optional_dependency("celery", extra="jobs", feature="Jobs and workers"):
        from celery import Celery
    from haybale.jobs.tasks import register_tasks

    app = Celery("haybale", set_as_current=False)
    app.conf.update(celery_config(settings, broker_url))
    register_tasks(app, settings)
    return app
