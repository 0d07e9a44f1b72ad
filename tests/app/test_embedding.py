"""Where embeddings come from: a remote OpenAI-compatible server, a UNIX socket, or the bundled model."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from haybale.app.embedding import build_document_embedder, build_text_embedder, expected_embedding_dimension
from haybale.app.settings import Settings
from haybale.components.embedders import (
    OpenAIDocumentEmbedder,
    OpenAITextEmbedder,
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)
from haybale.dataclasses import Document
from haybale.errors import ExternalServiceError
from haybale.testing.openai_compatible_server import OpenAICompatibleServer, create_openai_compatible_app


def _six_dimensions(texts: list[str]) -> list[list[float]]:
    return [[float(len(text)), 1.0, 2.0, 0.0, 0.0, 9.0] for text in texts]


@pytest.fixture
def socket_server() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="hb-"))  # short: UNIX socket paths are limited to ~107 bytes
    path = folder / "embeddings.sock"
    with OpenAICompatibleServer(
        create_openai_compatible_app(embedder=_six_dimensions), unix_socket=str(path)
    ):
        yield path


def test_local_model_by_default() -> None:
    settings = Settings.load({})
    assert isinstance(build_text_embedder(settings), SentenceTransformersTextEmbedder)
    assert isinstance(build_document_embedder(settings), SentenceTransformersDocumentEmbedder)
    assert expected_embedding_dimension(settings) == 384
    assert build_document_embedder(Settings.load({"HAYBALE_EMBED": "0"})) is None


def test_remote_server_from_vllm_base_url() -> None:
    with OpenAICompatibleServer(create_openai_compatible_app(embedder=_six_dimensions)) as server:
        base = server.base_url.removesuffix("/v1")  # Helix writes the server's root, without /v1
        settings = Settings.load({"VLLM_BASE_URL": base, "RAG_HAYSTACK_EMBEDDINGS_MODEL": "all-MiniLM-L6-v2"})
        embedder = build_text_embedder(settings)
        assert isinstance(embedder, OpenAITextEmbedder)
        assert embedder.run(text="abc")["embedding"] == [3.0, 1.0, 2.0, 0.0, 0.0, 9.0]
        embedder.close()
    assert expected_embedding_dimension(Settings.load({"VLLM_BASE_URL": "http://vllm:8000"})) == 1536


def test_the_helix_services_vllm_api_key_reaches_a_server_that_needs_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = create_openai_compatible_app(embedder=_six_dimensions, api_key="k-vllm")
    with OpenAICompatibleServer(app) as server:
        settings = Settings.load({"VLLM_BASE_URL": server.base_url, "RAG_HAYSTACK_EMBEDDINGS_MODEL": "m"})
        monkeypatch.delenv("HAYBALE_EMBEDDING_API_KEY", raising=False)
        monkeypatch.setenv("VLLM_API_KEY", "k-vllm")
        embedder = build_text_embedder(settings)
        assert embedder.run(text="abc")["embedding"][0] == 3.0
        embedder.close()
        monkeypatch.setenv("HAYBALE_EMBEDDING_API_KEY", "wrong")  # haybale's own variable wins
        refused = build_text_embedder(settings)
        with pytest.raises(ExternalServiceError, match=r"rejected the API key \(HTTP 401\)"):
            refused.run(text="abc")
        refused.close()


def test_unix_socket_embeddings_with_matryoshka_truncation(socket_server: Path) -> None:
    settings = Settings.load(
        {
            "HELIX_EMBEDDINGS_SOCKET": str(socket_server),
            "RAG_HAYSTACK_EMBEDDINGS_MODEL": "all-MiniLM-L6-v2",
            "RAG_HAYSTACK_EMBEDDINGS_DIM": "3",
        }
    )
    assert settings.embeddings_socket_in_use == socket_server
    embedder = build_document_embedder(settings)
    assert isinstance(embedder, OpenAIDocumentEmbedder) and embedder.unix_socket == str(socket_server)
    [document] = embedder.run(documents=[Document(content="abcd")])["documents"]
    head = [4.0, 1.0, 2.0]
    norm = math.sqrt(sum(x * x for x in head))
    assert document.embedding == pytest.approx([x / norm for x in head])  # cut to 3, re-normalized
    assert OpenAIDocumentEmbedder.from_dict(embedder.to_dict()).to_dict() == embedder.to_dict()
    embedder.close()


def test_a_dimension_larger_than_the_model_is_a_clear_error(socket_server: Path) -> None:
    from haybale.errors import ExternalServiceError

    settings = Settings.load(
        {"HELIX_EMBEDDINGS_SOCKET": str(socket_server), "RAG_HAYSTACK_EMBEDDINGS_DIM": "64"}
    )
    embedder = build_text_embedder(settings)
    with pytest.raises(ExternalServiceError, match="fewer than truncate_dim=64"):
        embedder.run(text="x")
    embedder.close()
