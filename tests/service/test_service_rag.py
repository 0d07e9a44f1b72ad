"""Model-backed service tests over real HTTP: hybrid /query with MiniLM embeddings, tenant isolation of
queries, and the OpenAI-compatible chat routes through the real ``openai`` client (streaming included).

The chat model is a scripted OpenAI-compatible server (the real protocol, deterministic replies) reached
through the service's LLM settings; one test uses the local SmolLM2 model end to end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from haybale.dataclasses import ChatMessage
from haybale.service import ServiceSettings

from .conftest import CORPUS, RunningService, running_service, upload

pytestmark = pytest.mark.slow

ALPHA = {"Authorization": "Bearer key-alpha"}
BETA = {"Authorization": "Bearer key-beta"}
SCRIPTED_ANSWER = "BM25 ranks documents by term frequency and rarity [1]."


@pytest.fixture(scope="module")
def chat_backend() -> Iterator[tuple[Any, str]]:
    from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend

    backend = ScriptedChatBackend([ChatMessage.from_assistant(SCRIPTED_ANSWER)])
    with serve_chat_backend(backend, model_name="scripted") as server:
        yield backend, server.base_url


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, chat_backend: tuple[Any, str]
) -> Iterator[RunningService]:
    folder = tmp_path_factory.mktemp("service-rag")
    settings = ServiceSettings(
        store_url=f"sqlite:///{folder / 'index.db'}",
        api_keys={"key-alpha": "alpha", "key-beta": "beta"},
        metrics_api_key="key-operator",
        llm_base_url=chat_backend[1],
        llm_model="scripted",
        split_by="word",
        chunk_size=80,
        chunk_overlap=10,
    )
    with running_service(settings) as running:
        for name in ("glossary.txt", "bm25_explained.md", "vector_search.pdf"):
            response = upload(running, CORPUS / name, headers=ALPHA)
            assert response.status_code == 200, response.text
        assert upload(running, CORPUS / "weather_and_hay.txt", headers=BETA).status_code == 200
        yield running


def _openai_client(service: RunningService, headers: dict[str, str]) -> Any:
    import openai

    return openai.OpenAI(
        base_url=f"{service.url}/v1", api_key=headers["Authorization"].split()[1], max_retries=0
    )


def test_chunks_are_embedded(service: RunningService) -> None:
    chunks = service.state.store.filter_documents(
        {"field": "meta.tenant", "operator": "==", "value": "alpha"}
    )
    assert chunks and all(c.embedding is not None and len(c.embedding) == 384 for c in chunks)


def test_query_returns_relevant_chunks_with_scores(service: RunningService) -> None:
    body = {"query": "How does BM25 rank documents using term frequency?", "top_k": 3}
    response = service.client.post("/query", json=body, headers=ALPHA)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert 1 <= len(results) <= 3
    assert results[0]["metadata"]["file_name"] == "bm25_explained.md"
    assert all(r["score"] is not None and r["content"] for r in results)
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


def test_query_with_filter(service: RunningService) -> None:
    filters = {"field": "meta.file_name", "operator": "==", "value": "vector_search.pdf"}
    response = service.client.post("/query", json={"query": "embeddings", "filters": filters}, headers=ALPHA)
    assert response.status_code == 200
    results = response.json()["results"]
    assert results and {r["metadata"]["file_name"] for r in results} == {"vector_search.pdf"}


def test_query_never_returns_another_tenants_chunks(service: RunningService) -> None:
    body = {"query": "rain and weather while drying hay", "top_k": 20}
    as_alpha = service.client.post("/query", json=body, headers=ALPHA).json()["results"]
    alpha_ids = {
        d.id.removeprefix("alpha::") for d in service.state.store.filter_documents({"tenant": "alpha"})
    }
    assert as_alpha and {r["id"] for r in as_alpha} <= alpha_ids
    as_beta = service.client.post("/query", json=body, headers=BETA).json()["results"]
    assert {r["metadata"]["file_name"] for r in as_beta} == {"weather_and_hay.txt"}
    sneaky = {**body, "filters": {"field": "meta.tenant", "operator": "==", "value": "beta"}}
    assert service.client.post("/query", json=sneaky, headers=ALPHA).json()["results"] == []


def test_query_needs_a_key(service: RunningService) -> None:
    assert service.client.post("/query", json={"query": "hay"}).status_code == 401


def test_models_list(service: RunningService) -> None:
    client = _openai_client(service, ALPHA)
    assert [m.id for m in client.models.list()] == ["haybale-rag"]


def test_chat_completion_answers_from_the_callers_documents(
    service: RunningService, chat_backend: tuple[Any, str]
) -> None:
    backend = chat_backend[0]
    client = _openai_client(service, ALPHA)
    completion = client.chat.completions.create(
        model="haybale-rag",
        messages=[{"role": "user", "content": "How does BM25 rank documents?"}],
        max_tokens=32,
    )
    assert completion.choices[0].message.content == SCRIPTED_ANSWER
    assert completion.choices[0].finish_reason == "stop"
    prompt = "\n".join(m.text or "" for m in backend.requests[-1]["messages"])
    assert "How does BM25 rank documents?" in prompt
    assert "BM25" in prompt.split("Question:")[0]  # retrieved sources precede the question
    assert backend.requests[-1]["kwargs"].get("max_tokens") == 32


def test_chat_sources_show_the_metadata_query_shows(service: RunningService) -> None:
    question = "How does BM25 rank documents?"
    completion = _openai_client(service, ALPHA).chat.completions.create(
        model="haybale-rag", messages=[{"role": "user", "content": question}]
    )
    sources = completion.model_extra["sources"]
    results = service.client.post("/query", json={"query": question}, headers=ALPHA).json()["results"]
    assert sources and results
    assert {key for s in sources for key in s["metadata"]} == {key for r in results for key in r["metadata"]}
    assert not any(key.startswith("_") or key == "tenant" for s in sources for key in s["metadata"])


def test_chat_completion_streams_sse(service: RunningService, chat_backend: tuple[Any, str]) -> None:
    client = _openai_client(service, BETA)
    stream = client.chat.completions.create(
        model="haybale-rag",
        messages=[{"role": "user", "content": "Does rain harm drying hay?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, finish, usage = [], None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    assert "".join(pieces) == SCRIPTED_ANSWER
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens > 0
    prompt = "\n".join(m.text or "" for m in chat_backend[0].requests[-1]["messages"])
    assert "BM25" not in prompt  # beta's prompt holds beta's documents only


def test_raw_sse_wire_format(service: RunningService) -> None:
    body = {
        "model": "haybale-rag",
        "stream": True,
        "messages": [{"role": "user", "content": "What is BM25?"}],
    }
    with service.client.stream("POST", "/v1/chat/completions", json=body, headers=ALPHA) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    events = [e for e in text.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"


def test_unknown_model_and_empty_conversation(service: RunningService) -> None:
    import openai

    client = _openai_client(service, ALPHA)
    with pytest.raises(openai.NotFoundError, match="haybale-rag"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    body = {"model": "haybale-rag", "messages": [{"role": "system", "content": "be brief"}]}
    response = service.client.post("/v1/chat/completions", json=body, headers=ALPHA)
    assert response.status_code == 422


def test_metrics_count_indexed_chunks(service: RunningService) -> None:
    text = service.client.get("/metrics", headers={"Authorization": "Bearer key-operator"}).text
    indexed = next(line for line in text.splitlines() if line.startswith("haybale_documents_indexed_total "))
    assert int(indexed.split()[1]) == service.count()
    assert 'route="/v1/chat/completions",status="200"' in text


def test_chat_with_the_local_smollm2_model(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("service-smollm")
    settings = ServiceSettings(store_url=f"sqlite:///{folder / 'index.db'}")
    with running_service(settings) as running:
        assert upload(running, CORPUS / "glossary.txt").status_code == 200
        import openai

        client = openai.OpenAI(base_url=f"{running.url}/v1", api_key="unused", max_retries=0)
        messages: Any = [{"role": "user", "content": "What is a bale?"}]
        completion = client.chat.completions.create(model="haybale-rag", messages=messages, max_tokens=8)
        assert completion.choices[0].message.content
        assert completion.usage is not None
        assert 0 < completion.usage.completion_tokens <= 8
        stream = client.chat.completions.create(
            model="haybale-rag", messages=messages, max_tokens=8, stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text.strip()


def test_a_failing_chat_model_is_the_services_failure_not_the_clients(tmp_path: Any) -> None:
    import openai

    from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend
    from haybale.testing.openai_compatible_server import FaultInjection

    from .conftest import free_port

    question = [{"role": "user", "content": "How is hay dried?"}]
    down = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens: a retry later may succeed
    backend = ScriptedChatBackend([ChatMessage.from_assistant("never")])
    failing = FaultInjection(fail_first=100, status_code=500)
    with (
        serve_chat_backend(backend, faults=failing) as erroring,
        serve_chat_backend(backend, api_key="the-right-key") as locked,
    ):
        # the service's own LLM settings are wrong: its operator must fix them, a retry will not help
        for base_url, status in ((down, 503), (erroring.base_url, 503), (locked.base_url, 500)):
            settings = ServiceSettings(
                store_url=f"sqlite:///{tmp_path / 'index.db'}", llm_base_url=base_url, llm_model="m"
            )
            with running_service(settings) as running:
                client = openai.OpenAI(base_url=f"{running.url}/v1", api_key="none", max_retries=0)
                with pytest.raises(openai.APIStatusError) as info:
                    client.chat.completions.create(model="haybale-rag", messages=question)
                assert info.value.status_code == status, (base_url, info.value.message)
                assert "your request was fine" in info.value.message
