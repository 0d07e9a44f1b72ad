"""Embedders: turn text and Documents into dense vectors, locally (sentence-transformers) or over HTTP.

Classes load lazily so importing this package never imports torch or openai.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "SentenceTransformersTextEmbedder": "haybale.components.embedders.sentence_transformers_text_embedder",
    "SentenceTransformersDocumentEmbedder": (
        "haybale.components.embedders.sentence_transformers_document_embedder"
    ),
    "OpenAITextEmbedder": "haybale.components.embedders.openai_text_embedder",
    "OpenAIDocumentEmbedder": "haybale.components.embedders.openai_document_embedder",
    "OpenAIDocumentImageEmbedder": "haybale.components.embedders.openai_multimodal_embedders",
    "OpenAIMultimodalTextEmbedder": "haybale.components.embedders.openai_multimodal_embedders",
    "EmbeddingEndpointError": "haybale.components.embedders.openai_embedding_client",
}

__all__ = [
    "EmbeddingEndpointError",
    "OpenAIDocumentEmbedder",
    "OpenAIDocumentImageEmbedder",
    "OpenAIMultimodalTextEmbedder",
    "OpenAITextEmbedder",
    "SentenceTransformersDocumentEmbedder",
    "SentenceTransformersTextEmbedder",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'haybale.components.embedders' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
