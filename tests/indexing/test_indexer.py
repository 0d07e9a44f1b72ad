"""Indexer: incremental, exactly-once indexing into a document store through the protocol."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from haybale.dataclasses import Document
from haybale.errors import ComponentError
from haybale.indexing.indexer import Indexer, build_indexing_pipeline
from haybale.stores import InMemoryDocumentStore

TEXT_A = "Haybale keeps an index in sync with a folder. " * 30
TEXT_B = "# Volcanoes\n\nLava flows downhill from the crater. " + "Basalt cools into rock. " * 40


class CountingStore:
    """Delegates to an InMemoryDocumentStore and counts every write-side call (to prove "writes nothing")."""

    def __init__(self) -> None:
        self.inner = InMemoryDocumentStore()
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name in {"write_documents", "replace_documents", "delete_documents", "delete_by_filter"}:
            self.writes += 1
        return attr


def _corpus(root: Path) -> Path:
    (root / "docs" / "sub").mkdir(parents=True)
    (root / "docs" / "a.txt").write_text(TEXT_A)
    (root / "docs" / "sub" / "b.md").write_text(TEXT_B)
    return root / "docs"


def _indexer(store: Any, **kwargs: Any) -> Indexer:
    return Indexer(
        store, build_indexing_pipeline(split_by="word", split_length=50, split_overlap=5), **kwargs
    )


def _ids(store: Any) -> list[str]:
    return sorted(d.id for d in store.filter_documents())


def test_indexes_a_folder_with_source_and_hash_on_every_chunk(tmp_path: Path) -> None:
    docs = _corpus(tmp_path)
    store = InMemoryDocumentStore()
    report = _indexer(store).index([docs])
    assert report.count("indexed") == 2 and not report.failed
    chunks = store.filter_documents()
    assert len(chunks) == report.chunks_written > 2
    sources = {c.meta["source"] for c in chunks}
    assert sources == {(docs / "a.txt").resolve().as_posix(), (docs / "sub" / "b.md").resolve().as_posix()}
    assert all(len(c.meta["source_hash"]) == 64 for c in chunks)


def test_other_chunking_settings_reindex_instead_of_keeping_old_chunks(tmp_path: Path) -> None:
    docs = _corpus(tmp_path)
    store = InMemoryDocumentStore()
    _indexer(store).index([docs])
    old_lengths = {len(d.content.split()) for d in store.filter_documents()}
    finer = Indexer(store, build_indexing_pipeline(split_by="word", split_length=20, split_overlap=2))
    report = finer.index([docs])
    assert report.count("indexed") == 2 and report.count("unchanged") == 0
    new_lengths = {len(d.content.split()) for d in store.filter_documents()}
    assert max(new_lengths) <= 20 < max(old_lengths)
    assert finer.index([docs]).count("unchanged") == 2  # and the new settings are then current


def test_second_run_writes_nothing(tmp_path: Path) -> None:
    docs = _corpus(tmp_path)
    store = CountingStore()
    _indexer(store).index([docs])
    before, writes = _ids(store), store.writes
    report = _indexer(store).index([docs])
    assert report.count("unchanged") == 2 and report.count("indexed") == 0
    assert store.writes == writes
    assert _ids(store) == before


def test_a_source_missing_chunks_or_holding_a_stray_one_is_reindexed_to_exactly_its_chunks(
    tmp_path: Path,
) -> None:
    docs = _corpus(tmp_path)
    store = InMemoryDocumentStore()
    _indexer(store).index([docs])
    clean = _ids(store)
    a_key = (docs / "a.txt").resolve().as_posix()
    a_chunks = store.filter_documents({"field": "meta.source", "operator": "==", "value": a_key})
    assert len(a_chunks) > 2 and all(c.meta["source_chunks"] == len(a_chunks) for c in a_chunks)
    store.delete_documents([a_chunks[-1].id])  # the last chunk: no gap in the chunk ids shows it
    report = _indexer(store).index([docs])
    outcome = {o.source: o for o in report.outcomes}[a_key]
    assert outcome.status == "indexed" and outcome.chunks == len(a_chunks) and report.count("unchanged") == 1
    assert _ids(store) == clean

    stray = a_chunks[0].meta | {"chunk_id": "stray"}
    store.write_documents([Document(content="a stray chunk under a.txt", meta=stray)])
    assert _indexer(store).index([docs]).count("indexed") == 1
    assert _ids(store) == clean
    assert _indexer(store).index([docs]).count("unchanged") == 2


def test_changed_file_is_replaced_atomically_without_duplicates(tmp_path: Path) -> None:
    docs = _corpus(tmp_path)
    store = InMemoryDocumentStore()
    _indexer(store).index([docs])
    b_key = (docs / "sub" / "b.md").resolve().as_posix()
    old_b = {d.id for d in store.filter_documents({"field": "meta.source", "operator": "==", "value": b_key})}
    (docs / "sub" / "b.md").write_text("# Volcanoes\n\nCompletely new text about geysers.")
    report = _indexer(store).index([docs])
    outcome = {o.source: o for o in report.outcomes}[b_key]
    assert outcome.status == "indexed" and outcome.replaced == len(old_b) and outcome.chunks == 1
    new_b = store.filter_documents({"field": "meta.source", "operator": "==", "value": b_key})
    assert len(new_b) == 1 and "geysers" in new_b[0].content
    assert not old_b & {d.id for d in store.filter_documents()}
    # The result is exactly what a clean index of the current folder holds.
    clean = InMemoryDocumentStore()
    _indexer(clean).index([docs])
    assert _ids(store) == _ids(clean)


def test_prune_removes_vanished_files_only_when_asked(tmp_path: Path) -> None:
    docs = _corpus(tmp_path)
    store = InMemoryDocumentStore()
    _indexer(store).index([docs])
    (docs / "a.txt").unlink()
    kept = _indexer(store).index([docs])
    assert kept.count("removed") == 0
    assert any("a.txt" in d.meta["source"] for d in store.filter_documents())
    pruned = _indexer(store).index([docs], prune=True)
    assert pruned.count("removed") == 1 and pruned.chunks_deleted > 0
    assert not any("a.txt" in d.meta["source"] for d in store.filter_documents())


def test_prune_leaves_other_folders_and_foreign_documents_alone(tmp_path: Path) -> None:
    from haybale.dataclasses import Document

    docs = _corpus(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "c.txt").write_text("another folder")
    store = InMemoryDocumentStore()
    store.write_documents([Document(content="written by hand", meta={"source": str(docs / "gone.txt")})])
    _indexer(store).index([docs, other])
    (other / "c.txt").unlink()
    report = _indexer(store).index([docs], prune=True)
    assert report.count("removed") == 0  # other/ was not given, and the hand-written doc has no source_hash
    assert store.count_documents() == len(_ids(store))
    assert any(d.content == "written by hand" for d in store.filter_documents())


def test_failed_files_are_reported_and_keep_their_old_chunks(tmp_path: Path) -> None:
    docs = _corpus(tmp_path)
    store = InMemoryDocumentStore()
    _indexer(store).index([docs])
    before = _ids(store)
    (docs / "sub" / "b.md").unlink()
    (docs / "sub" / "b.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (docs / "blob.xyz").write_bytes(bytes(range(256)) * 4)
    (docs / "empty.txt").write_bytes(b"")
    report = _indexer(store).index([docs])
    failed = {Path(o.source).name: o.error for o in report.failed}
    assert set(failed) >= {"b.pdf", "blob.xyz"}
    assert all(failed.values())
    assert report.count("unchanged") == 1
    assert set(before) <= set(_ids(store))  # nothing already indexed was lost


def test_same_file_twice_in_a_batch_is_indexed_once(tmp_path: Path) -> None:
    docs = _corpus(tmp_path)
    store = InMemoryDocumentStore()
    report = _indexer(store, batch_files=1).index([docs, docs / "a.txt", str(docs) + "/sub/../a.txt"])
    assert report.count("indexed") == 2
    clean = InMemoryDocumentStore()
    _indexer(clean).index([docs])
    assert _ids(store) == _ids(clean)


def test_batches_of_any_size_give_the_same_index(tmp_path: Path) -> None:
    docs = _corpus(tmp_path)
    for i in range(5):
        (docs / f"n{i}.txt").write_text(f"note number {i} " * 20)
    one, many = InMemoryDocumentStore(), InMemoryDocumentStore()
    _indexer(one, batch_files=1).index([docs])
    _indexer(many, batch_files=64).index([docs])
    assert _ids(one) == _ids(many)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files whatever their permissions")
def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    docs = _corpus(tmp_path)
    (docs / "a.txt").chmod(0)
    try:
        report = _indexer(InMemoryDocumentStore()).index([docs])
    finally:
        (docs / "a.txt").chmod(0o644)
    assert [Path(o.source).name for o in report.failed] == ["a.txt"]


def test_callbacks_report_progress(tmp_path: Path) -> None:
    docs = _corpus(tmp_path)
    seen: list[str] = []
    planned: list[tuple[int, int]] = []
    _indexer(InMemoryDocumentStore()).index(
        [docs], on_outcome=lambda o: seen.append(o.status), on_plan=lambda f, p: planned.append((f, p))
    )
    assert planned == [(2, 2)] and seen == ["indexed", "indexed"]


def test_bad_batch_size_is_refused() -> None:
    with pytest.raises(ComponentError, match="batch_files"):
        Indexer(InMemoryDocumentStore(), None, batch_files=0)


@pytest.mark.slow
def test_embedder_adds_embeddings_and_dense_search_finds_the_file(tmp_path: Path) -> None:
    from haybale.components.embedders import (
        SentenceTransformersDocumentEmbedder,
        SentenceTransformersTextEmbedder,
    )
    from haybale.indexing.search import search_store

    docs = _corpus(tmp_path)
    store = InMemoryDocumentStore()
    embedder = SentenceTransformersDocumentEmbedder(progress_bar=False)
    report = _indexer(store, embedder=embedder).index([docs])
    assert report.count("indexed") == 2
    assert all(d.embedding is not None and len(d.embedding) == 384 for d in store.filter_documents())
    text_embedder = SentenceTransformersTextEmbedder()
    for mode in ("dense", "hybrid", "bm25"):
        top = search_store(
            store, "molten lava from a crater", mode=mode, top_k=1, text_embedder=text_embedder
        )
        assert top[0].meta["file_name"] == "b.md", mode


def test_embedding_failure_fails_the_batch_and_writes_nothing(tmp_path: Path) -> None:
    from haybale.components.embedders import OpenAIDocumentEmbedder
    from haybale.core.secret import Secret

    docs = _corpus(tmp_path)
    store = InMemoryDocumentStore()
    embedder = OpenAIDocumentEmbedder(
        api_key=Secret.from_env_var("HAYBALE_UNSET", strict=False),
        base_url="http://127.0.0.1:9/v1",
        max_retries=0,
    )
    report = _indexer(store, embedder=embedder).index([docs])
    assert report.count("failed") == 2
    assert all("could not be reached" in (o.error or "") for o in report.failed)
    assert store.count_documents() == 0


def test_many_files_are_planned_in_groups_and_only_changed_ones_reindexed(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for number in range(300):  # more than one group of keys checked per store query
        (folder / f"note{number:03d}.txt").write_text(f"Note number {number} about bales. " * 5)
    store = CountingStore()
    indexer = _indexer(store, batch_files=100)
    first = indexer.index([folder])
    assert first.count("indexed") == 300 and first.chunks_written == store.count_documents()
    assert all(o.replaced == 0 for o in first.outcomes)
    (folder / "note007.txt").write_text("Rewritten note seven. " * 5)
    (folder / "note299.txt").write_text("Rewritten note two hundred ninety-nine. " * 5)
    writes = store.writes
    second = indexer.index([folder])
    changed = sorted(o.source.rsplit("/", 1)[-1] for o in second.outcomes if o.status == "indexed")
    assert changed == ["note007.txt", "note299.txt"] and second.count("unchanged") == 298
    assert [o.replaced for o in second.outcomes if o.status == "indexed"] == [1, 1]
    assert store.writes == writes + 1  # both changed files fall in the same batch: one atomic replace
    assert store.count_documents() == 300


def _upload(key: str, data: bytes, name: str, **meta: Any) -> Any:
    from haybale.dataclasses import ByteStream
    from haybale.indexing.indexer import SourceInput

    scope = {"field": "meta.document_id", "operator": "==", "value": key}
    return SourceInput(
        key=key,
        content=ByteStream(data, {"file_name": name}),
        meta={"document_id": key, "source": meta.pop("source", name), **meta},
        sha256=str(hash((data, key))),
        scope=scope,
    )


def test_in_memory_sources_take_the_same_exactly_once_path() -> None:
    store = InMemoryDocumentStore()
    indexer = _indexer(store)
    report = indexer.index_sources(
        [_upload("doc-1", TEXT_A.encode(), "readme.md"), _upload("doc-2", TEXT_B.encode(), "readme.md")]
    )
    assert [o.status for o in report.outcomes] == ["indexed", "indexed"]
    first = store.filter_documents({"document_id": "doc-1"})
    assert first and {d.meta["source"] for d in first} == {"readme.md"}  # the caller's source is kept
    numbers = sorted(int(d.meta["chunk_id"].rsplit("-", 1)[1]) for d in first)
    assert numbers == list(range(len(first)))  # <document_id>-chunk-0, -1, ... in reading order
    assert all(d.meta["chunk_id"].startswith("doc-1-chunk-") for d in first)
    offsets = sorted(d.meta["content_offset"] for d in first)
    assert offsets[0] == 0 and all(
        TEXT_A[o:].startswith(d.content)
        for o, d in zip(offsets, sorted(first, key=lambda d: d.meta["content_offset"]), strict=True)
    )
    # Same file name, another document: both kept. Re-indexing one replaces only it.
    again = indexer.index_sources([_upload("doc-1", b"Entirely new text about rivers.", "readme.md")])
    assert again.outcomes[0].status == "indexed" and again.outcomes[0].replaced == len(first)
    assert [d.content for d in store.filter_documents({"document_id": "doc-1"})] == [
        "Entirely new text about rivers."
    ]
    assert store.count_documents({"document_id": "doc-2"}) > 0


def test_unchanged_sources_are_skipped_and_empty_ones_change_nothing() -> None:
    store = CountingStore()
    indexer = _indexer(store)
    source = _upload("doc-1", TEXT_A.encode(), "a.txt")
    indexer.index_sources([source])
    writes = store.writes
    assert indexer.index_sources([source]).outcomes[0].status == "unchanged"
    assert store.writes == writes
    empty = indexer.index_sources([_upload("doc-1", b"   \n  ", "a.txt")]).outcomes[0]
    assert empty.status == "failed" and "no extractable text" in (empty.error or "")
    assert store.inner.count_documents({"document_id": "doc-1"}) > 0  # the old version stays


class RecordingEmbedder:
    """The real MiniLM document embedder, recording how many chunks each run was asked to embed."""

    def __init__(self, **settings: Any) -> None:
        from haybale.components.embedders import SentenceTransformersDocumentEmbedder

        self.inner = SentenceTransformersDocumentEmbedder(progress_bar=False, **settings)
        self.calls: list[int] = []

    def warm_up(self) -> None:
        self.inner.warm_up()

    def to_dict(self) -> dict[str, Any]:
        return self.inner.to_dict()

    def run(self, documents: list[Any]) -> dict[str, Any]:
        self.calls.append(len(documents))
        return self.inner.run(documents=documents)


def _paragraphs(count: int, edited: int | None = None) -> str:
    """``count`` paragraphs of 44 words each (one chunk each at split_length 44); ``edited`` one reworded."""
    return "\n\n".join(
        f"Paragraph {n} {'about glaciers' if n == edited else 'about rivers'}: " + "water " * 40
        for n in range(count)
    )


@pytest.mark.slow
def test_editing_one_paragraph_re_embeds_only_the_changed_chunks(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text(_paragraphs(30))
    store = InMemoryDocumentStore()
    embedder = RecordingEmbedder()
    pipeline = build_indexing_pipeline(split_by="word", split_length=44, split_overlap=0)
    first = Indexer(store, pipeline, embedder=embedder).index([path])
    assert embedder.calls == [first.chunks_written] == [30]
    before = {d.content: d.embedding for d in store.filter_documents()}

    path.write_text(_paragraphs(30, edited=7))
    second = Indexer(store, pipeline, embedder=embedder).index([path])
    assert second.count("indexed") == 1
    assert embedder.calls[-1] == 1  # only the chunk holding paragraph 7
    after = store.filter_documents()
    assert len(after) == first.chunks_written
    for chunk in after:
        if chunk.content in before:  # unchanged text keeps exactly its vector
            assert chunk.embedding == before[chunk.content]
    assert sum(chunk.content not in before for chunk in after) == 1
    assert all(len(chunk.meta["_embedding_key"]) == 32 for chunk in after)


@pytest.mark.slow
def test_a_different_embedder_setting_re_embeds_everything(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text(_paragraphs(6))
    store = InMemoryDocumentStore()
    pipeline = build_indexing_pipeline(split_by="word", split_length=44, split_overlap=0)
    Indexer(store, pipeline, embedder=RecordingEmbedder()).index([path])
    path.write_text(_paragraphs(6, edited=2))
    prefixed = RecordingEmbedder(prefix="passage: ")
    report = Indexer(store, pipeline, embedder=prefixed).index([path])
    assert prefixed.calls == [report.chunks_written]


def _notes(folder: Path, sizes: list[int]) -> None:
    """One text file per size, each of that many distinct 44-word paragraphs (one chunk each)."""
    folder.mkdir()
    for number, size in enumerate(sizes):
        paragraphs = (f"Note {number} paragraph {n} about rivers: " + "water " * 38 for n in range(size))
        (folder / f"note{number}.txt").write_text("\n\n".join(paragraphs))


@pytest.mark.slow
def test_chunks_of_several_batches_are_embedded_together_and_written_batch_by_batch(tmp_path: Path) -> None:
    _notes(tmp_path / "notes", [3, 4, 5, 6, 7])
    pipeline = build_indexing_pipeline(split_by="word", split_length=44, split_overlap=0)
    store = CountingStore()
    embedder = RecordingEmbedder()
    report = Indexer(store, pipeline, embedder=embedder, batch_files=1, embedding_pool=1000).index(
        [tmp_path / "notes"]
    )
    assert report.count("indexed") == 5 and [o.chunks for o in report.outcomes] == [3, 4, 5, 6, 7]
    assert embedder.calls == [25]  # one pool: the whole run
    assert store.writes == 5  # still one atomic replace per batch
    assert all(d.embedding is not None and len(d.embedding) == 384 for d in store.filter_documents())

    embedder = RecordingEmbedder()
    Indexer(InMemoryDocumentStore(), pipeline, embedder=embedder, batch_files=1, embedding_pool=8).index(
        [tmp_path / "notes"]
    )
    assert embedder.calls == [3 + 4 + 5, 6 + 7]  # batches join a pool until 8 chunks wait, and the last


@pytest.mark.slow
def test_equal_chunks_are_embedded_once(tmp_path: Path) -> None:
    _notes(tmp_path / "notes", [4])
    (tmp_path / "notes" / "copy.txt").write_text((tmp_path / "notes" / "note0.txt").read_text())
    store = InMemoryDocumentStore()
    embedder = RecordingEmbedder()
    pipeline = build_indexing_pipeline(split_by="word", split_length=44, split_overlap=0)
    report = Indexer(store, pipeline, embedder=embedder).index([tmp_path / "notes"])
    assert report.count("indexed") == 2 and report.chunks_written == 8
    assert embedder.calls == [4]
    by_text: dict[str, list[list[float]]] = {}
    for chunk in store.filter_documents():
        by_text.setdefault(chunk.content or "", []).append(chunk.embedding or [])
    assert len(by_text) == 4 and all(len(v) == 2 and v[0] == v[1] for v in by_text.values())


@pytest.mark.slow
def test_an_embedding_failure_fails_only_its_own_batch_of_a_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from haybale.components.embedders import OpenAIDocumentEmbedder
    from haybale.core.secret import Secret
    from haybale.testing.openai_compatible_server import (
        FaultInjection,
        OpenAICompatibleServer,
        create_openai_compatible_app,
        sentence_transformers_embedding_function,
    )

    _notes(tmp_path / "notes", [2, 2, 2])
    monkeypatch.setenv("HAYBALE_TEST_EMBEDDING_KEY", "key")
    # The pool's request fails, and so does the first batch's own request when each batch retries alone.
    faults = FaultInjection(fail_first=2, status_code=400)
    app = create_openai_compatible_app(embedder=sentence_transformers_embedding_function(), faults=faults)
    store = InMemoryDocumentStore()
    with OpenAICompatibleServer(app) as server:
        embedder = OpenAIDocumentEmbedder(
            Secret.from_env_var("HAYBALE_TEST_EMBEDDING_KEY"), base_url=server.base_url, max_retries=0
        )
        pipeline = build_indexing_pipeline(split_by="word", split_length=44, split_overlap=0)
        report = Indexer(store, pipeline, embedder=embedder, batch_files=1).index([tmp_path / "notes"])
    assert faults.requests_seen == 4  # the pool, then each of its three batches
    status = {Path(o.source).name: o.status for o in report.outcomes}
    assert status == {"note0.txt": "failed", "note1.txt": "indexed", "note2.txt": "indexed"}
    assert "embedding failed" in (report.failed[0].error or "")
    assert {Path(d.meta["source"]).name for d in store.filter_documents()} == {"note1.txt", "note2.txt"}


def test_bad_embedding_pool_is_refused() -> None:
    with pytest.raises(ComponentError, match="embedding_pool must be a positive integer"):
        _indexer(InMemoryDocumentStore(), embedding_pool=0)
