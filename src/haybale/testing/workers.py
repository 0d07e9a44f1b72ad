"""Real ``haybale worker`` processes for tests: started, waited for until they consume, stopped afterwards.

``running_workers(2, broker_url, store_url, log_dir)`` yields a
:class:`~haybale.jobs.local_workers.LocalWorkers` once every worker holds its connection on the queue, so a
test can submit jobs (or kill a worker) right away."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from haybale.errors import RuntimeFailure
from haybale.jobs.local_workers import LocalWorkers

__all__ = ["WorkersNotReadyError", "consuming_workers", "running_workers", "worker_logs"]


class WorkersNotReadyError(RuntimeFailure):
    """The workers did not start consuming in time; the message quotes their logs."""


def consuming_workers(broker_url: str) -> int:
    """How many workers wait on the broker's queues right now (each holds a ``BRPOP`` on Redis).

    ``broker_url`` is a Celery Redis URL: ``redis://``, ``rediss://`` or ``redis+socket://`` (a UNIX socket,
    where the embedded broker listens).
    """
    import redis

    client = redis.Redis.from_url(broker_url.replace("redis+socket://", "unix://", 1))
    try:
        return sum(1 for c in client.client_list() if c.get("cmd") == "brpop")
    except redis.RedisError:
        return 0
    finally:
        client.close()


def worker_logs(log_dir: Path) -> str:
    """The end of every worker log in ``log_dir`` (for assertion messages)."""
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(log_dir.glob("*.log")))


@contextmanager
def running_workers(
    count: int, broker_url: str, store_url: str, log_dir: Path, timeout_s: float = 60, **env: str
) -> Iterator[LocalWorkers]:
    """``count`` worker processes on a Redis broker, consuming the default queue when the block starts.

    Args:
        count: how many workers.
        broker_url: the broker (Redis).
        store_url: the store they share.
        log_dir: where their logs go.
        timeout_s: how long they may take to start.
        env: more environment variables (``HAYBALE_*`` settings).

    Raises:
        WorkersNotReadyError: they did not all start consuming within ``timeout_s``.
    """
    with LocalWorkers(count, broker_url, store_url, "haybale", log_dir=log_dir, extra_env=env) as pool:
        deadline = time.monotonic() + timeout_s
        while consuming_workers(broker_url) < count:
            if time.monotonic() > deadline or pool.alive() < count:
                raise WorkersNotReadyError(f"{count} workers did not start:\n{worker_logs(log_dir)}")
            time.sleep(0.05)
        yield pool
