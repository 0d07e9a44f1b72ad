"""Embed one string through any OpenAI-compatible embeddings endpoint (OpenAI, vLLM, Ollama, TEI, ...)."""

from __future__ import annotations

import threading
from typing import Any

from haybale.components.embedders.embedding_inputs import check_text_input
from haybale.components.embedders.openai_embedding_client import (
    build_clients,
    check_endpoint_settings,
    embedding_request,
    endpoint_error,
    vectors_from_response,
)
from haybale.core.component import component
from haybale.core.secret import Secret, deserialize_secrets_inplace
from haybale.core.serialization import default_from_dict, default_to_dict

__all__ = ["OpenAITextEmbedder"]

_OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"


@component
class OpenAITextEmbedder:
    """Embeds a string (typically a query) with an OpenAI-compatible ``/v1/embeddings`` endpoint.

    Usage with a local server that needs no key:
        >>> embedder = OpenAITextEmbedder(
        ...     base_url="http://localhost:8000/v1", model="BAAI/bge-small-en-v1.5",
        ...     api_key=Secret.from_env_var("OPENAI_API_KEY", strict=False))
        >>> embedder.run(text="hello")["embedding"]
    """

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
        """
        check_endpoint_settings(1, timeout, max_retries)
        if dimensions is not None and (not isinstance(dimensions, int) or dimensions < 1):
            raise ValueError(f"dimensions must be a positive integer or None, got {dimensions!r}.")
        self.api_key = api_key
        self.model = model
        self.base_url = base_url
        self.dimensions = dimensions
        self.prefix = prefix
        self.suffix = suffix
        self.timeout = timeout
        self.max_retries = max_retries
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def _endpoint(self) -> str:
        return (self.base_url or _OPENAI_DEFAULT_BASE_URL).rstrip("/") + "/embeddings"

    def warm_up(self) -> None:
        """Create the HTTP client (idempotent, thread-safe). No request is sent."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = build_clients(
                        self.api_key, self.base_url, self.timeout, self.max_retries, asynchronous=False
                    )

    @component.output_types(embedding=list[float], meta=dict[str, Any])
    def run(self, text: str) -> dict[str, Any]:
        """Embed ``text``.

        Returns:
            ``{"embedding": list[float], "meta": {"model": ..., "usage": {...}}}``

        Raises:
            TypeError: ``text`` is not a string (use OpenAIDocumentEmbedder for Documents).
            EmbeddingEndpointError: the endpoint failed after the retries; the message names it.
        """
        import openai

        check_text_input(type(self).__name__, text)
        self.warm_up()
        try:
            response = self._client.embeddings.create(
                **embedding_request(self.model, [self.prefix + text + self.suffix], self.dimensions)
            )
        except openai.OpenAIError as exc:
            raise endpoint_error(exc, self._endpoint, self.model, self.max_retries) from exc
        vectors, usage = vectors_from_response(response, 1, self._endpoint)
        return {"embedding": vectors[0], "meta": {"model": response.model, "usage": usage}}

    @component.output_types(embedding=list[float], meta=dict[str, Any])
    async def run_async(self, text: str) -> dict[str, Any]:
        """Async :meth:`run` with ``openai.AsyncOpenAI`` (one client per call: clients bind to a loop)."""
        import openai

        check_text_input(type(self).__name__, text)
        client = build_clients(self.api_key, self.base_url, self.timeout, self.max_retries, asynchronous=True)
        async with client:
            try:
                response = await client.embeddings.create(
                    **embedding_request(self.model, [self.prefix + text + self.suffix], self.dimensions)
                )
            except openai.OpenAIError as exc:
                raise endpoint_error(exc, self._endpoint, self.model, self.max_retries) from exc
        vectors, usage = vectors_from_response(response, 1, self._endpoint)
        return {"embedding": vectors[0], "meta": {"model": response.model, "usage": usage}}

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}`` (the key as an env-var reference, never its value)."""
        return default_to_dict(
            self,
            api_key=self.api_key.to_dict(),
            model=self.model,
            base_url=self.base_url,
            dimensions=self.dimensions,
            prefix=self.prefix,
            suffix=self.suffix,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpenAITextEmbedder:
        """Build from :meth:`to_dict` output."""
        init_parameters = dict(data.get("init_parameters") or {})  # never mutate the caller's dict
        deserialize_secrets_inplace(init_parameters, keys=["api_key"])
        return default_from_dict(cls, {**data, "init_parameters": init_parameters})
