"""The onnx-int8 embedding backend against raw sentence-transformers: throughput and NFCorpus quality.

    .venv/bin/python benchmarks/onnx_embedding.py [--docs 512] [--rounds 3] [--skip-quality]

(i) Throughput: the first ``--docs`` NFCorpus documents ("title text", up to 256 tokens) embedded with batch
    size 32 by raw ``SentenceTransformer.encode`` (the peer: the model as sentence-transformers runs it), by
    haybale's ``backend="torch"`` embedder and by ``backend="onnx-int8"``, rounds alternating; the model is
    loaded (and exported, once) before the clock starts. Median documents per second.
(ii) Quality: NFCorpus test queries (323), dense retrieval over all 3,395 documents, nDCG@10 and Recall@100
    computed like trec_eval (benchmarks/quality.py), with corpus and queries embedded by each backend. The
    sentence-transformers corpus vectors are the ones benchmarks/quality.py caches in benchmarks/.cache.

The data comes from ../shared/bench-data/nfcorpus (see its SOURCES.md); nothing is copied into the repo.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from quality import MODEL_NAME, corpus_vectors, evaluate, load_nfcorpus  # noqa: E402


def _throughput(encode: Any, texts: list[str]) -> float:
    started = time.perf_counter()
    encode(texts)
    return len(texts) / (time.perf_counter() - started)


def measure_throughput(texts: list[str], rounds: int) -> dict[str, list[float]]:
    """Docs/s per round for raw sentence-transformers, haybale torch and haybale onnx-int8."""
    from haybale.components.embedders import SentenceTransformersDocumentEmbedder
    from haybale.components.embedders.sentence_transformers_backend import load_sentence_transformer
    from haybale.dataclasses import Document

    raw = load_sentence_transformer(MODEL_NAME)
    torch_side = SentenceTransformersDocumentEmbedder(MODEL_NAME, progress_bar=False)
    onnx_side = SentenceTransformersDocumentEmbedder(MODEL_NAME, progress_bar=False, backend="onnx-int8")
    started = time.perf_counter()
    onnx_side.warm_up()
    print(f"onnx-int8 ready in {time.perf_counter() - started:.1f} s (includes the one-time export)")
    torch_side.warm_up()
    documents = [Document(content=text) for text in texts]
    results: dict[str, list[float]] = {
        "sentence-transformers": [],
        "haybale torch": [],
        "haybale onnx-int8": [],
    }
    for round_ in range(rounds):
        results["sentence-transformers"].append(_throughput(lambda t: raw.encode(t, batch_size=32), texts))
        results["haybale onnx-int8"].append(_throughput(lambda _t: onnx_side.run(documents=documents), texts))
        results["haybale torch"].append(_throughput(lambda _t: torch_side.run(documents=documents), texts))
        print(
            f"  round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.1f}/s" for k, v in results.items()),
            flush=True,
        )
    return results


def dense_ndcg(
    corpus: list[tuple[str, str]], queries: list[tuple[str, str]], qrels: Any, backend: str
) -> Any:
    """nDCG@10 and Recall@100 of dense retrieval with ``backend`` embedding corpus and queries."""
    import numpy as np

    from haybale.components.embedders import SentenceTransformersDocumentEmbedder
    from haybale.dataclasses import Document

    if backend == "torch":
        matrix = np.load(corpus_vectors(corpus))
    else:
        embedder = SentenceTransformersDocumentEmbedder(MODEL_NAME, progress_bar=False, backend=backend)
        docs = embedder.run(documents=[Document(content=text) for _id, text in corpus])["documents"]
        matrix = np.asarray([d.embedding for d in docs], dtype=np.float32)
    query_embedder = SentenceTransformersDocumentEmbedder(MODEL_NAME, progress_bar=False, backend=backend)
    embedded = query_embedder.run(documents=[Document(content=text) for _qid, text in queries])["documents"]
    query_matrix = np.asarray([d.embedding for d in embedded], dtype=np.float32)
    matrix = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    scores = query_matrix @ matrix.T
    ids = [doc_id for doc_id, _text in corpus]
    run = {}
    for row, (qid, _text) in enumerate(queries):
        top = np.argsort(-scores[row])[:100]
        run[qid] = [ids[i] for i in top]
    return evaluate(run, qrels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    corpus, queries, qrels = load_nfcorpus()
    before = os.getloadavg()
    results = measure_throughput([text for _id, text in corpus[: args.docs]], args.rounds)
    quality = {}
    if not args.skip_quality:
        for backend in ("torch", "onnx-int8"):
            started = time.perf_counter()
            quality[backend] = dense_ndcg(corpus, queries, qrels, backend)
            print(f"  quality with {backend}: {time.perf_counter() - started:.0f} s", flush=True)
    after = os.getloadavg()
    raw = statistics.median(results["sentence-transformers"])
    print(f"\n{args.docs} NFCorpus documents, batch 32, {args.rounds} alternating rounds (medians)")
    print(f"load average before {before[0]:.2f}, after {after[0]:.2f}\n")
    print("| encoder | docs/s | vs raw sentence-transformers | NFCorpus dense nDCG@10 | Recall@100 |")
    print("|---|---|---|---|---|")
    for label, key in (
        ("sentence-transformers (raw encode)", "sentence-transformers"),
        ("haybale backend='torch'", "haybale torch"),
        ("haybale backend='onnx-int8'", "haybale onnx-int8"),
    ):
        speed = statistics.median(results[key])
        backend = {"haybale torch": "torch", "haybale onnx-int8": "onnx-int8"}.get(key)
        ndcg, recall = quality.get(backend or "torch", ("-", "-")) if quality else ("-", "-")
        cells = [f"{ndcg:.4f}", f"{recall:.4f}"] if isinstance(ndcg, float) else ["-", "-"]
        print(f"| {label} | {speed:.1f} | {speed / raw:.2f}x | {cells[0]} | {cells[1]} |")
    if quality:
        delta = quality["onnx-int8"][0] - quality["torch"][0]
        print(f"\nnDCG@10 onnx-int8 - torch: {delta:+.4f} (target within 0.005)")


if __name__ == "__main__":
    main()
