"""Peer side of benchmarks/pgvector.py: pgvector-haystack's PgvectorDocumentStore and its retrievers.

Run by benchmarks/pgvector.py with .venv-peers/bin/python (haystack-ai 3.4.1, pgvector-haystack 8.1.2). It
also holds the synthetic data generator both sides use (numpy only), so the two runs index identical data.
Prints one JSON object with the measurements on its last stdout line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import numpy as np

VOCABULARY_SIZE = 5000
CATEGORIES = 100  # the selective filter keeps one category: 1% of the corpus


def _vocabulary(rng: np.random.Generator) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words: set[str] = set()
    while len(words) < VOCABULARY_SIZE:
        words.add("".join(rng.choice(letters, size=int(rng.integers(4, 10)))))
    return sorted(words)


def make_corpus(n: int, dim: int, seed: int) -> tuple[list[str], list[dict[str, Any]], np.ndarray]:
    """``n`` chunks of 40-120 Zipf-distributed words with clustered, unit-length ``dim``-d embeddings."""
    rng = np.random.default_rng(seed)
    vocab = np.array(_vocabulary(rng))
    ranks = np.arange(1, VOCABULARY_SIZE + 1)
    probs = (1.0 / ranks) / (1.0 / ranks).sum()
    lengths = rng.integers(40, 121, size=n)
    words = rng.choice(VOCABULARY_SIZE, size=int(lengths.sum()), p=probs)
    texts, start = [], 0
    for length in lengths:
        texts.append(" ".join(vocab[words[start : start + length]]))
        start += length
    metas = [{"category": f"c{i % CATEGORIES}", "chunk": i} for i in range(n)]
    centroids = rng.standard_normal((256, dim)).astype(np.float32)
    embeddings = centroids[rng.integers(0, 256, size=n)] + 0.6 * rng.standard_normal((n, dim)).astype(
        np.float32
    )
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    return texts, metas, embeddings


def make_queries(n_queries: int, seed: int, embeddings: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Keyword queries of 2-3 mid-frequency words and query embeddings near random corpus ``embeddings``."""
    rng = np.random.default_rng(seed + 1)
    vocab = _vocabulary(np.random.default_rng(seed))
    texts = [" ".join(vocab[int(i)] for i in rng.integers(20, 800, size=int(rng.integers(2, 4)))) for _ in
             range(n_queries)]  # fmt: skip
    dim = embeddings.shape[1]
    picks = embeddings[rng.integers(0, len(embeddings), size=n_queries)]
    noisy = picks + 0.3 * rng.standard_normal(picks.shape).astype(np.float32) / np.sqrt(dim)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    return texts, noisy


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 / p99 in milliseconds."""
    values = np.array(samples) * 1000.0
    return {"p50": float(np.percentile(values, 50)), "p99": float(np.percentile(values, 99))}


SELECTIVE_FILTER = {"field": "meta.category", "operator": "==", "value": "c7"}


def main() -> None:
    config = json.loads(sys.argv[1])
    os.environ["PG_CONN_STR"] = config["dsn"]
    from haystack import Document
    from haystack.utils import Secret
    from haystack_integrations.components.retrievers.pgvector import (
        PgvectorEmbeddingRetriever,
        PgvectorKeywordRetriever,
    )
    from haystack_integrations.document_stores.pgvector import PgvectorDocumentStore

    n, dim, seed, batch = config["n"], config["dim"], config["seed"], config["batch"]
    texts, metas, embeddings = make_corpus(n, dim, seed)
    store = PgvectorDocumentStore(
        connection_string=Secret.from_env_var("PG_CONN_STR"),
        table_name="peer_haystack_docs",
        embedding_dimension=dim,
        vector_function="cosine_similarity",
        recreate_table=True,
        search_strategy="hnsw",
        hnsw_index_creation_kwargs={"m": 16, "ef_construction": 64},
        hnsw_ef_search=config["ef_search"],
        keyword_index_name="peer_haystack_keyword_index",
        hnsw_index_name="peer_haystack_hnsw_index",
    )
    store.count_documents()  # creates the table and indexes outside the timed region
    docs = [
        Document(content=t, meta=m, embedding=e.tolist())
        for t, m, e in zip(texts, metas, embeddings, strict=True)
    ]
    sample = min(n, config["sample"])
    start = time.perf_counter()
    live_s = 0.0
    for i in range(0, n, batch):
        store.write_documents(docs[i : i + batch])
        if i + batch >= sample and not live_s:
            live_s = time.perf_counter() - start
    ingest_s = time.perf_counter() - start

    q_texts, q_embs = make_queries(config["queries"], seed, embeddings)
    keyword = PgvectorKeywordRetriever(document_store=store, top_k=10)
    dense = PgvectorEmbeddingRetriever(document_store=store, top_k=10)
    results: dict[str, Any] = {
        "ingest_s": ingest_s,
        "ingest_docs_per_s": n / ingest_s,
        "live_docs_per_s": sample / live_s,
    }
    for name, run in (
        ("bm25", lambda k, f: keyword.run(query=q_texts[k], filters=f)),
        ("dense", lambda k, f: dense.run(query_embedding=q_embs[k].tolist(), filters=f)),
    ):
        for label, filters in (("", None), ("_filtered", SELECTIVE_FILTER)):
            run(0, filters)  # warm
            times, counts = [], []
            for k in range(len(q_texts)):
                t0 = time.perf_counter()
                out = run(k, filters)
                times.append(time.perf_counter() - t0)
                counts.append(len(out["documents"]))
            results[name + label] = {**percentiles(times), "min_results": min(counts)}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
