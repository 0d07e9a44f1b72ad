"""Shared by benchmarks/retrieval.py and benchmarks/peers/retrieval_peer.py (both venvs; numpy only).

* ``synthetic_corpus(n)`` -- the one seeded generator every system indexes: ~100-word documents over a
  Zipf-distributed vocabulary of pronounceable pseudo-words, plus the query set and a checksum so the two
  processes can prove they indexed the same text.
* ``random_unit_vectors(n, dim)`` -- seeded, L2-normalised float32 vectors for the dense benchmark.
* ``load_nfcorpus()`` and ``ndcg_at_k`` / ``recall_at_k`` -- computed like trec_eval: gain = graded relevance,
  discount log2(rank + 1), ideal DCG over every judged-relevant document of the query (qrels score > 0).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import defaultdict
from typing import Any

import numpy as np

NFCORPUS_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "bench-data", "nfcorpus")
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def _vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    words: set[str] = set()
    ordered: list[str] = []
    while len(ordered) < size:
        length = int(rng.integers(1, 4))
        word = "".join(_SYLLABLES[int(i)] for i in rng.integers(0, len(_SYLLABLES), size=length))
        word += "x" * int(rng.integers(0, 2))
        if word not in words:
            words.add(word)
            ordered.append(word)
    return ordered


def synthetic_corpus(
    n_docs: int, n_queries: int = 50, words_per_doc: int = 100, vocab_size: int = 30_000, seed: int = 42
) -> tuple[list[str], list[str], str]:
    """(document texts, queries, sha256 of the texts). Word frequencies follow Zipf's law (s = 1.07)."""
    rng = np.random.default_rng(seed)
    vocab = np.array(_vocabulary(vocab_size, rng))
    weights = 1.0 / np.arange(1, vocab_size + 1) ** 1.07
    weights /= weights.sum()
    lengths = rng.integers(words_per_doc // 2, words_per_doc * 3 // 2 + 1, size=n_docs)
    draws = rng.choice(vocab_size, size=int(lengths.sum()), p=weights)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    words = vocab[draws]
    texts = [" ".join(words[bounds[i] : bounds[i + 1]]) for i in range(n_docs)]
    # Queries: 2-5 words, skipping the 100 most frequent (stop-word-like) ranks, as real queries do.
    query_weights = weights.copy()
    query_weights[:100] = 0.0
    query_weights /= query_weights.sum()
    queries = [
        " ".join(vocab[rng.choice(vocab_size, size=int(rng.integers(2, 6)), p=query_weights)])
        for _ in range(n_queries)
    ]
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    return texts, queries, digest


def random_unit_vectors(n: int, dim: int, seed: int = 7) -> Any:
    """``n`` seeded random unit vectors (float32 matrix)."""
    matrix = np.random.default_rng(seed).standard_normal((n, dim), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix


def load_nfcorpus(
    directory: str = NFCORPUS_DIR,
) -> tuple[list[dict[str, str]], list[dict[str, str]], dict[str, dict[str, int]]]:
    """(corpus rows with _id/title/text, test queries with _id/text, qrels query -> doc -> grade)."""
    base = os.path.abspath(directory)
    with open(os.path.join(base, "corpus.jsonl"), encoding="utf-8") as handle:
        corpus = [json.loads(line) for line in handle if line.strip()]
    with open(os.path.join(base, "queries.jsonl"), encoding="utf-8") as handle:
        queries = [json.loads(line) for line in handle if line.strip()]
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with open(os.path.join(base, "qrels.tsv"), encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            query_id, doc_id, grade = line.rstrip("\n").split("\t")
            if int(grade) > 0:
                qrels[query_id][doc_id] = int(grade)
    return corpus, [q for q in queries if qrels.get(q["_id"])], dict(qrels)


def document_text(row: dict[str, str]) -> str:
    """Title and text of an NFCorpus row, as every system indexes it."""
    return f"{row.get('title', '')} {row['text']}".strip()


def ndcg_at_k(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    """nDCG@k like trec_eval's ndcg_cut (linear graded gain, log2 discount)."""
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(grade / math.log2(rank + 2) for rank, grade in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at_k(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    """Share of the query's relevant documents found in the top ``k``."""
    return len(set(ranked[:k]) & relevant.keys()) / len(relevant) if relevant else 0.0


def evaluate(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """Mean nDCG@10 and Recall@100 over the queries in ``run``."""
    ndcg = [ndcg_at_k(ranked, qrels[q]) for q, ranked in run.items()]
    recall = [recall_at_k(ranked, qrels[q]) for q, ranked in run.items()]
    return {"ndcg@10": sum(ndcg) / len(ndcg), "recall@100": sum(recall) / len(recall)}


def traced_mb_per_100k(build: Any, n_docs: int) -> float:
    """Memory ``build()`` keeps allocated (tracemalloc, after gc; numpy arrays included), per 100k docs.

    ``build`` indexes ``n_docs`` documents created beforehand (their texts are not counted) and returns the
    index, which stays alive until the measurement is taken.
    """
    import gc
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        index = build()
        gc.collect()
        current = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del index
    return current / 2**20 * 100_000 / n_docs


def median_ms(samples: list[float]) -> float:
    """Median of ``samples`` (seconds), in milliseconds."""
    return float(np.median(samples)) * 1000.0
