"""What one app instance shares between requests: the store, the models (loaded once, on first use), the
RAG pipeline and the metrics.

Models load lazily so that ``/health``, authentication and input validation answer at once after start-up,
and a service that only extracts text never loads an embedding model. Loading is guarded by a lock: two
first requests arriving together load each model once.
"""

from __future__ import annotations

import threading
from typing import Any

from haybale.service.metrics import ServiceMetrics
from haybale.service.pipeline_registry import PipelineRegistry
from haybale.service.settings import ServiceSettings

__all__ = ["ServiceState"]


class ServiceState:
    """Shared resources of one service app.

    Args:
        settings: the service settings.
        chat_generator: the chat generator for ``/v1/chat/completions``; default from the settings' LLM
            configuration (:func:`haybale.rag.chat_generator_from_env`).
    """

    def __init__(self, settings: ServiceSettings, chat_generator: Any = None) -> None:
        from haybale.stores.url import open_store_url

        self.settings = settings
        self.opened_store = open_store_url(settings.store_url)
        self.metrics = ServiceMetrics()
        self.pipelines = PipelineRegistry(settings.pipelines_dir, settings.allowed_modules)
        self._chat_generator = chat_generator
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._conversion_pipeline: Any = None
        self._converter: Any = None
        self._document_embedder: Any = None
        self._text_embedder: Any = None
        self._retriever: Any = None
        self._rag_pipeline: Any = None

    @property
    def store(self) -> Any:
        """The document store."""
        return self.opened_store.store

    @property
    def write_lock(self) -> threading.Lock:
        """Held while replacing a source's chunks, so a snapshot-backed store is flushed consistently."""
        return self._write_lock

    def conversion_pipeline(self) -> Any:
        """MultiFileConverter -> DocumentCleaner -> DocumentSplitter, configured by the settings."""
        with self._lock:
            if self._conversion_pipeline is None:
                from haybale.indexing.indexer import build_indexing_pipeline

                s = self.settings
                self._conversion_pipeline = build_indexing_pipeline(
                    split_by=s.split_by,
                    split_length=s.chunk_size,
                    split_overlap=s.chunk_overlap,
                    tokenizer_model=s.embedding_model,
                )
            return self._conversion_pipeline

    def converter(self) -> Any:
        """A MultiFileConverter for ``/extract``."""
        with self._lock:
            if self._converter is None:
                from haybale.components.converters import MultiFileConverter

                self._converter = MultiFileConverter()
            return self._converter

    def document_embedder(self) -> Any:
        """The chunk embedder (warmed up), or None when the settings turn embedding off."""
        if not self.settings.embed:
            return None
        with self._lock:
            if self._document_embedder is None:
                from haybale.components.embedders import SentenceTransformersDocumentEmbedder

                embedder = SentenceTransformersDocumentEmbedder(
                    model=self.settings.embedding_model, progress_bar=False
                )
                embedder.warm_up()
                self._document_embedder = embedder
            return self._document_embedder

    def text_embedder(self) -> Any:
        """The query embedder (warmed up)."""
        with self._lock:
            if self._text_embedder is None:
                from haybale.components.embedders import SentenceTransformersTextEmbedder

                embedder = SentenceTransformersTextEmbedder(
                    model=self.settings.embedding_model, progress_bar=False
                )
                embedder.warm_up()
                self._text_embedder = embedder
            return self._text_embedder

    def retriever(self) -> Any:
        """The hybrid retriever over the store (BM25 + embeddings, fused)."""
        text_embedder = self.text_embedder()
        with self._lock:
            if self._retriever is None:
                from haybale.components.retrievers import HybridRetriever

                self._retriever = HybridRetriever(self.store, text_embedder, top_k=5)
            return self._retriever

    def rag_pipeline(self) -> Any:
        """The RAG pipeline answering ``/v1/chat/completions`` (retriever, prompt, generator, answers)."""
        text_embedder = self.text_embedder()
        with self._lock:
            if self._rag_pipeline is None:
                from haybale.rag import build_rag_pipeline, chat_generator_from_env

                generator = self._chat_generator
                if generator is None:
                    generator = chat_generator_from_env(self.settings.llm_environ())
                pipeline = build_rag_pipeline(
                    self.store,
                    top_k=self.settings.rag_top_k,
                    chat_generator=generator,
                    text_embedder=text_embedder,
                )
                pipeline.warm_up()
                self._rag_pipeline = pipeline
            return self._rag_pipeline
