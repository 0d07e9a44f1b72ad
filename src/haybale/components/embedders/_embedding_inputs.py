"""Input checks, text preparation and output copies shared by every embedder."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from haybale.dataclasses import Document

__all__ = ["check_documents_input", "check_text_input", "texts_to_embed", "with_embeddings"]


def check_text_input(embedder: str, text: Any) -> None:
    """Raise a TypeError naming the right embedder when ``text`` is not one string."""
    if not isinstance(text, str):
        document_embedder = embedder.replace("TextEmbedder", "DocumentEmbedder")
        raise TypeError(
            f"{embedder} expects one string as `text`, got {type(text).__name__}. "
            f"To embed a list of Documents use {document_embedder}; to embed several strings, call run() "
            "once per string."
        )


def check_documents_input(embedder: str, documents: Any) -> None:
    """Raise a TypeError naming the right embedder when ``documents`` is not a list of Documents."""
    text_embedder = embedder.replace("DocumentEmbedder", "TextEmbedder")
    if not isinstance(documents, list) or not all(isinstance(d, Document) for d in documents):
        found = type(documents).__name__
        if isinstance(documents, list):
            found = "a list containing " + ", ".join(
                sorted({type(d).__name__ for d in documents if not isinstance(d, Document)})
            )
        raise TypeError(
            f"{embedder} expects `documents` as a list of Document, got {found}. "
            f"To embed a single string (for example a query) use {text_embedder}; to embed plain strings, "
            "wrap them: [Document(content=s) for s in strings]."
        )


def texts_to_embed(
    documents: list[Document],
    prefix: str = "",
    suffix: str = "",
    meta_fields_to_embed: list[str] | None = None,
    embedding_separator: str = "\n",
) -> list[str]:
    """The text each document is embedded as: prefix + selected meta values + content + suffix.

    Meta fields that are missing or None are left out, so documents without a title still embed their content.
    """
    texts = []
    for doc in documents:
        parts = [
            str(doc.meta[field]) for field in meta_fields_to_embed or () if doc.meta.get(field) is not None
        ]
        parts.append(doc.content or "")
        texts.append(prefix + embedding_separator.join(parts) + suffix)
    return texts


def with_embeddings(documents: list[Document], vectors: Iterable[list[float]]) -> list[Document]:
    """Copies of ``documents`` with ``embedding`` set (same ids, own meta dicts); inputs stay unchanged."""
    return [
        dataclasses.replace(doc, meta=dict(doc.meta), embedding=vector)
        for doc, vector in zip(documents, vectors, strict=True)
    ]
