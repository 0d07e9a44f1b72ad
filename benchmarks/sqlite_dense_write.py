"""The SQLite dense bulk write alone, one new process per write, with CPU time beside wall time.

    .venv/bin/python benchmarks/sqlite_dense_write.py                      # 100k x 384, 5 rounds
    .venv/bin/python benchmarks/sqlite_dense_write.py --baseline-src /tmp/main/src --rounds 7
    .venv/bin/python benchmarks/sqlite_dense_write.py --kind bm25 --baseline-src /tmp/main/src  # texts

With ``--kind bm25`` the documents are the ~100-word synthetic texts of benchmarks/store_persistence.py
(no embeddings), so the write is the BM25 indexing one (the in-memory store is left out: it indexes at the
first search; store_persistence.py times that). Each process also reports the write's kernel time and minor
page faults (``getrusage``), where memory-management costs such as huge-page clearing show.

Each round runs, in this order and each in a fresh interpreter: ``SQLiteDocumentStore.write_documents`` of
100k documents (content "doc i", seeded unit vectors from benchmarks/peers/retrieval_common.py) into a new
file; the same write with another haybale checkout (``--baseline-src``: the ``src`` folder of, for example, a
``git archive`` of main), when given; ``InMemoryDocumentStore``; and haystack-ai's ``InMemoryDocumentStore``
in ``.venv-peers``. Each process reports the write's wall time and its process CPU time (all threads), which
does not grow while the process waits for a core -- the steadier measure on a shared machine. Medians and
per-round ratios are printed, with the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_PYTHON = os.path.join(HERE, "..", ".venv-peers", "bin", "python")

_SETUP = """
import gc, os, sys, time
sys.path.insert(0, {peers!r})
from retrieval_common import random_unit_vectors, synthetic_corpus
if {bm25}:
    texts = synthetic_corpus({docs}, 1)[0]
    pairs = [(text, None) for text in texts]
else:
    pairs = [("doc " + str(i), row) for i, row in enumerate(random_unit_vectors({docs}, {dim}).tolist())]
"""

_WRITE = """
import resource
gc.collect()
usage = resource.getrusage(resource.RUSAGE_SELF)
wall, cpu = time.perf_counter(), time.process_time()
store.write_documents(documents)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
after = resource.getrusage(resource.RUSAGE_SELF)
print(wall, cpu, after.ru_stime - usage.ru_stime, after.ru_minflt - usage.ru_minflt)
"""

_OURS = """
from haybale.dataclasses import Document
from haybale.stores.memory import InMemoryDocumentStore
from haybale.stores.sqlite import SQLiteDocumentStore
documents = [Document(content=text, id=str(i), embedding=row) for i, (text, row) in enumerate(pairs)]
store = SQLiteDocumentStore(sys.argv[1]) if sys.argv[1] != "memory" else InMemoryDocumentStore()
store.count_documents()
"""

_PEER = """
os.environ["HAYSTACK_TELEMETRY_ENABLED"] = "False"
from haystack import Document
from haystack.document_stores.in_memory import InMemoryDocumentStore
documents = [Document(content=text, id=str(i), embedding=row) for i, (text, row) in enumerate(pairs)]
store = InMemoryDocumentStore()
"""


def _run(
    python: str, body: str, target: str, args: argparse.Namespace, src: str | None
) -> tuple[float, float, float, int]:
    setup = _SETUP.format(
        peers=os.path.join(HERE, "peers"), docs=args.docs, dim=args.dim, bm25=args.kind == "bm25"
    )
    code = setup + body + _WRITE
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    completed = subprocess.run(
        [python, "-c", code.format(), target], capture_output=True, text=True, check=True, env=env
    )
    wall, cpu, kernel, faults = completed.stdout.split()[-4:]
    return float(wall), float(cpu), float(kernel), int(faults)


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline-src", help="src folder of another haybale checkout to compare with")
    parser.add_argument("--kind", choices=["dense", "bm25"], default="dense", help="what the documents hold")
    args = parser.parse_args()
    sides: dict[str, list[tuple[float, float, float, int]]] = {}
    load_before = _load()
    with tempfile.TemporaryDirectory() as workdir:
        for round_ in range(args.rounds):
            path = os.path.join(workdir, f"ours-{round_}.db")
            sides.setdefault("SQLite (this tree)", []).append(_run(sys.executable, _OURS, path, args, None))
            if args.baseline_src:
                path = os.path.join(workdir, f"baseline-{round_}.db")
                sides.setdefault("SQLite (baseline)", []).append(
                    _run(sys.executable, _OURS, path, args, os.path.abspath(args.baseline_src))
                )
            if args.kind == "dense":  # the in-memory store indexes texts at the first search, not here
                sides.setdefault("InMemoryDocumentStore", []).append(
                    _run(sys.executable, _OURS, "memory", args, None)
                )
            if os.path.exists(PEER_PYTHON):
                sides.setdefault("haystack-ai InMemoryDocumentStore", []).append(
                    _run(PEER_PYTHON, _PEER, "-", args, None)
                )
            print(f"  round {round_ + 1}/{args.rounds} done (load {_load()})", flush=True)
    what = f"BM25 write {args.docs} texts" if args.kind == "bm25" else f"dense write {args.docs} x {args.dim}"
    print(f"\n{what}, {args.rounds} rounds; load {load_before} -> {_load()}")
    print(
        f"{'side':36s} {'wall median':>12s} {'CPU median':>11s} {'kernel':>7s} {'faults':>8s}"
        "   per round wall / CPU (s)"
    )
    for name, samples in sides.items():
        walls, cpus = [s[0] for s in samples], [s[1] for s in samples]
        kernel, faults = statistics.median(s[2] for s in samples), statistics.median(s[3] for s in samples)
        rounds = "  ".join(f"{s[0]:.2f}/{s[1]:.2f}" for s in samples)
        print(
            f"{name:36s} {statistics.median(walls):11.2f}s {statistics.median(cpus):10.2f}s {kernel:6.2f}s "
            f"{faults:8.0f}   {rounds}"
        )
    ours = sides["SQLite (this tree)"]
    for name, samples in sides.items():
        if name == "SQLite (this tree)":
            continue
        wall = statistics.median(o[0] / s[0] for o, s in zip(ours, samples, strict=True))
        cpu = statistics.median(o[1] / s[1] for o, s in zip(ours, samples, strict=True))
        print(f"SQLite (this tree) / {name}: per-round median ratio wall {wall:.2f}x, CPU {cpu:.2f}x")


if __name__ == "__main__":
    main()
