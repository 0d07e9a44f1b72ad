"""Peer side of benchmarks/store_persistence.py, run under .venv-peers: haystack-ai's InMemoryDocumentStore
writing the same 100k dense documents and 100k text documents (BM25 statistics are built at write time).

Prints one JSON object on stdout: ``dense_write_s`` and ``bm25_write_s``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from retrieval_common import random_unit_vectors, synthetic_corpus


def main() -> None:
    from haystack import Document
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    args = parser.parse_args()
    vectors = random_unit_vectors(args.docs, args.dim).tolist()
    dense = [Document(content=f"doc {i}", id=str(i), embedding=row) for i, row in enumerate(vectors)]
    gc.collect()
    started = time.perf_counter()
    InMemoryDocumentStore().write_documents(dense)
    dense_s = time.perf_counter() - started
    del dense, vectors
    texts, _queries, _digest = synthetic_corpus(args.docs, 10)
    docs = [Document(content=text, id=str(i)) for i, text in enumerate(texts)]
    gc.collect()
    started = time.perf_counter()
    InMemoryDocumentStore().write_documents(docs)
    bm25_s = time.perf_counter() - started
    print(json.dumps({"dense_write_s": dense_s, "bm25_write_s": bm25_s}))


if __name__ == "__main__":
    main()
