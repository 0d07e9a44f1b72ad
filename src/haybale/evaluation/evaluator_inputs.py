"""How each evaluator input socket is filled for one dataset row.

From the scored component's output:

- ``retrieved_documents`` / ``contexts``: the output as documents / their texts; ``ranked_documents``: the
  output as documents (a ranker's result, compared with its ``source_documents``);
- ``predicted_answers``: the output as text (the first ``GeneratedAnswer.data``, reply text or string);
- ``tool_calls``: the output as it is (messages or tool calls);
- ``messages``: the conversation: a generator's input messages plus its replies, or an agent's ``messages``.

From what the scored component received (rebuilt by :mod:`haybale.evaluation.component_inputs`):

- ``prompts``: the rendered prompt: the output itself when scoring a prompt builder's ``prompt``, else the
  component's ``messages`` or ``prompt`` input;
- ``source_documents``: the component's ``documents`` input (what a prompt builder or a ranker was handed).

From the dataset row:

- ``ground_truth_documents``: ``ground_truth_documents`` (``Document`` objects, or strings taken as ids when
  the evaluator compares by ``"id"`` and as contents otherwise) or ``ground_truth_document_ids``;
- ``ground_truth_answers``: ``ground_truth_answer`` (one string) or ``ground_truth_answers`` (the first);
  an optional socket gets "" for rows without one;
- ``questions``: ``question`` or ``query``, else the ``query``/``question`` in the run inputs (an optional
  socket too);
- ``expected_tool_calls``: ``expected_tool_calls``.

``EvaluatorSpec.inputs`` overrides any socket: a row key, or ``"@component.output"`` for another component's
output in the same run. Optional sockets are filled only when every scored row has a value for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from haybale.dataclasses import ChatMessage, Document
from haybale.errors import EvaluationError
from haybale.evaluation.component_inputs import MISSING, component_input
from haybale.evaluation.spec import EvaluatorSpec, output_as_documents, output_as_text

__all__ = ["MISSING", "RowContext", "evaluator_input", "ground_truth_documents"]

#: dataset row keys holding ground truths, most specific first
_DOCUMENT_KEYS = ("ground_truth_documents", "ground_truth_document_ids")
_ANSWER_KEYS = ("ground_truth_answer", "ground_truth_answers")
_QUESTION_KEYS = ("question", "query")


@dataclass(frozen=True)
class RowContext:
    """One scored row: the dataset row, its position, the pipeline and every component's outputs."""

    row: Mapping[str, Any]
    index: int
    pipeline: Any
    outputs: Mapping[str, Mapping[str, Any]]
    component: str
    socket: str
    target: str

    @property
    def output(self) -> Any:
        """The scored output."""
        return self.outputs[self.component][self.socket]

    def received(self, socket: str) -> Any:
        """What the scored component received on ``socket`` (or MISSING)."""
        data = self.row.get("inputs") or {}
        return component_input(self.pipeline, self.outputs, data, self.component, socket)


def _row_value(context: RowContext, keys: tuple[str, ...], socket: str) -> tuple[str, Any]:
    for key in keys:
        if key in context.row:
            return key, context.row[key]
    raise EvaluationError(
        f"Dataset row {context.index} has none of {list(keys)}, which the evaluator input '{socket}' for "
        f"'{context.target}' needs. Add one of them to every row, or map the socket to another key with "
        f"EvaluatorSpec(evaluator, inputs={{'{socket}': 'your_key'}})."
    )


def ground_truth_documents(value: Any, compare_by: str) -> list[Document]:
    """Ground-truth documents from a row: documents, or strings taken as ids (``compare_by == "id"``) or
    contents."""
    items = value if isinstance(value, list | tuple) else [value]
    documents = []
    for item in items:
        if isinstance(item, Document):
            documents.append(item)
        elif isinstance(item, str):
            documents.append(Document(id=item) if compare_by == "id" else Document(content=item))
        else:
            raise EvaluationError(
                f"Ground-truth documents must be Documents or strings (ids or contents), got "
                f"{type(item).__name__}: {item!r:.60}."
            )
    return documents


def _as_socket_value(socket: str, value: Any) -> Any:
    """A referenced output shaped for the socket it fills."""
    if socket == "predicted_answers":
        return output_as_text(value)
    if socket in ("retrieved_documents", "ranked_documents", "source_documents"):
        return output_as_documents(value)
    if socket == "contexts":
        return [d.content or "" for d in output_as_documents(value)]
    return value


def _referenced_output(spec: EvaluatorSpec, socket: str, reference: str, context: RowContext) -> Any:
    component, _, output = reference[1:].partition(".")
    produced = context.outputs.get(component)
    if produced is None or output not in produced:
        available = sorted(context.outputs)
        raise EvaluationError(
            f"The input '{socket}' of {type(spec.evaluator).__name__} (scoring '{context.target}') refers "
            f"to '{reference}', but row {context.index} has no such output. Components with outputs: "
            f"{available}; write '@component.output'."
        )
    return _as_socket_value(socket, produced[output])


def _prompt(context: RowContext) -> Any:
    if context.socket == "prompt":
        return context.output
    for socket in ("messages", "prompt"):
        value = context.received(socket)
        if value is not MISSING:
            return value
    return MISSING


def _conversation(context: RowContext) -> Any:
    output = context.output
    if not isinstance(output, list) or not all(isinstance(m, ChatMessage) for m in output):
        return MISSING
    if context.socket == "replies":
        sent = context.received("messages")
        return [*(sent if isinstance(sent, list) else []), *output]
    return output


def _question(context: RowContext, socket: str, optional: bool) -> Any:
    data = context.row.get("inputs") or {}
    if optional and not any(key in context.row for key in _QUESTION_KEYS):
        asked = [data[key] for key in _QUESTION_KEYS if isinstance(data.get(key), str)]
        return asked[0] if asked else MISSING
    for key in _QUESTION_KEYS:
        if key not in context.row and isinstance(data.get(key), str):
            return data[key]
    return _row_value(context, _QUESTION_KEYS, socket)[1]


def _answer(context: RowContext, socket: str, optional: bool) -> Any:
    if optional and not any(key in context.row for key in _ANSWER_KEYS):
        return ""
    key, value = _row_value(context, _ANSWER_KEYS, socket)
    if key == "ground_truth_answers" and isinstance(value, list | tuple):
        return str(value[0]) if value else ""
    return str(value)


def _documents(spec: EvaluatorSpec, context: RowContext, socket: str) -> Any:
    compare_by = getattr(spec.evaluator, "document_comparison_field", "content")
    key, value = _row_value(context, _DOCUMENT_KEYS, socket)
    if key == "ground_truth_document_ids" and compare_by != "id":
        raise EvaluationError(
            f"Dataset row {context.index} gives ground_truth_document_ids, but "
            f"{type(spec.evaluator).__name__} (scoring '{context.target}') compares documents by "
            f"'{compare_by}'. Create it with "
            "document_comparison_field='id', or give ground_truth_documents instead."
        )
    return ground_truth_documents(value, compare_by)


def evaluator_input(  # noqa: PLR0911 - one return per socket kind reads best
    spec: EvaluatorSpec, socket: str, context: RowContext, optional: bool = False
) -> Any:
    """The value for one evaluator input socket in one row (see the module doc); :data:`MISSING` when an
    optional socket has no value.

    Raises:
        EvaluationError: the row lacks a needed ground truth, a reference names no output, or a mandatory
            socket cannot be filled.
    """
    mapped = spec.inputs.get(socket)
    if mapped is not None:
        if mapped.startswith("@"):
            return _referenced_output(spec, socket, mapped, context)
        return _row_value(context, (mapped,), socket)[1]
    output = context.output
    simple: dict[str, Callable[[], Any]] = {
        "retrieved_documents": lambda: output_as_documents(output),
        "ranked_documents": lambda: output_as_documents(output),
        "contexts": lambda: [d.content or "" for d in output_as_documents(output)],
        "predicted_answers": lambda: output_as_text(output),
        "tool_calls": lambda: output if isinstance(output, list) else [output],
        "prompts": lambda: _prompt(context),
        "source_documents": lambda: context.received("documents"),
        "messages": lambda: _conversation(context),
    }
    if socket in simple:
        value = simple[socket]()
        if value is MISSING and not optional:
            raise EvaluationError(_unfillable(spec, socket, context))
        return value
    if socket == "ground_truth_documents":
        return _documents(spec, context, socket)
    if socket == "ground_truth_answers":
        return _answer(context, socket, optional)
    if socket == "questions":
        return _question(context, socket, optional)
    if socket == "expected_tool_calls":
        return _row_value(context, ("expected_tool_calls",), socket)[1]
    if optional:
        return MISSING
    raise EvaluationError(
        f"Don't know how to fill the input '{socket}' of {type(spec.evaluator).__name__} (scoring "
        f"'{context.target}'). Map it to a dataset row key or an output: "
        f"EvaluatorSpec(evaluator, inputs={{'{socket}': 'row_key' or '@component.output'}})."
    )


def _unfillable(spec: EvaluatorSpec, socket: str, context: RowContext) -> str:
    hints = {
        "prompts": "score a prompt builder's 'prompt' output, or a generator whose 'messages'/'prompt' input "
        "is connected",
        "source_documents": "score a component with a connected 'documents' input (a prompt builder, a "
        "ranker)",
        "messages": "score a chat generator's 'replies' or an agent's 'messages'",
    }
    return (
        f"Cannot fill the input '{socket}' of {type(spec.evaluator).__name__} for '{context.target}' in row "
        f"{context.index}: {hints.get(socket, 'no value')}. Or map it: "
        f"EvaluatorSpec(evaluator, inputs={{'{socket}': '@component.output'}})."
    )
