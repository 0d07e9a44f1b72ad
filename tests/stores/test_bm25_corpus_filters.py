"""BM25 with ``corpus_filters``: a store searched with a corpus scores exactly like a store that holds only
the corpus's documents (bit for bit: every store scores through the same functions), on a corpus big enough
to have several groups, rare and common words, empty and stop-word-only documents, deletes and overwrites."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from haybale.dataclasses import Document
from haybale.errors import FilterError
from haybale.stores import DuplicatePolicy, InMemoryDocumentStore, SQLiteDocumentStore

VARIANTS = ["okapi", "bm25l", "bm25+"]
GROUPS = ["red", "green", "blue", "grey"]
# Word frequencies differ per group, so document frequencies and lengths differ per corpus.
COMMON = ["river", "stone", "garden", "lantern", "harbor", "meadow", "engine", "violin"]
RARE = ["quasar", "zephyr", "obsidian"]
QUERIES = [
    "river stone",
    "lantern lantern harbor",  # a repeated query term
    "quasar",  # rare: in some corpora, absent from others
    "zephyr violin obsidian unknownword",
    "obsidian",
    "the of and",  # stop words only
]


def _corpus(count: int = 400, seed: int = 7) -> list[Document]:
    rng = random.Random(seed)
    docs = []
    for i in range(count):
        group = GROUPS[rng.randrange(len(GROUPS))]
        vocabulary = COMMON[: 3 + GROUPS.index(group) * 2]
        words = [rng.choice(vocabulary) for _ in range(rng.randint(1, 25))]
        if rng.random() < 0.05:
            words.append(RARE[GROUPS.index(group) % len(RARE)])
        content: str | None = " ".join(words)
        if i % 97 == 0:
            content = "the of and"  # indexed with length 0
        elif i % 89 == 0:
            content = None  # not in the BM25 corpus at all
        docs.append(Document(id=f"d{i}", content=content, meta={"group": group, "n": i}))
    return docs


def _churn(store: Any, docs: list[Document]) -> None:
    """Write in several batches (several SQLite segments, merged ones too), delete some, overwrite some."""
    for start in range(0, len(docs), 25):
        store.write_documents(docs[start : start + 25])
    store.delete_documents([d.id for d in docs[::11]])
    rewritten = [Document(id=d.id, content=f"{d.content} meadow quasar", meta=d.meta) for d in docs[5:60:7]]
    store.write_documents(rewritten, policy=DuplicatePolicy.OVERWRITE)
    store.delete_by_filter({"field": "meta.n", "operator": "in", "value": [3, 4, 150, 151]})


StoreFactory = Callable[[str], Any]


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: Any, tmp_path: Path) -> StoreFactory:
    made: list[Any] = []

    def make(variant: str) -> Any:
        settings = {"bm25_variant": variant, "bm25_k1": 1.3, "bm25_b": 0.7, "bm25_delta": 0.6}
        if request.param == "memory":
            store: Any = InMemoryDocumentStore(**settings)
        else:
            store = SQLiteDocumentStore(tmp_path / f"store{len(made)}.db", **settings)
        made.append(store)
        return store

    yield make
    for store in made:
        if isinstance(store, SQLiteDocumentStore):
            store.close()


def _ranked(documents: list[Document]) -> list[tuple[str, float | None]]:
    return [(d.id, d.score) for d in documents]


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_corpus_scores_like_a_store_holding_only_its_documents(
    make_store: StoreFactory, variant: str
) -> None:
    shared = make_store(variant)
    _churn(shared, _corpus())
    corpora: list[dict[str, Any]] = [
        *({"group": group} for group in GROUPS),
        {"field": "meta.group", "operator": "in", "value": ["red", "blue"]},
        {"operator": "NOT", "conditions": [{"field": "meta.n", "operator": "<", "value": 200}]},
    ]
    for corpus in corpora:
        alone = make_store(variant)
        alone.write_documents(shared.filter_documents(corpus))
        for query in QUERIES:
            scoped = shared.bm25_search(query, top_k=1000, corpus_filters=corpus)
            assert _ranked(scoped) == _ranked(alone.bm25_search(query, top_k=1000)), (corpus, query)
            top = shared.bm25_search(query, top_k=5, corpus_filters=corpus)
            assert _ranked(top) == _ranked(scoped[:5])
            same = shared.bm25_search(query, top_k=1000, filters=corpus, corpus_filters=corpus)
            assert _ranked(same) == _ranked(scoped)  # what a tenant-scoped view sends
        # filters narrow the results; the statistics stay the corpus's
        narrow = {"field": "meta.n", "operator": ">=", "value": 250}
        scoped = shared.bm25_search("river lantern", top_k=1000, filters=narrow, corpus_filters=corpus)
        assert _ranked(scoped) == _ranked(alone.bm25_search("river lantern", top_k=1000, filters=narrow))
        assert scoped and all(d.meta["n"] >= 250 for d in scoped)


def test_the_whole_store_is_the_default_and_scoped_searches_leave_it_untouched(
    make_store: StoreFactory,
) -> None:
    store = make_store("okapi")
    _churn(store, _corpus())
    before = _ranked(store.bm25_search("river quasar", top_k=1000))
    assert _ranked(store.bm25_search("river quasar", top_k=1000, corpus_filters=None)) == before
    assert _ranked(store.bm25_search("river quasar", top_k=1000, corpus_filters={})) == before
    red = store.bm25_search("river quasar", top_k=1000, corpus_filters={"group": "red"})
    whole = dict(before)
    assert red and all(d.score != whole[d.id] for d in red)  # other statistics, other scores
    assert _ranked(store.bm25_search("river quasar", top_k=1000)) == before  # no cache was polluted


def test_a_scoped_search_follows_writes(make_store: StoreFactory) -> None:
    store = make_store("okapi")
    store.write_documents(_corpus(120))
    first = store.bm25_search("obsidian river", top_k=1000, corpus_filters={"group": "grey"})
    store.write_documents([Document(id="new", content="obsidian obsidian", meta={"group": "grey"})])
    after = store.bm25_search("obsidian river", top_k=1000, corpus_filters={"group": "grey"})
    assert after[0].id == "new"
    assert _ranked(after[1:]) != _ranked(first)  # N and df changed: every score moved
    store.update_by_filter({"id": "new"}, {"group": "red"})
    assert "new" not in {d.id for d in store.bm25_search("obsidian", corpus_filters={"group": "grey"})}
    assert _ranked(store.bm25_search("obsidian river", top_k=1000, corpus_filters={"group": "grey"})) == (
        _ranked(first)
    )


def test_empty_corpora_and_words_the_corpus_lacks(make_store: StoreFactory) -> None:
    store = make_store("bm25+")  # its idf divides by the document frequency
    store.write_documents(_corpus(200))
    assert store.bm25_search("river", corpus_filters={"group": "nobody"}) == []
    assert store.bm25_search("river", corpus_filters={"n": 89}) == []  # a document without content
    assert store.bm25_search("river", corpus_filters={"n": 97}) == []  # stop words only: no query term
    assert store.bm25_search("river", filters={"group": "red"}, corpus_filters={"group": "blue"}) == []
    red = {"group": "red"}  # red documents never hold "violin" or "obsidian"
    with_unknown = store.bm25_search("river violin obsidian", top_k=1000, corpus_filters=red)
    assert _ranked(with_unknown) == _ranked(store.bm25_search("river", top_k=1000, corpus_filters=red))
    assert store.bm25_search("violin", corpus_filters=red) == []


def test_malformed_corpus_filters_are_named_in_the_error(make_store: StoreFactory) -> None:
    store = make_store("okapi")
    store.write_documents(_corpus(20))
    with pytest.raises(FilterError, match=r"corpus_filters\.operator"):
        store.bm25_search("river", corpus_filters={"field": "meta.group", "operator": "is", "value": "x"})
    with pytest.raises(FilterError, match="corpus_filters: expected a dict"):
        store.bm25_search("river", corpus_filters="group = red")
    with pytest.raises(FilterError, match="corpus_filters"):  # checked even when nothing would be searched
        store.bm25_search("", corpus_filters=["red"])


def test_memory_store_async_search_takes_a_corpus() -> None:
    store = InMemoryDocumentStore()
    store.write_documents(_corpus(100))
    corpus = {"group": "blue"}
    found = asyncio.run(store.bm25_search_async("river", top_k=50, corpus_filters=corpus))
    assert _ranked(found) == _ranked(store.bm25_search("river", top_k=50, corpus_filters=corpus))
    assert found and all(d.meta["group"] == "blue" for d in found)


def test_both_stores_agree_on_scoped_scores(tmp_path: Path) -> None:
    memory = InMemoryDocumentStore()
    sqlite_store = SQLiteDocumentStore(tmp_path / "agree.db")
    docs = _corpus()
    memory.write_documents(docs)
    sqlite_store.write_documents(docs)
    for query in QUERIES:
        corpus = {"group": ["green", "grey"]}
        want = _ranked(memory.bm25_search(query, top_k=1000, corpus_filters=corpus))
        assert _ranked(sqlite_store.bm25_search(query, top_k=1000, corpus_filters=corpus)) == want
    sqlite_store.close()
