"""Retrieval benchmark: haybale's stores side by side with haystack-ai's InMemoryDocumentStore and bm25s.

    .venv/bin/python benchmarks/retrieval.py            # 100k synthetic documents + NFCorpus (~3-4 minutes)
    .venv/bin/python benchmarks/retrieval.py --quick    # 20k documents, fewer queries (~1 minute)

(i) Synthetic: N documents of ~100 words from one seeded Zipf generator (benchmarks/peers/retrieval_common.py,
    the peer process checks the same checksum). Write/index time, BM25 query median (top 10), memory kept
    by the index (tracemalloc over the first 50k documents, scaled to 100k; document texts are not
    counted), and dense query median over N x 384 random unit vectors against plain numpy brute force
    (``M @ q`` + ``argpartition``). SQLiteDocumentStore BM25 is measured too when it exists.
(ii) NFCorpus (../shared/bench-data/nfcorpus, test queries): nDCG@10 and Recall@100 computed like trec_eval,
    BM25 with DEFAULT settings for every system.

haystack-ai (and bm25s for NFCorpus) run as a subprocess under .venv-peers/bin/python; the synthetic bm25s
timings run in this process (same bm25s version), interleaved with ours. Numbers are medians.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))

from retrieval_common import (  # noqa: E402
    NFCORPUS_DIR,
    document_text,
    evaluate,
    load_nfcorpus,
    median_ms,
    random_unit_vectors,
    synthetic_corpus,
    traced_mb_per_100k,
)

from haybale.dataclasses import Document  # noqa: E402
from haybale.stores.memory import InMemoryDocumentStore  # noqa: E402

#: Memory is traced (tracemalloc, numpy included) while indexing this many documents, then scaled to 100k.
MEMORY_SAMPLE = 50_000
PEER_PYTHON = os.path.join(HERE, "..", ".venv-peers", "bin", "python")


def _time_queries(search: Any, queries: list[Any]) -> float:
    samples = []
    for query in queries:
        started = time.perf_counter()
        search(query)
        samples.append(time.perf_counter() - started)
    return median_ms(samples)


def ours_bm25(docs: list[Document], queries: list[str]) -> dict[str, Any]:
    """Index ``docs`` in a fresh InMemoryDocumentStore (and SQLiteDocumentStore if present); time BM25."""
    out: dict[str, Any] = {}
    sample = docs[:MEMORY_SAMPLE]

    def build_sample() -> InMemoryDocumentStore:
        sample_store = InMemoryDocumentStore()
        sample_store.write_documents(sample)
        return sample_store

    out["mem_mb"] = traced_mb_per_100k(build_sample, len(sample))
    store = InMemoryDocumentStore()
    gc.collect()
    started = time.perf_counter()
    store.write_documents(docs)
    out["write_s"] = time.perf_counter() - started
    out["bm25_first_pass_ms"] = _time_queries(lambda q: store.bm25_search(q, top_k=10), queries)
    bm25s_search = _bm25s_in_process(docs, out)
    # Interleaved rounds, in this process, so machine-load drift hits haybale and bm25s alike.
    ours, theirs = [], []
    for _ in range(3):
        ours.append(_time_queries(lambda q: store.bm25_search(q, top_k=10), queries))
        theirs.append(_time_queries(bm25s_search, queries))
    out["bm25_query_ms"] = float(np.median(ours))
    out["bm25s_query_ms"] = float(np.median(theirs))
    sqlite_class = _sqlite_class()
    if sqlite_class is not None:
        with tempfile.TemporaryDirectory() as tmp:
            sqlite_store = sqlite_class(os.path.join(tmp, "bench.db"))
            started = time.perf_counter()
            sqlite_store.write_documents(docs)
            out["sqlite_write_s"] = time.perf_counter() - started
            out["sqlite_bm25_query_ms"] = _time_queries(
                lambda q: sqlite_store.bm25_search(q, top_k=10), queries
            )
            close = getattr(sqlite_store, "close", None)
            if callable(close):
                close()
    return out


def ours_dense(n_docs: int, dim: int, n_queries: int) -> dict[str, Any]:
    """Exact dense search over ``n_docs`` x ``dim`` unit vectors, against plain numpy brute force."""
    out: dict[str, Any] = {}
    vectors = random_unit_vectors(n_docs, dim)
    docs = [Document(content=f"doc {i}", id=str(i), embedding=row) for i, row in enumerate(vectors.tolist())]
    store = InMemoryDocumentStore(embedding_similarity_function="cosine")
    started = time.perf_counter()
    store.write_documents(docs)
    out["dense_write_s"] = time.perf_counter() - started
    del docs
    query_lists = random_unit_vectors(n_queries, dim, seed=11).tolist()

    def numpy_brute_force(query: list[float]) -> Any:
        scores = vectors @ np.asarray(query, dtype=np.float32)
        top = np.argpartition(-scores, 10)[:10]
        return top[np.argsort(-scores[top])]

    # Alternating query by query (3 rounds), so machine-load drift hits both sides alike.
    ours: list[float] = []
    numpy_side: list[float] = []
    for _ in range(3):
        for query in query_lists:
            started = time.perf_counter()
            store.embedding_search(query, top_k=10)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            numpy_brute_force(query)
            numpy_side.append(time.perf_counter() - started)
    out["dense_query_ms"] = median_ms(ours)
    out["numpy_query_ms"] = median_ms(numpy_side)
    return out


def ours_synthetic(args: argparse.Namespace) -> dict[str, Any]:
    """Every haybale measurement on the synthetic corpus."""
    texts, queries, digest = synthetic_corpus(args.docs, args.queries)
    docs = [Document(content=text, id=str(i)) for i, text in enumerate(texts)]
    out: dict[str, Any] = {"checksum": digest, **ours_bm25(docs, queries)}
    del docs, texts
    gc.collect()
    out.update(ours_dense(args.docs, args.dim, args.queries))
    return out


def _bm25s_in_process(docs: list[Document], out: dict[str, Any]) -> Any:
    """Index the same texts with bm25s (Snowball stemmer, English stop words); return a search function."""
    import bm25s
    import Stemmer

    texts = [doc.content or "" for doc in docs]
    stemmer = Stemmer.Stemmer("english")

    def build(corpus: list[str]) -> Any:
        index = bm25s.BM25()
        tokens = bm25s.tokenize(corpus, stopwords="en", stemmer=stemmer, show_progress=False)
        index.index(tokens, show_progress=False)
        return index

    out["bm25s_mem_mb"] = traced_mb_per_100k(lambda: build(texts[:MEMORY_SAMPLE]), len(texts[:MEMORY_SAMPLE]))
    gc.collect()
    started = time.perf_counter()
    retriever = build(texts)
    out["bm25s_index_s"] = time.perf_counter() - started

    def search(query: str) -> Any:
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=stemmer, show_progress=False)
        return retriever.retrieve(tokens, k=10, show_progress=False)

    return search


def _sqlite_class() -> Any:
    """SQLiteDocumentStore when this checkout has it (it is measured only then)."""
    try:
        from haybale.stores.sqlite import SQLiteDocumentStore
    except ImportError:
        return None
    return SQLiteDocumentStore


def ours_nfcorpus(directory: str) -> dict[str, Any]:
    corpus, queries, qrels = load_nfcorpus(directory)
    store = InMemoryDocumentStore()
    store.write_documents([Document(id=row["_id"], content=document_text(row)) for row in corpus])
    run: dict[str, list[str]] = {}
    samples = []
    for query in queries:
        started = time.perf_counter()
        run[query["_id"]] = [d.id for d in store.bm25_search(query["text"], top_k=100)]
        samples.append(time.perf_counter() - started)
    return {**evaluate(run, qrels), "query_ms": median_ms(samples)}


def run_peer(args: argparse.Namespace) -> dict[str, Any] | None:
    if not os.path.exists(PEER_PYTHON):
        print(f"(peer venv missing at {PEER_PYTHON}; peers skipped)")
        return None
    command = [
        PEER_PYTHON,
        os.path.join(HERE, "peers", "retrieval_peer.py"),
        f"--docs={args.docs}",
        f"--queries={args.queries}",
        f"--dim={args.dim}",
        f"--haystack-queries={args.haystack_queries}",
        f"--haystack-dense-queries={args.haystack_dense_queries}",
        f"--nfcorpus={args.nfcorpus}",
        f"--memory-sample={MEMORY_SAMPLE}",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        print("peer failed:\n" + completed.stderr[-3000:])
        return None
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value:.2f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.0f} MB"
    return f"{value:.4f}"


def print_tables(
    args: argparse.Namespace, ours: dict[str, Any], nf: dict[str, Any], peer: dict[str, Any] | None
) -> None:
    p = peer or {}
    if peer and peer.get("checksum") != ours["checksum"]:
        print(f"WARNING: peer corpus checksum {peer.get('checksum')} != ours {ours['checksum']}")
    n = f"{args.docs // 1000}k"
    print(
        f"\n(i) synthetic corpus: {args.docs:,} docs x ~100 words (checksum {ours['checksum']}), "
        f"{args.queries} queries, top_k=10, dense {args.docs:,} x {args.dim}"
    )
    print(
        f"    haystack-ai {p.get('haystack_version', '?')} BM25 timed on {args.haystack_queries} queries, "
        f"dense on {args.haystack_dense_queries}; bm25s {p.get('bm25s_version', '?')} "
        "(Snowball stemmer, English stop words)"
    )
    rows = [
        ("system", f"write/index {n}", "BM25 query (median)", "memory per 100k docs", "dense query (median)"),
        (
            "haybale InMemoryDocumentStore",
            _fmt(ours["write_s"], "s"),
            _fmt(ours["bm25_query_ms"], "ms"),
            _fmt(ours["mem_mb"], "MB"),
            _fmt(ours["dense_query_ms"], "ms"),
        ),
        (
            "haybale SQLiteDocumentStore",
            _fmt(ours.get("sqlite_write_s"), "s"),
            _fmt(ours.get("sqlite_bm25_query_ms"), "ms"),
            "-",
            "-",
        ),
        (
            "bm25s",
            _fmt(ours.get("bm25s_index_s"), "s"),
            _fmt(ours.get("bm25s_query_ms"), "ms"),
            _fmt(ours.get("bm25s_mem_mb"), "MB"),
            "-",
        ),
        (
            "haystack-ai InMemoryDocumentStore",
            _fmt(p.get("haystack_write_s"), "s"),
            _fmt(p.get("haystack_bm25_query_ms"), "ms"),
            _fmt(p.get("haystack_mem_mb"), "MB"),
            _fmt(p.get("haystack_dense_query_ms"), "ms"),
        ),
        ("numpy brute force (M @ q + argpartition)", "-", "-", "-", _fmt(ours["numpy_query_ms"], "ms")),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for i, row in enumerate(rows):
        print("  " + " | ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)))
        if i == 0:
            print("  " + "-+-".join("-" * w for w in widths))
    print(
        f"  haybale BM25 median on the first pass (per-term score cache cold): "
        f"{_fmt(ours['bm25_first_pass_ms'], 'ms')}; the table shows 3 interleaved rounds with bm25s."
    )

    print("\n  ratios / targets:")
    checks = []
    if ours.get("bm25s_query_ms"):
        checks.append(
            ("BM25 query vs bm25s (target <= 1.0x)", ours["bm25_query_ms"] / ours["bm25s_query_ms"], 1.0)
        )
    if p.get("haystack_bm25_query_ms"):
        checks.append(
            (
                "haystack-ai BM25 / ours (target >= 150x)",
                p["haystack_bm25_query_ms"] / ours["bm25_query_ms"],
                None,
            )
        )
    checks.append(
        ("dense query vs numpy (target <= 1.2x)", ours["dense_query_ms"] / ours["numpy_query_ms"], 1.2)
    )
    if ours.get("sqlite_bm25_query_ms"):
        checks.append(
            (
                "SQLite BM25 vs in-memory (target <= 3x)",
                ours["sqlite_bm25_query_ms"] / ours["bm25_query_ms"],
                3.0,
            )
        )
    if p.get("haystack_dense_query_ms"):
        checks.append(
            ("haystack-ai dense / ours", p["haystack_dense_query_ms"] / ours["dense_query_ms"], None)
        )
    for label, ratio, limit in checks:
        verdict = "" if limit is None else ("  ok" if ratio <= limit else "  MISSED")
        print(f"    {label}: {ratio:.2f}x{verdict}")
    print(f"    indexing {n} docs (target <= 4 s at 100k): {ours['write_s']:.2f} s")

    print("\n(ii) NFCorpus test split, BM25 with default settings (nDCG@10 like trec_eval, target >= 0.325)")
    rows2 = [("system", "nDCG@10", "Recall@100", "query (median)")]
    rows2.append(
        (
            "haybale InMemoryDocumentStore",
            _fmt(nf["ndcg@10"]),
            _fmt(nf["recall@100"]),
            _fmt(nf["query_ms"], "ms"),
        )
    )
    for key, label in (("bm25s", "bm25s"), ("haystack", "haystack-ai InMemoryDocumentStore")):
        row = (p.get("nfcorpus") or {}).get(key)
        if row:
            rows2.append((label, _fmt(row["ndcg@10"]), _fmt(row["recall@100"]), _fmt(row["query_ms"], "ms")))
    widths = [max(len(r[i]) for r in rows2) for i in range(4)]
    for i, row in enumerate(rows2):
        print("  " + " | ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)))
        if i == 0:
            print("  " + "-+-".join("-" * w for w in widths))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="20k documents and fewer queries")
    parser.add_argument("--docs", type=int, default=None)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--haystack-queries", type=int, default=None)
    parser.add_argument("--haystack-dense-queries", type=int, default=None)
    parser.add_argument("--nfcorpus", default=os.path.abspath(NFCORPUS_DIR))
    parser.add_argument("--no-peers", action="store_true", help="measure haybale only")
    args = parser.parse_args()
    args.docs = args.docs or (20_000 if args.quick else 100_000)
    args.haystack_queries = args.haystack_queries or (5 if args.quick else 10)
    args.haystack_dense_queries = args.haystack_dense_queries or 3
    if args.quick:
        args.queries = min(args.queries, 30)

    started = time.perf_counter()
    ours = ours_synthetic(args)
    nf = ours_nfcorpus(args.nfcorpus)
    peer = None if args.no_peers else run_peer(args)
    print_tables(args, ours, nf, peer)
    print(f"\n(total {time.perf_counter() - started:.0f} s; shared 2-core machine: numbers are noisy)")


if __name__ == "__main__":
    main()
