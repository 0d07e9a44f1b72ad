"""Image embeddings through an OpenAI-compatible ``/v1/embeddings`` endpoint that takes chat-style messages.

vLLM serves multimodal embedding models (DSE-Qwen2, VLM2Vec, ...) this way: instead of ``input``, the request
carries ``messages`` — one user message whose content parts are an ``image_url`` (a ``data:`` URL) and a
``text`` — and the server applies the model's chat template and returns one embedding. For
``MrLight/dse-qwen2-2b-mrl-v1`` (the Helix default) a page image is sent with the prompt "What is shown in
this image?", and a text query as ``"Query: <text>"`` together with a blank 56x56 placeholder image (the
model needs an image in every input). Both are the defaults here.

The HTTP client, retries, UNIX-socket transport, Matryoshka truncation and error messages are the ones of the
text embedders (:mod:`~haybale.components.embedders._openai_embedding_client`).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import io
from typing import Any

from haybale.components.embedders._embedding_inputs import check_documents_input, check_text_input
from haybale.components.embedders._openai_embedding_client import (
    OpenAIEndpointClient,
    check_dimensions,
    check_endpoint_settings,
    endpoint_error,
    truncated,
    vectors_from_response,
)
from haybale.core.component import component
from haybale.core.secret import Secret
from haybale.dataclasses import Document, ImageContent
from haybale.errors import ComponentError

__all__ = [
    "DSE_IMAGE_PROMPT",
    "DSE_QUERY_PREFIX",
    "OpenAIDocumentImageEmbedder",
    "OpenAIMultimodalTextEmbedder",
    "chat_embedding_body",
]

#: The prompt DSE-Qwen2 models embed page images with.
DSE_IMAGE_PROMPT = "What is shown in this image?"
#: What DSE-Qwen2 models expect before a text query.
DSE_QUERY_PREFIX = "Query: "
_DEFAULT_VISION_MODEL = "MrLight/dse-qwen2-2b-mrl-v1"


@functools.lru_cache(maxsize=1)
def placeholder_image_url() -> str:
    """A blank 56x56 PNG as a ``data:`` URL (the smallest image Qwen2-VL models accept)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (56, 56), "white").save(buffer, format="PNG")
    return ImageContent(buffer.getvalue()).to_data_url()


def chat_embedding_body(
    model: str, image_url: str | None, text: str, dimensions: int | None
) -> dict[str, Any]:
    """The JSON body of one chat-style embeddings request (one user message: an image and a text part)."""
    content: list[dict[str, Any]] = []
    if image_url is not None:
        content.append({"type": "image_url", "image_url": {"url": image_url}})
    content.append({"type": "text", "text": text})
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "encoding_format": "float",
    }
    if dimensions is not None:
        body["dimensions"] = dimensions
    return body


class _ChatEmbeddingRequests(OpenAIEndpointClient):
    """One chat-style embeddings request through the shared OpenAI client."""

    def _embed_message(self, image_url: str | None, text: str) -> tuple[list[float], dict[str, Any], str]:
        import openai
        from openai.types import CreateEmbeddingResponse

        self.warm_up()
        body = chat_embedding_body(self.model, image_url, text, self.dimensions)
        try:
            response = self._client.post("/embeddings", body=body, cast_to=CreateEmbeddingResponse)
        except openai.OpenAIError as exc:
            raise endpoint_error(exc, self._endpoint, self.model, self.max_retries) from exc
        vectors, usage = vectors_from_response(response, 1, self._endpoint)
        return truncated(vectors, self.truncate_dim, self._endpoint)[0], usage, response.model


def _check_common(
    timeout: float | None, max_retries: int, dimensions: int | None, truncate_dim: int | None
) -> None:
    check_endpoint_settings(1, timeout, max_retries)
    check_dimensions(dimensions)
    check_dimensions(truncate_dim, "truncate_dim")


@component
class OpenAIDocumentImageEmbedder(_ChatEmbeddingRequests):
    """Embeds image documents (their ``blob`` image) with a multimodal model behind an OpenAI-compatible
    chat-style ``/v1/embeddings`` endpoint (vLLM serving DSE-Qwen2, for example).

    One request per image, ``max_concurrency`` in flight (the server batches concurrent requests). The output
    holds copies of the input documents with ``embedding`` set (the image bytes are shared, not copied).

    Args:
        api_key: the API key (default: ``OPENAI_API_KEY`` when set; local servers need none).
        model: the model name the server knows.
        base_url: the server's API root, e.g. ``"http://vllm:8000/v1"``.
        prompt: the text sent with each image.
        dimensions: ask the server for shorter embeddings (models that support it).
        truncate_dim: cut longer vectors to this size and re-normalize (Matryoshka models such as DSE).
        max_concurrency: requests in flight at once.
        timeout: seconds to wait for one request.
        max_retries: retries with exponential backoff on connection errors, timeouts, 408/409/429/5xx.
        unix_socket: send HTTP over this UNIX domain socket instead of TCP.
    """

    _init_parameter_names = (
        "api_key",
        "model",
        "base_url",
        "prompt",
        "dimensions",
        "truncate_dim",
        "max_concurrency",
        "timeout",
        "max_retries",
        "unix_socket",
    )

    def __init__(
        self,
        api_key: Secret = Secret.from_env_var("OPENAI_API_KEY", strict=False),  # noqa: B008 - immutable
        *,
        model: str = _DEFAULT_VISION_MODEL,
        base_url: str | None = None,
        prompt: str = DSE_IMAGE_PROMPT,
        dimensions: int | None = None,
        truncate_dim: int | None = None,
        max_concurrency: int = 4,
        timeout: float | None = 60.0,
        max_retries: int = 3,
        unix_socket: str | None = None,
    ) -> None:
        _check_common(timeout, max_retries, dimensions, truncate_dim)
        if not isinstance(max_concurrency, int) or isinstance(max_concurrency, bool) or max_concurrency < 1:
            raise ComponentError(f"max_concurrency must be a positive integer, got {max_concurrency!r}.")
        self.api_key = api_key
        self.model = model
        self.base_url = base_url
        self.prompt = prompt
        self.dimensions = dimensions
        self.truncate_dim = truncate_dim
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.unix_socket = unix_socket
        self._init_client()

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """Embed the image of each document.

        Returns:
            ``{"documents": [...with embedding...], "meta": {"model": ..., "usage": {...}}}``

        Raises:
            TypeError: ``documents`` is not a list of Documents.
            ComponentError: a document holds no image (the message names it).
            EmbeddingEndpointError: the endpoint failed after the retries; the message names it.
        """
        check_documents_input(type(self).__name__, documents)
        urls = [self._image_url(doc) for doc in documents]
        if not urls:
            return {"documents": [], "meta": {"model": self.model, "usage": {}}}
        self.warm_up()
        workers = min(self.max_concurrency, len(urls))
        with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="image-embed") as pool:
            results = list(pool.map(lambda url: self._embed_message(url, self.prompt), urls))
        usage: dict[str, Any] = {}
        for _, used, _ in results:
            for key, value in used.items():
                if isinstance(value, int):
                    usage[key] = usage.get(key, 0) + value
        embedded = [
            dataclasses.replace(doc, embedding=vector)
            for doc, (vector, _, _) in zip(documents, results, strict=True)
        ]
        return {"documents": embedded, "meta": {"model": results[0][2], "usage": usage}}

    def _image_url(self, document: Document) -> str:
        try:
            return ImageContent.from_document(document).to_data_url()
        except ValueError as exc:
            raise ComponentError(f"{type(self).__name__}: {exc}") from None


@component
class OpenAIMultimodalTextEmbedder(_ChatEmbeddingRequests):
    """Embeds a text query for image search with the same multimodal model and chat-style protocol as
    :class:`OpenAIDocumentImageEmbedder`, so query and page vectors share one space.

    Args:
        api_key: the API key (default: ``OPENAI_API_KEY`` when set; local servers need none).
        model: the model name the server knows.
        base_url: the server's API root.
        prefix: put before the query (DSE models expect ``"Query: "``).
        placeholder_image: send a blank 56x56 image with the text (Qwen2-VL based models need one).
        dimensions: ask the server for shorter embeddings.
        truncate_dim: cut longer vectors to this size and re-normalize.
        timeout: seconds to wait for one request.
        max_retries: retries with exponential backoff.
        unix_socket: send HTTP over this UNIX domain socket instead of TCP.
    """

    _init_parameter_names = (
        "api_key",
        "model",
        "base_url",
        "prefix",
        "placeholder_image",
        "dimensions",
        "truncate_dim",
        "timeout",
        "max_retries",
        "unix_socket",
    )

    def __init__(
        self,
        api_key: Secret = Secret.from_env_var("OPENAI_API_KEY", strict=False),  # noqa: B008 - immutable
        *,
        model: str = _DEFAULT_VISION_MODEL,
        base_url: str | None = None,
        prefix: str = DSE_QUERY_PREFIX,
        placeholder_image: bool = True,
        dimensions: int | None = None,
        truncate_dim: int | None = None,
        timeout: float | None = 30.0,
        max_retries: int = 3,
        unix_socket: str | None = None,
    ) -> None:
        _check_common(timeout, max_retries, dimensions, truncate_dim)
        self.api_key = api_key
        self.model = model
        self.base_url = base_url
        self.prefix = prefix
        self.placeholder_image = placeholder_image
        self.dimensions = dimensions
        self.truncate_dim = truncate_dim
        self.timeout = timeout
        self.max_retries = max_retries
        self.unix_socket = unix_socket
        self._init_client()

    @component.output_types(embedding=list[float], meta=dict[str, Any])
    def run(self, text: str) -> dict[str, Any]:
        """Embed ``text``.

        Returns:
            ``{"embedding": list[float], "meta": {"model": ..., "usage": {...}}}``

        Raises:
            TypeError: ``text`` is not a string.
            EmbeddingEndpointError: the endpoint failed after the retries; the message names it.
        """
        check_text_input(type(self).__name__, text)
        image = placeholder_image_url() if self.placeholder_image else None
        vector, usage, model = self._embed_message(image, self.prefix + text)
        return {"embedding": vector, "meta": {"model": model, "usage": usage}}
