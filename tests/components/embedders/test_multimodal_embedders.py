"""OpenAIDocumentImageEmbedder / OpenAIMultimodalTextEmbedder against a real HTTP double of vLLM's chat-style
embeddings protocol (a DSE-Qwen2 server is a GPU away)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from haybale.components.converters import ImageFileToImages
from haybale.components.embedders import (
    EmbeddingEndpointError,
    OpenAIDocumentImageEmbedder,
    OpenAIMultimodalTextEmbedder,
)
from haybale.components.embedders.openai_multimodal_embedders import DSE_IMAGE_PROMPT, DSE_QUERY_PREFIX
from haybale.dataclasses import ByteStream, Document
from haybale.errors import ComponentError
from haybale.testing.multimodal_embedding_server import create_multimodal_embedding_app, ocr_word_embedder
from haybale.testing.openai_compatible_server import OpenAICompatibleServer
from haybale.testing.sample_files import text_image


@pytest.fixture(scope="module")
def vision_server() -> Iterator[tuple[OpenAICompatibleServer, object]]:
    app = create_multimodal_embedding_app(ocr_word_embedder(ignore=(DSE_IMAGE_PROMPT, DSE_QUERY_PREFIX)))
    with OpenAICompatibleServer(app) as server:
        yield server, app


def test_init_validation_and_round_trip() -> None:
    with pytest.raises(ComponentError, match="max_concurrency"):
        OpenAIDocumentImageEmbedder(max_concurrency=0)
    with pytest.raises(ComponentError, match="truncate_dim"):
        OpenAIMultimodalTextEmbedder(truncate_dim=0)
    for embedder in (
        OpenAIDocumentImageEmbedder(base_url="http://vllm:8000/v1", truncate_dim=1536, max_concurrency=2),
        OpenAIMultimodalTextEmbedder(base_url="http://vllm:8000/v1", prefix="Q: ", placeholder_image=False),
    ):
        data = embedder.to_dict()
        assert type(embedder).from_dict(data).to_dict() == data
        assert data["init_parameters"]["api_key"]["type"] == "env_var"


@pytest.mark.slow
def test_text_query_finds_the_image_that_shows_it(vision_server) -> None:
    server, app = vision_server
    pages = ImageFileToImages().run(
        sources=[
            ByteStream(text_image(["Tractor maintenance schedule"]), meta={"file_name": "a.png"}),
            ByteStream(text_image(["Milk production in spring"]), meta={"file_name": "b.png"}),
        ]
    )["documents"]
    embedder = OpenAIDocumentImageEmbedder(base_url=server.base_url, model="dse", truncate_dim=128)
    result = embedder.run(documents=pages)
    vectors = [doc.embedding for doc in result["documents"]]
    assert all(v is not None and len(v) == 128 for v in vectors)
    assert result["documents"][0].blob.data is pages[0].blob.data and pages[0].embedding is None
    assert result["meta"]["usage"]["prompt_tokens"] > 0
    query = OpenAIMultimodalTextEmbedder(base_url=server.base_url, model="dse", truncate_dim=128)
    embedding = query.run(text="milk production")["embedding"]
    scores = [sum(a * b for a, b in zip(embedding, v, strict=True)) for v in vectors]
    assert scores[1] > scores[0]
    # the wire format: images with the DSE prompt, queries prefixed with a placeholder image
    assert app.state.requests[0] == {"has_image": True, "text": DSE_IMAGE_PROMPT}
    assert app.state.requests[-1] == {"has_image": True, "text": "Query: milk production"}


def test_bad_input_and_endpoint_errors(vision_server) -> None:
    server, _ = vision_server
    embedder = OpenAIDocumentImageEmbedder(base_url=server.base_url)
    with pytest.raises(ComponentError, match="holds no image"):
        embedder.run(documents=[Document(content="only text")])
    with pytest.raises(TypeError, match="list of Document"):
        embedder.run(documents="not documents")  # type: ignore[arg-type]
    unreachable = OpenAIMultimodalTextEmbedder(base_url="http://127.0.0.1:9/v1", max_retries=0, timeout=2)
    with pytest.raises(EmbeddingEndpointError, match="could not be reached"):
        unreachable.run(text="x")
    assert embedder.run(documents=[])["documents"] == []
