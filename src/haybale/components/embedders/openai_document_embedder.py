"""Embed Documents through any OpenAI-compatible embeddings endpoint (OpenAI, vLLM, Ollama, TEI, ...)."""

from __future__ import annotations

from typing import Any

from haybale.components.embedders._embedding_inputs import (
    check_documents_input,
    texts_to_embed,
    with_embeddings,
)
from haybale.components.embedders._openai_embedding_client import (
    OpenAIEndpointClient,
    check_dimensions,
    check_endpoint_settings,
)
from haybale.core.component import component
from haybale.core.secret import Secret
from haybale.dataclasses import Document

__all__ = ["OpenAIDocumentEmbedder"]


def _merge_usage(total: dict[str, Any], usage: dict[str, Any]) -> None:
    for key, value in usage.items():
        if isinstance(value, int):
            total[key] = total.get(key, 0) + value


@component
class OpenAIDocumentEmbedder(OpenAIEndpointClient):
    """Computes an embedding for each Document with an OpenAI-compatible ``/v1/embeddings`` endpoint.

    Documents are sent in batches of ``batch_size`` inputs per request. The output holds copies of the input
    documents with ``embedding`` set; the inputs are not modified.
    """

    _init_parameter_names = (
        "api_key",
        "model",
        "base_url",
        "dimensions",
        "batch_size",
        "prefix",
        "suffix",
        "meta_fields_to_embed",
        "embedding_separator",
        "timeout",
        "max_retries",
        "unix_socket",
        "truncate_dim",
    )

    def __init__(
        self,
        api_key: Secret = Secret.from_env_var("OPENAI_API_KEY"),  # noqa: B008 - immutable dataclass
        *,
        model: str = "text-embedding-3-small",
        base_url: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 32,
        prefix: str = "",
        suffix: str = "",
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = "\n",
        timeout: float | None = 30.0,
        max_retries: int = 3,
        unix_socket: str | None = None,
        truncate_dim: int | None = None,
    ) -> None:
        """Create the embedder; the HTTP client is created on first use.

        Args:
            api_key: the API key; ``Secret.from_env_var("OPENAI_API_KEY", strict=False)`` for servers without
                keys.
            model: the embedding model name the server knows.
            base_url: the server's API root, e.g. "http://localhost:8000/v1"; None means OpenAI.
            dimensions: ask for shorter embeddings (models that support it).
            batch_size: inputs per request.
            prefix: text prepended to each document before embedding.
            suffix: text appended to each document before embedding.
            meta_fields_to_embed: metadata keys whose values are embedded together with the content.
            embedding_separator: joins the metadata values and the content.
            timeout: seconds to wait for one HTTP request.
            max_retries: retries with exponential backoff on connection errors, timeouts, 408/409/429/5xx.
            unix_socket: send HTTP over this UNIX domain socket (an embedding server on the same host, such
                as Helix's embedded runner); ``base_url`` then only names the path, e.g.
                ``http://localhost/v1``.
            truncate_dim: cut each embedding to its first ``truncate_dim`` values and L2-normalize it
                (Matryoshka models such as dse-qwen2-mrl keep their meaning in a prefix); None keeps the
                server's size. Unlike ``dimensions`` nothing extra is sent, so any server works.
        """
        check_endpoint_settings(batch_size, timeout, max_retries)
        check_dimensions(dimensions)
        self.api_key = api_key
        self.model = model
        self.base_url = base_url
        self.dimensions = dimensions
        self.batch_size = batch_size
        self.prefix = prefix
        self.suffix = suffix
        self.meta_fields_to_embed = list(meta_fields_to_embed) if meta_fields_to_embed else None
        self.embedding_separator = embedding_separator
        self.timeout = timeout
        self.max_retries = max_retries
        check_dimensions(truncate_dim, "truncate_dim")
        self.unix_socket = unix_socket
        self.truncate_dim = truncate_dim
        self._init_client()

    def _batches(self, documents: list[Document]) -> list[list[str]]:
        texts = texts_to_embed(
            documents, self.prefix, self.suffix, self.meta_fields_to_embed, self.embedding_separator
        )
        return [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """Embed ``documents``.

        Returns:
            ``{"documents": copies with embeddings, "meta": {"model": ..., "usage": {...}}}``

        Raises:
            TypeError: ``documents`` is not a list of Document (use OpenAITextEmbedder for a string).
            EmbeddingEndpointError: the endpoint failed after the retries; the message names it.
        """
        check_documents_input(type(self).__name__, documents)
        if not documents:
            return {"documents": [], "meta": {"model": self.model, "usage": {}}}
        self.warm_up()
        vectors: list[list[float]] = []
        usage: dict[str, Any] = {}
        model = self.model
        for batch in self._batches(documents):
            batch_vectors, batch_usage, model = self._embed(batch)
            vectors.extend(batch_vectors)
            _merge_usage(usage, batch_usage)
        return {
            "documents": with_embeddings(documents, vectors),
            "meta": {"model": model, "usage": usage},
        }

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    async def run_async(self, documents: list[Document]) -> dict[str, Any]:
        """Async :meth:`run` with ``openai.AsyncOpenAI`` (one client per call: clients bind to a loop)."""
        check_documents_input(type(self).__name__, documents)
        if not documents:
            return {"documents": [], "meta": {"model": self.model, "usage": {}}}
        vectors: list[list[float]] = []
        usage: dict[str, Any] = {}
        model = self.model
        async with self._async_client() as client:
            for batch in self._batches(documents):
                batch_vectors, batch_usage, model = await self._embed_async(client, batch)
                vectors.extend(batch_vectors)
                _merge_usage(usage, batch_usage)
        return {
            "documents": with_embeddings(documents, vectors),
            "meta": {"model": model, "usage": usage},
        }
