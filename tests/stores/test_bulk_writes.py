"""Bulk writes of the in-memory and SQLite stores: the chunked embedding conversion, the vectorised BM25
analysis of large ASCII batches, the in-memory store's deferred BM25 indexing, and the guarantees around them
(a bad document anywhere in a large batch leaves the store exactly as it was; results equal those of small
writes; a SQLite store reopened after a bulk write answers the same)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haybale.dataclasses import Document
from haybale.errors import DocumentStoreError, DuplicateDocumentError
from haybale.stores import DuplicatePolicy, InMemoryDocumentStore
from haybale.stores._sqlite_bm25 import analyse
from haybale.stores._sqlite_rows import _JSON_MAX_MEAN_CHARS
from haybale.stores._word_ids import token_ids
from haybale.stores.sqlite import SQLiteDocumentStore
from haybale.stores.text_analysis import Analyzer

#: Enough documents for several conversion chunks (1024 rows) and a vectorised analysis batch (64k chars).
BULK = 2600
DIM = 8
VOCABULARY = [
    "alpha", "beta", "Gamma", "delta_x", "epsilon9", "running", "runs", "the", "and", "a", "extraordinarily",
    "internationalization", "x", "42", "state-of-the-art", "co2", "e.g.", "naïve", "bm25", "ok!",
]  # fmt: skip


def _docs(count: int, seed: int, *, start: int = 0, with_text: bool = True) -> list[Document]:
    rng = random.Random(seed)
    vectors = np.random.default_rng(seed).standard_normal((count, DIM), dtype=np.float32)
    return [
        Document(
            id=f"d{start + i}",
            content=" ".join(rng.choice(VOCABULARY[:-3]) for _ in range(rng.randint(3, 40)))
            if with_text
            else f"doc {start + i}",
            meta={"n": start + i},
            embedding=vectors[i].tolist(),
        )
        for i in range(count)
    ]


def _stores(tmp_path: Path) -> list[Any]:
    return [InMemoryDocumentStore(), SQLiteDocumentStore(tmp_path / "bulk.db")]


def _snapshot(store: Any) -> tuple[Any, ...]:
    query = [1.0] * DIM
    return (
        store.count_documents(),
        [(d.id, d.score) for d in store.bm25_search("alpha running", top_k=20)],
        [(d.id, d.score) for d in store.embedding_search(query, top_k=20)],
        sorted((d.id, d.content, d.embedding) for d in store.filter_documents()),
    )


def _broken(kind: str, docs: list[Document]) -> list[Any]:
    batch: list[Any] = list(docs)
    victim = batch[BULK - 100]  # in the third conversion chunk
    if kind == "dimension":
        victim.embedding = [*victim.embedding, 1.0]
    elif kind == "nan":
        victim.embedding = [float("nan"), *victim.embedding[1:]]
    elif kind == "inf":
        victim.embedding = [*victim.embedding[:-1], float("-inf")]
    elif kind == "float32 overflow":
        victim.embedding = [1e39, *victim.embedding[1:]]
    elif kind == "text embedding":
        victim.embedding = "0.1 0.2"
    elif kind == "not a number":
        victim.embedding = [{"x": 1}, *victim.embedding[1:]]
    elif kind == "int beyond a double":
        victim.embedding = [10**400, *victim.embedding[1:]]
    elif kind == "not a document":
        batch[BULK - 100] = {"content": "a dict"}
    elif kind == "duplicate id":
        batch[BULK - 100] = Document(id=batch[3].id, content="again", embedding=batch[3].embedding)
    return batch


@pytest.mark.parametrize(
    "kind",
    [
        "dimension",
        "nan",
        "inf",
        "float32 overflow",
        "text embedding",
        "not a number",
        "int beyond a double",
        "not a document",
        "duplicate id",
    ],
)
def test_one_bad_document_in_a_bulk_write_leaves_the_store_unchanged(tmp_path: Path, kind: str) -> None:
    for store in _stores(tmp_path):
        store.write_documents(_docs(50, seed=1, start=100_000))
        before = _snapshot(store)
        expected = DuplicateDocumentError if kind == "duplicate id" else DocumentStoreError
        with pytest.raises(expected) as error:
            store.write_documents(_broken(kind, _docs(BULK, seed=2)), policy=DuplicatePolicy.FAIL)
        if kind not in ("duplicate id", "not a document"):
            assert f"d{BULK - 100}" in str(error.value)  # the message names the document
        assert "nothing was written" in str(error.value).lower()
        assert _snapshot(store) == before
        store.write_documents(_docs(BULK, seed=2))  # and the store still takes the good batch
        assert store.count_documents() == 50 + BULK


def test_a_duplicate_of_a_stored_id_fails_a_bulk_write_atomically(tmp_path: Path) -> None:
    for store in _stores(tmp_path):
        store.write_documents(_docs(10, seed=3, start=BULK - 5))
        before = _snapshot(store)
        with pytest.raises(DuplicateDocumentError):
            store.write_documents(_docs(BULK, seed=4), policy=DuplicatePolicy.FAIL)
        assert _snapshot(store) == before


def test_bulk_writes_rank_and_score_like_small_writes_in_both_stores(tmp_path: Path) -> None:
    docs = _docs(BULK, seed=5)
    bulk_memory, bulk_sqlite = _stores(tmp_path)
    small = InMemoryDocumentStore()
    for store in (bulk_memory, bulk_sqlite):
        store.write_documents(docs)
    for start in range(0, BULK, 7):  # batches far below the vectorised analysis threshold
        small.write_documents(docs[start : start + 7])
    query_vector = np.random.default_rng(9).standard_normal(DIM).tolist()
    for store in (bulk_memory, bulk_sqlite):
        for query in ["alpha", "running runs", "gamma 42 co2", "internationalization extraordinarily"]:
            got = [(d.id, d.score) for d in store.bm25_search(query, top_k=50)]
            assert got == [(d.id, d.score) for d in small.bm25_search(query, top_k=50)]
            assert got
        got_dense = [(d.id, d.score) for d in store.embedding_search(query_vector, top_k=25)]
        assert got_dense == [(d.id, d.score) for d in small.embedding_search(query_vector, top_k=25)]


#: Texts that need escaping or care on their way into SQLite: quotes, backslashes, control characters,
#: line and paragraph separators, non-BMP characters, JSON look-alikes, and a NUL.
_AWKWARD = [
    'say "hi"', "back\\slash \\u0041", "tab\tnew\nline\r", "\x01\x1f\x7f", "line\u2028para\u2029",
    "emoji \U0001f600 and naïve café", "[1, 2]", '{"a": 1}', "null", "42", "", "   ", "\ud7ff\ue000",
]  # fmt: skip


def _awkward_docs(count: int, *, embedded: str, nul: bool) -> list[Document]:
    rng = random.Random(count)
    docs = []
    for i in range(count):
        text = f"{_AWKWARD[i % len(_AWKWARD)]} {rng.choice(VOCABULARY)} {i}"
        with_vector = embedded == "all" or (embedded == "some" and i % 5 != 0)
        docs.append(
            Document(
                id=f"{_AWKWARD[i % len(_AWKWARD)]}-{i}",
                content=None if i % 97 == 0 else text,
                meta={"t": _AWKWARD[(i + 3) % len(_AWKWARD)], "x": [i, None]} if i % 4 == 0 else {},
                embedding=[float(i % 7), 0.5, -1.0, 0.25, 1.0, 2.0, 3.0, 4.0] if with_vector else None,
            )
        )
    if nul:
        docs[BULK // 2].content = "nul \x00 inside"
    return docs


@pytest.mark.parametrize(
    ("embedded", "nul"),
    [("all", False), ("some", False), ("none", False), ("some", True)],
    ids=["all embedded", "some embedded", "none embedded", "a NUL: rows bound one by one"],
)
def test_sqlite_bulk_rows_store_every_text_like_small_writes(
    tmp_path: Path, embedded: str, nul: bool
) -> None:
    docs = _awkward_docs(BULK, embedded=embedded, nul=nul)
    short_rows = sum(len(d.content or "") + len(json.dumps(d.meta)) for d in docs) / len(docs)
    assert short_rows < _JSON_MAX_MEAN_CHARS  # rows short enough for the one-statement JSON insert
    bulk, small = SQLiteDocumentStore(tmp_path / "bulk.db"), SQLiteDocumentStore(tmp_path / "small.db")
    bulk.write_documents(docs)
    for start in range(0, BULK, 7):
        small.write_documents(docs[start : start + 7])
    stored = bulk.filter_documents()
    assert [(d.id, d.content, d.meta, d.embedding) for d in stored] == [
        (d.id, d.content, d.meta, d.embedding) for d in docs
    ]
    assert [(d.id, d.content, d.meta, d.embedding) for d in small.filter_documents()] == [
        (d.id, d.content, d.meta, d.embedding) for d in stored
    ]
    for query in ["alpha", "hi emoji", "naïve café 42", "slash u0041", "tab line para"]:
        got = [(d.id, d.score) for d in bulk.bm25_search(query, top_k=30)]
        assert got == [(d.id, d.score) for d in small.bm25_search(query, top_k=30)]
        assert got


def test_sqlite_keeps_float64_embeddings_rounded_like_numpy_and_scores_like_memory(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    magnitudes = 10.0 ** rng.uniform(-44, 18, (BULK, DIM))  # from float32's subnormals (norms stay finite)
    values = magnitudes * rng.choice([-1.0, 1.0], (BULK, DIM)) * (1 + rng.random((BULK, DIM)) * 1e-7)
    docs = [Document(id=f"d{i}", content="x", embedding=row) for i, row in enumerate(values.tolist())]
    docs[7].embedding = [1 + 2.0**-24, 1 + 3 * 2.0**-24, -(2.0**-149), 2.0**-150, 3.0e18, 0.1, 1, True]
    store, memory = SQLiteDocumentStore(tmp_path / "f64.db"), InMemoryDocumentStore()
    store.write_documents(docs)
    memory.write_documents(docs)
    expected = [np.asarray(d.embedding, dtype=np.float64).astype(np.float32).tolist() for d in docs]
    assert [d.embedding for d in store.filter_documents()] == expected
    query = rng.standard_normal(DIM).tolist()
    for similarity_store in (store, memory):
        assert similarity_store.embedding_search(query, top_k=40)
    assert [(d.id, d.score) for d in store.embedding_search(query, top_k=40)] == [
        (d.id, d.score) for d in memory.embedding_search(query, top_k=40)
    ]


def test_bulk_embeddings_come_back_exactly_as_written() -> None:
    docs = _docs(BULK, seed=6)
    docs[2000].embedding = [0.1] * DIM  # float32 rounds 0.1: the store keeps the original values
    store = InMemoryDocumentStore()
    store.write_documents(docs)
    stored = {d.id: d.embedding for d in store.filter_documents()}
    assert all(stored[d.id] == d.embedding for d in docs)


def test_deferred_bm25_index_is_right_after_interleaved_writes_deletes_and_searches() -> None:
    docs = _docs(BULK, seed=7)
    store = InMemoryDocumentStore()
    store.write_documents(docs[:1500])
    store.delete_documents([d.id for d in docs[:1500:4]])  # deleted before anything was indexed
    assert store.bm25_search("alpha", top_k=3)  # indexes what is pending
    store.write_documents(docs[1500:])
    changed = [Document(id=d.id, content=d.content + " omega", embedding=d.embedding) for d in docs[1:300:5]]
    store.write_documents(changed, policy=DuplicatePolicy.OVERWRITE)  # replaces indexed documents
    store.delete_by_filter({"field": "meta.n", "operator": ">=", "value": 2500})  # some still pending
    store.write_documents(docs[2550:2560])  # slots freed while pending are reused
    fresh = InMemoryDocumentStore()
    fresh.write_documents(store.filter_documents())
    for query in ["alpha", "omega", "running beta", "delta_x 42"]:
        assert [(d.id, d.score) for d in store.bm25_search(query, top_k=BULK)] == [
            (d.id, d.score) for d in fresh.bm25_search(query, top_k=BULK)
        ]
    assert {d.id for d in store.bm25_search("omega", top_k=100)} == {d.id for d in changed}
    assert store.count_documents() == fresh.count_documents()


def test_sqlite_store_reopened_after_a_bulk_write_answers_the_same(tmp_path: Path) -> None:
    path = tmp_path / "reopen.db"
    store = SQLiteDocumentStore(path)
    store.write_documents(_docs(BULK, seed=8))
    store.write_documents(_docs(BULK, seed=9, start=BULK, with_text=False))  # one term per document
    store.delete_documents([f"d{i}" for i in range(0, 2 * BULK, 11)])
    before = _snapshot(store)
    short_texts = [(d.id, d.score) for d in store.bm25_search(f"doc {BULK + 12}", top_k=5)]
    store.close()
    reopened = SQLiteDocumentStore(path)
    assert _snapshot(reopened) == before
    assert [(d.id, d.score) for d in reopened.bm25_search(f"doc {BULK + 12}", top_k=5)] == short_texts
    assert short_texts[0][0] == f"d{BULK + 12}"
    memory = InMemoryDocumentStore()
    memory.write_documents(reopened.filter_documents())
    assert _snapshot(memory)[1:3] == before[1:3]  # same ranking and scores as a fresh in-memory build


_ascii_word = st.text(alphabet="abcXYZ019_", min_size=1, max_size=14)
_glue = st.sampled_from([" ", "  ", "-", ".", "\n", "\x00", ", ", "!?"])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(_ascii_word, _glue), min_size=1, max_size=30), st.booleans(), st.booleans())
def test_vectorised_analysis_finds_the_same_terms_as_the_word_by_word_path(
    pieces: list[tuple[str, str]], lowercase: bool, stopwords: bool
) -> None:
    analyzer = Analyzer(lowercase=lowercase, stopwords=["abc", "XYZ"] if stopwords else False)
    text = "".join(word + glue for word, glue in pieces)
    text = text * (120 // len(text) + 1)
    texts = [text[i % len(text) :] + f" n{i % 300}" for i in range(1500)]
    assert sum(map(len, texts)) > 70_000  # large enough for the vectorised path
    analysis = analyse(analyzer, texts)
    terms, term_of, text_of, tf, lengths = (
        analysis.terms,
        analysis.term_of(),
        analysis.text_of,
        analysis.tf,
        analysis.lengths,
    )
    assert terms == sorted(terms)  # string order, each term's postings in text order
    assert all(np.diff(text_of.astype(np.int64))[np.diff(term_of) == 0] > 0)
    found: list[dict[str, int]] = [{} for _ in texts]
    for term, position, count in zip(term_of.tolist(), text_of.tolist(), tf.tolist(), strict=True):
        found[position][terms[term]] = count
    for position, text_i in enumerate(texts):
        expected = analyzer.tokenize(text_i)
        assert lengths[position] == len(expected)
        assert found[position] == {term: expected.count(term) for term in expected}

    class PlainLookup(dict[str, int]):  # the word-by-word path, with the same term ids
        def __missing__(self, word: str) -> int:
            term = analyzer.normalize_word(word)
            self[word] = -1 if term is None else terms.index(term)
            return self[word]

    plain = PlainLookup({"\x00": -2})
    ids, owner = token_ids(analyzer, texts[:500], plain)
    fast_ids, fast_owner = token_ids(analyzer, texts[:500], _fresh_lookup(analyzer, terms))
    assert np.array_equal(ids, fast_ids) and np.array_equal(owner, fast_owner)


def _fresh_lookup(analyzer: Analyzer, terms: list[str]) -> Any:
    from haybale.stores._word_ids import WordIds

    class Lookup(WordIds):
        def __missing__(self, word: str) -> int:
            term = analyzer.normalize_word(word)
            self[word] = -1 if term is None else terms.index(term)
            return self[word]

    return Lookup()


def _huge_page_advice() -> bool:
    """numpy's current huge-page advice setting (read by setting it and putting it back)."""
    switch = np._core.multiarray._set_madvise_hugepage
    current = switch(False)
    switch(current)
    return bool(current)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@pytest.mark.parametrize("advice", [True, False])
def test_bm25_indexing_runs_without_huge_page_advice_and_restores_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, advice: bool
) -> None:
    seen: list[bool] = []
    original = Analyzer.normalize_words

    def recording(self: Analyzer, words: list[str]) -> Any:
        seen.append(_huge_page_advice())
        return original(self, words)

    monkeypatch.setattr(Analyzer, "normalize_words", recording)
    switch = np._core.multiarray._set_madvise_hugepage
    before = switch(advice)
    try:
        store = InMemoryDocumentStore() if kind == "memory" else SQLiteDocumentStore(tmp_path / "pages.db")
        docs = _docs(BULK, seed=5)
        store.write_documents(docs)
        assert store.bm25_search("alpha", top_k=1)
        assert _huge_page_advice() is advice  # restored after the write and the indexing
        store.delete_documents([d.id for d in docs[: BULK // 2]])  # a delete re-analyses (SQLite)
        assert _huge_page_advice() is advice
    finally:
        switch(before)
    assert seen and not any(seen)


def test_huge_page_advice_comes_back_only_when_the_last_overlapping_analysis_ends() -> None:
    from haybale.stores._bulk import small_pages

    switch = np._core.multiarray._set_madvise_hugepage
    before = switch(True)
    try:
        first, second = small_pages(), small_pages()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        assert _huge_page_advice() is False  # the second analysis (another thread) still runs
        second.__exit__(None, None, None)
        assert _huge_page_advice() is True
        with pytest.raises(RuntimeError), small_pages():
            raise RuntimeError("an analysis fails")
        assert _huge_page_advice() is True
    finally:
        switch(before)
