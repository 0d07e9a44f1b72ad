"""What per-tenant BM25 statistics cost on PgvectorDocumentStore: a tenant's search with and without
``corpus_filters``, side by side on one database.

    .venv/bin/python benchmarks/pgvector_tenant_corpus.py --data-dir DIR --ef-search 200   # a 1M database
    .venv/bin/python benchmarks/pgvector_tenant_corpus.py --n 20000                        # a small store

A tenant-scoped store (the service with API keys) restricts every search to the tenant with a filter, and
since per-tenant statistics it also passes the tenant as ``corpus_filters``, so that the BM25 statistics are
the tenant's own (document count, lengths, the query terms' document frequencies, computed at query time).
This script times both for two tenants of the corpus of benchmarks/pgvector_scale.py: a small one (one
category, 1 % of the documents) and a large one (the first half of the documents):

* ``filter only``: ``filters=tenant`` (what a tenant's search ran before: statistics of the whole store);
* ``filter + corpus``: ``filters=tenant, corpus_filters=tenant`` (what it runs now).

Interleaved rounds (the order flips every round); wall p50 / mean per query and the PostgreSQL CPU per
query (every server process, as in benchmarks/pgvector_bm25_plans.py, whose helpers this script uses).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # `pgvector` is the real package

TENANTS: dict[str, dict[str, Any]] = {
    "small tenant (1 %)": {"field": "meta.category", "operator": "==", "value": "c3"},
    "large tenant (50 %)": {"field": "meta.chunk", "operator": "<", "value": 0},  # set from --n
}


def _plans() -> Any:
    spec = importlib.util.spec_from_file_location("pgvector_bm25_plans", HERE / "pgvector_bm25_plans.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _search(store: Any, kind: str, text: str, vector: list[float], *, tenant: Any, corpus: bool) -> Any:
    extra = {"corpus_filters": tenant} if corpus else {}
    if kind == "hybrid":
        return store.hybrid_search(text, vector, top_k=10, filters=tenant, **extra)
    return store.bm25_search(text, top_k=10, filters=tenant, **extra)


def run(args: argparse.Namespace, dsn: str, load: bool) -> None:
    import psycopg

    from haybale.stores.pgvector import PgvectorDocumentStore

    plans = _plans()
    store_args, texts, vectors = plans.prepared_table(args, dsn, load)
    store = PgvectorDocumentStore(**store_args)
    with psycopg.connect(dsn) as conn:
        size = int(conn.execute("SELECT count(*) FROM bench_scale_docs").fetchone()[0])  # type: ignore[index]
        postmaster = plans.postmaster_of(conn)
    tenants = dict(TENANTS)
    tenants["large tenant (50 %)"] = {**TENANTS["large tenant (50 %)"], "value": size // 2}
    variants = [(t, corpus) for t in tenants for corpus in (False, True)]
    for tenant, corpus in variants:  # warm up
        for k in range(args.queries):
            _search(store, args.kind, texts[k], vectors[k], tenant=tenants[tenant], corpus=corpus)
    wall: dict[Any, list[float]] = {v: [] for v in variants}
    cpu: dict[Any, list[int]] = {v: [] for v in variants}
    before = os.getloadavg()[0]
    for rnd in range(args.rounds):
        for variant in variants if rnd % 2 == 0 else variants[::-1]:
            tenant, corpus = variant
            for k in range(args.queries):
                used, started = plans._server_cpu_ns(postmaster), time.perf_counter()
                _search(store, args.kind, texts[k], vectors[k], tenant=tenants[tenant], corpus=corpus)
                wall[variant].append(time.perf_counter() - started)
                cpu[variant].append(plans._server_cpu_ns(postmaster) - used)
    store.close()
    print(
        f"\n### {args.kind}, top_k 10, {size:,} documents, {args.queries} queries x {args.rounds} rounds, "
        f"hnsw.ef_search {args.ef_search}; load average {before:.2f} -> {os.getloadavg()[0]:.2f}\n"
    )
    print("| tenant | search | wall p50 / mean ms | PostgreSQL CPU per query, median / mean ms |")
    print("|---|---|---:|---:|")
    for tenant, corpus in variants:
        w, c = wall[(tenant, corpus)], cpu[(tenant, corpus)]
        print(
            f"| {tenant} | {'filter + corpus' if corpus else 'filter only'} | "
            f"{statistics.median(w) * 1e3:.1f} / {statistics.mean(w) * 1e3:.1f} | "
            f"{statistics.median(c) / 1e6:.1f} / {statistics.mean(c) / 1e6:.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20_000, help="chunks to load (without --data-dir)")
    parser.add_argument("--data-dir", type=Path, help="a directory pgvector_scale.py --data-dir loaded")
    parser.add_argument("--kind", choices=("hybrid", "bm25"), default="hybrid")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ef-search", type=int, default=40)
    _plans().run_on_server(run, parser.parse_args())


if __name__ == "__main__":
    main()
