"""The rubric evaluators: each has a passing and a failing case, bad input is refused, they round-trip, and
the cheap-first cascade sends only unsure rows to a judge behind a real OpenAI-compatible HTTP server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from haybale.components.evaluators import (
    AnswerRefusalEvaluator,
    ChunkAttributionEvaluator,
    ChunkUtilizationEvaluator,
    CompletenessEvaluator,
    ContextAdherenceEvaluator,
    DocumentPrecisionEvaluator,
    FactualAccuracyEvaluator,
    GroundednessEvaluator,
    PromptCoverageEvaluator,
    TaskCompletionEvaluator,
    ToolCallCorrectnessEvaluator,
)
from haybale.components.generators import OpenAIChatGenerator
from haybale.core.secret import Secret
from haybale.core.serialization import deserialize_object
from haybale.dataclasses import ChatMessage, Document, ToolCall
from haybale.errors import ComponentError
from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend

PROMPT = [
    ChatMessage.from_system("Answer only from the numbered sources."),
    ChatMessage.from_user(
        "Sources:\n[1] Hay is grass that is cut, dried and stored as fodder for cattle and horses.\n"
        "[2] Straw is the dry stalk of cereal plants left after the grain is harvested.\n"
        "Question: what is hay?"
    ),
]
CHUNKS = [
    "Hay is grass that is cut, dried and stored as fodder for cattle and horses.",
    "Straw is the dry stalk of cereal plants left after the grain is harvested.",
]


def test_groundedness_against_the_rendered_prompt() -> None:
    evaluator = GroundednessEvaluator()
    result = evaluator.run(
        prompts=[PROMPT, PROMPT, "Question: what is hay?"],
        predicted_answers=[
            "Hay is dried grass stored as fodder for cattle [1].",
            "Hay is dried grass. Farmers in Peru invented hay balers in 1802.",
            "Hay is dried grass stored as fodder for cattle.",  # true, but the prompt never said so
        ],
    )
    assert result["individual_scores"] == [1.0, 0.5, 0.0]
    assert "claims not in the prompt" in result["reasons"][1] and "Peru" in result["reasons"][1]
    assert result["escalated"] == [False, False, False] and result["meta"]["escalated_count"] == 0
    assert result["score"] == pytest.approx(0.5)


def test_context_adherence_measures_drift_into_priors() -> None:
    result = ContextAdherenceEvaluator().run(
        prompts=[PROMPT, PROMPT],
        predicted_answers=["Hay is dried grass for cattle.", "Hay is a Bavarian pastry with chocolate."],
    )
    good, drifted = result["individual_scores"]
    assert good == 1.0 and drifted < 0.5
    assert "bavarian" in result["reasons"][1] and "chocol" in result["reasons"][1]


def test_completeness_against_the_expected_answer_and_the_question() -> None:
    result = CompletenessEvaluator().run(
        questions=["Which rivers meet in Koblenz?"] * 2 + ["what is hay?"],
        predicted_answers=["The Rhine and the Moselle meet there.", "The Rhine.", "Hay is dried grass."],
        ground_truth_answers=["Rhine and Moselle", "Rhine and Moselle", ""],
    )
    assert result["individual_scores"][:2] == [1.0, 0.5]
    assert "mosell" in result["reasons"][1]
    assert result["individual_scores"][2] == 1.0 and result["confidences"][2] <= 0.3  # question only: unsure


EIFFEL = "When was the Eiffel Tower completed?"
KOBLENZ = "Which rivers meet in Koblenz?"


def test_factual_accuracy_against_the_expected_answer() -> None:
    result = FactualAccuracyEvaluator().run(
        questions=[
            EIFFEL,
            EIFFEL,
            KOBLENZ,
            KOBLENZ,
            "How many legs does a spider have?",
            "Capital of France?",
        ],
        predicted_answers=[
            "It was completed in 1889.",
            "It was completed in 1901.",
            "The Rhine and the Moselle meet there.",
            "The Danube and the Elbe.",
            "Spiders have eight legs.",
            "Lyon.",
        ],
        ground_truth_answers=[
            "In 1889.",
            "1889",
            "Rhine and Moselle",
            "The Rhine and the Moselle.",
            "8",
            "Paris",
        ],
    )
    assert result["individual_scores"] == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    assert all(confidence >= 0.9 for confidence in result["confidences"])  # clear-cut: no judge needed
    assert result["reasons"][0] == "agrees with the expected answer on 1889"
    assert result["reasons"][1] == "contradicts the expected answer: says 1901 where it says 1889"
    assert result["reasons"][3] == (
        "contradicts the expected answer: says Danube, Elbe where it says Rhine, Moselle"
    )


def test_factual_accuracy_leaves_what_it_cannot_check_to_the_judge() -> None:
    result = FactualAccuracyEvaluator().run(
        questions=[EIFFEL, EIFFEL, KOBLENZ, EIFFEL],
        predicted_answers=[
            "It was completed in 1889; Napoleon opened it.",  # padded with trivia the reference cannot check
            "It was completed in 1889.",  # no reference at all
            "The Rhine and the Danube.",  # half right
            "",
        ],
        ground_truth_answers=["1889", "", "Rhine and Moselle", "1889"],
    )
    padded, unreferenced, half, empty = zip(
        result["individual_scores"], result["confidences"], result["reasons"], strict=True
    )
    assert padded[0] == 1.0 and padded[1] < 0.5 and "adds Napoleon" in padded[2]
    assert unreferenced[:2] == (1.0, 0.0) and "no expected answer" in unreferenced[2]
    assert half[0] == 0.5 and half[1] < 0.5 and "says Danube where it says Moselle" in half[2]
    assert empty[:3] == (0.0, 1.0, "the answer states nothing")


def test_answer_refusal_tells_answers_from_refusals() -> None:
    result = AnswerRefusalEvaluator().run(
        predicted_answers=["Hay is dried grass.", "I don't know.", "", "The sources do not mention hay."],
    )
    assert result["individual_scores"] == [1.0, 0.0, 0.0, 0.0]
    assert result["refusals"] == [False, True, True, True]
    assert result["reasons"][2] == "empty answer"
    with_prompt = AnswerRefusalEvaluator().run(predicted_answers=["I don't know."], prompts=[PROMPT])
    assert with_prompt["confidences"][0] < 0.5  # maybe over-cautious: the judge should look


def test_chunk_attribution_checks_citations_and_implicit_support() -> None:
    result = ChunkAttributionEvaluator().run(
        contexts=[CHUNKS, CHUNKS, CHUNKS],
        predicted_answers=[
            "Hay is cut and dried grass, fodder for cattle [1].",
            "Hay is cut and dried grass, fodder for cattle [2].",  # cites the straw chunk
            "Straw is the dry stalk left after the grain harvest.",  # no citation: best chunk is [2]
        ],
    )
    assert result["individual_scores"] == [1.0, 0.0, 1.0]
    assert "chunk [2] does not support" in result["reasons"][1]
    assert result["attributions"] == [[True, False], [False, False], [False, True]]


def test_chunk_utilization_share_of_context_used() -> None:
    result = ChunkUtilizationEvaluator().run(
        contexts=[CHUNKS, CHUNKS],
        predicted_answers=[
            "Hay is grass cut, dried and stored as fodder for cattle and horses; straw is the dry stalk of "
            "cereal plants left after the grain is harvested.",
            "Hay is grass.",
        ],
    )
    full, little = result["individual_scores"]
    assert full == 1.0 and little < 0.2
    assert result["chunk_utilization"][1][1] == 0.0 and "[2] unused" in result["reasons"][1]


def test_prompt_coverage_catches_a_template_that_drops_documents() -> None:
    documents = [Document(content=text) for text in CHUNKS]
    result = PromptCoverageEvaluator().run(
        source_documents=[documents, documents, []],
        prompts=[PROMPT, "Question: what is hay?", "Question: anything"],
    )
    carried, dropped, nothing = result["individual_scores"]
    assert carried == 1.0 and dropped < 0.1 and nothing == 1.0  # only "hay" of the question overlaps
    assert result["reasons"][1] == "2 of 2 documents missing or cut in the prompt"


def test_document_precision_at_k() -> None:
    relevant = [Document(content="a"), Document(content="b")]
    retrieved = [Document(content="a"), Document(content="x"), Document(content="b"), Document(content="y")]
    at_2 = DocumentPrecisionEvaluator(top_k=2).run(
        ground_truth_documents=[relevant, relevant], retrieved_documents=[retrieved, [Document(content="a")]]
    )
    assert at_2["individual_scores"] == [0.5, 0.5]  # one retrieved when two were asked for: 1/2
    all_retrieved = DocumentPrecisionEvaluator().run(
        ground_truth_documents=[relevant, relevant], retrieved_documents=[retrieved, []]
    )
    assert all_retrieved["individual_scores"] == [0.5, 0.0]
    with pytest.raises(ComponentError, match="top_k must be a positive integer"):
        DocumentPrecisionEvaluator(top_k=0)


def _call(name: str, **arguments: Any) -> ToolCall:
    return ToolCall(name, arguments)


def test_tool_call_correctness() -> None:
    evaluator = ToolCallCorrectnessEvaluator()
    made = [
        ChatMessage.from_assistant(
            tool_calls=[_call("search", query="Hay ", top_k=3), _call("add", a=1, b=2)]
        )
    ]
    result = evaluator.run(
        tool_calls=[made, made, [], [_call("add", a=1, b=2)]],
        expected_tool_calls=[
            [{"tool_name": "search", "arguments": {"query": "hay"}}, {"tool_name": "add"}],
            [{"tool_name": "search", "arguments": {"query": "straw"}}],
            [],
            [_call("add", a=1.0, b="2")],
        ],
    )
    assert result["individual_scores"] == [1.0, 0.0, 1.0, 1.0]
    assert "no expected call made" in result["reasons"][1]
    exact = ToolCallCorrectnessEvaluator(exact_arguments=True).run(
        tool_calls=[made], expected_tool_calls=[[{"tool_name": "search", "arguments": {"query": "hay"}}]]
    )
    assert exact["individual_scores"] == [0.0]
    ordered = ToolCallCorrectnessEvaluator(in_order=True).run(
        tool_calls=[made], expected_tool_calls=[[{"tool_name": "add"}, {"tool_name": "search"}]]
    )
    assert ordered["individual_scores"] == [0.5]  # one of the two in order; F1 of 1/2 and 1/2
    with pytest.raises(ComponentError, match="tool_name"):
        evaluator.run(tool_calls=[made], expected_tool_calls=[[{"arguments": {}}]])


def _conversation(*steps: ChatMessage) -> list[ChatMessage]:
    return [ChatMessage.from_user("What is 2 + 3?"), *steps]


def test_task_completion_structural_checks_and_expected_answers() -> None:
    call = ChatMessage.from_assistant(tool_calls=[ToolCall("add", {"a": 2, "b": 3}, id="c")])
    result = TaskCompletionEvaluator().run(
        messages=[
            _conversation(
                call, ChatMessage.from_tool("5", call.tool_calls[0]), ChatMessage.from_assistant("5")
            ),
            _conversation(call, ChatMessage.from_tool("5", call.tool_calls[0])),
            _conversation(ChatMessage.from_assistant("I cannot answer that.")),
            _conversation(ChatMessage.from_assistant("It is five.")),
        ],
        ground_truth_answers=["5", "5", "", ""],
    )
    assert result["individual_scores"][:3] == [1.0, 0.0, 0.0]
    assert "step budget" in result["reasons"][1] and "gave up" in result["reasons"][2]
    assert result["individual_scores"][3] == 0.75 and result["confidences"][3] < 0.5


@pytest.mark.parametrize(
    ("evaluator", "kwargs", "message"),
    [
        (GroundednessEvaluator(), {"prompts": ["p"], "predicted_answers": ["a", "b"]}, "same length"),
        (GroundednessEvaluator(), {"prompts": ["p"], "predicted_answers": [3]}, "must be a string"),
        (ChunkAttributionEvaluator(), {"contexts": ["x"], "predicted_answers": ["a"]}, "list of strings"),
        (CompletenessEvaluator(), {"questions": [], "predicted_answers": []}, "nothing to evaluate"),
        (
            FactualAccuracyEvaluator(),
            {"questions": ["q"], "predicted_answers": ["a"], "ground_truth_answers": [None]},
            "'ground_truth_answers' must hold strings",
        ),
        (FactualAccuracyEvaluator(), {"questions": ["q", "r"], "predicted_answers": ["a"]}, "same length"),
        (TaskCompletionEvaluator(), {"messages": [["hi"]]}, "list of ChatMessages"),
        (PromptCoverageEvaluator(), {"source_documents": [["x"]], "prompts": ["p"]}, "must be a Document"),
    ],
)
def test_bad_input_names_the_problem(evaluator: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ComponentError, match=message):
        evaluator.run(**kwargs)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ComponentError, match="escalation_threshold"):
        GroundednessEvaluator(escalation_threshold=2)
    with pytest.raises(ComponentError, match="support_threshold"):
        ChunkAttributionEvaluator(support_threshold=0)


# -- the cascade, with a judge over HTTP ---------------------------------------------------------------------
@pytest.fixture
def judge() -> Iterator[Any]:
    """``judge(replies) -> (backend, generator)``: a scripted OpenAI-compatible judge on 127.0.0.1."""
    contexts: list[Any] = []

    def start(script: list[Any]) -> tuple[ScriptedChatBackend, OpenAIChatGenerator]:
        backend = ScriptedChatBackend(script)
        context = serve_chat_backend(backend, model_name="judge")
        server = context.__enter__()
        contexts.append(context)
        return backend, OpenAIChatGenerator(
            api_key=Secret.from_token("k"), model="judge", base_url=server.base_url
        )

    yield start
    for context in contexts:
        context.__exit__(None, None, None)


def _json_reply(**payload: Any) -> ChatMessage:
    return ChatMessage.from_assistant(json.dumps(payload))


def test_cascade_escalates_only_unsure_rows_and_counts_them(judge: Any) -> None:
    backend, generator = judge(
        [_json_reply(score=0.0, reason="refused although the prompt says what hay is")]
    )
    evaluator = AnswerRefusalEvaluator(chat_generator=generator, escalation_threshold=0.5)
    result = evaluator.run(
        predicted_answers=["Hay is dried grass.", "I don't know.", ""],
        prompts=[PROMPT, PROMPT, PROMPT],
    )
    assert result["escalated"] == [False, True, False]
    assert result["meta"]["escalated_count"] == 1
    assert len(backend.requests) == 1  # the clear cases never reached the judge
    judged = backend.requests[0]["messages"][-1].text
    assert "I don't know." in judged and "Hay is grass that is cut" in judged  # it saw the rendered prompt
    assert result["individual_scores"] == [1.0, 0.0, 0.0]
    assert result["reasons"][1] == "judge: refused although the prompt says what hay is"


def test_cascade_judge_overrides_the_cheap_score(judge: Any) -> None:
    _, generator = judge([_json_reply(score=1.0, reason="complete")])
    evaluator = CompletenessEvaluator(chat_generator=generator)
    result = evaluator.run(questions=["what is hay?"], predicted_answers=["Dried grass fed to cattle."])
    assert result["escalated"] == [True] and result["individual_scores"] == [1.0]
    never = CompletenessEvaluator(chat_generator=generator, escalation_threshold=0.0)
    assert never.run(questions=["what is hay?"], predicted_answers=["Dried grass."])["escalated"] == [False]


def test_factual_accuracy_judge_checks_world_knowledge_without_a_reference(judge: Any) -> None:
    backend, generator = judge([_json_reply(score=0.0, reason="the tower was completed in 1889, not 1901")])
    evaluator = FactualAccuracyEvaluator(chat_generator=generator)
    result = evaluator.run(
        questions=[EIFFEL, EIFFEL],
        predicted_answers=["It was completed in 1901.", "It was completed in 1889."],
        ground_truth_answers=["", "1889"],
    )
    assert result["escalated"] == [True, False] and len(backend.requests) == 1
    judged = backend.requests[0]["messages"][-1].text
    assert EIFFEL in judged and "It was completed in 1901." in judged
    assert result["individual_scores"] == [0.0, 1.0]
    assert result["reasons"][0] == "judge: the tower was completed in 1889, not 1901"


def test_cascade_unusable_judge_reply_keeps_the_cheap_score_or_raises(judge: Any) -> None:
    _, generator = judge([_json_reply(score=7, reason="out of range")])
    lenient = TaskCompletionEvaluator(chat_generator=generator, raise_on_failure=False)
    conversation = [_conversation(ChatMessage.from_assistant("It is five."))]
    result = lenient.run(messages=conversation)
    assert result["escalated"] == [False] and result["individual_scores"] == [0.75]
    assert "score' must be a number from 0 to 1" in result["meta"]["errors"][0]
    strict = TaskCompletionEvaluator(chat_generator=generator)
    with pytest.raises(ComponentError, match="raise_on_failure=False"):
        strict.run(messages=conversation)


@pytest.mark.parametrize(
    "evaluator",
    [
        GroundednessEvaluator(support_threshold=0.7, escalation_threshold=0.3),
        ContextAdherenceEvaluator(pass_mark=0.8),
        CompletenessEvaluator(),
        FactualAccuracyEvaluator(escalation_threshold=0.8, raise_on_failure=False),
        AnswerRefusalEvaluator(),
        ChunkAttributionEvaluator(),
        ChunkUtilizationEvaluator(pass_mark=0.2),
        TaskCompletionEvaluator(),
        PromptCoverageEvaluator(),
        ToolCallCorrectnessEvaluator(exact_arguments=True, in_order=True),
        DocumentPrecisionEvaluator(top_k=3, document_comparison_field="id"),
        GroundednessEvaluator(
            chat_generator=OpenAIChatGenerator(api_key=Secret.from_env_var("JUDGE_KEY"), model="m")
        ),
    ],
)
def test_round_trip(evaluator: Any) -> None:
    data = evaluator.to_dict()
    assert deserialize_object(data).to_dict() == data


@pytest.mark.slow
def test_cascade_with_the_local_smollm2_judge() -> None:
    from haybale.components.generators import LlamaCppChatGenerator

    local = LlamaCppChatGenerator(n_ctx=2048, generation_kwargs={"max_tokens": 48, "temperature": 0.0})
    evaluator = GroundednessEvaluator(chat_generator=local, escalation_threshold=1.0, raise_on_failure=False)
    result = evaluator.run(prompts=[PROMPT], predicted_answers=["Hay is dried grass [1]. It glows at night."])
    # A 135M judge may not produce valid JSON; the row is then kept with its cheap score and the error noted.
    if result["escalated"] == [True]:
        assert 0.0 <= result["individual_scores"][0] <= 1.0
    else:
        assert result["individual_scores"] == [0.5] and "row 0" in result["meta"]["errors"][0]
