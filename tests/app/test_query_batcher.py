"""QueryEmbeddingBatcher: concurrent queries share model calls and get exactly their own embeddings."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from haybale.app.query_batcher import QueryEmbeddingBatcher
from haybale.dataclasses import Document
from haybale.errors import ComponentError


class CountingEmbedder:
    """A document embedder recording its batch sizes; the embedding encodes the text, so mix-ups show."""

    def __init__(self, delay_s: float = 0.0, fail: bool = False) -> None:
        self.batches: list[int] = []
        self.delay_s = delay_s
        self.fail = fail
        self.thread_ids: set[int] = set()

    def run(self, documents: list[Document]) -> dict[str, Any]:
        import time

        self.thread_ids.add(threading.get_ident())
        self.batches.append(len(documents))
        time.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("model crashed")
        return {
            "documents": [
                Document(content=d.content, embedding=[float(len(d.content or ""))]) for d in documents
            ]
        }


async def test_concurrent_queries_are_batched_and_answered_in_order() -> None:
    embedder = CountingEmbedder(delay_s=0.05)
    batcher = QueryEmbeddingBatcher(embedder, max_batch=8, max_wait_s=0.01)
    texts = ["x" * n for n in range(1, 21)]
    vectors = await asyncio.gather(*(batcher.embed(text) for text in texts))
    assert vectors == [[float(len(text))] for text in texts]
    assert sum(embedder.batches) == 20
    assert max(embedder.batches) <= 8
    assert len(embedder.batches) < 20  # shared calls, not one per query
    assert threading.get_ident() not in embedder.thread_ids  # the model never runs on the event loop


async def test_a_lone_query_waits_at_most_the_short_window() -> None:
    embedder = CountingEmbedder()
    batcher = QueryEmbeddingBatcher(embedder, max_batch=32, max_wait_s=0.001)
    assert await asyncio.wait_for(batcher.embed("hello"), timeout=5) == [5.0]
    assert embedder.batches == [1]


async def test_a_failing_model_fails_every_query_of_the_batch_and_the_next_batch_still_runs() -> None:
    embedder = CountingEmbedder(fail=True)
    batcher = QueryEmbeddingBatcher(embedder, max_batch=4, max_wait_s=0.005)
    results = await asyncio.gather(*(batcher.embed(t) for t in ["a", "bb", "ccc"]), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    embedder.fail = False
    assert await batcher.embed("dddd") == [4.0]


def test_batch_size_must_be_positive() -> None:
    with pytest.raises(ComponentError, match="max_batch"):
        QueryEmbeddingBatcher(CountingEmbedder(), max_batch=0)


async def test_warming_up_beside_queries_serializes_on_the_model_lock() -> None:
    class SlowToLoad(CountingEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.loaded = False
            self.loaded_at_batch: list[bool] = []

        def warm_up(self) -> None:
            import time

            if not self.loaded:
                time.sleep(0.2)
                self.loaded = True

        def run(self, documents: list[Document]) -> dict[str, Any]:
            self.loaded_at_batch.append(self.loaded)
            return super().run(documents)

    embedder = SlowToLoad()
    batcher = QueryEmbeddingBatcher(embedder, max_batch=8, max_wait_s=0.001)
    warming = threading.Thread(target=batcher.warm_up)
    warming.start()  # as the service does at start-up for ONNX backends
    vectors = await asyncio.gather(*(batcher.embed(t) for t in ("a", "bb")))
    warming.join()
    assert vectors == [[1.0], [2.0]]
    assert embedder.loaded_at_batch and all(embedder.loaded_at_batch)  # no batch ran on an unloaded model
