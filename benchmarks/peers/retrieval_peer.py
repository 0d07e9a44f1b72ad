"""Peer side of benchmarks/retrieval.py, run under .venv-peers: haystack-ai's InMemoryDocumentStore (synthetic
corpus and NFCorpus) and bm25s (NFCorpus; its synthetic timings run in the main process, interleaved).

Prints one JSON object on stdout. Haystack's queries are slow (hundreds of ms to seconds each at 100k
documents), so it is timed on the first ``--haystack-queries`` queries only; the median is reported.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from retrieval_common import (
    document_text,
    evaluate,
    load_nfcorpus,
    median_ms,
    random_unit_vectors,
    synthetic_corpus,
    traced_mb_per_100k,
)


def _bm25s_index(texts: list[str]) -> tuple[Any, Any]:
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    return retriever, stemmer


def _bm25s_search(retriever: Any, stemmer: Any, query: str, k: int) -> list[int]:
    import bm25s

    tokens = bm25s.tokenize([query], stopwords="en", stemmer=stemmer, show_progress=False)
    if not tokens.vocab:
        return []
    docs, _ = retriever.retrieve(tokens, k=min(k, retriever.scores["num_docs"]), show_progress=False)
    return [int(i) for i in docs[0]]


def synthetic(args: argparse.Namespace) -> dict[str, Any]:
    from haystack import Document
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    texts, queries, digest = synthetic_corpus(args.docs, args.queries)
    out: dict[str, Any] = {"checksum": digest}

    docs = [Document(content=text, id=str(i)) for i, text in enumerate(texts)]
    sample = docs[: args.memory_sample]

    def build_sample() -> Any:
        sample_store = InMemoryDocumentStore()
        sample_store.write_documents(sample)
        return sample_store

    out["haystack_mem_mb"] = traced_mb_per_100k(build_sample, len(sample))
    store = InMemoryDocumentStore()
    gc.collect()
    started = time.perf_counter()
    store.write_documents(docs)
    out["haystack_write_s"] = time.perf_counter() - started
    samples = []
    for query in queries[: args.haystack_queries]:
        started = time.perf_counter()
        store.bm25_retrieval(query, top_k=10)
        samples.append(time.perf_counter() - started)
    out["haystack_bm25_query_ms"] = median_ms(samples)
    del store, docs
    gc.collect()

    vectors = random_unit_vectors(args.docs, args.dim)
    docs = [Document(content=f"doc {i}", id=str(i), embedding=row) for i, row in enumerate(vectors.tolist())]
    store = InMemoryDocumentStore(embedding_similarity_function="cosine")
    store.write_documents(docs)
    query_vectors = random_unit_vectors(args.queries, args.dim, seed=11).tolist()
    samples = []
    for query in query_vectors[: args.haystack_dense_queries]:
        started = time.perf_counter()
        store.embedding_retrieval(query, top_k=10)
        samples.append(time.perf_counter() - started)
    out["haystack_dense_query_ms"] = median_ms(samples)
    return out


def nfcorpus(args: argparse.Namespace) -> dict[str, Any]:
    from haystack import Document
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    corpus, queries, qrels = load_nfcorpus(args.nfcorpus)
    texts = [document_text(row) for row in corpus]
    ids = [row["_id"] for row in corpus]
    out: dict[str, Any] = {}

    retriever, stemmer = _bm25s_index(texts)
    run: dict[str, list[str]] = {}
    samples = []
    for query in queries:
        started = time.perf_counter()
        run[query["_id"]] = [ids[i] for i in _bm25s_search(retriever, stemmer, query["text"], 100)]
        samples.append(time.perf_counter() - started)
    out["bm25s"] = {**evaluate(run, qrels), "query_ms": median_ms(samples)}

    store = InMemoryDocumentStore()
    store.write_documents([Document(id=i, content=t) for i, t in zip(ids, texts, strict=True)])
    run = {}
    samples = []
    for query in queries:
        started = time.perf_counter()
        run[query["_id"]] = [d.id for d in store.bm25_retrieval(query["text"], top_k=100)]
        samples.append(time.perf_counter() - started)
    out["haystack"] = {**evaluate(run, qrels), "query_ms": median_ms(samples)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, required=True)
    parser.add_argument("--queries", type=int, required=True)
    parser.add_argument("--dim", type=int, required=True)
    parser.add_argument("--haystack-queries", type=int, required=True)
    parser.add_argument("--haystack-dense-queries", type=int, required=True)
    parser.add_argument("--nfcorpus", required=True)
    parser.add_argument("--memory-sample", type=int, required=True)
    args = parser.parse_args()
    from importlib.metadata import version

    result: dict[str, Any] = {"haystack_version": version("haystack-ai"), "bm25s_version": version("bm25s")}
    result.update(synthetic(args))
    result["nfcorpus"] = nfcorpus(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
