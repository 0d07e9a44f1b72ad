"""`haybale index`: incremental, exactly-once indexing from the command line."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from haybale.cli.main import app
from haybale.stores import SQLiteDocumentStore

runner = CliRunner()


def _corpus(root: Path, files: int = 6) -> Path:
    docs = root / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / ".git").mkdir()
    (docs / ".git" / "HEAD").write_text("ref: refs/heads/main")
    for i in range(files):
        folder = docs / "sub" if i % 2 else docs
        body = " ".join(f"word{i}_{j}" for j in range(120))
        if i % 3 == 0:
            (folder / f"note{i}.md").write_text(f"# Note {i}\n\n{body}\n")
        else:
            (folder / f"note{i}.txt").write_text(f"Note {i}. {body}\n")
    return docs


def _index(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, ["index", *args])
    return result.exit_code, result.output


def _stored(db: Path) -> list[str]:
    return sorted(d.id for d in SQLiteDocumentStore(path=str(db)).filter_documents())


def test_index_then_rerun_writes_nothing(tmp_path: Path) -> None:
    docs, db = _corpus(tmp_path), tmp_path / "index.db"
    code, out = _index([str(docs), "--store", f"sqlite:///{db}", "--no-embed", "--chunk-size", "50"])
    assert code == 0, out
    assert "6 indexed" in out and "0 failed" in out
    assert not (tmp_path / "index.db-wal").exists()  # the command closed the store (WAL checkpointed)
    first = _stored(db)
    assert len(first) > 6
    assert not any(".git" in d.meta["source"] for d in SQLiteDocumentStore(path=str(db)).filter_documents())
    code, out = _index([str(docs), "--store", f"sqlite:///{db}", "--no-embed", "--chunk-size", "50"])
    assert code == 0 and "0 indexed" in out and "6 unchanged" in out
    assert _stored(db) == first  # (tests/indexing proves no write call reaches the store)


def test_each_file_is_a_document_as_an_upload_is(tmp_path: Path) -> None:
    """Chunks from ``haybale index`` carry the service's document fields: its document filters reach them."""
    docs, db = _corpus(tmp_path), tmp_path / "index.db"
    code, out = _index([str(docs), "--store", f"sqlite:///{db}", "--no-embed", "--chunk-size", "50"])
    assert code == 0, out
    store = SQLiteDocumentStore(path=str(db))
    note = str((docs / "sub" / "note1.txt").resolve())
    chunks = store.filter_documents({"field": "meta.document_id", "operator": "==", "value": note})
    assert len(chunks) > 1
    assert {c.meta["filename"] for c in chunks} == {"note1.txt"}
    assert {c.meta["source"] for c in chunks} == {note}
    assert sorted(c.meta["chunk_id"] for c in chunks)[0] == f"{note}-chunk-0"
    named = store.filter_documents({"field": "meta.filename", "operator": "==", "value": "note3.md"})
    assert named and {c.meta["document_id"] for c in named} == {str((docs / "sub" / "note3.md").resolve())}


def test_a_file_that_lost_a_chunk_is_reindexed_and_made_whole(tmp_path: Path) -> None:
    docs, db = _corpus(tmp_path, files=2), tmp_path / "index.db"
    args = [str(docs), "--store", f"sqlite:///{db}", "--no-embed", "--chunk-size", "50"]
    assert _index(args)[0] == 0
    first = _stored(db)
    store = SQLiteDocumentStore(path=str(db))
    lost = store.filter_documents()[1]
    assert store.delete_by_filter(
        {"field": "meta.chunk_id", "operator": "==", "value": lost.meta["chunk_id"]}
    )
    store.close()
    code, out = _index(args)
    assert code == 0 and "1 indexed" in out and "1 unchanged" in out, out
    assert _stored(db) == first  # the chunk is back, and nothing else changed


def test_default_store_is_dot_haybale_index_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = _corpus(tmp_path, files=2)
    monkeypatch.chdir(tmp_path)
    code, out = _index(["docs", "--no-embed"])
    assert code == 0, out
    assert (tmp_path / ".haybale" / "index.db").exists()
    # The index folder itself is hidden, so indexing "." never indexes the index.
    code, out = _index([".", "--no-embed"])
    assert code == 0 and "2 unchanged" in out
    assert docs.exists()


def test_changed_and_removed_files_with_prune(tmp_path: Path) -> None:
    docs, db = _corpus(tmp_path), tmp_path / "index.db"
    store = ["--store", f"sqlite:///{db}", "--no-embed", "--chunk-size", "50"]
    assert _index([str(docs), *store])[0] == 0
    (docs / "note0.md").write_text("# Note 0\n\nentirely rewritten")
    (docs / "note2.txt").unlink()
    code, out = _index([str(docs), *store])
    assert code == 0 and "1 indexed" in out and "0 removed" in out
    code, out = _index([str(docs), *store, "--prune"])
    assert code == 0 and "1 removed" in out
    clean = tmp_path / "clean.db"
    assert _index([str(docs), "--store", f"sqlite:///{clean}", "--no-embed", "--chunk-size", "50"])[0] == 0
    assert _stored(db) == _stored(clean)


def test_failed_files_are_listed_and_exit_non_zero(tmp_path: Path) -> None:
    docs, db = _corpus(tmp_path, files=2), tmp_path / "index.db"
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not a pdf at all")
    (docs / "mystery.xyz").write_bytes(b"\x00\x01\x02\x03" * 100)
    os.symlink(docs, docs / "sub" / "loop")
    code, out = _index([str(docs), "--store", f"sqlite:///{db}", "--no-embed"])
    assert code == 1
    assert "broken.pdf" in out and "mystery.xyz" in out and "2 failed" in out
    assert "loop" in out and "1 skipped" in out
    assert "2 indexed" in out
    assert len(_stored(db)) >= 2


def test_missing_path_fails(tmp_path: Path) -> None:
    code, out = _index([str(tmp_path / "nope"), "--store", f"sqlite:///{tmp_path}/i.db", "--no-embed"])
    assert code == 1 and "no such file or folder" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--overlap", "60", "--chunk-size", "50"], "--overlap"),
        (["--store", "mysql://nope"], "Unknown store URL"),
        (["--unit", "paragraph"], "paragraph"),
    ],
)
def test_bad_options_exit_with_2(tmp_path: Path, args: list[str], message: str) -> None:
    docs = _corpus(tmp_path, files=1)
    result = runner.invoke(app, ["index", str(docs), "--no-embed", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_memory_snapshot_store(tmp_path: Path) -> None:
    docs = _corpus(tmp_path, files=3)
    url = f"memory:///{tmp_path}/snap.json"
    assert _index([str(docs), "--store", url, "--no-embed"])[0] == 0
    code, out = _index([str(docs), "--store", url, "--no-embed"])
    assert code == 0 and "3 unchanged" in out


def _run_cli(args: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "haybale.cli.main", "index", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def test_sigkill_at_random_moments_then_rerun_converges(tmp_path: Path) -> None:
    docs = _corpus(tmp_path, files=40)
    common = ["--no-embed", "--chunk-size", "30", "--overlap", "5", "--batch-files", "1"]
    clean_db = tmp_path / "clean.db"
    started = time.perf_counter()
    assert _run_cli([str(docs), "--store", f"sqlite:///{clean_db}", *common]).wait(timeout=120) == 0
    duration = time.perf_counter() - started
    expected = _stored(clean_db)
    rng = random.Random(7)
    db = tmp_path / "killed.db"
    kills = 0
    for _ in range(4):
        process = _run_cli([str(docs), "--store", f"sqlite:///{db}", *common])
        time.sleep(rng.uniform(0.05, duration))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
        if db.exists():
            ids = _stored(db)
            assert len(ids) == len(set(ids))  # never a duplicate, whatever the moment of death
            assert set(ids) <= set(expected)  # never a chunk the clean run does not have
    assert kills >= 1
    assert _run_cli([str(docs), "--store", f"sqlite:///{db}", *common]).wait(timeout=120) == 0
    assert _stored(db) == expected


@pytest.mark.slow
def test_index_with_embeddings_then_query(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "volcano.md").write_text("# Volcanoes\n\nMolten lava erupts from the crater and flows downhill.")
    (docs / "bread.txt").write_text("Knead the dough, let it rise, then bake the bread in a hot oven.")
    db = tmp_path / "index.db"
    code, out = _index([str(docs), "--store", f"sqlite:///{db}"])
    assert code == 0, out
    stored = SQLiteDocumentStore(path=str(db)).filter_documents()
    assert all(d.embedding is not None and len(d.embedding) == 384 for d in stored)
    result = runner.invoke(
        app, ["query", "hot magma", "--store", f"sqlite:///{db}", "--mode", "dense", "--top-k", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "volcano.md" in result.output and "bread.txt" not in result.output
