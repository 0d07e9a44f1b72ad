"""``haybale worker``: a Celery worker running haybale's jobs (sharded indexing, async ``/process``,
pipelines).

Start as many as the machines allow, all with the same settings (``HAYBALE_BROKER_URL``,
``HAYBALE_STORE_URL``, credentials, ``HAYBALE_PIPELINES_DIR``). Each worker takes one task at a time and
acknowledges it only when it is done; ``SIGTERM`` or Ctrl-C finishes the current task first, and a worker
killed outright has its task handed to another one. See docs/scaling.md.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register", "worker_command"]


def worker_command(
    *,
    broker: Annotated[
        str | None,
        typer.Option(help="Broker URL: redis://host:6379/0 or amqp://… (default: HAYBALE_BROKER_URL)."),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(help="Store URL the jobs write to (default: HAYBALE_STORE_URL or PGVECTOR_DSN)."),
    ] = None,
    queue: Annotated[
        str | None, typer.Option(help="Queue name to consume (default: HAYBALE_JOBS_QUEUE or 'haybale').")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Worker name, shown in progress and job results (default: w<pid>).")
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            min=1,
            help="Tasks run at once: 1 runs them in this process (models load once); more forks a pool.",
        ),
    ] = 1,
    pipelines_dir: Annotated[
        Path | None, typer.Option(help="Folder of <name>.yaml pipelines that pipeline jobs may name.")
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """Run jobs from the queue until stopped (SIGTERM / Ctrl-C finish the current task first)."""
    from haybale.app.settings import Settings
    from haybale.errors import HaybaleError
    from haybale.jobs.celery_app import build_celery_app
    from haybale.jobs.options import IndexingOptions

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # haybale never downloads models
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.load(
            broker_url=broker, store_url=store, jobs_queue=queue, pipelines_dir=pipelines_dir
        )
        app = build_celery_app(settings)
        # Open the store now: a wrong URL or password is reported at start, not on the first job.
        app.haybale_runtime.application(IndexingOptions.from_settings(settings))
    except HaybaleError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None
    worker = app.Worker(
        hostname=f"{name or f'w{os.getpid()}'}@{socket.gethostname()}",
        pool="solo" if concurrency == 1 else "prefork",
        concurrency=concurrency,
        queues=[settings.jobs_queue],
        loglevel=log_level.upper(),
        without_mingle=True,
        without_gossip=True,
        quiet=True,
    )
    try:
        worker.start()
    finally:
        app.haybale_runtime.close()
    raise typer.Exit(int(worker.exitcode or 0))


def register(app: typer.Typer) -> None:
    """Add the ``worker`` command to the ``haybale`` Typer app."""
    app.command("worker")(worker_command)
