"""OpenAITextEmbedder / OpenAIDocumentEmbedder against a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from haybale.components.embedders import (
    EmbeddingEndpointError,
    OpenAIDocumentEmbedder,
    OpenAITextEmbedder,
    SentenceTransformersTextEmbedder,
)
from haybale.core.secret import Secret
from haybale.dataclasses import Document
from haybale.errors import ComponentError, SerializationError
from haybale.testing.openai_compatible_server import (
    FaultInjection,
    OpenAICompatibleServer,
    create_openai_compatible_app,
)

NO_KEY = Secret.from_env_var("HAYBALE_TEST_UNSET_KEY", strict=False)


def _constant_embedder(texts: list[str]) -> list[list[float]]:
    return [[float(len(text)), 1.0, 0.0, 0.0] for text in texts]


@pytest.fixture
def flaky_server(request: pytest.FixtureRequest) -> Iterator[tuple[OpenAICompatibleServer, FaultInjection]]:
    """A tiny server whose first N POSTs fail (N from the test's `faults` marker-free param via indirect)."""
    faults: FaultInjection = request.param
    app = create_openai_compatible_app(embedder=_constant_embedder, faults=faults)
    with OpenAICompatibleServer(app) as server:
        yield server, faults


# --- init and serialization -------------------------------------------------------------------------------


def test_text_embedder_round_trips_with_env_secret() -> None:
    embedder = OpenAITextEmbedder(
        api_key=Secret.from_env_var("MY_KEY", strict=False), base_url="http://h/v1", dimensions=64
    )
    data = embedder.to_dict()
    assert data["init_parameters"]["api_key"] == {"type": "env_var", "env_vars": ["MY_KEY"], "strict": False}
    loaded = OpenAITextEmbedder.from_dict(data)
    assert isinstance(loaded.api_key, Secret)
    assert loaded.to_dict() == data


def test_document_embedder_round_trips() -> None:
    embedder = OpenAIDocumentEmbedder(
        batch_size=7, meta_fields_to_embed=["title"], timeout=3.0, max_retries=1
    )
    data = embedder.to_dict()
    assert OpenAIDocumentEmbedder.from_dict(data).to_dict() == data


def test_token_secret_refuses_to_serialize() -> None:
    with pytest.raises(SerializationError):
        OpenAITextEmbedder(api_key=Secret.from_token("sk-secret")).to_dict()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"timeout": -1}, "timeout"),
        ({"max_retries": -2}, "max_retries"),
        ({"dimensions": 0}, "dimensions"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ComponentError, match=match):
        OpenAIDocumentEmbedder(**kwargs)  # type: ignore[arg-type]


def test_missing_strict_key_names_the_variable_and_the_no_key_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ComponentError, match=r"OPENAI_API_KEY.*strict=False"):
        OpenAITextEmbedder(base_url="http://127.0.0.1:1/v1").run(text="x")


# --- bad input ----------------------------------------------------------------------------------------------


def test_wrong_input_types_name_the_right_embedder() -> None:
    with pytest.raises(TypeError, match="OpenAIDocumentEmbedder"):
        OpenAITextEmbedder(api_key=NO_KEY).run(text=["a"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="OpenAITextEmbedder"):
        OpenAIDocumentEmbedder(api_key=NO_KEY).run(documents="a")  # type: ignore[arg-type]


# --- run against the real MiniLM-backed server ----------------------------------------------------------


@pytest.mark.slow
def test_text_embedder_matches_the_local_model(
    minilm_server: OpenAICompatibleServer, server_key: str
) -> None:
    remote = OpenAITextEmbedder(base_url=minilm_server.base_url, model="all-MiniLM-L6-v2")
    result = remote.run(text="Where is the Eiffel tower?")
    local = SentenceTransformersTextEmbedder().run(text="Where is the Eiffel tower?")["embedding"]
    assert result["embedding"] == pytest.approx(local, abs=1e-5)
    assert result["meta"]["model"] == "all-MiniLM-L6-v2"
    assert result["meta"]["usage"]["prompt_tokens"] == 5


@pytest.mark.slow
def test_dimensions_are_sent_and_honoured(minilm_server: OpenAICompatibleServer, server_key: str) -> None:
    remote = OpenAITextEmbedder(base_url=minilm_server.base_url, dimensions=32)
    embedding = remote.run(text="short vectors")["embedding"]
    assert len(embedding) == 32
    assert sum(x * x for x in embedding) == pytest.approx(1.0, rel=1e-4)


@pytest.mark.slow
def test_document_embedder_batches_and_keeps_order(
    minilm_server: OpenAICompatibleServer, server_key: str
) -> None:
    docs = [Document(content=f"document number {i}", meta={"title": f"T{i}"}) for i in range(7)]
    embedder = OpenAIDocumentEmbedder(
        base_url=minilm_server.base_url, batch_size=3, meta_fields_to_embed=["title"]
    )
    result = embedder.run(documents=docs)
    out = result["documents"]
    assert [d.id for d in out] == [d.id for d in docs]
    assert all(d.embedding is None for d in docs)
    local = SentenceTransformersTextEmbedder()
    for i in (0, 6):
        expected = local.run(text=f"T{i}\ndocument number {i}")["embedding"]
        assert out[i].embedding == pytest.approx(expected, abs=1e-5)
    assert result["meta"]["usage"]["prompt_tokens"] == 7 * 4


@pytest.mark.slow
async def test_run_async_uses_async_client(minilm_server: OpenAICompatibleServer, server_key: str) -> None:
    text = OpenAITextEmbedder(base_url=minilm_server.base_url)
    docs = OpenAIDocumentEmbedder(base_url=minilm_server.base_url, batch_size=2)
    sync = text.run(text="async path")["embedding"]
    assert (await text.run_async(text="async path"))["embedding"] == pytest.approx(sync, abs=1e-6)
    out = (
        await docs.run_async(documents=[Document(content="a"), Document(content="b"), Document(content="c")])
    )["documents"]
    assert [len(d.embedding) for d in out] == [384, 384, 384]


@pytest.mark.slow
def test_wrong_api_key_is_a_clear_error(minilm_server: OpenAICompatibleServer) -> None:
    embedder = OpenAITextEmbedder(api_key=Secret.from_token("wrong"), base_url=minilm_server.base_url)
    with pytest.raises(EmbeddingEndpointError, match=r"rejected the API key \(HTTP 401\)"):
        embedder.run(text="x")


@pytest.mark.slow
def test_server_side_refusal_is_reported(minilm_server: OpenAICompatibleServer, server_key: str) -> None:
    embedder = OpenAITextEmbedder(base_url=minilm_server.base_url, dimensions=1000, max_retries=0)
    with pytest.raises(EmbeddingEndpointError, match=r"refused the request \(HTTP 400\).*384"):
        embedder.run(text="x")


# --- retries, timeouts and unreachable endpoints -------------------------------------------------------


@pytest.mark.parametrize("flaky_server", [FaultInjection(fail_first=2, status_code=503)], indirect=True)
def test_retries_recover_from_transient_failures(
    flaky_server: tuple[OpenAICompatibleServer, FaultInjection],
) -> None:
    server, faults = flaky_server
    embedder = OpenAITextEmbedder(api_key=NO_KEY, base_url=server.base_url, max_retries=2)
    assert embedder.run(text="abc")["embedding"] == [3.0, 1.0, 0.0, 0.0]
    assert faults.requests_seen == 3


@pytest.mark.parametrize("flaky_server", [FaultInjection(fail_first=5, status_code=429)], indirect=True)
def test_exhausted_retries_name_the_endpoint_and_the_fix(
    flaky_server: tuple[OpenAICompatibleServer, FaultInjection],
) -> None:
    server, faults = flaky_server
    embedder = OpenAIDocumentEmbedder(api_key=NO_KEY, base_url=server.base_url, max_retries=2)
    with pytest.raises(EmbeddingEndpointError) as info:
        embedder.run(documents=[Document(content="x")])
    message = str(info.value)
    assert f"{server.base_url}/embeddings" in message
    assert "HTTP 429" in message and "after 2 retries" in message and "max_retries" in message
    assert faults.requests_seen == 3


@pytest.mark.parametrize(
    "flaky_server", [FaultInjection(fail_first=1, status_code=500, retry_after_ms=None)], indirect=True
)
def test_backoff_waits_between_attempts_without_retry_header(
    flaky_server: tuple[OpenAICompatibleServer, FaultInjection],
) -> None:
    server, faults = flaky_server
    embedder = OpenAITextEmbedder(api_key=NO_KEY, base_url=server.base_url, max_retries=1)
    started = time.perf_counter()
    embedder.run(text="ab")
    assert time.perf_counter() - started >= 0.3  # client backoff: 0.5 s minus at most 25 % jitter
    assert faults.requests_seen == 2


@pytest.mark.parametrize("flaky_server", [FaultInjection(stall_first=1, stall_s=1.5)], indirect=True)
def test_timeout_then_retry_succeeds(flaky_server: tuple[OpenAICompatibleServer, FaultInjection]) -> None:
    server, faults = flaky_server
    embedder = OpenAITextEmbedder(api_key=NO_KEY, base_url=server.base_url, timeout=0.3, max_retries=1)
    assert embedder.run(text="a")["embedding"][0] == 1.0
    assert faults.requests_seen == 2


@pytest.mark.parametrize("flaky_server", [FaultInjection(stall_first=10, stall_s=1.5)], indirect=True)
def test_timeouts_after_retries_are_reported(
    flaky_server: tuple[OpenAICompatibleServer, FaultInjection],
) -> None:
    server, _ = flaky_server
    embedder = OpenAITextEmbedder(api_key=NO_KEY, base_url=server.base_url, timeout=0.2, max_retries=0)
    with pytest.raises(EmbeddingEndpointError, match=r"timed out after 0 retries.*timeout"):
        embedder.run(text="a")


def test_closed_port_is_reported_with_the_endpoint(closed_port_url: str) -> None:
    embedder = OpenAITextEmbedder(api_key=NO_KEY, base_url=closed_port_url, max_retries=0, timeout=2)
    with pytest.raises(EmbeddingEndpointError, match=rf"{closed_port_url}/embeddings could not be reached"):
        embedder.run(text="x")


async def test_closed_port_async_is_reported(closed_port_url: str) -> None:
    embedder = OpenAIDocumentEmbedder(api_key=NO_KEY, base_url=closed_port_url, max_retries=0, timeout=2)
    with pytest.raises(EmbeddingEndpointError, match="could not be reached"):
        await embedder.run_async(documents=[Document(content="x")])
