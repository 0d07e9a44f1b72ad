"""`haybale ask`: hybrid retrieval, a streamed answer (scripted server or SmolLM2) and numbered sources."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from haybale.cli.ask_cmd import register
from haybale.dataclasses import ChatMessage, Document
from haybale.rag import build_rag_pipeline, chat_generator_from_env
from haybale.stores.url import open_store_url
from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend

DOCUMENTS = [
    Document(
        content="The Eiffel Tower in Paris was finished in 1889.",
        meta={"file_name": "paris.pdf", "page_number": 3},
    ),
    Document(content="Bees make honey from the nectar of flowers.", meta={"file_name": "bees.txt"}),
    Document(content="Hay is dried grass stored as fodder for cattle.", meta={"file_name": "hay.md"}),
]


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """haybale (test app)."""

    register(app)
    return app


@pytest.fixture(scope="module")
def indexed_store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from haybale.components.embedders import SentenceTransformersDocumentEmbedder

    url = f"sqlite:///{tmp_path_factory.mktemp('ask') / 'index.db'}"
    embedder = SentenceTransformersDocumentEmbedder(progress_bar=False)
    embedder.warm_up()
    open_store_url(url).store.write_documents(embedder.run(documents=list(DOCUMENTS))["documents"])
    yield url


def _answer_citing_the_first_source(messages: list[ChatMessage], tools: object) -> ChatMessage:
    prompt = messages[-1].text or ""
    first = prompt.split("[1] ", 1)[1].split("\n", 1)[0] if "[1] " in prompt else ""
    return ChatMessage.from_assistant(f"From the sources: {first} [1]")


def test_empty_store_is_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert open_store_url(url).store.count_documents() == 0  # creates an empty index
    result = CliRunner().invoke(_app(), ["ask", "What is hay?", "--store", url])
    assert result.exit_code == 1, result.output
    assert "is empty" in result.output and "haybale index" in result.output


def test_missing_index_and_bad_options(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["ask", "q", "--store", f"sqlite:///{tmp_path / 'absent.db'}"])
    assert result.exit_code == 2
    result = CliRunner().invoke(_app(), ["ask", "q", "--top-k", "0"])
    assert result.exit_code == 2
    result = CliRunner().invoke(_app(), ["ask", "   "])
    assert result.exit_code == 2 and "question is empty" in result.output


def test_chat_generator_from_env_picks_local_or_remote() -> None:
    from haybale.components.generators import LlamaCppChatGenerator, OpenAIChatGenerator

    assert isinstance(chat_generator_from_env({}), LlamaCppChatGenerator)
    remote = chat_generator_from_env({"HAYBALE_LLM_BASE_URL": "http://h:1/v1", "HAYBALE_LLM_MODEL": "qwen"})
    assert isinstance(remote, OpenAIChatGenerator)
    assert (remote.base_url, remote.model) == ("http://h:1/v1", "qwen")
    assert remote.api_key.to_dict()["env_vars"] == ["HAYBALE_LLM_API_KEY"]


def test_examples_rag_yaml_matches_the_shared_factory() -> None:
    from haybale.core.pipeline import Pipeline

    example = Pipeline.load(Path(__file__).parents[2] / "examples" / "rag.yaml")
    built = build_rag_pipeline(example.get_component("retriever").document_store)
    assert example.to_dict() == built.to_dict()


@pytest.mark.slow
def test_ask_streams_the_answer_and_numbered_sources(
    indexed_store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = ScriptedChatBackend([_answer_citing_the_first_source])
    with serve_chat_backend(backend) as server:
        monkeypatch.setenv("HAYBALE_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("HAYBALE_LLM_MODEL", "scripted")
        result = CliRunner().invoke(
            _app(),
            ["ask", "When was the Eiffel Tower finished?", "--store", indexed_store_url, "--top-k", "2"],
        )
    assert result.exit_code == 0, result.output
    assert "From the sources: The Eiffel Tower in Paris was finished in 1889. [1]" in result.output
    assert "paris.pdf" in result.output and "[1]" in result.output and "[n]" in result.output
    assert "│    3 │" in result.output  # the page column
    prompt = backend.requests[0]["messages"][-1].text
    assert "[1] The Eiffel Tower" in prompt and "Question: When was the Eiffel Tower finished?" in prompt
    assert prompt.count("\n[") == 2 and "[3]" not in prompt  # --top-k 2: two numbered sources
    assert "SmolLM2" not in result.output  # a real model is configured: no tiny-model warning


@pytest.mark.slow
def test_ask_with_an_endpoint_that_is_down(indexed_store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HAYBALE_LLM_BASE_URL", f"http://127.0.0.1:{port}/v1")
    result = CliRunner().invoke(_app(), ["ask", "What is hay?", "--store", indexed_store_url])
    assert result.exit_code == 1
    assert f"127.0.0.1:{port}" in result.output and "HAYBALE_LLM_BASE_URL" in result.output


@pytest.mark.slow
def test_ask_with_the_local_smollm2(indexed_store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HAYBALE_LLM_BASE_URL", raising=False)
    result = CliRunner().invoke(_app(), ["ask", "What is hay?", "--store", indexed_store_url, "--top-k", "2"])
    assert result.exit_code == 0, result.output
    answer = result.output.split("Answer:", 1)[1].split("Sources", 1)[0]
    assert answer.strip()
    assert "hay.md" in result.output
    assert "SmolLM2-135M" in result.output and "HAYBALE_LLM_BASE_URL" in result.output


@pytest.mark.slow
def test_examples_rag_yaml_runs_with_haybale_pipeline_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from haybale.cli.main import app
    from haybale.components.embedders import SentenceTransformersDocumentEmbedder

    monkeypatch.chdir(tmp_path)  # the YAML reads the default index, .haybale/index.db, relative to the CWD
    embedder = SentenceTransformersDocumentEmbedder(progress_bar=False)
    open_store_url("sqlite:///.haybale/index.db").store.write_documents(
        embedder.run(documents=list(DOCUMENTS))["documents"]
    )
    example = Path(__file__).parents[2] / "examples" / "rag.yaml"
    result = CliRunner().invoke(
        app, ["pipeline", "run", str(example), "--input", json.dumps({"query": "What is hay?"})]
    )
    assert result.exit_code == 0, result.output
    assert '"answers"' in result.output and "hay.md" in result.output
