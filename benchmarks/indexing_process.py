"""Whole-process indexing: a `haybale index` process against raw MiniLM encoding and haystack-ai, same files.

    .venv/bin/python benchmarks/indexing_process.py                 # 500 generated files, 2 rounds
    .venv/bin/python benchmarks/indexing_process.py --files 200 --rounds 1

Each sample is a new process timed from start to exit, so interpreter start, imports and model loading
count -- what a user waits for. Per round, alternating:

* ``haybale index <folder> --store sqlite:///...`` into a new store (the CLI defaults: 500-character chunks,
  50 overlap), with ``HAYBALE_EMBEDDING_BACKEND=torch`` and then ``onnx-int8`` (the export is made once,
  before the first round, like a model download would be);
* the limit: a process that loads all-MiniLM-L6-v2 with sentence-transformers and encodes exactly the chunk
  texts that run stored (batch 32) -- and the same with the onnx-int8 encoder;
* haystack-ai's indexing pipeline over the same files (benchmarks/peers/indexing_peer.py under
  .venv-peers: converters, cleaner, splitter, SentenceTransformersDocumentEmbedder, writer).

Then a long text file (about 100 chunks) is indexed into the last torch store, one paragraph in its middle is
edited and `haybale index` runs again on it: the table shows how many chunks that run embedded (the per-chunk
embedding cache re-embeds only changed chunks).
The generated files come from benchmarks/indexing.py's generator (txt, md, html, docx, pptx, pdf).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
PEER_PYTHON = ROOT / ".venv-peers" / "bin" / "python"

from indexing import _paragraphs, generate_corpus, write_file  # noqa: E402

_RAW_ENCODE = """
import json, sys
texts = json.load(open(sys.argv[1]))
if sys.argv[2] == "torch":
    from sentence_transformers import SentenceTransformer
    SentenceTransformer(sys.argv[3], device="cpu", local_files_only=True).encode(texts, batch_size=32)
else:
    from haybale.components.embedders._onnx_encoder import OnnxSentenceEncoder
    OnnxSentenceEncoder(sys.argv[3], "onnx-int8").encode(texts, batch_size=32)
"""


def _wall(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[:4]} failed ({done.returncode}): {done.stderr[-1500:]}")
    return seconds


def _haybale_index(folder: Path, database: Path, backend: str) -> float:
    env = {**os.environ, "HAYBALE_EMBEDDING_BACKEND": backend, "HF_HUB_OFFLINE": "1"}
    command = [
        sys.executable,
        "-m",
        "haybale.cli.main",
        "index",
        str(folder),
        "--store",
        f"sqlite:///{database}",
    ]
    return _wall(command, env)


def _chunk_texts(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        return [row[0] for row in connection.execute("SELECT content FROM documents ORDER BY seq")]


def _peer(folder: Path, model_dir: str) -> tuple[float, int] | None:
    """haystack-ai's whole process: (seconds, chunks it stored)."""
    if not PEER_PYTHON.exists():
        return None
    command = [
        str(PEER_PYTHON), str(HERE / "peers" / "indexing_peer.py"), "--corpus", str(folder), "--model",
        model_dir, "--split-length", "90", "--split-overlap", "9",
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the haystack-ai peer failed ({done.returncode}): {done.stderr[-1500:]}")
    return seconds, int(json.loads(done.stdout.strip().splitlines()[-1])["chunks"])


def _embedding_keys(database: Path, source: Path) -> set[str]:
    """The embedding keys of the chunks of ``source`` (one per distinct embedded text)."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT json_extract(meta, '$._embedding_key') FROM documents "
            "WHERE json_extract(meta, '$.source') = ?",
            (str(source.resolve()),),
        ).fetchall()
    return {row[0] for row in rows}


def _long_file(folder: Path) -> Path:
    """A text file of about 100 chunks at the CLI's 500-character chunks (~45,000 characters)."""
    target = folder / "long" / "long-document.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_file(target, "txt", _paragraphs(random.Random(7), 7_200), "A long document")
    return target


def _edit_one_paragraph(target: Path) -> None:
    paragraphs = target.read_text().split("\n\n")
    paragraphs[len(paragraphs) // 2] = "An edited paragraph about glaciers and copper harbors, rewritten."
    target.write_text("\n\n".join(paragraphs))


def main() -> None:
    from haybale.components.embedders._onnx_encoder import OnnxSentenceEncoder
    from haybale.components.embedders.sentence_transformers_backend import resolve_model_path

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()
    model_dir = resolve_model_path("all-MiniLM-L6-v2")
    OnnxSentenceEncoder(model_dir, "onnx-int8")  # the one-time export, outside every clock
    samples: dict[str, list[float]] = {}
    before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="haybale-index-bench-") as tmp:
        folder = Path(tmp) / "corpus"
        generate_corpus(folder, args.files)
        texts_file = Path(tmp) / "chunks.json"
        chunks = 0
        peer_chunks: int | None = None
        for round_ in range(args.rounds):
            for backend in ("torch", "onnx-int8"):
                database = Path(tmp) / f"index-{backend}-{round_}.db"
                samples.setdefault(f"haybale index ({backend})", []).append(
                    _haybale_index(folder, database, backend)
                )
                texts = _chunk_texts(database)
                chunks = len(texts)
                texts_file.write_text(json.dumps(texts))
                samples.setdefault(f"raw encode ({backend})", []).append(
                    _wall([sys.executable, "-c", _RAW_ENCODE, str(texts_file), backend, model_dir])
                )
            if not args.skip_peer:
                peer = _peer(folder, model_dir)
                if peer is not None:
                    samples.setdefault("haystack-ai indexing pipeline", []).append(peer[0])
                    peer_chunks = peer[1]
            print(
                f"  round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in samples.items()),
                flush=True,
            )
        database = Path(tmp) / f"index-torch-{args.rounds - 1}.db"
        edited = _long_file(Path(tmp) / "extra")
        _haybale_index(edited, database, "torch")
        keys_before = _embedding_keys(database, edited)
        _edit_one_paragraph(edited)
        env = {**os.environ, "HAYBALE_EMBEDDING_BACKEND": "torch", "HF_HUB_OFFLINE": "1"}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "haybale.cli.main",
                "index",
                str(edited),
                "--store",
                f"sqlite:///{database}",
            ],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        keys_after = _embedding_keys(database, edited)
    after = os.getloadavg()
    med = {key: statistics.median(values) for key, values in samples.items()}
    print(f"\n{args.files} generated files, {chunks} chunks, {args.rounds} rounds (medians, whole processes)")
    if peer_chunks is not None:
        print(f"haystack-ai stored {peer_chunks} chunks (90-word splits, 9 overlap)")
    print(f"load average before {before[0]:.2f}, after {after[0]:.2f}\n")
    print("| process | seconds | vs raw encode (same backend) |")
    print("|---|---:|---:|")
    for key, value in med.items():
        backend = "onnx-int8" if "onnx" in key else "torch"
        raw = med.get(f"raw encode ({backend})")
        print(f"| {key} | {value:.2f} | {value / raw:.2f}x |" if raw else f"| {key} | {value:.2f} | - |")
    peer = med.get("haystack-ai indexing pipeline")
    if peer:
        for backend in ("torch", "onnx-int8"):
            print(f"haystack-ai / haybale index ({backend}): {peer / med[f'haybale index ({backend})']:.2f}x")
    print(
        f"\nedited one paragraph of {edited.name} ({len(keys_before)} chunks before, {len(keys_after)} "
        "after; "
        f"`haybale index` exit {done.returncode}): {len(keys_after - keys_before)} chunk(s) embedded, "
        f"{len(keys_after & keys_before)} reused from the cache"
    )


if __name__ == "__main__":
    main()
