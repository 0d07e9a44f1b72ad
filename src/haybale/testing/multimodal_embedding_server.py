"""A test double of vLLM serving a multimodal embedding model (DSE-Qwen2 style), over real HTTP.

It speaks the chat-style embeddings protocol exactly: ``POST /v1/embeddings`` with ``model``, ``messages``
(one user message whose content parts are an ``image_url`` holding a ``data:image/...;base64,`` URL and a
``text``) and ``encoding_format``; one embedding comes back in OpenAI's response shape. Malformed requests get
OpenAI-shaped 400 errors, as vLLM answers them. Run it with
:class:`~haybale.testing.openai_compatible_server.OpenAICompatibleServer`.

The "model" is whatever function the test passes. :func:`ocr_word_embedder` is a useful one: it reads the text
in the image with haybale's OCR and embeds the words (hashed bag of words), so a text query finds the image
whose text it mentions, as a real vision embedding model would.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import math
import re
from collections.abc import Callable
from typing import Any

from haybale.errors import optional_dependency
from haybale.testing.openai_compatible_server import openai_error_response

__all__ = ["MultimodalEmbeddingFunction", "create_multimodal_embedding_app", "ocr_word_embedder"]

#: (image bytes or None, text) -> one vector.
MultimodalEmbeddingFunction = Callable[[bytes | None, str], list[float]]

_DATA_URL = re.compile(r"^data:(image/[a-z0-9.+-]+);base64,(.*)$", re.DOTALL)


def _parse_message(body: Any) -> tuple[bytes | None, str, str] | str:  # noqa: PLR0911 - one per check
    """(image bytes, text, model) from a chat-style request, or the error message vLLM-like servers give."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return "'model' is required and must be a non-empty string."
    if "input" in body:
        return "This multimodal model takes 'messages' (chat-style content: image_url and text), not 'input'."
    messages = body.get("messages")
    if not isinstance(messages, list) or len(messages) != 1 or not isinstance(messages[0], dict):
        return "'messages' must be a list holding one user message."
    message = messages[0]
    if message.get("role") != "user" or not isinstance(message.get("content"), list):
        return "The message must have role 'user' and a list of content parts."
    if body.get("encoding_format", "float") != "float":
        return "Only encoding_format 'float' is supported for chat-style embeddings."
    content = _parse_content(message["content"])
    if isinstance(content, str):
        return content
    return content[0], content[1], model


def _parse_content(parts: list[Any]) -> tuple[bytes | None, str] | str:
    """(image bytes, joined text) of a message's content parts, or an error message."""
    image: bytes | None = None
    texts: list[str] = []
    for part in parts:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url" and isinstance(part.get("image_url"), dict):
            if image is not None:
                return "At most one image per message is supported."
            match = _DATA_URL.match(str(part["image_url"].get("url", "")))
            if match is None:
                return "image_url.url must be a data:image/...;base64,... URL."
            try:
                image = base64.b64decode(match.group(2), validate=True)
            except (binascii.Error, ValueError):
                return "image_url.url holds invalid base64."
        else:
            return f"Unsupported content part {part!r}: use {{'type': 'text'}} or {{'type': 'image_url'}}."
    return image, " ".join(texts)


def create_multimodal_embedding_app(embed: MultimodalEmbeddingFunction) -> Any:
    """The FastAPI app serving ``POST /v1/embeddings`` (chat-style) with ``embed`` as the model."""
    with optional_dependency("fastapi", extra="service", feature="The multimodal test server"):
        from fastapi import FastAPI
        from fastapi.responses import JSONResponse
    app = FastAPI(title="haybale multimodal embedding test server")
    app.state.requests = []

    async def create_embeddings(request: Any) -> Any:
        try:
            body = await request.json()
        except ValueError:
            return openai_error_response(400, "The request body is not valid JSON.", "invalid_request_error")
        parsed = _parse_message(body)
        if isinstance(parsed, str):
            return openai_error_response(400, parsed, "BadRequestError")
        image, text, model = parsed
        app.state.requests.append({"has_image": image is not None, "text": text})
        vector = await asyncio.to_thread(embed, image, text)
        tokens = len(text.split()) + (64 if image is not None else 0)
        return JSONResponse(
            {
                "object": "list",
                "model": model,
                "data": [{"object": "embedding", "index": 0, "embedding": vector}],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    app.router.add_route("/v1/embeddings", create_embeddings, methods=["POST"])
    return app


def _hashed_words(words: list[str], dimension: int) -> list[float]:
    vector = [0.0] * dimension
    for word in words:
        slot = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little") % dimension
        vector[slot] += 1.0
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0:
        vector[0] = 1.0  # a page without text still gets a valid unit vector
        return vector
    return [v / norm for v in vector]


def ocr_word_embedder(dimension: int = 256, ignore: tuple[str, ...] = ()) -> MultimodalEmbeddingFunction:
    """A stand-in multimodal model: the words of the image (read by OCR) and of the text, as a hashed bag of
    words of ``dimension`` values. Phrases in ``ignore`` (the image prompt, the query prefix) are dropped."""
    from PIL import Image

    from haybale.components.converters.ocr_engine import get_ocr_engine

    def embed(image: bytes | None, text: str) -> list[float]:
        for phrase in ignore:
            text = text.replace(phrase, " ")
        words = re.findall(r"[a-z0-9]+", text.lower())
        if image is not None:
            import io

            with Image.open(io.BytesIO(image)) as picture:
                words += re.findall(r"[a-z0-9]+", get_ocr_engine().recognize(picture).text.lower())
        return _hashed_words(words, dimension)

    return embed
