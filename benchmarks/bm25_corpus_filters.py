"""BM25 with ``corpus_filters``: the cost of scoring within a corpus, against the unscoped search.

    .venv/bin/python benchmarks/bm25_corpus_filters.py              # 100k documents, 50 queries x 5 rounds
    .venv/bin/python benchmarks/bm25_corpus_filters.py --docs 20000 # quicker

The documents are the seeded synthetic corpus of benchmarks/retrieval.py (~100 words each, Zipf vocabulary),
spread round-robin over ten tenants (``meta.tenant``). For InMemoryDocumentStore and SQLiteDocumentStore (a
file in a temporary folder) it times, per query, top 10:

* ``whole store``: ``bm25_search(q)``, the default path (no corpus);
* ``filters 10%``: ``filters={"tenant": "t3"}`` only (the whole store's statistics);
* ``corpus 10%`` / ``corpus 90%``: ``corpus_filters`` of one tenant / of the nine others;
* ``corpus 10% + same filters``: what a tenant-scoped view sends (the tenant as both arguments);
* ``corpus 10% + narrower filters``: a tenant-scoped view with a caller filter (``meta.n`` odd, half of it);
* ``dense whole store`` / ``dense filters 10%``: ``embedding_search`` (seeded random unit vectors of
  ``--dim`` numbers, 0 for none) unfiltered and with the tenant as ``filters``.

The cases are interleaved round by round (the machine is shared); the table gives each case's median over all
queries and rounds, and its ratio to the whole-store median. With a store whose ``bm25_search`` takes no
``corpus_filters`` (an older checkout on PYTHONPATH) only the first two cases run, for comparing the default
path across versions.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))

from retrieval_common import median_ms, synthetic_corpus  # noqa: E402

from haybale.dataclasses import Document  # noqa: E402
from haybale.stores import InMemoryDocumentStore, SQLiteDocumentStore  # noqa: E402

TENANTS = [f"t{i}" for i in range(10)]
ONE = {"tenant": "t3"}
ONE_ODD = {"operator": "AND", "conditions": [ONE, {"field": "meta.odd", "operator": "==", "value": True}]}
NINE = {"field": "meta.tenant", "operator": "in", "value": [t for t in TENANTS if t != "t3"]}


def _cases(store: Any, vectors: dict[str, list[float]]) -> dict[str, Callable[[str], Any]]:
    cases: dict[str, Callable[[str], Any]] = {
        "whole store": lambda q: store.bm25_search(q, top_k=10),
        "filters 10%": lambda q: store.bm25_search(q, top_k=10, filters=ONE),
    }
    if "corpus_filters" in inspect.signature(store.bm25_search).parameters:
        cases["corpus 10%"] = lambda q: store.bm25_search(q, top_k=10, corpus_filters=ONE)
        cases["corpus 90%"] = lambda q: store.bm25_search(q, top_k=10, corpus_filters=NINE)
        cases["corpus 10% + same filters"] = lambda q: store.bm25_search(
            q, top_k=10, filters=ONE, corpus_filters=ONE
        )
        cases["corpus 10% + narrower filters"] = lambda q: store.bm25_search(
            q, top_k=10, filters=ONE_ODD, corpus_filters=ONE
        )
    if vectors:
        cases["dense whole store"] = lambda q: store.embedding_search(vectors[q], top_k=10)
        cases["dense filters 10%"] = lambda q: store.embedding_search(vectors[q], top_k=10, filters=ONE)
    return cases


def _measure(
    stores: dict[str, Any], queries: list[str], rounds: int, vectors: dict[str, list[float]]
) -> dict[tuple[str, str], list[float]]:
    samples: dict[tuple[str, str], list[float]] = {}
    for round_index in range(rounds + 1):  # round 0 warms caches and is not counted
        for store_name, store in stores.items():
            for case, search in _cases(store, vectors).items():
                for query in queries:
                    started = time.perf_counter()
                    search(query)
                    elapsed = time.perf_counter() - started
                    if round_index:
                        samples.setdefault((store_name, case), []).append(elapsed)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dim", type=int, default=384, help="embedding size (0: no dense cases)")
    args = parser.parse_args()
    texts, queries, digest = synthetic_corpus(args.docs, args.queries)
    embeddings: Any = [None] * len(texts)
    vectors: dict[str, list[float]] = {}
    if args.dim:
        rng = np.random.default_rng(7)
        matrix = rng.standard_normal((len(texts) + len(queries), args.dim)).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        embeddings = matrix[: len(texts)]
        vectors = dict(zip(queries, matrix[len(texts) :].tolist(), strict=True))
    docs = [
        Document(
            id=f"doc{i}",
            content=text,
            meta={"tenant": TENANTS[i % len(TENANTS)], "odd": bool(i // len(TENANTS) % 2)},
            embedding=embedding.tolist() if embedding is not None else None,
        )
        for i, (text, embedding) in enumerate(zip(texts, embeddings, strict=True))
    ]
    with tempfile.TemporaryDirectory() as folder:
        memory = InMemoryDocumentStore()
        sqlite_store = SQLiteDocumentStore(os.path.join(folder, "bench.db"))
        for store in (memory, sqlite_store):
            store.write_documents(docs)
        samples = _measure({"memory": memory, "sqlite": sqlite_store}, queries, args.rounds, vectors)
        sqlite_store.close()
    print(f"{args.docs} documents (checksum {digest}), {len(queries)} queries x {args.rounds} rounds, top 10")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print()
    print("| store | case | median ms | vs whole store (same search kind) |")
    print("|---|---|---|---|")
    for (store_name, case), values in samples.items():
        base = median_ms(samples[(store_name, "dense whole store" if "dense" in case else "whole store")])
        value = median_ms(values)
        print(f"| {store_name} | {case} | {value:.2f} | {value / base:.2f}x |")


if __name__ == "__main__":
    main()
