"""Embed one string through any OpenAI-compatible embeddings endpoint (OpenAI, vLLM, Ollama, TEI, ...)."""

from __future__ import annotations

from typing import Any

from haybale.components.embedders._embedding_inputs import check_text_input
from haybale.components.embedders._openai_embedding_client import (
    OpenAIEndpointClient,
    check_dimensions,
    check_endpoint_settings,
)
from haybale.core.component import component
from haybale.core.secret import Secret

__all__ = ["OpenAITextEmbedder"]


@component
class OpenAITextEmbedder(OpenAIEndpointClient):
    """Embeds a string (typically a query) with an OpenAI-compatible ``/v1/embeddings`` endpoint.

    Usage with a local server that needs no key:
        >>> embedder = OpenAITextEmbedder(
        ...     base_url="http://localhost:8000/v1", model="BAAI/bge-small-en-v1.5",
        ...     api_key=Secret.from_env_var("OPENAI_API_KEY", strict=False))
        >>> embedder.run(text="hello")["embedding"]
    """

    _init_parameter_names = (
        "api_key",
        "model",
        "base_url",
        "dimensions",
        "prefix",
        "suffix",
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
        prefix: str = "",
        suffix: str = "",
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
            base_url: the server's API root, e.g. "http://localhost:11434/v1"; None means OpenAI.
            dimensions: ask for shorter embeddings (models that support it).
            prefix: text prepended before embedding.
            suffix: text appended before embedding.
            timeout: seconds to wait for one HTTP request.
            max_retries: retries with exponential backoff on connection errors, timeouts, 408/409/429/5xx.
            unix_socket: send HTTP over this UNIX domain socket (an embedding server on the same host, such
                as Helix's embedded runner); ``base_url`` then only names the path, e.g.
                ``http://localhost/v1``.
            truncate_dim: cut each embedding to its first ``truncate_dim`` values and L2-normalize it
                (Matryoshka models such as dse-qwen2-mrl keep their meaning in a prefix); None keeps the
                server's size. Unlike ``dimensions`` nothing extra is sent, so any server works.
        """
        check_endpoint_settings(1, timeout, max_retries)
        check_dimensions(dimensions)
        self.api_key = api_key
        self.model = model
        self.base_url = base_url
        self.dimensions = dimensions
        self.prefix = prefix
        self.suffix = suffix
        self.timeout = timeout
        self.max_retries = max_retries
        check_dimensions(truncate_dim, "truncate_dim")
        self.unix_socket = unix_socket
        self.truncate_dim = truncate_dim
        self._init_client()

    @component.output_types(embedding=list[float], meta=dict[str, Any])
    def run(self, text: str) -> dict[str, Any]:
        """Embed ``text``.

        Returns:
            ``{"embedding": list[float], "meta": {"model": ..., "usage": {...}}}``

        Raises:
            TypeError: ``text`` is not a string (use OpenAIDocumentEmbedder for Documents).
            EmbeddingEndpointError: the endpoint failed after the retries; the message names it.
        """
        check_text_input(type(self).__name__, text)
        vectors, usage, model = self._embed([self.prefix + text + self.suffix])
        return {"embedding": vectors[0], "meta": {"model": model, "usage": usage}}

    @component.output_types(embedding=list[float], meta=dict[str, Any])
    async def run_async(self, text: str) -> dict[str, Any]:
        """Async :meth:`run` with ``openai.AsyncOpenAI`` (one client per call: clients bind to a loop)."""
        check_text_input(type(self).__name__, text)
        async with self._async_client() as client:
            vectors, usage, model = await self._embed_async(client, [self.prefix + text + self.suffix])
        return {"embedding": vectors[0], "meta": {"model": model, "usage": usage}}
