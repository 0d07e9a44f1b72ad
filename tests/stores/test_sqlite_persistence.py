"""SQLiteDocumentStore's persisted BM25 index and memory-mapped vector file: fresh processes, crashes, repair,
migration from schema version 1, and many small writes and deletes (segment merges, vector compaction)."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from haybale.dataclasses import Document
from haybale.errors import DocumentStoreUnavailableError
from haybale.stores import DuplicatePolicy, InMemoryDocumentStore, SQLiteDocumentStore

QUERIES = ["apple banana", "cherry", "quick brown fox", "zebra zebra apple", "nothing-matches-this"]
_WORDS = ["apple", "banana", "cherry", "runner", "fox", "quick", "brown", "zebra", "delta", "echo", "kilo"]


def _corpus(count: int, start: int = 0, seed: int = 3) -> list[Document]:
    rng = random.Random(seed + start)
    return [
        Document(
            id=f"d{i}",
            content=" ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 12))),
            meta={"i": i, "even": i % 2 == 0},
            embedding=[rng.uniform(-1, 1) for _ in range(8)],
        )
        for i in range(start, start + count)
    ]


def _bm25(store, query: str, **kwargs) -> dict[str, float]:
    return {d.id: d.score for d in store.bm25_search(query, top_k=1000, **kwargs)}


def _dense(store, vector: list[float], **kwargs) -> list[tuple[str, float]]:
    return [(d.id, d.score) for d in store.embedding_search(vector, top_k=7, **kwargs)]


def _assert_same_results(sqlite_store, memory_store) -> None:
    for query in QUERIES:
        assert _bm25(sqlite_store, query) == _bm25(memory_store, query), query
        assert _bm25(sqlite_store, query, filters={"even": True}) == _bm25(
            memory_store, query, filters={"even": True}
        )
    for seed in range(3):
        vector = [random.Random(seed).uniform(-1, 1) for _ in range(8)]
        got, want = _dense(sqlite_store, vector), _dense(memory_store, vector)
        assert [i for i, _ in got] == [i for i, _ in want]
        assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-6)


_FRESH_PROCESS = textwrap.dedent(
    """
    import json, random, sys
    from haybale.stores import _sqlite_bm25, _sqlite_vectors
    from haybale.stores.sqlite import SQLiteDocumentStore

    def refuse(*args, **kwargs):
        raise AssertionError("a fresh process must not rebuild an index")

    # Analysing documents or rebuilding the vector file would mean an index is being rebuilt.
    _sqlite_bm25.analyse = _sqlite_bm25.index_documents = refuse
    _sqlite_vectors.rebuild_file = refuse
    store = SQLiteDocumentStore(sys.argv[1])
    statements = []
    store._connection().set_trace_callback(statements.append)
    queries = json.loads(sys.argv[2])
    vector = [random.Random(0).uniform(-1, 1) for _ in range(8)]
    out = {
        "bm25": {q: {d.id: d.score for d in store.bm25_search(q, top_k=1000)} for q in queries},
        "dense": [d.id for d in store.embedding_search(vector, 7)],
        "statements": statements,
    }
    print(json.dumps(out))
    """
)


def test_a_fresh_process_answers_from_the_persisted_indexes(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SQLiteDocumentStore(path)
    memory = InMemoryDocumentStore()
    for start in range(0, 400, 40):  # several write transactions: several segments, some merged
        batch = _corpus(40, start)
        store.write_documents(batch)
        memory.write_documents(batch)
    store.delete_documents([f"d{i}" for i in range(0, 400, 7)])
    memory.delete_documents([f"d{i}" for i in range(0, 400, 7)])
    store.close()
    done = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS, str(path), json.dumps(QUERIES)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    out = json.loads(done.stdout)
    for query in QUERIES:
        assert out["bm25"][query] == _bm25(memory, query), query  # bit-identical scores
    assert out["dense"] == [i for i, _ in _dense(memory, [random.Random(0).uniform(-1, 1) for _ in range(8)])]
    # No full scan of the documents: postings are read by term, vectors through the mapped file.
    scans = [s for s in out["statements"] if "FROM documents" in s and "json_each" not in s]
    assert scans == [], scans


_KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from haybale.dataclasses import Document
    from haybale.stores.sqlite import SQLiteDocumentStore

    store = SQLiteDocumentStore(sys.argv[1])
    print("ready", flush=True)
    docs = [
        Document(content=f"apple banana cherry document {i}", meta={"i": i}, embedding=[1.0] * 8)
        for i in range(60_000)
    ]
    store.write_documents(docs)
    print("done", flush=True)
    """
)


def test_a_crash_mid_write_leaves_both_indexes_consistent(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    committed = _corpus(300)
    store = SQLiteDocumentStore(path)
    store.write_documents(committed)
    store.close()
    with subprocess.Popen(
        [sys.executable, "-c", _KILL_SCRIPT, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        wal = Path(f"{path}-wal")
        while time.monotonic() < deadline and (not wal.exists() or wal.stat().st_size < 1_000_000):
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        finished = "done" in process.stdout.read()
    if finished:
        pytest.skip("the writer committed before it could be killed (machine too fast for this test)")
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    reopened = SQLiteDocumentStore(path)
    memory = InMemoryDocumentStore()
    memory.write_documents(committed)
    assert reopened.count_documents() == 300
    _assert_same_results(reopened, memory)
    # Rows the killed writer left past the committed end of the vector file are overwritten, not read.
    extra = _corpus(50, start=300)
    reopened.write_documents(extra)
    memory.write_documents(extra)
    _assert_same_results(reopened, memory)
    reopened.close()


def _float32(values: list[float]) -> list[float]:
    import numpy as np

    return np.asarray(values, dtype=np.float32).tolist()


def _assert_exact_embeddings(store, docs: list[Document]) -> None:
    """Every stored document carries its embedding as written (float32), whichever way it is read."""
    want = {d.id: _float32(d.embedding) if d.embedding is not None else None for d in docs}
    assert {d.id: d.embedding for d in store.filter_documents()} == want
    for document in store.bm25_search("apple banana cherry", top_k=1000):
        assert document.embedding == want[document.id]
    for document in store.embedding_search([0.5] * 8, top_k=50, filters={"even": True}):
        assert document.embedding == want[document.id]


def test_a_missing_vector_file_is_a_clear_error_and_restoring_it_recovers(tmp_path: Path) -> None:
    path = tmp_path / "copied.db"
    docs = _corpus(120)
    store = SQLiteDocumentStore(path)
    store.write_documents(docs)
    store.close()
    (vector_file,) = tmp_path.glob("copied.db-vectors.*")
    saved = vector_file.read_bytes()
    vector_file.unlink()  # e.g. the database was copied without it
    reopened = SQLiteDocumentStore(path)
    assert reopened.count_documents() == 120  # what needs no vector still works
    for read in (
        reopened.filter_documents,
        lambda: reopened.bm25_search("apple", top_k=3),
        lambda: reopened.embedding_search([1.0] * 8, top_k=3),
        lambda: reopened.write_documents(_corpus(2, start=500)),
    ):
        with pytest.raises(DocumentStoreUnavailableError, match="missing") as raised:
            read()
        assert str(vector_file) in str(raised.value) and "restore" in str(raised.value)
    assert reopened.count_documents() == 120  # the refused write wrote nothing
    vector_file.write_bytes(saved)  # restored from the backup
    memory = InMemoryDocumentStore()
    memory.write_documents(docs)
    _assert_same_results(reopened, memory)
    _assert_exact_embeddings(reopened, docs)
    reopened.close()


def test_without_its_vector_file_a_store_can_be_emptied_and_written_again(tmp_path: Path) -> None:
    path = tmp_path / "lost.db"
    store = SQLiteDocumentStore(path)
    store.write_documents(_corpus(60))
    store.close()
    for vector_file in tmp_path.glob("lost.db-vectors.*"):
        vector_file.unlink()
    reopened = SQLiteDocumentStore(path)
    assert reopened.delete_by_filter({}) == 60  # deleting needs no vector
    fresh = _corpus(40, start=1000)
    reopened.write_documents(fresh)  # no live vector left: a new, empty generation of the file
    memory = InMemoryDocumentStore()
    memory.write_documents(fresh)
    _assert_same_results(reopened, memory)
    _assert_exact_embeddings(reopened, fresh)
    reopened.close()


@pytest.mark.parametrize("dim_recorded", [True, False])
def test_a_schema_version_1_database_is_migrated(tmp_path: Path, dim_recorded: bool) -> None:
    path = tmp_path / "old.db"
    docs = _corpus(90)
    with sqlite3.connect(path) as connection:  # the layout haybale wrote before the persisted index
        connection.executescript(
            """
            CREATE TABLE haybale_store (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE documents (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, content TEXT,
                meta TEXT NOT NULL DEFAULT '{}', embedding BLOB, sparse_embedding TEXT, blob BLOB,
                blob_mime_type TEXT, blob_meta TEXT);
            CREATE VIRTUAL TABLE documents_fts USING fts5(terms, tokenize = 'ascii');
            """
        )
        import numpy as np

        connection.executemany(
            "INSERT INTO documents (seq, id, content, meta, embedding) VALUES (?, ?, ?, ?, ?)",
            [
                (
                    n + 1,
                    d.id,
                    d.content,
                    json.dumps(d.meta),
                    np.asarray(d.embedding, dtype=np.float32).tobytes(),
                )
                for n, d in enumerate(docs)
            ],
        )
        analyzer = json.dumps(SQLiteDocumentStore().analyzer.to_dict(), sort_keys=True)
        settings = {"schema_version": "1", "analyzer": analyzer, "next_seq": "91", "version": "1"}
        if dim_recorded:
            settings["embedding_dim"] = "8"
        connection.executemany("INSERT INTO haybale_store VALUES (?, ?)", list(settings.items()))
    store = SQLiteDocumentStore(path)
    memory = InMemoryDocumentStore()
    memory.write_documents(docs)
    _assert_same_results(store, memory)
    with sqlite3.connect(path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        version = connection.execute(
            "SELECT value FROM haybale_store WHERE key = 'schema_version'"
        ).fetchone()
        blobs = connection.execute("SELECT DISTINCT length(embedding) FROM documents").fetchall()
    assert "documents_fts" not in tables and version == ("4",)
    assert blobs == [(0,)]  # the vectors moved to the vector file
    _assert_exact_embeddings(store, docs)
    store.close()


def _downgrade_postings_to_version_3(path: Path) -> None:
    """Turn the posting blocks of a store into the layout of versions 2 and 3: one ``bm25_postings`` row per
    term and segment (offsets uint32; tfs uint8, or uint32 when one is >= 256)."""
    import numpy as np

    with sqlite3.connect(path) as connection:
        rows = []
        for segment, terms, counts, offsets, tfs in connection.execute(
            "SELECT segment, terms, counts, offsets, tfs FROM bm25_blocks"
        ):
            offset_array = np.frombuffer(offsets, dtype="<u4")
            tf_array = np.frombuffer(tfs, dtype="u1" if len(tfs) == len(offset_array) else "<u4")
            ends = np.cumsum(np.frombuffer(counts, dtype="<u4"))
            for term, lo, hi in zip(terms.decode().split("\x00"), [0, *ends[:-1]], ends, strict=True):
                term_tfs = tf_array[lo:hi]
                tf_type = "u1" if int(term_tfs.max()) < 256 else "<u4"
                rows.append(
                    (term, segment, offset_array[lo:hi].tobytes(), term_tfs.astype(tf_type).tobytes())
                )
        connection.executescript(
            """
            DROP TABLE bm25_blocks;
            CREATE TABLE bm25_postings (term TEXT NOT NULL, segment INTEGER NOT NULL, offsets BLOB NOT NULL,
                tfs BLOB NOT NULL);
            CREATE UNIQUE INDEX bm25_postings_by_term ON bm25_postings (term, segment);
            CREATE INDEX bm25_postings_by_segment ON bm25_postings (segment);
            UPDATE haybale_store SET value = '3' WHERE key = 'schema_version';
            """
        )
        connection.executemany("INSERT INTO bm25_postings VALUES (?, ?, ?, ?)", rows)


def _downgrade_to_version_2(path: Path, docs: list[Document]) -> None:
    """Turn a store into the version-2 layout: one row per term and segment for the BM25 postings, and every
    embedding also a float32 BLOB in its row (the truth then; the vector file was a derived copy)."""
    import numpy as np

    _downgrade_postings_to_version_3(path)
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "UPDATE documents SET embedding = ? WHERE id = ?",
            [(np.asarray(d.embedding, dtype=np.float32).tobytes(), d.id) for d in docs],
        )
        connection.execute("UPDATE haybale_store SET value = '2' WHERE key = 'schema_version'")


@pytest.mark.parametrize("vector_file", ["kept", "missing", "stale"])
def test_a_schema_version_2_database_is_migrated(tmp_path: Path, vector_file: str) -> None:
    path = tmp_path / "v2.db"
    docs = _corpus(150)
    store = SQLiteDocumentStore(path)
    store.write_documents(docs)
    store.delete_documents([f"d{i}" for i in range(0, 150, 4)])
    store.close()
    kept = [d for d in docs if int(d.id[1:]) % 4]
    _downgrade_to_version_2(path, kept)
    (old_file,) = tmp_path.glob("v2.db-vectors.*")
    if vector_file == "missing":
        old_file.unlink()
    elif vector_file == "stale":  # right size, wrong values: version 2 trusted the BLOBs, so must we
        old_file.write_bytes(bytes(old_file.stat().st_size))
    reopened = SQLiteDocumentStore(path)
    memory = InMemoryDocumentStore()
    memory.write_documents(kept)
    _assert_same_results(reopened, memory)
    _assert_exact_embeddings(reopened, kept)
    with sqlite3.connect(path) as connection:
        version = connection.execute(
            "SELECT value FROM haybale_store WHERE key = 'schema_version'"
        ).fetchone()
        blobs = connection.execute("SELECT DISTINCT length(embedding) FROM documents").fetchall()
    assert version == ("4",) and blobs == [(0,)]
    assert [f.name for f in tmp_path.glob("v2.db-vectors.*")] == ["v2.db-vectors.1"]  # old one removed
    # Writes, overwrites and deletes go on from the migrated file.
    more = _corpus(30, start=400)
    changed = [
        Document(id=d.id, content=d.content, meta=d.meta, embedding=d.embedding[::-1]) for d in kept[:10]
    ]
    for target in (reopened, memory):
        target.write_documents(more)
        target.write_documents(changed, policy=DuplicatePolicy.OVERWRITE)
        target.delete_documents([d.id for d in kept[10:40]])
    _assert_same_results(reopened, memory)
    _assert_exact_embeddings(reopened, memory.filter_documents())
    reopened.close()


def _many_terms(count: int, start: int = 0) -> list[Document]:
    """Documents with a term of their own, a common term in every one (a block of its own once it has
    BLOCK_POSTINGS postings in a segment), and a repeated one (term frequencies up to 300)."""
    rng = random.Random(start)
    return [
        Document(
            id=f"m{i}",
            content=f"common w{i} "
            + " ".join(["x"] * (300 if i % 97 == 0 else i % 5))
            + f" {_WORDS[i % 11]}",
            meta={"i": i, "even": i % 2 == 0},
            embedding=[rng.uniform(-1, 1) for _ in range(8)],
        )
        for i in range(start, start + count)
    ]


_BLOCK_QUERIES = [
    "common",
    "w0",
    "w1234 w1301",
    "w1099 w4499 x",
    "x apple",
    "w5 w50 w500 w4799",
    "w4200 w4201 kilo",
]


def _assert_same_block_results(sqlite_store, memory_store) -> None:
    """Every match of each query, with its score (all of them: "common" has thousands of equal scores)."""
    for query in _BLOCK_QUERIES:
        for filters in (None, {"even": False}):
            got, want = (
                {d.id: d.score for d in target.bm25_search(query, top_k=100_000, filters=filters)}
                for target in (sqlite_store, memory_store)
            )
            assert got == want, query


@pytest.mark.parametrize("old_version", [None, 3])
def test_posting_blocks_score_like_memory_through_deletes_merges_and_migration(
    tmp_path: Path, old_version: int | None
) -> None:
    path = tmp_path / "blocks.db"
    store, memory = SQLiteDocumentStore(path), InMemoryDocumentStore()
    for target in (store, memory):
        target.write_documents(_many_terms(4500))  # 4,500 own terms: dozens of blocks; "common" alone
        target.write_documents(_many_terms(300, start=4500))
        # Whole blocks emptied (w1000..w1299 are neighbours in string order), others thinned out.
        target.delete_documents([f"m{i}" for i in [*range(1000, 1300), *range(0, 4800, 7)]])
    _assert_same_block_results(store, memory)
    store.close()
    if old_version == 3:
        _downgrade_postings_to_version_3(path)
    reopened = SQLiteDocumentStore(path)
    _assert_same_block_results(reopened, memory)
    with sqlite3.connect(path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        version = connection.execute(
            "SELECT value FROM haybale_store WHERE key = 'schema_version'"
        ).fetchone()
    assert "bm25_postings" not in tables and version == ("4",)
    for batch in range(9):  # enough small segments for size-tiered merges
        for target in (reopened, memory):
            target.write_documents(_many_terms(40, start=6000 + 40 * batch))
            target.delete_documents([f"m{6000 + 40 * batch + 3}", f"m{4500 + batch}"])
    _assert_same_block_results(reopened, memory)
    reopened.close()


def test_many_small_writes_replaces_and_deletes_keep_results_identical(tmp_path: Path) -> None:
    store = SQLiteDocumentStore(tmp_path / "churn.db")
    memory = InMemoryDocumentStore()
    rng = random.Random(11)
    live: list[str] = []
    for step in range(70):  # enough one-batch segments for merges of merges (MERGE_FACTOR = 8)
        batch = _corpus(rng.randint(1, 30), start=step * 100)
        store.write_documents(batch)
        memory.write_documents(batch)
        live.extend(d.id for d in batch)
        if step % 5 == 4:
            doomed = rng.sample(live, len(live) // 3)
            store.delete_documents(doomed)
            memory.delete_documents(doomed)
            live = [i for i in live if i not in set(doomed)]
        if step % 9 == 8:
            replacement = _corpus(5, start=step * 100 + 50)
            assert store.replace_documents({"even": True}, replacement) == memory.replace_documents(
                {"even": True}, replacement
            )
            live = [d.id for d in memory.filter_documents()]
    _assert_same_results(store, memory)
    with sqlite3.connect(tmp_path / "churn.db") as connection:
        segments = connection.execute("SELECT count(*) FROM bm25_segments").fetchone()[0]
    assert segments < 30  # merged, not one per write
    store.close()


_DIE_BEFORE_COMMIT = textwrap.dedent(
    """
    import os, signal, sys
    from haybale.dataclasses import Document
    from haybale.stores import _sqlite_vectors, _sqlite_writes
    from haybale.stores.sqlite import SQLiteDocumentStore

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    store = SQLiteDocumentStore(sys.argv[1])
    if sys.argv[2] == "write":  # after the batch's vectors are written and flushed, before COMMIT
        _sqlite_writes.index_documents = die
        store.write_documents(
            [Document(id=f"x{i}", content="apple", embedding=[0.5] * 8) for i in range(2600)]
        )
    else:  # a compaction: after the new generation is written and flushed, before COMMIT
        _sqlite_vectors._reset_segments = die
        store.delete_documents([f"d{i}" for i in range(1500)])
    """
)


def _die_before_commit(path: Path, what: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _DIE_BEFORE_COMMIT, str(path), what],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr


def test_a_write_killed_after_flushing_its_vectors_but_before_commit_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    committed = _corpus(200)
    store = SQLiteDocumentStore(path)
    store.write_documents(committed)
    store.close()
    (vector_file,) = tmp_path.glob("store.db-vectors.*")
    size = vector_file.stat().st_size
    _die_before_commit(path, "write")
    assert vector_file.stat().st_size > size  # the killed write did put its vectors in the file
    reopened = SQLiteDocumentStore(path)
    memory = InMemoryDocumentStore()
    memory.write_documents(committed)
    assert reopened.count_documents() == 200
    _assert_same_results(reopened, memory)
    _assert_exact_embeddings(reopened, committed)
    extra = _corpus(30, start=900)  # overwrites the rows the killed write left past the committed end
    reopened.write_documents(extra)
    memory.write_documents(extra)
    _assert_same_results(reopened, memory)
    _assert_exact_embeddings(reopened, committed + extra)
    reopened.close()


def test_a_compaction_killed_before_commit_keeps_the_old_generation(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    docs = _corpus(2600)
    store = SQLiteDocumentStore(path)
    store.write_documents(docs)
    store.close()
    _die_before_commit(path, "compact")
    assert (tmp_path / "store.db-vectors.1").exists()  # the new generation was written, never committed
    reopened = SQLiteDocumentStore(path)
    memory = InMemoryDocumentStore()
    memory.write_documents(docs)
    assert reopened.count_documents() == 2600
    _assert_same_results(reopened, memory)
    doomed = [f"d{i}" for i in range(1500)]
    reopened.delete_documents(doomed)  # compacts again, into the same generation number
    memory.delete_documents(doomed)
    _assert_same_results(reopened, memory)
    _assert_exact_embeddings(reopened, docs[1500:])
    assert [f.name for f in tmp_path.glob("store.db-vectors.*")] == ["store.db-vectors.1"]
    reopened.close()


@pytest.mark.parametrize("reserve", [True, False])  # False: a platform without posix_fallocate
def test_vectors_and_new_files_are_flushed_before_commit(tmp_path: Path, monkeypatch, reserve: bool) -> None:
    """The vector file is the only copy of the embeddings: its rows (fdatasync) and, for a new file, its name
    (fsync of the folder) must be on disk before the COMMIT that refers to them."""
    if not reserve:
        monkeypatch.delattr(os, "posix_fallocate", raising=False)
    events: list[str] = []
    real_fdatasync, real_fsync = os.fdatasync, os.fsync

    def named(descriptor: int) -> str:
        return os.path.basename(os.readlink(f"/proc/self/fd/{descriptor}"))

    def fdatasync(descriptor: int) -> None:
        events.append(f"fdatasync {named(descriptor)}")
        real_fdatasync(descriptor)

    def fsync(descriptor: int) -> None:
        events.append(f"fsync {named(descriptor)}")
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    monkeypatch.setattr(os, "fsync", fsync)
    store = SQLiteDocumentStore(tmp_path / "store.db")
    store._connection().set_trace_callback(lambda sql: events.append(sql) if sql == "COMMIT" else None)
    folder = tmp_path.name
    for batch, expected in (
        (_corpus(2600), ["fdatasync store.db-vectors.0", f"fsync {folder}", "COMMIT"]),  # new file
        (_corpus(5, start=3000), ["fdatasync store.db-vectors.0", "COMMIT"]),  # appended rows
    ):
        events.clear()
        store.write_documents(batch)
        assert events == expected
    events.clear()
    store.delete_documents([f"d{i}" for i in range(2000)])  # compaction into generation 1
    assert events == ["fdatasync store.db-vectors.1", f"fsync {folder}", "COMMIT"]
    store.close()


@pytest.mark.parametrize("count", [3, 2600])
def test_a_vector_file_that_cannot_be_written_fails_the_write_cleanly(tmp_path: Path, count: int) -> None:
    path = tmp_path / "store.db"
    store = SQLiteDocumentStore(path)
    before = Document(id="before", content="no embedding")
    store.write_documents([before])
    blocker = tmp_path / "store.db-vectors.0"
    blocker.mkdir()  # the file cannot be opened for writing
    docs = _corpus(count)
    with pytest.raises(DocumentStoreUnavailableError, match="Cannot write the vector file") as raised:
        store.write_documents(docs)
    assert str(blocker) in str(raised.value)
    assert [d.id for d in store.filter_documents()] == ["before"]
    assert store.bm25_search("apple") == []
    blocker.rmdir()
    store.write_documents(docs)
    _assert_exact_embeddings(store, [before, *docs])
    store.close()
