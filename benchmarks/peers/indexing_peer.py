"""Peer side of benchmarks/indexing.py: the equivalent haystack-ai indexing pipeline (run under .venv-peers).

MultiFileConverter (haystack's router + per-type converters + joiner) -> DocumentCleaner -> DocumentSplitter
(word, same length/overlap) -> SentenceTransformersDocumentEmbedder (sentence-transformers-haystack; in
haystack-ai 3.x it lives in that integration package) (the same local all-MiniLM-L6-v2 files)
-> DocumentWriter(InMemoryDocumentStore). Prints one JSON line: seconds, encode seconds, files, chunks.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--model", required=True, help="local folder of all-MiniLM-L6-v2")
    parser.add_argument("--split-length", type=int, default=200)
    parser.add_argument("--split-overlap", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    from haystack import Pipeline
    from haystack.components.converters import MultiFileConverter
    from haystack.components.preprocessors import DocumentCleaner, DocumentSplitter
    from haystack.components.writers import DocumentWriter
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack.document_stores.types import DuplicatePolicy
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersDocumentEmbedder,
    )
    from sentence_transformers import SentenceTransformer

    encode_seconds = 0.0
    original_encode = SentenceTransformer.encode

    def timed_encode(self, *a, **kw):  # type: ignore[no-untyped-def]
        nonlocal encode_seconds
        started = time.perf_counter()
        try:
            return original_encode(self, *a, **kw)
        finally:
            encode_seconds += time.perf_counter() - started

    SentenceTransformer.encode = timed_encode  # type: ignore[method-assign]

    files = sorted(str(p) for p in Path(args.corpus).rglob("*") if p.is_file())
    store = InMemoryDocumentStore()
    pipeline = Pipeline()
    pipeline.add_component("converter", MultiFileConverter())
    pipeline.add_component("cleaner", DocumentCleaner())
    pipeline.add_component(
        "splitter",
        DocumentSplitter(split_by="word", split_length=args.split_length, split_overlap=args.split_overlap),
    )
    pipeline.add_component(
        "embedder",
        SentenceTransformersDocumentEmbedder(
            model=args.model, batch_size=args.batch_size, progress_bar=False, local_files_only=True
        ),
    )
    pipeline.add_component("writer", DocumentWriter(store, policy=DuplicatePolicy.OVERWRITE))
    pipeline.connect("converter.documents", "cleaner.documents")
    pipeline.connect("cleaner.documents", "splitter.documents")
    pipeline.connect("splitter.documents", "embedder.documents")
    pipeline.connect("embedder.documents", "writer.documents")
    pipeline.warm_up()  # model load is excluded on both sides
    encode_seconds = 0.0

    started = time.perf_counter()
    pipeline.run({"converter": {"sources": files}})
    seconds = time.perf_counter() - started
    json.dump(
        {
            "seconds": seconds,
            "encode_seconds": encode_seconds,
            "files": len(files),
            "chunks": store.count_documents(),
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
