"""What one app instance shares between requests: the application layer, the served pipelines, the metrics.

The :class:`~haybale.app.application.Application` is built tenant-scoped: every store call any route or
served pipeline makes goes through a :class:`~haybale.stores.tenant_scope.TenantScopedStore`, and each request
runs inside ``tenant_scope(caller.tenant)``. Models load lazily, so ``/health``, authentication and input
validation answer at once after start-up.
"""

from __future__ import annotations

import threading
from typing import Any

from haybale.app.application import Application
from haybale.app.settings import Settings
from haybale.service.metrics import ServiceMetrics
from haybale.service.observability import ServiceObservability
from haybale.service.pipeline_registry import PipelineRegistry

__all__ = ["ServiceState"]


class ServiceState:
    """Shared resources of one service app.

    Args:
        settings: the service settings.
        chat_generator: the chat generator for ``/v1/chat/completions``; default from the settings.
    """

    def __init__(self, settings: Settings, chat_generator: Any = None) -> None:
        self.settings = settings
        # One model thread: the other cores serve HTTP and search while a batch of queries is embedded.
        self.app = Application(settings, tenant_scoped=True, chat_generator=chat_generator, model_threads=1)
        self.metrics = ServiceMetrics()
        self.pipelines = PipelineRegistry(settings.pipelines_dir, settings.allowed_modules)
        self.observability = ServiceObservability(settings)
        self._jobs: Any = None
        self._jobs_lock = threading.Lock()

    @property
    def jobs(self) -> Any:
        """The :class:`~haybale.jobs.queue.JobQueue` (built on first use), or None when no broker is set."""
        if self.settings.broker_url is None:
            return None
        with self._jobs_lock:
            if self._jobs is None:
                from haybale.jobs.queue import JobQueue

                self._jobs = JobQueue(self.settings)
            return self._jobs

    def close(self) -> None:
        """Release the store's and the job queue's connections."""
        self.app.close()
        with self._jobs_lock:
            if self._jobs is not None:
                self._jobs.close()
                self._jobs = None

    @property
    def store(self) -> Any:
        """The underlying (unscoped) document store, for operators and tests; routes use ``app.store``."""
        return self.app.opened_store.store
