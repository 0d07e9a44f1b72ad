"""Exactly once across machines: a worker killed with SIGKILL in the middle of a task, and a broker that
restarts while workers are busy, still end with the single-process index — no duplicate chunk, no source
half-written, nothing missing.

To stop workers *inside* a task deterministically, the shards are queued first, then the test takes the SQLite
database's write lock and starts the workers: each takes a shard and waits on the store inside the task. The
killed worker never acknowledged its task, so the broker hands it to the other worker once the visibility
timeout (3 s here) has passed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from haybale.jobs.embedded_redis import EmbeddedRedis
from haybale.testing.workers import running_workers, worker_logs

from .conftest import (
    FAST_REDELIVERY,
    SQLiteWriteLock,
    single_process_index,
    stored_chunks,
    wait_for,
    write_corpus,
)

pytestmark = pytest.mark.distributed


SHARDS = 6  # 60 files in shards of 10


def _count(redis_server: EmbeddedRedis, command: str, key: str) -> int:
    """``HLEN unacked`` (tasks taken and not acknowledged) or ``LLEN haybale`` (tasks waiting)."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    try:
        return int(client.execute_command(command, key))
    except redis.RedisError:
        return 0
    finally:
        client.close()


def _queued(docs: Path, db: Path, redis_server: EmbeddedRedis) -> subprocess.Popen[str]:
    """Start ``haybale index --queue`` and wait until it has planned and queued every shard."""
    from haybale.stores import SQLiteDocumentStore

    SQLiteDocumentStore(path=str(db)).count_documents()  # the schema exists before the lock is taken
    index = _start_index(docs, db, redis_server.url)
    wait_for(lambda: _count(redis_server, "LLEN", "haybale") == SHARDS, 60, lambda: str(index.poll()))
    return index


def _start_index(docs: Path, db: Path, broker_url: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "haybale.cli.main", "index", str(docs), "--store", f"sqlite:///{db}"]
    command += ["--queue", broker_url, "--no-embed", "--chunk-size", "200", "--batch-files", "10"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _assert_same_as_single_process(docs: Path, db: Path, reference: Path) -> None:
    from haybale.stores import SQLiteDocumentStore

    single_process_index(docs, reference)
    expected_ids, expected_counts = stored_chunks(SQLiteDocumentStore(path=str(reference)))
    ids, per_source = stored_chunks(SQLiteDocumentStore(path=str(db)))
    assert len(ids) == len(set(ids)) == len(expected_ids)  # 0 duplicates
    assert ids == expected_ids
    partial = {s: n for s, n in per_source.items() if n != expected_counts[s]}
    assert not partial  # 0 sources with some but not all of their chunks
    assert set(per_source) == set(expected_counts)  # 0 sources missing


def test_a_worker_killed_mid_task_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, scratch: Path, redis_server: EmbeddedRedis
) -> None:
    docs, db = write_corpus(tmp_path, files=60), tmp_path / "index.db"
    index = _queued(docs, db, redis_server)
    lock = SQLiteWriteLock(db)
    try:
        with running_workers(
            2, redis_server.url, f"sqlite:///{db}", scratch / "logs", **FAST_REDELIVERY
        ) as pool:
            # Each worker has taken a shard (unacknowledged) and waits on the store inside the task.
            wait_for(
                lambda: _count(redis_server, "HLEN", "unacked") == 2,
                60,
                lambda: worker_logs(scratch / "logs"),
            )
            victim = pool.processes.pop(0)  # w1
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
            lock.release()
            out, err = index.communicate(timeout=120)
            assert index.returncode == 0, out + err + worker_logs(scratch / "logs")
    finally:
        lock.release()
        if index.poll() is None:
            index.kill()
            index.communicate()
    assert "60 indexed" in out and "0 failed" in out
    assert "w1@" not in out.split("workers:")[-1]  # the survivor finished every shard, w1's included
    _assert_same_as_single_process(docs, db, tmp_path / "single.db")


def test_workers_reconnect_after_a_broker_restart_and_finish(
    tmp_path: Path, scratch: Path, redis_server: EmbeddedRedis
) -> None:
    docs, db = write_corpus(tmp_path, files=60), tmp_path / "index.db"
    index = _queued(docs, db, redis_server)
    lock = SQLiteWriteLock(db)
    try:
        with running_workers(2, redis_server.url, f"sqlite:///{db}", scratch / "logs", **FAST_REDELIVERY):
            wait_for(
                lambda: _count(redis_server, "HLEN", "unacked") == 2,
                60,
                lambda: worker_logs(scratch / "logs"),
            )
            redis_server.stop()  # graceful: waiting and unacknowledged tasks are in its append-only file
            lock.release()  # the workers finish their writes while the broker is away
            time.sleep(2)
            redis_server.start()
            out, err = index.communicate(timeout=180)
            assert index.returncode == 0, out + err + worker_logs(scratch / "logs")
    finally:
        lock.release()
        if index.poll() is None:
            index.kill()
            index.communicate()
    assert "0 failed" in out
    _assert_same_as_single_process(docs, db, tmp_path / "single.db")
