"""Spans inside a component: one per tool call, per agent step and per model call an agent makes.

Components open them through these helpers (``ToolInvoker`` and ``Agent`` do); each is a child of the span
open at the time, so an agent's component span holds its steps, and each step its model call and tool calls.
With tracing off the helpers cost one attribute check.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

from haybale.core.tracing import Span, tracer
from haybale.tracing import semconv
from haybale.tracing.genai_attributes import llm_request_tags, llm_response_tags, set_llm_content

__all__ = [
    "agent_step_span",
    "record_generation",
    "record_tool_decisions",
    "record_tool_result",
    "tool_call_span",
    "traced_generation",
    "traced_generation_async",
]


@contextlib.contextmanager
def tool_call_span(call: Any) -> Iterator[Span]:
    """A TOOL span around invoking one :class:`~haybale.dataclasses.ToolCall` (arguments as a content tag)."""
    tags = {
        semconv.SPAN_KIND: semconv.TOOL,
        semconv.GEN_AI_OPERATION: "execute_tool",
        semconv.GEN_AI_TOOL_NAME: call.tool_name,
        semconv.GEN_AI_TOOL_CALL_ID: call.id or "",
    }
    with tracer.trace(semconv.TOOL_CALL, tags) as span:
        if tracer.actual_tracer is not None:
            span.set_content_tag(semconv.GEN_AI_TOOL_ARGUMENTS, json.dumps(call.arguments, default=str))
        yield span


def record_tool_result(span: Span, message: Any) -> None:
    """Tag a tool span with the tool's result text (content tag) and whether the call failed."""
    if tracer.actual_tracer is None:
        return
    result = message.tool_call_result
    if result is None:
        return
    span.set_tag(semconv.TOOL_ERROR, bool(result.error))
    span.set_content_tag(semconv.GEN_AI_TOOL_RESULT, result.result)


def record_tool_decisions(decisions: Any) -> None:
    """One ``haybale.tool.confirmation`` span per confirmation decision of an agent (a
    :class:`~haybale.components.agents.ToolDecision`): the tool, the call id, the policy, whether the call may
    run and who decided; the reason as a content tag. They sit beside the tool call spans of the same step."""
    if tracer.actual_tracer is None:
        return
    for decision in decisions:
        tags = {
            semconv.SPAN_KIND: semconv.CHAIN,
            semconv.GEN_AI_TOOL_NAME: decision.tool_name,
            semconv.GEN_AI_TOOL_CALL_ID: decision.tool_call_id or "",
            semconv.TOOL_CONFIRMATION_POLICY: decision.policy,
            semconv.TOOL_CONFIRMATION_APPROVED: bool(decision.approved),
            semconv.TOOL_CONFIRMATION_DECIDED_BY: decision.decided_by,
        }
        with tracer.trace(semconv.TOOL_CONFIRMATION, tags) as span:
            if decision.reason:
                span.set_content_tag(semconv.TOOL_CONFIRMATION_REASON, decision.reason)


@contextlib.contextmanager
def agent_step_span(step: int) -> Iterator[Span]:
    """A CHAIN span around one agent step (one model call and the tool calls it asked for)."""
    tags = {semconv.SPAN_KIND: semconv.CHAIN, semconv.AGENT_STEP_INDEX: step}
    with tracer.trace(semconv.AGENT_STEP, tags) as span:
        yield span


def record_generation(span: Span, output: Any) -> None:
    """Tag an LLM span with the response attributes of a generator's output (``{"replies": [...]}``)."""
    replies = output.get("replies") if isinstance(output, Mapping) else None
    if isinstance(replies, list):
        span.set_tags(llm_response_tags(replies))
        set_llm_content(span, None, replies)


def traced_generation(generator: Any, kwargs: dict[str, Any]) -> Any:
    """``generator.run(**kwargs)`` inside an LLM span with the GenAI request and response attributes."""
    if tracer.actual_tracer is None:
        return generator.run(**kwargs)
    tags = {semconv.SPAN_KIND: semconv.LLM, **llm_request_tags(generator, kwargs)}
    with tracer.trace(semconv.LLM_CALL, tags) as span:
        set_llm_content(span, kwargs, None)
        output = generator.run(**kwargs)
        record_generation(span, output)
        return output


async def traced_generation_async(generator: Any, kwargs: dict[str, Any], call: Any) -> Any:
    """Await ``call(**kwargs)`` (the generator's async run) in an LLM span, as :func:`traced_generation`."""
    if tracer.actual_tracer is None:
        return await call(**kwargs)
    tags = {semconv.SPAN_KIND: semconv.LLM, **llm_request_tags(generator, kwargs)}
    with tracer.trace(semconv.LLM_CALL, tags) as span:
        set_llm_content(span, kwargs, None)
        output = await call(**kwargs)
        record_generation(span, output)
        return output
