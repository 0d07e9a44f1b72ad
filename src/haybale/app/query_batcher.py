"""Micro-batching of query embeddings: concurrent requests share one model call, as TEI and vLLM batch.

An embedding model answers a batch of 16 short queries in little more time than one. The batcher collects
the queries that arrive while the model is busy (or within a short wait when it is idle) and embeds them
together in a worker thread, so the event loop never blocks and a burst of requests costs a few model calls
instead of one each. Results are identical to embedding each query alone (same model, same prefix).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from haybale.dataclasses import Document
from haybale.errors import ComponentError

__all__ = ["QueryEmbeddingBatcher"]


class QueryEmbeddingBatcher:
    """Embed queries in batches.

    Args:
        embedder: a document embedder (``run(documents=...)`` returning documents with embeddings) configured
            for queries (the query prefix, if the model uses one).
        max_batch: the most queries per model call.
        max_wait_s: how long an idle batcher waits for company before embedding a lone query.
    """

    def __init__(
        self, embedder: Any, max_batch: int = 32, max_wait_s: float = 0.002, max_in_flight: int = 1
    ) -> None:
        if not isinstance(max_batch, int) or max_batch < 1:
            raise ComponentError(f"max_batch must be a positive integer, got {max_batch!r}.")
        self.embedder = embedder
        self.max_batch = max_batch
        self.max_wait_s = max(0.0, float(max_wait_s))
        self._pending: list[tuple[str, asyncio.Future[list[float]]]] = []
        self.max_in_flight = max(1, int(max_in_flight))
        self._in_flight = 0
        self._timer: asyncio.TimerHandle | None = None
        self._warm_lock = threading.Lock()

    async def embed(self, text: str) -> list[float]:
        """The embedding of ``text`` (computed in a batch with concurrent calls)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[float]] = loop.create_future()
        self._pending.append((text, future))
        if self._in_flight < self.max_in_flight:
            if len(self._pending) >= self.max_batch or self.max_wait_s == 0:
                self._launch(loop)
            elif self._timer is None:
                self._timer = loop.call_later(self.max_wait_s, self._launch, loop)
        return await future

    def _launch(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._in_flight >= self.max_in_flight or not self._pending:
            return
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
        self._in_flight += 1
        task = loop.create_task(asyncio.to_thread(self._embed_batch, [text for text, _ in batch]))
        task.add_done_callback(lambda done: self._finish(loop, batch, done))

    def _finish(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[tuple[str, asyncio.Future[list[float]]]],
        done: asyncio.Task[list[list[float]]],
    ) -> None:
        self._in_flight -= 1
        error = done.exception()
        for index, (_, future) in enumerate(batch):
            if future.done():  # the caller went away (request cancelled)
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(done.result()[index])
        if self._pending:  # what arrived while the model was busy goes at once, as the next batch
            self._launch(loop)

    def warm_up(self) -> None:
        """Load the model now (thread-safe; batches wait for it). Called by the first batch otherwise."""
        with self._warm_lock:
            warm_up = getattr(self.embedder, "warm_up", None)
            if callable(warm_up):
                warm_up()

    def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        self.warm_up()
        documents = self.embedder.run(documents=[Document(content=text) for text in texts])["documents"]
        vectors = [list(doc.embedding) for doc in documents if doc.embedding is not None]
        if len(vectors) != len(texts):
            raise ComponentError(
                f"The query embedder returned {len(vectors)} embeddings for {len(texts)} queries; use a "
                "document embedder that embeds every document it is given."
            )
        return vectors
