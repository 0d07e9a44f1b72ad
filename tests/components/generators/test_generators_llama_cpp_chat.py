"""LlamaCppChatGenerator with the real SmolLM2-135M GGUF, and context-window fitting."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from haybale.components.generators import LlamaCppChatGenerator, default_gguf_model_path
from haybale.components.generators._context_window import fit_messages_to_context
from haybale.dataclasses import ChatMessage, StreamingChunk
from haybale.errors import ComponentError


@pytest.fixture(scope="module")
def smollm2() -> Iterator[LlamaCppChatGenerator]:
    generator = LlamaCppChatGenerator(n_ctx=512, generation_kwargs={"max_tokens": 8, "temperature": 0.0})
    generator.warm_up()
    yield generator


# -- init and serialization --------------------------------------------------------------------------------
def test_default_model_is_the_packaged_smollm2() -> None:
    path = Path(default_gguf_model_path())
    assert path.suffix == ".gguf" and path.is_file()
    assert "SmolLM2" in path.name


def test_init_is_cheap_and_round_trips() -> None:
    generator = LlamaCppChatGenerator(n_ctx=1024, generation_kwargs={"max_tokens": 4}, seed=7)
    assert generator._llama is None  # nothing loaded before warm_up
    data = generator.to_dict()
    assert data["init_parameters"]["n_ctx"] == 1024 and data["init_parameters"]["model"] is None
    assert LlamaCppChatGenerator.from_dict(data).to_dict() == data


def test_bad_init_and_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ComponentError, match="n_ctx"):
        LlamaCppChatGenerator(n_ctx=8)
    generator = LlamaCppChatGenerator(model=str(tmp_path / "absent.gguf"))
    with pytest.raises(ComponentError, match="does not exist"):
        generator.warm_up()


# -- context window fitting (pure logic, word tokenizer) -----------------------------------------------------
def _encode(text: str) -> list[int]:
    return [len(word) for word in text.split()]  # one token per word; ids only need a length here


def test_fit_keeps_everything_when_it_fits() -> None:
    messages = [{"role": "user", "content": "short question"}]
    fit = fit_messages_to_context(messages, _encode, lambda t: "w " * len(t), budget=100)
    assert fit.messages == messages and fit.dropped_tokens == 0


def test_fit_drops_oldest_non_system_messages_first() -> None:
    messages = [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "old " * 40},
        {"role": "assistant", "content": "reply " * 40},
        {"role": "user", "content": "the real question"},
    ]
    fit = fit_messages_to_context(messages, _encode, lambda t: "w " * len(t), budget=30)
    assert [m["role"] for m in fit.messages] == ["system", "user"]
    assert fit.messages[-1]["content"] == "the real question"
    assert fit.dropped_messages == 2 and fit.dropped_tokens == 80
    assert messages[1]["content"].startswith("old")  # the caller's list is untouched


def test_fit_trims_the_middle_of_long_content() -> None:
    words = [f"w{i}" for i in range(200)]
    messages = [{"role": "user", "content": " ".join(words)}]

    def decode(tokens: list[int]) -> str:  # with _encode each token is a word's length; rebuild from the text
        return " ".join("x" * n for n in tokens)

    fit = fit_messages_to_context(messages, lambda t: [len(w) for w in t.split()], decode, budget=60)
    assert fit.prompt_tokens <= 60
    assert "[...]" in fit.messages[0]["content"]
    assert fit.dropped_tokens > 140


def test_fit_refuses_an_impossible_budget() -> None:
    with pytest.raises(ComponentError, match="Raise `n_ctx`"):
        fit_messages_to_context([{"role": "user", "content": "hello there"}], _encode, str, budget=3)


# -- real generation (SmolLM2) -----------------------------------------------------------------------------
@pytest.mark.slow
def test_generates_a_reply_with_meta(smollm2: LlamaCppChatGenerator) -> None:
    result = smollm2.run([ChatMessage.from_user("What is the capital of France?")])
    reply = result["replies"][0]
    assert isinstance(reply.text, str) and reply.text.strip()
    assert reply.meta["finish_reason"] in ("stop", "length")
    assert reply.meta["usage"]["completion_tokens"] <= 8
    assert "truncated_prompt_tokens" not in reply.meta


@pytest.mark.slow
def test_streaming_matches_non_streaming(smollm2: LlamaCppChatGenerator) -> None:
    messages = [ChatMessage.from_user("Name a fruit.")]
    chunks: list[StreamingChunk] = []
    plain = smollm2.run(messages)["replies"][0]
    streamed = smollm2.run(messages, streaming_callback=chunks.append)["replies"][0]
    assert streamed.text == plain.text
    assert "".join(c.content for c in chunks) == streamed.text
    assert chunks[-1].finish_reason in ("stop", "length")
    assert streamed.meta["usage"]["completion_tokens"] == len([c for c in chunks if c.content])


@pytest.mark.slow
def test_prompt_longer_than_context_is_truncated_with_a_warning(
    smollm2: LlamaCppChatGenerator, caplog: pytest.LogCaptureFixture
) -> None:
    long_context = "The sky is blue because of Rayleigh scattering. " * 120  # ~1200 tokens > n_ctx=512
    messages = [
        ChatMessage.from_system("Answer briefly."),
        ChatMessage.from_user(f"Context: {long_context}\nQuestion: why is the sky blue?"),
    ]
    with caplog.at_level(logging.WARNING, logger="haybale.components.generators.llama_cpp_chat"):
        reply = smollm2.run(messages)["replies"][0]
    dropped = reply.meta["truncated_prompt_tokens"]
    assert dropped > 500
    warning = next(r for r in caplog.records if "dropped" in r.getMessage())
    assert f"dropped {dropped} tokens" in warning.getMessage()
    assert reply.meta["usage"]["prompt_tokens"] <= 512 - 8


@pytest.mark.slow
async def test_run_async_with_async_callback(smollm2: LlamaCppChatGenerator) -> None:
    seen: list[str] = []

    async def collect(chunk: StreamingChunk) -> None:
        seen.append(chunk.content)

    result = await smollm2.run_async([ChatMessage.from_user("Say hello.")], streaming_callback=collect)
    assert "".join(seen) == result["replies"][0].text


def test_empty_messages_are_rejected() -> None:
    with pytest.raises(ComponentError, match="at least one message"):
        LlamaCppChatGenerator().run([])
