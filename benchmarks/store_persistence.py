"""One-shot queries and bulk writes of haybale's stores, side by side with their peers, in one run.

    .venv/bin/python benchmarks/store_persistence.py            # 100k documents (~5-10 minutes on 2 cores)
    .venv/bin/python benchmarks/store_persistence.py --docs 20000 --rounds 3

Rows (the synthetic ~100-word corpus and seeded unit vectors of benchmarks/peers/retrieval_common.py):

1. fresh-process BM25 query on an existing 100k-document SQLiteDocumentStore (what `haybale query` pays)
   against bm25s loading its saved index memory-mapped (``BM25.load(mmap=True)``) and querying. Each sample
   is a new Python process; the sides alternate. Reported: the in-process time from the first import to the
   result ("import + open + query"), the part after the imports ("open + query"), and the whole process.
2. first dense query in a fresh process on a 100k x 384 SQLiteDocumentStore against numpy memory-mapping a
   saved ``.npy`` of the same vectors (``np.load(mmap_mode="r")``, ``M @ q``, ``argpartition``).
3. dense write of 100k x 384 documents (content "doc i") into InMemoryDocumentStore and SQLiteDocumentStore
   against haystack-ai's InMemoryDocumentStore (in .venv-peers, benchmarks/peers/store_writes_peer.py).
4. BM25 write of the 100k text documents: SQLiteDocumentStore against InMemoryDocumentStore and haystack-ai.
   InMemoryDocumentStore indexes the texts of a write for BM25 on the next search, so its rows also time the
   first BM25 query after the write (haystack-ai builds its BM25 statistics inside the write).

Rounds alternate ours and the peer; medians are quoted, with the load average before and after.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))

from retrieval_common import random_unit_vectors, synthetic_corpus  # noqa: E402

PEER_PYTHON = os.path.join(HERE, "..", ".venv-peers", "bin", "python")

_OURS_BM25 = """
import sys, time
started = time.perf_counter()
from haybale.stores.sqlite import SQLiteDocumentStore
imported = time.perf_counter()
store = SQLiteDocumentStore(sys.argv[1])
hits = store.bm25_search(sys.argv[2], top_k=10)
done = time.perf_counter()
print(done - started, done - imported, len(hits))
"""

_BM25S = """
import sys, time
started = time.perf_counter()
import bm25s, Stemmer
imported = time.perf_counter()
retriever = bm25s.BM25.load(sys.argv[1], mmap=True)
stemmer = Stemmer.Stemmer("english")
tokens = bm25s.tokenize([sys.argv[2]], stopwords="en", stemmer=stemmer, show_progress=False)
docs, scores = retriever.retrieve(tokens, k=10, show_progress=False)
done = time.perf_counter()
print(done - started, done - imported, len(docs[0]))
"""

_OURS_DENSE = """
import json, sys, time
query = json.loads(sys.argv[2])
started = time.perf_counter()
from haybale.stores.sqlite import SQLiteDocumentStore
imported = time.perf_counter()
hits = SQLiteDocumentStore(sys.argv[1]).embedding_search(query, top_k=10)
done = time.perf_counter()
print(done - started, done - imported, len(hits))
"""

_NUMPY_DENSE = """
import json, sys, time
query = json.loads(sys.argv[2])
started = time.perf_counter()
import numpy as np
imported = time.perf_counter()
matrix = np.load(sys.argv[1], mmap_mode="r")
scores = matrix @ np.asarray(query, dtype=np.float32)
top = np.argpartition(-scores, 10)[:10]
top = top[np.argsort(-scores[top])]
done = time.perf_counter()
print(done - started, done - imported, len(top))
"""


def _fresh(code: str, *args: str) -> tuple[float, float, float]:
    """Run ``code`` in a new interpreter; (in-process total, after imports, whole process) in seconds."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - started
    total, after_import, _hits = completed.stdout.split()
    return float(total), float(after_import), wall


def _median3(samples: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    return tuple(statistics.median(s[i] for s in samples) for i in range(3))  # type: ignore[return-value]


def _timed(store: Any, documents: list[Any]) -> float:
    gc.collect()
    started = time.perf_counter()
    store.write_documents(documents)
    return time.perf_counter() - started


def _first_query(store: Any, query: str) -> float:
    """The first BM25 query after a write: InMemoryDocumentStore indexes the texts of a write there."""
    started = time.perf_counter()
    store.bm25_search(query, top_k=10)
    return time.perf_counter() - started


def _peer_writes(docs: int, dim: int) -> dict[str, float] | None:
    if not os.path.exists(PEER_PYTHON):
        return None
    completed = subprocess.run(
        [PEER_PYTHON, os.path.join(HERE, "peers", "store_writes_peer.py"), f"--docs={docs}", f"--dim={dim}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        print("peer failed:\n" + completed.stderr[-2000:])
        return None
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def measure(args: argparse.Namespace, workdir: str) -> dict[str, Any]:
    import bm25s
    import numpy as np
    import Stemmer

    from haybale.dataclasses import Document
    from haybale.stores.memory import InMemoryDocumentStore
    from haybale.stores.sqlite import SQLiteDocumentStore

    out: dict[str, Any] = {"sqlite_bm25_write": [], "memory_bm25_write": [], "peer": []}
    out["sqlite_dense_write"], out["memory_dense_write"] = [], []
    out["memory_bm25_first_query"], out["memory_dense_first_query"] = [], []
    texts, queries, _digest = synthetic_corpus(args.docs, max(args.fresh, 10))
    text_docs = [Document(content=text, id=str(i)) for i, text in enumerate(texts)]
    vectors = random_unit_vectors(args.docs, args.dim)
    dense_docs = [
        Document(content=f"doc {i}", id=str(i), embedding=row) for i, row in enumerate(vectors.tolist())
    ]
    bm25_path = dense_path = ""
    for round_ in range(args.rounds):
        bm25_path = os.path.join(workdir, f"bm25-{round_}.db")
        out["sqlite_bm25_write"].append(_timed(SQLiteDocumentStore(bm25_path), text_docs))
        memory = InMemoryDocumentStore()
        out["memory_bm25_write"].append(_timed(memory, text_docs))
        out["memory_bm25_first_query"].append(_first_query(memory, queries[0]))
        del memory
        dense_path = os.path.join(workdir, f"dense-{round_}.db")
        out["sqlite_dense_write"].append(_timed(SQLiteDocumentStore(dense_path), dense_docs))
        memory = InMemoryDocumentStore()
        out["memory_dense_write"].append(_timed(memory, dense_docs))
        out["memory_dense_first_query"].append(_first_query(memory, "doc 17"))
        del memory
        peer = _peer_writes(args.docs, args.dim)
        if peer is not None:
            out["peer"].append(peer)
        print(f"  round {round_ + 1}/{args.rounds} done", flush=True)
    del dense_docs, text_docs
    gc.collect()

    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False
    )
    bm25s_dir = os.path.join(workdir, "bm25s-index")
    retriever.save(bm25s_dir)
    npy = os.path.join(workdir, "vectors.npy")
    np.save(npy, vectors)
    ours_bm25, theirs_bm25, ours_dense, numpy_dense = [], [], [], []
    query_vectors = random_unit_vectors(args.fresh, args.dim, seed=11).tolist()
    for i in range(args.fresh):
        ours_bm25.append(_fresh(_OURS_BM25, bm25_path, queries[i]))
        theirs_bm25.append(_fresh(_BM25S, bm25s_dir, queries[i]))
        ours_dense.append(_fresh(_OURS_DENSE, dense_path, json.dumps(query_vectors[i])))
        numpy_dense.append(_fresh(_NUMPY_DENSE, npy, json.dumps(query_vectors[i])))
    out.update(
        ours_bm25=_median3(ours_bm25),
        bm25s=_median3(theirs_bm25),
        ours_dense=_median3(ours_dense),
        numpy_dense=_median3(numpy_dense),
    )
    return out


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:.1f} ms"


def print_table(args: argparse.Namespace, out: dict[str, Any], loads: tuple[str, str]) -> None:
    med = statistics.median
    peer = out["peer"]
    peer_dense = med(p["dense_write_s"] for p in peer) if peer else None
    peer_bm25 = med(p["bm25_write_s"] for p in peer) if peer else None
    n = f"{args.docs // 1000}k"
    print(f"\n{n} documents, {args.rounds} write rounds, {args.fresh} fresh processes per side (medians)")
    print(f"load average before: {loads[0]}; after: {loads[1]}\n")
    rows = [("measure", "haybale", "peer", "ratio (ours / peer)")]
    ob, tb = out["ours_bm25"], out["bm25s"]
    rows.append(
        (
            f"fresh-process BM25 query, SQLite {n} (import + open + query)",
            _ms(ob[0]),
            f"bm25s mmap load + query {_ms(tb[0])}",
            f"{ob[0] / tb[0]:.2f}x",
        )
    )
    rows.append(("  of which open + query (after imports)", _ms(ob[1]), _ms(tb[1]), f"{ob[1] / tb[1]:.2f}x"))
    rows.append(
        ("  whole process (interpreter start to exit)", _ms(ob[2]), _ms(tb[2]), f"{ob[2] / tb[2]:.2f}x")
    )
    od, nd = out["ours_dense"], out["numpy_dense"]
    rows.append(
        (
            f"first dense query, fresh process, SQLite {n} x {args.dim} (open + query)",
            _ms(od[1]),
            f"numpy memmap {_ms(nd[1])}",
            f"{od[1] / nd[1]:.2f}x",
        )
    )
    rows.append(("  with imports", _ms(od[0]), _ms(nd[0]), f"{od[0] / nd[0]:.2f}x"))
    for label, key, peer_value, peer_name in (
        (
            f"dense write {n} x {args.dim}, InMemoryDocumentStore",
            "memory_dense_write",
            peer_dense,
            "haystack-ai",
        ),
        (
            f"dense write {n} x {args.dim}, SQLiteDocumentStore",
            "sqlite_dense_write",
            peer_dense,
            "haystack-ai",
        ),
        (f"BM25 write {n}, SQLiteDocumentStore", "sqlite_bm25_write", peer_bm25, "haystack-ai"),
    ):
        ours = med(out[key])
        rows.append(
            (
                label,
                f"{ours:.2f} s",
                f"{peer_name} {peer_value:.2f} s" if peer_value else "-",
                f"{ours / peer_value:.2f}x" if peer_value else "-",
            )
        )
    memory_bm25 = med(out["memory_bm25_write"])
    bm25_pairs = zip(out["memory_bm25_write"], out["memory_bm25_first_query"], strict=True)
    memory_bm25_total = med(map(sum, bm25_pairs))
    sqlite_bm25 = med(out["sqlite_bm25_write"])
    rows.append(
        (
            f"BM25 write {n}, SQLite vs in-memory haybale (write + first query)",
            f"{sqlite_bm25:.2f} s",
            f"in-memory {memory_bm25_total:.2f} s",
            f"{sqlite_bm25 / memory_bm25_total:.2f}x",
        )
    )
    dense_total = med(map(sum, zip(out["memory_dense_write"], out["memory_dense_first_query"], strict=True)))
    rows.append(
        (
            f"dense write {n} x {args.dim}, InMemoryDocumentStore, + first BM25 query",
            f"{dense_total:.2f} s",
            f"haystack-ai {peer_dense:.2f} s" if peer_dense else "-",
            f"{dense_total / peer_dense:.2f}x" if peer_dense else "-",
        )
    )
    rows.append(
        (
            f"BM25 write {n}, InMemoryDocumentStore (write + first query)",
            f"{memory_bm25:.2f} + {med(out['memory_bm25_first_query']):.2f} s",
            f"haystack-ai {peer_bm25:.2f} s" if peer_bm25 else "-",
            f"{memory_bm25_total / peer_bm25:.2f}x" if peer_bm25 else "-",
        )
    )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for i, row in enumerate(rows):
        print("| " + " | ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print("\nper-round writes (s):")
    for key in (
        "memory_bm25_write",
        "memory_bm25_first_query",
        "sqlite_bm25_write",
        "memory_dense_write",
        "memory_dense_first_query",
        "sqlite_dense_write",
    ):
        print(f"  {key}: " + ", ".join(f"{v:.2f}" for v in out[key]))
    if peer:
        print("  haystack-ai dense: " + ", ".join(f"{p['dense_write_s']:.2f}" for p in peer))
        print("  haystack-ai BM25:  " + ", ".join(f"{p['bm25_write_s']:.2f}" for p in peer))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=3, help="write rounds (each side, alternating)")
    parser.add_argument("--fresh", type=int, default=7, help="fresh processes per side and query kind")
    args = parser.parse_args()
    before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="haybale-bench-") as workdir:
        out = measure(args, workdir)
    after = os.getloadavg()
    print_table(args, out, (" ".join(f"{x:.2f}" for x in before), " ".join(f"{x:.2f}" for x in after)))


if __name__ == "__main__":
    main()
