"""Fixtures for embedder tests: a real OpenAI-compatible HTTP server backed by the bundled MiniLM model."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from haybale.testing.openai_compatible_server import (
    OpenAICompatibleServer,
    create_openai_compatible_app,
    sentence_transformers_embedding_function,
)

SERVER_API_KEY = "test-key-123"


@pytest.fixture(scope="session")
def minilm_server() -> Iterator[OpenAICompatibleServer]:
    """An OpenAI-compatible server on 127.0.0.1 serving /v1/embeddings from the local MiniLM model.

    It requires the API key ``SERVER_API_KEY`` so tests exercise real bearer authentication.
    """
    app = create_openai_compatible_app(
        embedder=sentence_transformers_embedding_function(), api_key=SERVER_API_KEY
    )
    with OpenAICompatibleServer(app) as server:
        yield server


@pytest.fixture
def server_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """Put the test server's key in OPENAI_API_KEY, where the embedders' default Secret reads it."""
    monkeypatch.setenv("OPENAI_API_KEY", SERVER_API_KEY)
    return SERVER_API_KEY


@pytest.fixture
def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens (the port was bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
