"""LLMEvaluator, FaithfulnessEvaluator and ContextRelevanceEvaluator against a real OpenAI-compatible server
on 127.0.0.1 (scripted JSON replies), through the real openai client and OpenAIChatGenerator."""

from __future__ import annotations

import json
import math
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from haybale.components.evaluators import ContextRelevanceEvaluator, FaithfulnessEvaluator, LLMEvaluator
from haybale.components.generators import OpenAIChatGenerator
from haybale.core.pipeline import Pipeline
from haybale.core.secret import Secret
from haybale.dataclasses import ChatMessage
from haybale.errors import ComponentError, DeserializationError
from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend

KEY_VAR = "HAYBALE_EVAL_TEST_KEY"


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VAR, "test-key")


def generator(base_url: str = "http://127.0.0.1:9/v1", **kwargs: Any) -> OpenAIChatGenerator:
    return OpenAIChatGenerator(
        api_key=Secret.from_env_var(KEY_VAR), model="judge", base_url=base_url, **kwargs
    )


def reply(payload: Any) -> ChatMessage:
    return ChatMessage.from_assistant(payload if isinstance(payload, str) else json.dumps(payload))


def row_inputs(messages: list[ChatMessage]) -> dict[str, Any]:
    """The JSON inputs of the row being judged: the last "Inputs:" block of the prompt."""
    prompt = messages[-1].text or ""
    parsed: dict[str, Any] = json.loads(prompt.rsplit("Inputs:\n", 1)[1].split("\nOutputs:")[0])
    return parsed


@pytest.fixture
def scripted() -> Iterator[Any]:
    """Start a server for a script: ``backend, base_url = scripted([...])``; stopped after the test."""
    servers: list[Any] = []

    def start(script: list[Any]) -> tuple[ScriptedChatBackend, str]:
        backend = ScriptedChatBackend(script)
        context = serve_chat_backend(backend, model_name="judge")
        server = context.__enter__()
        servers.append(context)
        return backend, server.base_url

    yield start
    for context in servers:
        context.__exit__(None, None, None)


def answer_checker(**kwargs: Any) -> LLMEvaluator:
    params: dict[str, Any] = {
        "instructions": "Is the predicted answer correct? Give 1 for correct, 0 for wrong.",
        "inputs": [("questions", list[str]), ("predicted_answers", list[str])],
        "outputs": ["score", "reason"],
        "examples": [
            {
                "inputs": {"questions": "2 + 2?", "predicted_answers": "5"},
                "outputs": {"score": 0, "reason": "2 + 2 is 4."},
            }
        ],
        "chat_generator": generator(),
    }
    params.update(kwargs)
    return LLMEvaluator(**params)


# -- LLMEvaluator: init and serialization ------------------------------------------------------------------
def test_default_generator_is_openai_in_json_mode() -> None:
    evaluator = answer_checker(chat_generator=None)
    assert isinstance(evaluator.chat_generator, OpenAIChatGenerator)
    assert evaluator.chat_generator.model == "gpt-4o-mini"
    assert evaluator.chat_generator.generation_kwargs["response_format"] == {"type": "json_object"}


def test_llm_evaluator_round_trip_and_yaml() -> None:
    evaluator = answer_checker(raise_on_failure=False)
    data = evaluator.to_dict()
    params = data["init_parameters"]
    assert params["inputs"] == [["questions", "list[str]"], ["predicted_answers", "list[str]"]]
    assert params["chat_generator"]["type"].endswith("openai_chat.OpenAIChatGenerator")
    assert params["chat_generator"]["init_parameters"]["base_url"] == "http://127.0.0.1:9/v1"
    loaded = LLMEvaluator.from_dict(data)
    assert loaded.to_dict() == data
    assert loaded.inputs == [("questions", list[str]), ("predicted_answers", list[str])]
    pipeline = Pipeline()
    pipeline.add_component("judge", evaluator)
    assert Pipeline.loads(pipeline.dumps()).to_dict() == pipeline.to_dict()


def test_from_dict_refuses_a_generator_outside_the_allow_list() -> None:
    data = answer_checker().to_dict()
    data["init_parameters"]["chat_generator"] = {"type": "subprocess.Popen", "init_parameters": {}}
    with pytest.raises(DeserializationError, match="not allow-listed"):
        LLMEvaluator.from_dict(data)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"instructions": " "}, "instructions must be a non-empty string"),
        ({"inputs": []}, "inputs must be a non-empty list of"),
        ({"inputs": [("questions", str)]}, "its type must be a list"),
        ({"inputs": [("a", list[str]), ("a", list[str])]}, "input names must be unique"),
        ({"inputs": [("not valid", list[str])]}, "must be a valid Python identifier"),
        ({"outputs": []}, "outputs must be a non-empty list"),
        ({"examples": [{"inputs": {}}]}, r"examples\[0\] must be a dict with exactly the keys"),
        (
            {"examples": [{"inputs": {"questions": "q"}, "outputs": {"score": 1, "reason": "r"}}]},
            r"examples\[0\]\['inputs'\] must be a dict with the keys \['questions', 'predicted_answers'\]",
        ),
        ({"chat_generator": "gpt-4o"}, "chat_generator must be a chat generator component"),
    ],
)
def test_bad_init_is_rejected(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ComponentError, match=message):
        answer_checker(**overrides)


def test_bad_run_input_is_rejected_before_any_request() -> None:
    evaluator = answer_checker()
    with pytest.raises(ComponentError, match="'questions' has 2, 'predicted_answers' has 1 entries"):
        evaluator.run(questions=["a", "b"], predicted_answers=["x"])
    with pytest.raises(ComponentError, match=r"missing \['predicted_answers'\], unknown \['answers'\]"):
        evaluator.run(questions=["a"], answers=["x"])
    with pytest.raises(ComponentError, match="nothing to evaluate"):
        evaluator.run(questions=[], predicted_answers=[])


# -- LLMEvaluator: against the server ----------------------------------------------------------------------
def test_llm_evaluator_parses_json_replies(scripted: Any) -> None:
    backend, url = scripted(
        [
            reply({"score": 1, "reason": "Paris is right."}),
            reply('```json\n{"score": 0, "reason": "Wrong planet."}\n```'),  # fenced JSON is accepted
        ]
    )
    evaluator = answer_checker(chat_generator=generator(url))
    result = evaluator.run(
        questions=["Capital of France?", "Largest planet?"], predicted_answers=["Paris", "Mars"]
    )
    assert result["results"] == [
        {"score": 1, "reason": "Paris is right."},
        {"score": 0, "reason": "Wrong planet."},
    ]
    assert [meta["model"] for meta in result["meta"]] == ["judge", "judge"]
    assert all("error" not in meta for meta in result["meta"])
    prompt = backend.requests[1]["messages"][0].text
    assert "Is the predicted answer correct?" in prompt
    assert '"score", "reason"' in prompt
    assert '{"questions": "2 + 2?", "predicted_answers": "5"}' in prompt  # the example
    assert prompt.endswith('Inputs:\n{"questions": "Largest planet?", "predicted_answers": "Mars"}\nOutputs:')
    assert evaluator.prompt_for({"questions": "Largest planet?", "predicted_answers": "Mars"}) == prompt


def test_malformed_json_raises_when_raise_on_failure(scripted: Any) -> None:
    _, url = scripted([reply({"score": 1, "reason": "ok"}), reply('{"score": 1, "reason": ')])
    evaluator = answer_checker(chat_generator=generator(url))
    with pytest.raises(
        ComponentError, match=r"row 1 failed: the reply is not valid JSON .*raise_on_failure=False"
    ):
        evaluator.run(questions=["q1", "q2"], predicted_answers=["a1", "a2"])


def test_malformed_and_incomplete_replies_are_recorded_without_raise(scripted: Any) -> None:
    _, url = scripted(
        [reply("I think it is correct."), reply({"score": 1}), reply({"score": 1, "reason": "ok"})]
    )
    evaluator = answer_checker(chat_generator=generator(url), raise_on_failure=False)
    result = evaluator.run(questions=["q1", "q2", "q3"], predicted_answers=["a1", "a2", "a3"])
    assert result["results"] == [None, None, {"score": 1, "reason": "ok"}]
    assert "row 0 failed: the reply is not valid JSON" in result["meta"][0]["error"]
    assert "row 1 failed: the reply lacks the keys ['reason']" in result["meta"][1]["error"]
    assert result["meta"][0]["model"] == "judge"  # the reply's meta is kept next to the error
    assert "error" not in result["meta"][2]


def test_unreachable_server_is_a_row_failure() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = generator(f"http://127.0.0.1:{port}/v1", max_retries=0, timeout=5)
    with pytest.raises(ComponentError, match="row 0 failed: OpenAIChatGenerator: cannot connect"):
        answer_checker(chat_generator=down).run(questions=["q"], predicted_answers=["a"])
    result = answer_checker(chat_generator=down, raise_on_failure=False).run(
        questions=["q"], predicted_answers=["a"]
    )
    assert result["results"] == [None]
    assert "cannot connect" in result["meta"][0]["error"]


async def test_llm_evaluator_run_async_keeps_row_order(scripted: Any) -> None:
    def judge(messages: list[ChatMessage], tools: Any) -> ChatMessage:
        row = row_inputs(messages)
        return reply({"score": int(row["predicted_answers"] == "right"), "reason": row["questions"]})

    _, url = scripted([judge])
    questions = [f"q{i}" for i in range(6)]
    answers = ["right", "wrong", "right", "right", "wrong", "wrong"]
    result = await answer_checker(chat_generator=generator(url)).run_async(
        questions=questions, predicted_answers=answers
    )
    assert [r["reason"] for r in result["results"]] == questions
    assert [r["score"] for r in result["results"]] == [1, 0, 1, 1, 0, 0]


# -- FaithfulnessEvaluator ---------------------------------------------------------------------------------
FAITH_INPUTS: dict[str, Any] = {
    "questions": ["Who wrote Faust?", "Where is the Louvre?", "What is 2 + 2?"],
    "contexts": [["Goethe wrote Faust."], ["The Louvre is in Paris."], ["Arithmetic facts."]],
    "predicted_answers": [
        "Goethe wrote Faust in 1808 in Weimar.",
        "The Louvre is in Paris.",
        "I cannot say.",
    ],
}


def test_faithfulness_scores_are_fractions_of_supported_statements(scripted: Any) -> None:
    backend, url = scripted(
        [
            reply(
                {
                    "statements": ["Goethe wrote Faust.", "In 1808.", "In Weimar."],
                    "statement_scores": [1, 0, 0],
                }
            ),
            reply({"statements": ["The Louvre is in Paris."], "statement_scores": [1]}),
            reply({"statements": [], "statement_scores": []}),
        ]
    )
    result = FaithfulnessEvaluator(chat_generator=generator(url)).run(**FAITH_INPUTS)
    assert result["individual_scores"] == pytest.approx([1 / 3, 1.0, 0.0])
    assert result["score"] == pytest.approx((1 / 3 + 1.0) / 3)
    assert result["results"][1] == {
        "statements": ["The Louvre is in Paris."],
        "statement_scores": [1],
        "score": 1.0,
    }
    prompt = backend.requests[0]["messages"][0].text
    assert "grounded in the context" in prompt and "Eiffel Tower" in prompt  # instructions + built-in example
    assert row_inputs(backend.requests[0]["messages"]) == {
        "questions": "Who wrote Faust?",
        "contexts": ["Goethe wrote Faust."],
        "predicted_answers": "Goethe wrote Faust in 1808 in Weimar.",
    }


def test_faithfulness_malformed_replies(scripted: Any) -> None:
    good = reply({"statements": ["a"], "statement_scores": [1]})
    not_json = reply("statements: a, b")
    mismatched = reply({"statements": ["a", "b"], "statement_scores": [1]})  # JSON, but one score is missing

    _, url = scripted([good, good, mismatched])
    with pytest.raises(
        ComponentError, match="FaithfulnessEvaluator: row 2 failed: the model's reply is unusable"
    ):
        FaithfulnessEvaluator(chat_generator=generator(url)).run(**FAITH_INPUTS)
    _, url = scripted([good, not_json, good])
    with pytest.raises(
        ComponentError, match="FaithfulnessEvaluator: row 1 failed: the reply is not valid JSON"
    ):
        FaithfulnessEvaluator(chat_generator=generator(url)).run(**FAITH_INPUTS)

    _, url = scripted([good, not_json, mismatched])
    result = FaithfulnessEvaluator(chat_generator=generator(url), raise_on_failure=False).run(**FAITH_INPUTS)
    first, second, third = result["individual_scores"]
    assert first == 1.0 and math.isnan(second) and math.isnan(third)
    assert result["score"] == 1.0  # the mean of the rows that did not fail
    assert result["results"][1:] == [None, None]
    assert "not valid JSON" in result["meta"][1]["error"]
    assert "'statement_scores' must be a list of 0/1, one per statement (2)" in result["meta"][2]["error"]


def test_faithfulness_all_rows_failing_gives_nan(scripted: Any) -> None:
    _, url = scripted([reply("nope")])
    result = FaithfulnessEvaluator(chat_generator=generator(url), raise_on_failure=False).run(
        questions=["q"], contexts=[["c"]], predicted_answers=["a"]
    )
    assert math.isnan(result["score"])


def test_faithfulness_bad_input() -> None:
    evaluator = FaithfulnessEvaluator(chat_generator=generator())
    with pytest.raises(
        ComponentError, match="'questions' has 1, 'contexts' has 2, 'predicted_answers' has 1"
    ):
        evaluator.run(questions=["q"], contexts=[["c"], ["d"]], predicted_answers=["a"])
    with pytest.raises(ComponentError, match=r"'contexts\[0\]' must be a list of strings"):
        evaluator.run(questions=["q"], contexts=["c"], predicted_answers=["a"])  # type: ignore[list-item]
    with pytest.raises(ComponentError, match=r"'contexts\[0\]\[1\]' must be a string"):
        evaluator.run(questions=["q"], contexts=[["c", 3]], predicted_answers=["a"])  # type: ignore[list-item]


def test_faithfulness_round_trip_and_custom_examples() -> None:
    examples = [
        {
            "inputs": {"questions": "q", "contexts": ["c"], "predicted_answers": "a"},
            "outputs": {"statements": ["a"], "statement_scores": [0]},
        }
    ]
    for evaluator in (
        FaithfulnessEvaluator(chat_generator=generator()),
        FaithfulnessEvaluator(chat_generator=generator(), examples=examples, raise_on_failure=False),
    ):
        data = evaluator.to_dict()
        assert FaithfulnessEvaluator.from_dict(data).to_dict() == data
    assert data["init_parameters"]["examples"] == examples
    with pytest.raises(ComponentError, match=r"examples\[0\]\['outputs'\] must be a dict with the keys"):
        FaithfulnessEvaluator(examples=[{"inputs": examples[0]["inputs"], "outputs": {"score": 1}}])


# -- ContextRelevanceEvaluator -----------------------------------------------------------------------------
def test_context_relevance(scripted: Any) -> None:
    backend, url = scripted(
        [
            reply({"relevant_statements": ["The Louvre is in Paris."]}),
            reply({"relevant_statements": []}),
            reply({"relevant_statements": "The Louvre"}),  # not a list: unusable
        ]
    )
    evaluator = ContextRelevanceEvaluator(chat_generator=generator(url), raise_on_failure=False)
    result = evaluator.run(
        questions=["Where is the Louvre?", "Who wrote Faust?", "Where is the Louvre?"],
        contexts=[
            ["The Louvre is in Paris.", "Bread is baked."],
            ["Bread is baked."],
            ["The Louvre is in Paris."],
        ],
    )
    assert result["individual_scores"][:2] == [1.0, 0.0] and math.isnan(result["individual_scores"][2])
    assert result["score"] == 0.5
    assert "'relevant_statements' must be a list of strings" in result["meta"][2]["error"]
    assert "Danube" in backend.requests[0]["messages"][0].text  # the built-in example
    assert "contexts" in row_inputs(backend.requests[0]["messages"])


def test_context_relevance_raises_on_malformed_json(scripted: Any) -> None:
    _, url = scripted([reply("{relevant_statements: []}")])
    with pytest.raises(
        ComponentError, match="ContextRelevanceEvaluator: row 0 failed: the reply is not valid JSON"
    ):
        ContextRelevanceEvaluator(chat_generator=generator(url)).run(questions=["q"], contexts=[["c"]])


# -- in a pipeline -----------------------------------------------------------------------------------------
def test_llm_evaluators_run_in_a_pipeline_loaded_from_yaml(scripted: Any) -> None:
    def judge(messages: list[ChatMessage], tools: Any) -> ChatMessage:
        row = row_inputs(messages)
        if "contexts" not in row:
            return reply({"score": int(row["predicted_answers"] == "a1"), "reason": "compared"})
        if "predicted_answers" in row:
            return reply({"statements": [row["predicted_answers"]], "statement_scores": [1]})
        return reply({"relevant_statements": row["contexts"][:1]})

    _, url = scripted([judge])
    pipeline = Pipeline()
    pipeline.add_component("faithfulness", FaithfulnessEvaluator(chat_generator=generator(url)))
    pipeline.add_component("relevance", ContextRelevanceEvaluator(chat_generator=generator(url)))
    pipeline.add_component("checker", answer_checker(chat_generator=generator(url)))
    loaded = Pipeline.loads(pipeline.dumps())
    assert loaded.to_dict() == pipeline.to_dict()
    result = loaded.run(
        {
            "questions": ["q1", "q2"],
            "contexts": [["c1"], []],
            "predicted_answers": ["a1", "a2"],
        }
    )
    assert result["faithfulness"]["individual_scores"] == [1.0, 1.0]
    assert result["relevance"]["individual_scores"] == [1.0, 0.0]
    assert result["relevance"]["score"] == 0.5
    assert [row["score"] for row in result["checker"]["results"]] == [1, 0]


# -- with a local model ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_llm_evaluator_with_the_local_llama_cpp_generator() -> None:
    from haybale.components.generators import LlamaCppChatGenerator

    local = LlamaCppChatGenerator(n_ctx=1024, generation_kwargs={"max_tokens": 24, "temperature": 0.0})
    evaluator = answer_checker(chat_generator=local, raise_on_failure=False)
    data = evaluator.to_dict()
    assert data["init_parameters"]["chat_generator"]["type"].endswith("LlamaCppChatGenerator")
    assert LLMEvaluator.from_dict(data).to_dict() == data
    result = evaluator.run(questions=["Capital of France?"], predicted_answers=["Paris"])
    # A 135M model may or may not produce valid JSON; either way the row is accounted for, never lost.
    (parsed,), (meta,) = result["results"], result["meta"]
    if parsed is None:
        assert meta["error"].startswith("LLMEvaluator: row 0 failed:")
    else:
        assert {"score", "reason"} <= set(parsed)
