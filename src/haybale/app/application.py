"""The application: everything the CLI and the service build from :class:`~haybale.app.settings.Settings`.

One object, one way to build each part, so ``haybale index`` and ``POST /process`` chunk, embed and write the
same way, and ``haybale query`` and ``POST /query`` score the same way:

* the document store (from ``store_url``), optionally behind a :class:`TenantScopedStore`;
* the chunk embedder and the query embedder (:mod:`haybale.app.embedding`);
* the conversion pipeline (converter -> cleaner -> splitter) and the exactly-once
  :class:`~haybale.indexing.indexer.Indexer`;
* the hybrid retriever (``weighted_score`` fusion: one absolute score scale on every store) and the
  micro-batching query embedder used by the service;
* the RAG pipeline of ``haybale ask`` and ``/v1/chat/completions``.

Parts are built on first use (models load lazily) and at most once, even when two threads ask together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from haybale.app.settings import Settings

__all__ = ["Application"]

T = TypeVar("T")

#: Keyword and dense candidates fetched per side before fusion, as a multiple of top_k (at least 10).
_CANDIDATES_PER_RESULT = 2
_MIN_CANDIDATES = 10


class Application:
    """The shared application layer.

    Args:
        settings: the settings; default :meth:`Settings.load` (the environment).
        tenant_scoped: put the store behind a :class:`~haybale.stores.tenant_scope.TenantScopedStore`, so
            every part reads and writes only the tenant of the current ``tenant_scope`` (the service).
        chat_generator: the chat generator of the RAG pipeline; default from the settings (an
            OpenAI-compatible server, else the local SmolLM2).
        must_exist: refuse to create a new index (read-only commands such as ``haybale query``).
        model_threads: threads for local models when the settings leave ``model_threads`` unset (the
            service passes 1).

    Raises:
        DocumentStoreError: the store URL is invalid, or ``must_exist`` and there is no index.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        tenant_scoped: bool = False,
        chat_generator: Any = None,
        must_exist: bool = False,
        model_threads: int | None = None,
    ) -> None:
        from haybale.app.embedding import expected_embedding_dimension
        from haybale.stores.url import open_store_url

        self.settings = settings if settings is not None else Settings.load()
        self.opened_store = open_store_url(
            self.settings.store_url,
            must_exist=must_exist,
            embedding_dimension=expected_embedding_dimension(self.settings),
        )
        self.store: Any = self.opened_store.store
        self.tenant_scoped = tenant_scoped
        if tenant_scoped:
            from haybale.stores.tenant_scope import TenantScopedStore

            self.store = TenantScopedStore(self.opened_store.store)
        self._chat_generator = chat_generator
        self._model_threads = self.settings.model_threads or model_threads
        self._parts: dict[str, Any] = {}
        self._lock = threading.RLock()
        self.write_lock = threading.Lock()

    def _part(self, name: str, build: Callable[[], T]) -> T:
        part = self._parts.get(name)
        if part is None and name not in self._parts:
            with self._lock:
                if name not in self._parts:
                    self._parts[name] = self._limited(build())
                part = self._parts[name]
        return part  # type: ignore[return-value]

    def _limited(self, part: Any) -> Any:
        """Apply ``model_threads`` when ``part`` runs a local model (torch threads, or the ONNX session's)."""
        from haybale.components.embedders.sentence_transformers_backend import SentenceTransformersEncoder

        embedder = getattr(part, "embedder", part)
        if self._model_threads is not None and isinstance(embedder, SentenceTransformersEncoder):
            if embedder.backend == "torch":
                import torch

                torch.set_num_threads(self._model_threads)
            else:
                embedder.model_threads = self._model_threads
        return part

    # ------------------------------------------------------------------------------------------ models
    def document_embedder(self) -> Any:
        """The chunk embedder (warmed up on first use), or None when ``embed`` is off."""

        def build() -> Any:
            from haybale.app.embedding import build_document_embedder

            return build_document_embedder(self.settings)

        return self._part("document_embedder", build)

    def text_embedder(self) -> Any:
        """The query embedder (not warmed up: warming loads the model)."""

        def build() -> Any:
            from haybale.app.embedding import build_text_embedder

            return build_text_embedder(self.settings)

        return self._part("text_embedder", build)

    def query_batcher(self) -> Any:
        """The :class:`~haybale.app.query_batcher.QueryEmbeddingBatcher` for concurrent queries."""

        def build() -> Any:
            from haybale.app.embedding import build_document_embedder
            from haybale.app.query_batcher import QueryEmbeddingBatcher

            embedder = build_document_embedder(self.settings.model_copy(update={"embed": True}))
            return QueryEmbeddingBatcher(
                embedder,
                max_batch=self.settings.query_batch_size,
                max_wait_s=self.settings.query_batch_wait_ms / 1000.0,
            )

        return self._part("query_batcher", build)

    # -------------------------------------------------------------------------------------- ingestion
    def conversion_pipeline(self) -> Any:
        """MultiFileConverter -> DocumentCleaner -> DocumentSplitter, chunking as the settings say."""

        def build() -> Any:
            from haybale.indexing.indexer import build_indexing_pipeline

            s = self.settings
            return build_indexing_pipeline(
                split_by=s.split_by,
                split_length=s.chunk_size,
                split_overlap=s.chunk_overlap,
                tokenizer_model=s.resolved_embedding_model,
            )

        return self._part("conversion_pipeline", build)

    def extraction_pipeline(self) -> Any:
        """MultiFileConverter -> DocumentCleaner: text extraction without indexing, cleaned exactly as
        indexing cleans it."""

        def build() -> Any:
            from haybale.indexing.sources import build_extraction_pipeline

            return build_extraction_pipeline()

        return self._part("extraction_pipeline", build)

    def indexer(self, batch_files: int = 32, *, conversion_process: bool = False) -> Any:
        """The exactly-once :class:`~haybale.indexing.indexer.Indexer` over the store.

        ``conversion_process``: convert in a child process while the model loads and embeds (``haybale
        index``: a whole run in one process; the service converts its small uploads in a thread).
        """
        from haybale.indexing.indexer import Indexer

        return Indexer(
            self.store,
            self.conversion_pipeline(),
            embedder=self.document_embedder(),
            batch_files=batch_files,
            on_store_written=self.opened_store.flush,
            conversion_process=conversion_process,
        )

    # ---------------------------------------------------------------------------------------- queries
    def retriever(self, top_k: int = 5) -> Any:
        """A hybrid retriever over the store with the settings' weighted score (one scale on every store).

        Candidates per side grow with ``top_k``; one retriever per ``top_k`` is kept (they hold no state).
        """

        def build() -> Any:
            from haybale.components.retrievers.hybrid import WEIGHTED_SCORE, HybridRetriever

            semantic, keyword = self.settings.hybrid_weights
            candidates = max(top_k * _CANDIDATES_PER_RESULT, _MIN_CANDIDATES)
            return HybridRetriever(
                self.store,
                self.text_embedder(),
                top_k=top_k,
                join_mode=WEIGHTED_SCORE,
                weights=[keyword, semantic],
                bm25_top_k=candidates,
                embedding_top_k=candidates,
            )

        return self._part(f"retriever:{top_k}", build)

    async def search(self, query: str, top_k: int, filters: dict[str, Any] | None) -> list[Any]:
        """Hybrid search for a service request: the query embedded in a micro-batch, the store searched in a
        worker thread (the event loop stays free). Same results and scores as ``retriever().run``."""
        import asyncio

        embedding = await self.query_batcher().embed(query)
        retriever = self.retriever(top_k)
        return await asyncio.to_thread(retriever.search, query, embedding, top_k, filters)

    def rag_pipeline(self) -> Any:
        """The RAG pipeline (retriever, prompt, generator, answers), warmed up."""

        def build() -> Any:
            from haybale.rag import build_rag_pipeline, chat_generator_from_env

            generator = self._chat_generator
            if generator is None:
                generator = chat_generator_from_env(self.settings.llm_environ())
            pipeline = build_rag_pipeline(
                self.store,
                top_k=self.settings.rag_top_k,
                chat_generator=generator,
                text_embedder=self.text_embedder(),
            )
            pipeline.warm_up()
            return pipeline

        return self._part("rag_pipeline", build)

    def vision(self) -> Any:
        """The :class:`~haybale.app.vision.VisionIndex` (page images in a vision store beside this one).

        Raises:
            SettingsError: vision retrieval is turned off (``RAG_VISION_ENABLED=false``).
        """

        def build() -> Any:
            from haybale.app.vision import VISION_NOT_ENABLED, VisionIndex
            from haybale.errors import SettingsError

            if not self.settings.vision_enabled:
                raise SettingsError(VISION_NOT_ENABLED)
            return VisionIndex(
                self.settings,
                self.document_embedder(),
                self.text_embedder(),
                tenant_scoped=self.tenant_scoped,
            )

        return self._part("vision", build)

    def close(self) -> None:
        """Release the store's connections (database pools); the application can still reopen them."""
        close = getattr(self.opened_store.store, "close", None)
        if callable(close):
            close()
        vision = self._parts.get("vision")
        if vision is not None:
            vision.close()
