"""Embedders: turn text and Documents into dense vectors, locally (sentence-transformers) or over HTTP.

Classes load lazily so importing this package never imports torch or openai.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from haybale._lazy_exports import lazy_exports

if TYPE_CHECKING:
    from haybale.components.embedders._openai_embedding_client import EmbeddingEndpointError
    from haybale.components.embedders.openai_document_embedder import OpenAIDocumentEmbedder
    from haybale.components.embedders.openai_multimodal_embedders import (
        OpenAIDocumentImageEmbedder,
        OpenAIMultimodalTextEmbedder,
    )
    from haybale.components.embedders.openai_text_embedder import OpenAITextEmbedder
    from haybale.components.embedders.sentence_transformers_document_embedder import (
        SentenceTransformersDocumentEmbedder,
    )
    from haybale.components.embedders.sentence_transformers_text_embedder import (
        SentenceTransformersTextEmbedder,
    )

__all__ = [
    "EmbeddingEndpointError",
    "OpenAIDocumentEmbedder",
    "OpenAIDocumentImageEmbedder",
    "OpenAIMultimodalTextEmbedder",
    "OpenAITextEmbedder",
    "SentenceTransformersDocumentEmbedder",
    "SentenceTransformersTextEmbedder",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "SentenceTransformersTextEmbedder": f"{__name__}.sentence_transformers_text_embedder",
        "SentenceTransformersDocumentEmbedder": f"{__name__}.sentence_transformers_document_embedder",
        "OpenAITextEmbedder": "haybale.components.embedders.openai_text_embedder",
        "OpenAIDocumentEmbedder": "haybale.components.embedders.openai_document_embedder",
        "OpenAIDocumentImageEmbedder": "haybale.components.embedders.openai_multimodal_embedders",
        "OpenAIMultimodalTextEmbedder": "haybale.components.embedders.openai_multimodal_embedders",
        "EmbeddingEndpointError": "haybale.components.embedders._openai_embedding_client",
    },
)
