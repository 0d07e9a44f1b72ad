"""Served YAML pipelines as OpenAI chat models, through the real ``openai`` client over real HTTP: listed by
``/v1/models`` when a conversation can feed them, answered (streaming or not) for the caller's tenant only,
refused with the inputs they need otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from haybale.dataclasses import ChatMessage
from haybale.service import ServiceSettings

from .conftest import BM25_PIPELINE, CORPUS, RunningService, running_service, upload

A = {"Authorization": "Bearer key-a"}
B = {"Authorization": "Bearer key-b"}


def _reply(messages: list[ChatMessage], tools: Any) -> ChatMessage:
    """Echoes what the pipeline sent, so a test sees what reached the model."""
    return ChatMessage.from_assistant(f"{len(messages)} messages; last: {messages[-1].text}")


PIPELINES = {
    "assistant": """
components:
  llm:
    type: haybale.components.generators.openai_chat.OpenAIChatGenerator
    init_parameters:
      api_key: {{type: env_var, env_vars: [HAYBALE_TEST_CHAT_KEY], strict: true}}
      model: scripted
      base_url: {chat_url}
connections: []
""",
    "notes": BM25_PIPELINE.replace("{path}", "{db}"),
    "writer": """
components:
  writer:
    type: haybale.components.writers.document_writer.DocumentWriter
    init_parameters:
      document_store:
        type: haybale.stores.sqlite.SQLiteDocumentStore
        init_parameters: {{path: "{db}"}}
connections: []
""",
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend

    folder = tmp_path_factory.mktemp("chat-pipelines")
    db = folder / "index.db"
    pipelines = folder / "pipelines"
    pipelines.mkdir()
    with (
        pytest.MonkeyPatch.context() as patch,
        serve_chat_backend(ScriptedChatBackend([_reply]), model_name="scripted") as chat,
    ):
        patch.setenv("HAYBALE_TEST_CHAT_KEY", "test-key")
        for name, text in PIPELINES.items():
            (pipelines / f"{name}.yaml").write_text(text.format(db=db, chat_url=chat.base_url))
        settings = ServiceSettings(
            store_url=f"sqlite:///{db}",
            api_keys={"key-a": "tenant-a", "key-b": "tenant-b"},
            pipelines_dir=pipelines,
            llm_base_url=chat.base_url,
            llm_model="scripted",
        )
        with running_service(settings) as running:
            assert upload(running, CORPUS / "bm25_explained.md", headers=A).status_code == 200
            yield running


def _client(service: RunningService, headers: dict[str, str]) -> Any:
    import openai

    return openai.OpenAI(
        base_url=f"{service.url}/v1", api_key=headers["Authorization"].split()[1], max_retries=0
    )


def test_models_list_the_pipelines_a_conversation_can_feed(service: RunningService) -> None:
    ids = [model.id for model in _client(service, A).models.list()]
    assert ids == ["haybale-rag", "assistant", "notes"]  # "writer" needs documents, not a conversation


def test_a_chat_pipeline_gets_the_whole_conversation(service: RunningService) -> None:
    completion = _client(service, A).chat.completions.create(
        model="assistant",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi!"},
            {"role": "user", "content": "What is hay?"},
        ],
    )
    assert completion.model == "assistant"
    assert completion.choices[0].message.content == "4 messages; last: What is hay?"
    assert completion.choices[0].finish_reason == "stop"


def test_a_chat_pipeline_streams(service: RunningService) -> None:
    stream = _client(service, A).chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": "Stream please"}], stream=True
    )
    pieces = [choice.delta.content or "" for chunk in stream for choice in chunk.choices]
    assert "".join(pieces) == "1 messages; last: Stream please"


def test_a_search_pipeline_answers_from_the_callers_documents_only(service: RunningService) -> None:
    question = [{"role": "user", "content": "How does BM25 rank documents?"}]
    mine = _client(service, A).chat.completions.with_raw_response.create(model="notes", messages=question)
    sources = mine.http_response.json()["sources"]
    assert sources and all(s["metadata"]["file_name"] == "bm25_explained.md" for s in sources)
    theirs = _client(service, B).chat.completions.with_raw_response.create(model="notes", messages=question)
    assert theirs.http_response.json()["sources"] == []
    # Streaming runs in the caller's scope too.
    streamed = service.client.post(
        "/v1/chat/completions", json={"model": "notes", "messages": question, "stream": True}, headers=B
    )
    assert streamed.status_code == 200 and "bm25" not in streamed.text.lower()


def test_pipelines_a_conversation_cannot_feed_are_refused_with_their_needs(service: RunningService) -> None:
    import openai

    with pytest.raises(openai.UnprocessableEntityError, match=r"writer\.documents"):
        _client(service, A).chat.completions.create(
            model="writer", messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(openai.NotFoundError, match="Models served"):
        _client(service, A).chat.completions.create(
            model="no-such-pipeline", messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(openai.UnprocessableEntityError, match="role 'tool'"):
        _client(service, A).chat.completions.create(
            model="assistant",
            messages=[{"role": "tool", "content": "42", "tool_call_id": "c1"}],  # type: ignore[list-item]
        )
