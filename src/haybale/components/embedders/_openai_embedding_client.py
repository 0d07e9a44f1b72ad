"""Shared plumbing of the OpenAI-compatible embedders: client construction, requests, and error messages.

Retries use the official client's exponential backoff (0.5 s doubling up to 8 s, with jitter; it honours
``Retry-After``) on connection errors, timeouts, 408/409/429 and 5xx responses. When they are exhausted the
error names the endpoint, what went wrong, and what to check.
"""

from __future__ import annotations

import base64
import struct
import threading
from typing import Any, ClassVar, TypeVar

from haybale.core.secret import Secret, deserialize_secrets_inplace
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.errors import (
    ComponentError,
    ExternalServiceError,
    HaybaleError,
    optional_dependency,
)

__all__ = [
    "NO_API_KEY_PLACEHOLDER",
    "EmbeddingEndpointError",
    "OpenAIEndpointClient",
    "build_clients",
    "check_dimensions",
    "check_endpoint_settings",
    "embedding_request",
    "embeddings_url",
    "endpoint_error",
    "vectors_from_response",
]

#: Sent as the bearer token when the secret resolves to nothing: local servers such as vLLM or Ollama ignore
#: it, and the official client refuses to start without some key.
NO_API_KEY_PLACEHOLDER = "no-key-required"

_OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"

E = TypeVar("E", bound="OpenAIEndpointClient")


class EmbeddingEndpointError(ExternalServiceError):
    """An OpenAI-compatible embeddings endpoint failed after the configured retries or refused a request."""


def check_endpoint_settings(batch_size: int, timeout: float | None, max_retries: int) -> None:
    """Validate the numeric settings shared by both OpenAI-compatible embedders."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ComponentError(f"batch_size must be a positive integer, got {batch_size!r}.")
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ComponentError(f"timeout must be a positive number of seconds or None, got {timeout!r}.")
    if not isinstance(max_retries, int) or max_retries < 0:
        raise ComponentError(f"max_retries must be a non-negative integer, got {max_retries!r}.")


def build_clients(
    api_key: Secret,
    base_url: str | None,
    timeout: float | None,
    max_retries: int,
    *,
    asynchronous: bool,
    unix_socket: str | None = None,
) -> Any:
    """Create an ``openai.OpenAI`` (or ``AsyncOpenAI``) client for the endpoint.

    With ``unix_socket``, HTTP goes over that UNIX domain socket (the host in ``base_url`` is then only a
    name, e.g. ``http://localhost/v1``).

    Raises:
        MissingDependencyError: the openai package is not installed.
        ComponentError: the API key secret is strict and unset; the message names the variable.
    """
    with optional_dependency("openai", extra="openai", feature="OpenAI-compatible embedders"):
        import openai
    try:
        key = api_key.resolve_value()
    except ValueError as exc:
        raise ComponentError(
            f"{exc} For a local server that needs no key (vLLM, Ollama, TEI), pass "
            "api_key=Secret.from_env_var('OPENAI_API_KEY', strict=False)."
        ) from exc
    client_class = openai.AsyncOpenAI if asynchronous else openai.OpenAI
    options: dict[str, Any] = {}
    if unix_socket:
        import httpx

        if asynchronous:
            options["http_client"] = httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(uds=unix_socket), timeout=timeout
            )
        else:
            options["http_client"] = httpx.Client(
                transport=httpx.HTTPTransport(uds=unix_socket), timeout=timeout
            )
    return client_class(
        api_key=key or NO_API_KEY_PLACEHOLDER,
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        **options,
    )


def embedding_request(model: str, texts: list[str], dimensions: int | None) -> dict[str, Any]:
    """Keyword arguments for ``client.embeddings.create``; float encoding suits servers without base64."""
    request: dict[str, Any] = {"model": model, "input": texts, "encoding_format": "float"}
    if dimensions is not None:
        request["dimensions"] = dimensions
    return request


def _decode_embedding(raw: Any) -> list[float]:
    if isinstance(raw, str):  # base64 of little-endian float32, as OpenAI sends with encoding_format=base64
        data = base64.b64decode(raw)
        return list(struct.unpack(f"<{len(data) // 4}f", data))
    return [float(x) for x in raw]


def vectors_from_response(
    response: Any, expected: int, endpoint: str
) -> tuple[list[list[float]], dict[str, Any]]:
    """Embeddings in input order, plus usage metadata, from an embeddings response.

    Raises:
        EmbeddingEndpointError: the server returned a different number of embeddings than inputs.
    """
    items = sorted(response.data, key=lambda item: item.index)
    if len(items) != expected:
        raise EmbeddingEndpointError(
            f"The embeddings endpoint {endpoint} returned {len(items)} embeddings for {expected} inputs. "
            "The server does not follow the OpenAI embeddings API; check base_url and the server's version."
        )
    usage = response.usage.model_dump() if getattr(response, "usage", None) is not None else {}
    return [_decode_embedding(item.embedding) for item in items], usage


def endpoint_error(exc: Exception, endpoint: str, model: str, max_retries: int) -> HaybaleError:
    """Translate an ``openai`` exception into an error that names the endpoint and the fix."""
    import openai

    if isinstance(exc, openai.AuthenticationError):
        return EmbeddingEndpointError(
            f"The embeddings endpoint {endpoint} rejected the API key (HTTP 401). Set the environment "
            "variable named in api_key (OPENAI_API_KEY by default) to a valid key for this server."
        )
    if isinstance(exc, openai.NotFoundError):
        return EmbeddingEndpointError(
            f"The embeddings endpoint {endpoint} answered 404 for model {model!r}: {exc.message}. Check that "
            "base_url ends with /v1 and that the server serves this model."
        )
    if isinstance(exc, openai.BadRequestError):
        return EmbeddingEndpointError(
            f"The embeddings endpoint {endpoint} refused the request (HTTP 400): {exc.message}. Check the "
            "model name, `dimensions` and the input lengths."
        )
    if isinstance(exc, openai.APITimeoutError):
        what = "timed out"
    elif isinstance(exc, openai.APIConnectionError):
        what = "could not be reached"
    elif isinstance(exc, openai.APIStatusError):
        what = f"answered HTTP {exc.status_code} ({exc.message})"
    else:
        what = f"failed: {exc}"
    return EmbeddingEndpointError(
        f"The embeddings endpoint {endpoint} {what} after {max_retries} retries. Check that the server is "
        "running and reachable at base_url, or raise `timeout` / `max_retries` if it is slow or overloaded."
    )


def check_dimensions(dimensions: int | None, name: str = "dimensions") -> None:
    """Validate an optional vector size setting (``dimensions``, ``truncate_dim``) of the embedders."""
    if dimensions is not None and (
        not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1
    ):
        raise ComponentError(f"{name} must be a positive integer or None, got {dimensions!r}.")


def truncated(vectors: list[list[float]], size: int | None, endpoint: str) -> list[list[float]]:
    """Vectors cut to their first ``size`` values and L2-normalized again (Matryoshka embeddings keep their
    meaning in a prefix); unchanged when ``size`` is None or equals their length.

    Raises:
        EmbeddingEndpointError: a vector is shorter than ``size``.
    """
    if size is None:
        return vectors
    result = []
    for vector in vectors:
        if len(vector) < size:
            raise EmbeddingEndpointError(
                f"The embeddings endpoint {endpoint} returned {len(vector)}-dimensional embeddings, fewer "
                f"than truncate_dim={size}. Set the embedding dimension to {len(vector)} or lower (for the "
                "service: RAG_HAYSTACK_EMBEDDINGS_DIM), or use a model that returns at least that many."
            )
        if len(vector) == size:
            result.append(vector)
            continue
        head = vector[:size]
        norm = sum(x * x for x in head) ** 0.5
        result.append([x / norm for x in head] if norm > 0 else head)
    return result


def embeddings_url(base_url: str | None) -> str:
    """The full ``/embeddings`` URL for ``base_url`` (None means OpenAI), as named in error messages."""
    return (base_url or _OPENAI_DEFAULT_BASE_URL).rstrip("/") + "/embeddings"


class OpenAIEndpointClient:
    """Mixin of the OpenAI-compatible embedders: the lazily built client and one embeddings request.

    The embedder sets ``api_key``, ``model``, ``base_url``, ``dimensions``, ``timeout`` and ``max_retries``
    in its ``__init__`` and calls :meth:`_init_client`; serialization lists ``_init_parameter_names`` in
    order (``api_key`` is written as a secret reference).
    """

    _init_parameter_names: ClassVar[tuple[str, ...]]

    api_key: Secret
    model: str
    base_url: str | None
    dimensions: int | None
    timeout: float | None
    max_retries: int
    unix_socket: str | None
    truncate_dim: int | None

    def _init_client(self) -> None:
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def _endpoint(self) -> str:
        url = embeddings_url(self.base_url)
        return f"{url} (over UNIX socket {self.unix_socket})" if self.unix_socket else url

    def warm_up(self) -> None:
        """Create the HTTP client (idempotent, thread-safe). No request is sent."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._new_client(asynchronous=False)

    def close(self) -> None:
        """Close the HTTP client and its connections (the next call opens a new one)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _new_client(self, *, asynchronous: bool) -> Any:
        return build_clients(
            self.api_key,
            self.base_url,
            self.timeout,
            self.max_retries,
            asynchronous=asynchronous,
            unix_socket=self.unix_socket,
        )

    def _async_client(self) -> Any:
        """A fresh ``openai.AsyncOpenAI`` client (clients bind to an event loop, so one per call)."""
        return self._new_client(asynchronous=True)

    def _embed(self, texts: list[str]) -> tuple[list[list[float]], dict[str, Any], str]:
        """Embed ``texts`` in one request: the vectors in input order, the usage and the served model."""
        import openai

        self.warm_up()
        try:
            response = self._client.embeddings.create(**embedding_request(self.model, texts, self.dimensions))
        except openai.OpenAIError as exc:
            raise endpoint_error(exc, self._endpoint, self.model, self.max_retries) from exc
        vectors, usage = vectors_from_response(response, len(texts), self._endpoint)
        return truncated(vectors, self.truncate_dim, self._endpoint), usage, response.model

    async def _embed_async(
        self, client: Any, texts: list[str]
    ) -> tuple[list[list[float]], dict[str, Any], str]:
        """Async :meth:`_embed` through ``client`` (from :meth:`_async_client`)."""
        import openai

        try:
            response = await client.embeddings.create(**embedding_request(self.model, texts, self.dimensions))
        except openai.OpenAIError as exc:
            raise endpoint_error(exc, self._endpoint, self.model, self.max_retries) from exc
        vectors, usage = vectors_from_response(response, len(texts), self._endpoint)
        return truncated(vectors, self.truncate_dim, self._endpoint), usage, response.model

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}`` (the key as an env-var reference, never its value)."""
        parameters = {name: getattr(self, name) for name in self._init_parameter_names}
        parameters["api_key"] = self.api_key.to_dict()
        return default_to_dict(self, **parameters)

    @classmethod
    def from_dict(cls: type[E], data: dict[str, Any]) -> E:
        """Build from :meth:`to_dict` output."""
        init_parameters = dict(data.get("init_parameters") or {})  # never mutate the caller's dict
        deserialize_secrets_inplace(init_parameters, keys=["api_key"])
        return default_from_dict(cls, {**data, "init_parameters": init_parameters})
