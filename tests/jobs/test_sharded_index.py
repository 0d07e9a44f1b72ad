"""``haybale index --workers N``: sharded indexing on real worker processes gives exactly the single-process
index (same chunk ids, same count per source), and re-running it sends nothing to the workers."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from .conftest import run_index_cli, single_process_index, stored_chunks, write_corpus

pytestmark = pytest.mark.distributed


@pytest.mark.pg
def test_two_workers_write_what_one_process_writes(tmp_path: Path, pg_server: Any) -> None:
    from haybale.stores import SQLiteDocumentStore
    from haybale.stores.url import open_store_url

    docs = write_corpus(tmp_path, files=300)
    single_process_index(docs, tmp_path / "single.db")
    expected_ids, expected_counts = stored_chunks(SQLiteDocumentStore(path=str(tmp_path / "single.db")))

    separator = "&" if "?" in pg_server.dsn else "?"
    store_url = f"{pg_server.dsn}{separator}table=t_{uuid.uuid4().hex[:10]}"
    args = [str(docs), "--store", store_url, "--no-embed", "--chunk-size", "200", "--batch-files", "10"]
    result = run_index_cli(*args, "--workers", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "300 indexed" in result.stdout and "0 failed" in result.stdout
    worker_line = next(line for line in result.stdout.splitlines() if line.startswith("workers:"))
    counts = {
        part.split()[0]: int(part.split()[1]) for part in worker_line.removeprefix("workers:").split(",")
    }
    assert len(counts) == 2 and all(n > 0 for n in counts.values()), worker_line  # both workers took shards
    assert sum(counts.values()) == 300

    opened = open_store_url(store_url)
    try:
        ids, per_source = stored_chunks(opened.store)
    finally:
        opened.store.close()
    assert len(ids) == len(expected_ids) > 300
    assert ids == expected_ids  # same content-addressed chunk ids: nothing missing, nothing extra
    assert per_source == expected_counts

    again = run_index_cli(*args, "--workers", "1")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 indexed" in again.stdout and "300 unchanged" in again.stdout


def test_a_store_the_workers_cannot_share_is_refused(tmp_path: Path) -> None:
    docs = write_corpus(tmp_path, files=3)
    result = run_index_cli(str(docs), "--store", "memory", "--no-embed", "--workers", "2")
    assert result.returncode == 1
    assert "lives inside one process" in result.stderr and "sqlite:///" in result.stderr
