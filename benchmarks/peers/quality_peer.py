"""Peer side of benchmarks/quality.py: the haystack-ai hybrid pipeline on NFCorpus (run under .venv-peers).

InMemoryDocumentStore (default settings) + InMemoryBM25Retriever + SentenceTransformersTextEmbedder (from
sentence-transformers-haystack, where haystack-ai 3.x moved it) + InMemoryEmbeddingRetriever +
DocumentJoiner(reciprocal_rank_fusion). Document vectors come from the shared cache written by quality.py (the
same all-MiniLM-L6-v2 files; embedding the corpus twice would only cost minutes), the query vectors from the
peer's own SentenceTransformersTextEmbedder, timed separately. The retrieval part (both retrievers + joiner)
runs as one haystack Pipeline per query; its wall time is the query latency
excluding the embedding. Writes JSON: ranked ids per method and query, and latencies in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True, help="JSON list of [id, text]")
    parser.add_argument("--queries", required=True, help="JSON list of [id, text]")
    parser.add_argument("--doc-vectors", required=True, help=".npy, one row per corpus entry")
    parser.add_argument("--model", required=True)
    parser.add_argument("--top-k", type=int, default=100)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import numpy as np
    from haystack import Document, Pipeline
    from haystack.components.joiners import DocumentJoiner
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersTextEmbedder,
    )

    corpus = json.loads(Path(args.corpus).read_text())
    queries = json.loads(Path(args.queries).read_text())
    vectors = np.load(args.doc_vectors)

    store = InMemoryDocumentStore()
    started = time.perf_counter()
    store.write_documents(
        [Document(id=i, content=t, embedding=v.tolist()) for (i, t), v in zip(corpus, vectors, strict=True)]
    )
    write_seconds = time.perf_counter() - started

    embedder = SentenceTransformersTextEmbedder(model=args.model, progress_bar=False)
    embedder.warm_up()
    pipeline = Pipeline()
    pipeline.add_component("bm25", InMemoryBM25Retriever(store, top_k=args.top_k))
    pipeline.add_component("dense", InMemoryEmbeddingRetriever(store, top_k=args.top_k))
    pipeline.add_component("joiner", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=args.top_k))
    pipeline.connect("bm25.documents", "joiner.documents")
    pipeline.connect("dense.documents", "joiner.documents")

    runs: dict[str, dict[str, list[str]]] = {"bm25": {}, "dense": {}, "hybrid": {}}
    embed_times: list[float] = []
    hybrid_times: list[float] = []
    for qid, text in queries:
        started = time.perf_counter()
        embedding = embedder.run(text=text)["embedding"]
        embed_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = pipeline.run(
            {"bm25": {"query": text}, "dense": {"query_embedding": embedding}},
            include_outputs_from={"bm25", "dense"},
        )
        hybrid_times.append(time.perf_counter() - started)
        runs["bm25"][qid] = [d.id for d in result["bm25"]["documents"]]
        runs["dense"][qid] = [d.id for d in result["dense"]["documents"]]
        runs["hybrid"][qid] = [d.id for d in result["joiner"]["documents"]]

    Path(args.out).write_text(
        json.dumps(
            {
                "runs": runs,
                "write_seconds": write_seconds,
                "embed_median": statistics.median(embed_times),
                "hybrid_median": statistics.median(hybrid_times),
            }
        )
    )


if __name__ == "__main__":
    main()
