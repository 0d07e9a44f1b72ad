"""The bundled all-MiniLM-L6-v2 on torch (sentence-transformers) vs ONNX Runtime float32 and int8.

    .venv/bin/python benchmarks/onnx_backend.py [--threads 1] [--repeats 3]

Two measures, side by side in one run:

* throughput: the 323 NFCorpus test queries and the first 512 corpus texts, encoded in batches of 32 with the
  same number of CPU threads on every backend (``--threads``), median of ``--repeats`` interleaved rounds —
  texts per wall-clock second, and texts per CPU-second of this process (on a shared machine the wall clock
  also counts the time other processes hold the cores; the CPU time does not);
* quality: dense retrieval nDCG@10 on NFCorpus (../shared/bench-data/nfcorpus, 3,395 documents, 323
  queries, graded qrels), each backend embedding both the corpus and the queries — so a backend's own error
  counts twice, as it would in an index built with it.

Nothing is downloaded: the ONNX files are exported from the bundled model on first use (cached in
``HAYBALE_CACHE_DIR``, default ``~/.cache/haybale``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from quality import evaluate, load_nfcorpus

BACKENDS = ("torch", "onnx", "onnx-int8")


def _embedder(backend: str, threads: int) -> object:
    from haybale.components.embedders import SentenceTransformersDocumentEmbedder

    embedder = SentenceTransformersDocumentEmbedder(progress_bar=False, backend=backend, batch_size=32)
    embedder.model_threads = threads
    if backend == "torch":
        import torch

        torch.set_num_threads(threads)
    embedder.warm_up()
    return embedder


def _encode(embedder: object, texts: list[str]) -> np.ndarray:
    return np.asarray(embedder._encode(texts, show_progress_bar=False), dtype=np.float32)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    corpus, queries, qrels = load_nfcorpus()
    query_texts = [text for _, text in queries]
    sample = [text for _, text in corpus[:512]]
    embedders = {backend: _embedder(backend, args.threads) for backend in BACKENDS}
    print(f"load: {os.getloadavg()}; {args.threads} thread(s); {args.repeats} rounds")
    measures = [f"{name} {clock}" for name in ("queries", "passages") for clock in ("wall", "cpu")]
    speed: dict[str, dict[str, list[float]]] = {b: {m: [] for m in measures} for b in BACKENDS}
    for _ in range(args.repeats):
        for backend, embedder in embedders.items():
            for name, texts in (("queries", query_texts), ("passages", sample)):
                started, cpu_started = time.perf_counter(), time.process_time()
                _encode(embedder, texts)
                speed[backend][f"{name} wall"].append(len(texts) / (time.perf_counter() - started))
                speed[backend][f"{name} cpu"].append(len(texts) / (time.process_time() - cpu_started))
    quality: dict[str, float] = {}
    cosine: dict[str, tuple[float, float]] = {}
    reference: tuple[np.ndarray, np.ndarray] | None = None
    for backend, embedder in embedders.items():
        documents = _encode(embedder, [text for _, text in corpus])
        vectors = _encode(embedder, query_texts)
        if reference is None:
            reference = (vectors, documents)
        cosine[backend] = (
            float((vectors * reference[0]).sum(axis=1).mean()),
            float((documents * reference[1]).sum(axis=1).mean()),
        )
        scores = vectors @ documents.T
        run = {
            query_id: [corpus[i][0] for i in np.argsort(-scores[row])[:100]]
            for row, (query_id, _) in enumerate(queries)
        }
        quality[backend] = evaluate(run, qrels)[0]
    print(f"\nload after: {os.getloadavg()}")
    print(
        "| backend | queries/s | passages/s | queries/CPU-s | passages/CPU-s | NFCorpus dense nDCG@10 | "
        "cosine to torch (queries / documents) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for backend in BACKENDS:
        cells = []
        for measure in measures:
            value = statistics.median(speed[backend][measure])
            ratio = value / statistics.median(speed["torch"][measure])
            cells.append(f"{value:.1f} ({ratio:.2f}x)")
        print(
            f"| {backend} | {' | '.join(cells[i] for i in (0, 2, 1, 3))} | {quality[backend]:.4f} | "
            f"{cosine[backend][0]:.4f} / {cosine[backend][1]:.4f} |"
        )
    print("\nall rounds (texts/s):")
    for backend in BACKENDS:
        print(
            f"  {backend}: " + "; ".join(f"{m} {[round(v, 1) for v in speed[backend][m]]}" for m in measures)
        )


if __name__ == "__main__":
    main()
