"""``haybale index PATH...``: incrementally index files and folders into a document store.

The work is done by :class:`haybale.indexing.Indexer`; this module only parses options and renders progress
and the per-file summary with Rich.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from haybale.stores.url import DEFAULT_STORE_URL

__all__ = ["register"]


class SplitUnit(str, enum.Enum):
    """Units ``--chunk-size`` and ``--overlap`` count in."""

    character = "character"
    word = "word"
    sentence = "sentence"
    token = "token"


def _display(source: str) -> str:
    """A source key shown relative to the working directory when it lies below it."""
    try:
        return os.path.relpath(source) if source.startswith(os.getcwd() + os.sep) else source
    except ValueError:
        return source


@contextlib.contextmanager
def _quiet_haybale_warnings() -> Iterator[None]:
    logger = logging.getLogger("haybale")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _summary_table(report: Any, show_unchanged: bool) -> Any:
    from rich.table import Table

    table = Table(title="haybale index", show_lines=False)
    table.add_column("source", overflow="fold")
    table.add_column("status")
    table.add_column("chunks", justify="right")
    table.add_column("detail", overflow="fold")
    styles = {
        "indexed": "green",
        "unchanged": "dim",
        "failed": "bold red",
        "removed": "yellow",
        "skipped": "dim",
    }
    for outcome in report.outcomes:
        if outcome.status == "unchanged" and not show_unchanged:
            continue
        detail = outcome.error or (f"replaced {outcome.replaced} old chunks" if outcome.replaced else "")
        if outcome.ocr_pages:
            pages = ", ".join(str(p) for p in outcome.ocr_pages)
            detail = f"{detail}; " if detail else ""
            detail += f"OCR: page{'s' if len(outcome.ocr_pages) > 1 else ''} {pages}"
        chunks = str(outcome.chunks) if outcome.status in ("indexed", "removed") else ""
        style = styles[outcome.status]
        table.add_row(_display(outcome.source), f"[{style}]{outcome.status}[/{style}]", chunks, detail)
    return table


def _progress(console: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]indexing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}"),
        console=console,
        transient=True,
    )


def _index_on_workers(
    application: Any, paths: list[Path], *, workers: int | None, queue: str | None, **run_options: Any
) -> Any:
    """Index through Celery workers: ``workers`` started here, on ``queue``'s broker or an embedded one."""
    import tempfile

    from haybale.jobs.embedded_redis import EmbeddedRedis
    from haybale.jobs.local_workers import LocalWorkers
    from haybale.jobs.queue import JobQueue
    from haybale.jobs.sharded_index import index_with_workers
    from haybale.stores.url import shared_store_url

    settings = application.settings
    store_url = shared_store_url(settings.store_url)  # refuses a store the workers cannot share
    with contextlib.ExitStack() as stack:
        broker_url = queue
        scratch = Path(tempfile.mkdtemp(prefix="haybale-index-"))
        stack.callback(shutil.rmtree, scratch, True)
        if broker_url is None:
            broker_url = stack.enter_context(EmbeddedRedis(scratch / "broker")).url
        local = None
        if workers:
            local = LocalWorkers(
                workers, broker_url, store_url, settings.jobs_queue, log_dir=scratch / "logs"
            )
            stack.enter_context(local)
        jobs = JobQueue(settings, broker_url=broker_url)
        stack.callback(jobs.close)
        return index_with_workers(
            application, jobs, paths, workers_alive=local.alive if local else None, **run_options
        )


def index_command(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to index (folders recursively).")],
    *,
    store: Annotated[
        str | None,
        typer.Option(
            help=f"Store URL: sqlite:///path.db, memory[:///snapshot], postgresql://… (default: "
            f"HAYBALE_STORE_URL, PGVECTOR_DSN or {DEFAULT_STORE_URL})."
        ),
    ] = None,
    chunk_size: Annotated[
        int | None, typer.Option(min=1, help="Chunk length, in --unit units (default 500 characters).")
    ] = None,
    overlap: Annotated[
        int | None, typer.Option(min=0, help="Units shared by consecutive chunks (default 50).")
    ] = None,
    unit: Annotated[
        SplitUnit | None,
        typer.Option(help="What --chunk-size counts (default: characters, chunks end at word boundaries)."),
    ] = None,
    prune: Annotated[
        bool, typer.Option(help="Remove indexed files under PATH that no longer exist.")
    ] = False,
    embed: Annotated[
        bool, typer.Option(help="Compute embeddings (needed for dense and hybrid queries).")
    ] = True,
    model: Annotated[
        str | None,
        typer.Option(help="Embedding model name or local folder (default: the bundled all-MiniLM-L6-v2)."),
    ] = None,
    batch_files: Annotated[int, typer.Option(min=1, help="Files processed and written together.")] = 32,
    show_unchanged: Annotated[bool, typer.Option(help="List unchanged files in the summary too.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Index on N worker processes started here (with an embedded broker unless --queue is "
            "given), in shards of --batch-files files.",
        ),
    ] = None,
    queue: Annotated[
        str | None,
        typer.Option(
            help="Send the shards to the workers of this broker (redis://… or amqp://…); they must share the "
            "store and see the files at the same paths."
        ),
    ] = None,
) -> None:
    """Index files into a document store, incrementally and exactly once.

    Unchanged files (same path and sha256) are skipped; a changed file's chunks are replaced atomically; a run
    that is interrupted can simply be re-run. With --workers or --queue the files are indexed in shards by
    Celery workers (see docs/scaling.md), with the same result as a single-process run. Settings not given as
    options come from the environment, as for `haybale serve`. Exit code 1 when any file failed, 2 for bad
    options.
    """
    from rich.console import Console

    from haybale.app import Application, Settings
    from haybale.errors import HaybaleError

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # haybale never downloads models
    out, err = Console(), Console(stderr=True)
    try:
        settings = Settings.load(
            store_url=store,
            chunk_size=chunk_size,
            chunk_overlap=overlap,
            split_by=None if unit is None else unit.value,
            embedding_model=model,
            embed=None if embed else False,
        )
        application = Application(settings)
    except HaybaleError as exc:
        err.print(f"[red]Error:[/red] {exc}")
        raise typer.Exit(2) from None
    opened = application.opened_store
    progress = _progress(err)
    task = progress.add_task("index", total=None, current="scanning…")

    def on_plan(found: int, to_process: int) -> None:
        progress.update(task, total=found, current=f"{to_process} to process")

    def on_outcome(outcome: Any) -> None:
        progress.update(task, advance=1, current=_display(outcome.source)[-60:])

    by_worker: dict[str, int] = {}
    try:
        # Failures are shown in the summary table; the converters' log lines would only repeat them.
        with progress, _quiet_haybale_warnings():
            if workers is None and queue is None:
                indexer = application.indexer(batch_files=batch_files, conversion_process=True)
                report = indexer.index(paths, prune=prune, on_outcome=on_outcome, on_plan=on_plan)
            else:
                run = _index_on_workers(
                    application,
                    paths,
                    workers=workers,
                    queue=queue,
                    prune=prune,
                    batch_files=batch_files,
                    on_plan=on_plan,
                    on_outcome=on_outcome,
                    on_wait=lambda line: progress.update(task, current=line),
                )
                report, by_worker = run.report, dict(run.files_by_worker)
    except HaybaleError as exc:
        err.print(f"[red]Error:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        application.close()
    table = _summary_table(report, show_unchanged)
    if table.row_count:  # an unchanged folder needs no empty table, only the summary line
        out.print(table)
    out.print(
        f"{report.count('indexed')} indexed ({report.chunks_written} chunks), {report.count('unchanged')} "
        f"unchanged, {report.count('removed')} removed, {report.count('skipped')} skipped, "
        f"{report.count('failed')} failed in "
        f"{report.seconds:.2f} s -> {opened.url}"
    )
    if by_worker:
        out.print(
            "workers: " + ", ".join(f"{name} {count} files" for name, count in sorted(by_worker.items()))
        )
    if report.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``index`` command to the ``haybale`` Typer app."""
    app.command("index")(index_command)
