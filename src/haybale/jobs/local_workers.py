"""``haybale worker`` processes started on this machine by a command that owns them (``haybale index
--workers N``, and the tests), and stopped with it.

Each gets the broker and the (shared) store through its environment, a name (``w1``, ``w2``, ...) and, unless
``HAYBALE_MODEL_THREADS`` is set, an equal share of the cores for its model, so N workers do not fight over
the same cores.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

__all__ = ["LocalWorkers"]


class LocalWorkers:
    """N worker processes on this machine.

    Args:
        count: how many.
        broker_url: the broker they consume.
        store_url: the store they write to (absolute, see :func:`~haybale.stores.url.shared_store_url`).
        queue: the queue name.
        log_dir: where each worker's output goes (``worker-<n>.log``); None discards it.
        extra_env: more variables for the workers.
    """

    def __init__(
        self,
        count: int,
        broker_url: str,
        store_url: str,
        queue: str,
        *,
        log_dir: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.count = count
        self.broker_url = broker_url
        self.store_url = store_url
        self.queue = queue
        self.log_dir = log_dir
        self.extra_env = dict(extra_env or {})
        self.processes: list[subprocess.Popen[bytes]] = []

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "HAYBALE_BROKER_URL": self.broker_url,
                "HAYBALE_STORE_URL": self.store_url,
                "HAYBALE_JOBS_QUEUE": self.queue,
                "HF_HUB_OFFLINE": "1",
            }
        )
        env.setdefault("HAYBALE_MODEL_THREADS", str(max(1, (os.cpu_count() or 1) // self.count)))
        env.update(self.extra_env)
        return env

    def start(self) -> LocalWorkers:
        """Start the workers (they connect to the broker on their own)."""
        env = self._environment()
        for number in range(1, self.count + 1):
            command = [sys.executable, "-m", "haybale.cli.main", "worker", "--name", f"w{number}"]
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                with (self.log_dir / f"worker-{number}.log").open("wb") as log:
                    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            else:
                process = subprocess.Popen(
                    command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            self.processes.append(process)
        return self

    def alive(self) -> int:
        """How many of the workers are still running."""
        return sum(1 for p in self.processes if p.poll() is None)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the workers: SIGTERM (each finishes its current task), then SIGKILL after ``timeout_s``."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def __enter__(self) -> LocalWorkers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
