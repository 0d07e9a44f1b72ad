"""Agent: a chat generator and tools in a loop, until the model answers or calls an exit tool."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, get_origin

from haybale.components.agents.confirmation import (
    ConfirmCallback,
    ToolDecision,
    decision_from,
    decisions_from_answer,
    policy_for,
    validate_policies,
)
from haybale.components.generators.chat_serialization import (
    deserialize_callback_and_tools,
    serialize_streaming_callback,
)
from haybale.components.generators.openai_format import StreamingCallback
from haybale.components.tools.tool_invoker import ToolCallOutcome, ToolInvoker
from haybale.core.breakpoints import Breakpoint, ComponentControls, ComponentPaused, current_controls
from haybale.core.component import component, get_input_sockets, is_component
from haybale.core.serialization import default_from_dict, default_to_dict, deserialize_object
from haybale.core.type_names import type_from_string, type_to_string
from haybale.dataclasses import ChatMessage, ChatRole, ToolCall
from haybale.errors import ComponentError
from haybale.tools import Tool, serialize_tools
from haybale.tools.tool import deserialize_callable, serialize_callable
from haybale.tracing.operation_spans import (
    agent_step_span,
    record_tool_decisions,
    traced_generation,
    traced_generation_async,
)

__all__ = ["Agent"]

logger = logging.getLogger(__name__)

_RESERVED = frozenset({"messages", "last_message", "streaming_callback", "tool_decisions"})
_CALLBACK = "streaming_callback"


@component
class Agent:
    """Runs a chat generator with tools in a loop: generate, invoke the requested tools, feed the results
    back, repeat.

    The loop stops when the model replies without calling a tool (always: there is nothing left to do), when
    it calls a tool named in ``exit_conditions`` (after that tool ran successfully), or after ``max_steps``
    generations (a warning is logged and the conversation so far is returned).

    Pausing: inside a pipeline, ``Breakpoint("agent", step=2)`` stops before the agent's second generation and
    ``Breakpoint("agent", tool="search")`` before it runs a ``search`` call; the snapshot holds the
    conversation so far, and resuming continues the loop where it stopped.

    Confirmation: ``tool_confirmation`` sets a policy per tool (``"always"`` runs it, ``"never"`` refuses it,
    ``"ask"`` asks; ``"*"`` covers the other tools). Asking calls ``confirm(tool_call)`` when given; without
    it the run pauses with the calls in ``snapshot.question``, and ``snapshot.answer(...)`` gives the
    decisions. Every decision is returned in ``tool_decisions`` and recorded on the tool message.

    State: ``state_schema`` declares extra keys (``{"documents": list[Document], "calls": int}``) that become
    optional inputs and outputs of the agent. Tools read them through ``Tool.inputs_from_state`` and write
    them through ``Tool.outputs_to_state``; list-typed keys accumulate (new values are appended), other keys
    are replaced. Tool failures reach the model as tool error messages (see :class:`ToolInvoker`).

    Args:
        chat_generator: a chat generator component (``run(messages, tools=..., streaming_callback=...)``).
        tools: the tools the model may call.
        system_prompt: prepended as a system message unless the messages already start with one.
        exit_conditions: ``"text"`` and/or tool names; default ``["text"]``.
        max_steps: the most generations per run.
        streaming_callback: receives every streamed chunk of every step; can be overridden per run.
        state_schema: extra state keys and their types.
        raise_on_tool_failure: raise instead of returning tool errors to the model.
        tool_confirmation: policy per tool name (``"always"``, ``"never"``, ``"ask"``; key ``"*"`` for the
            rest; tools not covered run without asking).
        confirm: called with each ``ToolCall`` whose policy is ``"ask"``; returns True/False or a
            :class:`ToolDecision` (which may change the arguments). Without it, asking pauses the run.

    Raises:
        ComponentError: a non-component generator, an unknown exit condition, ``max_steps`` < 1, a state
            key that clashes with the agent's own sockets, or an invalid confirmation policy.
    """

    #: the inner breakpoints a pipeline may set on an agent: ``Breakpoint(name, step=n)`` / ``tool=...``
    breakpoint_kinds: ClassVar[tuple[str, ...]] = ("step", "tool")

    def __init__(  # noqa: PLR0917 - positional order mirrors Haystack's Agent so ports keep working
        self,
        chat_generator: Any,
        tools: list[Tool] | None = None,
        system_prompt: str | None = None,
        exit_conditions: list[str] | None = None,
        max_steps: int = 10,
        streaming_callback: StreamingCallback | None = None,
        state_schema: dict[str, Any] | None = None,
        raise_on_tool_failure: bool = False,
        tool_confirmation: dict[str, str] | None = None,
        confirm: ConfirmCallback | None = None,
    ) -> None:
        if not is_component(chat_generator) or "messages" not in get_input_sockets(chat_generator):
            raise ComponentError(
                f"Agent needs a chat generator component with a `messages` input (OpenAIChatGenerator or "
                f"LlamaCppChatGenerator), got {chat_generator!r}."
            )
        conditions = list(exit_conditions) if exit_conditions is not None else ["text"]
        tool_names = [t.name for t in tools or []]
        unknown = [c for c in conditions if c != "text" and c not in tool_names]
        if not conditions or unknown:
            raise ComponentError(
                f"Agent: invalid exit_conditions {conditions!r}; each must be 'text' or a tool name of "
                f"{tool_names}."
            )
        if not isinstance(max_steps, int) or max_steps < 1:
            raise ComponentError(f"Agent: max_steps must be an int >= 1, got {max_steps!r}.")
        schema = dict(state_schema or {})
        policies = validate_policies(tool_confirmation, tool_names)
        if confirm is not None and not callable(confirm):
            raise ComponentError(f"Agent: confirm must be a callable taking a ToolCall, got {confirm!r}.")
        clashes = sorted(_RESERVED & set(schema))
        if clashes:
            raise ComponentError(
                f"Agent: state keys {clashes} clash with the agent's own sockets; rename them."
            )
        self.chat_generator = chat_generator
        self.tools = list(tools) if tools else None
        self.system_prompt = system_prompt
        self.exit_conditions = conditions
        self.max_steps = max_steps
        self.streaming_callback = streaming_callback
        self.state_schema = schema
        self.raise_on_tool_failure = raise_on_tool_failure
        self.tool_confirmation = policies
        self.confirm = confirm
        self._invoker = (
            ToolInvoker(self.tools, raise_on_failure=raise_on_tool_failure) if self.tools else None
        )
        self._generator_inputs = set(get_input_sockets(chat_generator))
        for key, tp in schema.items():
            component.set_input_type(self, key, tp, default=None)
        outputs: dict[str, Any] = {"messages": list[ChatMessage], "last_message": ChatMessage, **schema}
        if policies:
            outputs["tool_decisions"] = list[ToolDecision]
        component.set_output_types(self, **outputs)

    def warm_up(self) -> None:
        """Warm up the chat generator and the tools that need it (idempotent)."""
        warm_up = getattr(self.chat_generator, "warm_up", None)
        if callable(warm_up):
            warm_up()
        for tool in self.tools or []:
            tool_warm_up = getattr(tool, "warm_up", None)
            if callable(tool_warm_up):
                tool_warm_up()

    # -- loop pieces -----------------------------------------------------------------------------------------
    def _start(
        self, messages: list[ChatMessage], state: dict[str, Any]
    ) -> tuple[list[ChatMessage], dict[str, Any]]:
        if not isinstance(messages, list) or not messages:
            raise ComponentError("Agent.run needs a non-empty list of ChatMessages in `messages`.")
        unknown = sorted(set(state) - set(self.state_schema))
        if unknown:
            raise ComponentError(
                f"Agent.run got unknown state keys {unknown}; declared keys: {sorted(self.state_schema)}. "
                "Declare them in state_schema."
            )
        conversation = list(messages)
        if self.system_prompt and not conversation[0].is_from(ChatRole.SYSTEM):
            conversation.insert(0, ChatMessage.from_system(self.system_prompt))
        return conversation, {k: v for k, v in state.items() if v is not None}

    def _generator_kwargs(self, conversation: list[ChatMessage], callback: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"messages": conversation}
        if self.tools and "tools" in self._generator_inputs:
            kwargs["tools"] = self.tools
        if callback is not None and _CALLBACK in self._generator_inputs:
            kwargs[_CALLBACK] = callback
        return kwargs

    def _merge_state(self, state: dict[str, Any], outcomes: list[ToolCallOutcome]) -> None:
        for outcome in outcomes:
            for key, value in outcome.state_updates.items():
                if key not in self.state_schema:
                    logger.warning("Agent: tool wrote undeclared state key %r; ignored.", key)
                    continue
                if get_origin(self.state_schema[key]) is list or self.state_schema[key] is list:
                    state[key] = [*(state.get(key) or []), *(value if isinstance(value, list) else [value])]
                else:
                    state[key] = value

    def _should_exit(self, reply: ChatMessage, outcomes: list[ToolCallOutcome]) -> bool:
        if not reply.tool_calls or self._invoker is None:
            return True
        succeeded = {
            result.origin.tool_name
            for outcome in outcomes
            for result in outcome.message.tool_call_results
            if not result.error
        }
        return any(condition in succeeded for condition in self.exit_conditions if condition != "text")

    def _result(self, conversation: list[ChatMessage], state: dict[str, Any], steps: int) -> dict[str, Any]:
        if steps >= self.max_steps and conversation[-1].is_from(ChatRole.TOOL):
            logger.warning(
                "Agent stopped after max_steps=%d generations without reaching an exit condition %s; "
                "returning the conversation so far. Raise max_steps if the task needs more steps.",
                self.max_steps,
                self.exit_conditions,
            )
        return {"messages": conversation, "last_message": conversation[-1], **state}

    # -- pausing and confirming ------------------------------------------------------------------------------
    def _begin(
        self, messages: list[ChatMessage], state: dict[str, Any], controls: ComponentControls | None
    ) -> _Loop:
        if controls is not None and controls.resume is not None:
            return _Loop.from_resume(controls.resume)
        conversation, current = self._start(messages, state)
        return _Loop(conversation, current)

    def _pause(
        self, loop: _Loop, at: str, message: str, point: Breakpoint | None, question: Any = None
    ) -> None:
        loop.at = at
        raise ComponentPaused(message, state=loop.to_resume(), question=question, breakpoint=point)

    def _check_step(self, loop: _Loop, controls: ComponentControls | None) -> None:
        if controls is None or not controls.breakpoints:
            return
        if loop.passing("step"):
            return
        for point in controls.breakpoints:
            if point.step == loop.steps + 1:
                self._pause(loop, "step", f"Agent '{controls.name}' stopped before step {point.step}.", point)

    def _check_tools(self, loop: _Loop, controls: ComponentControls | None) -> None:
        if controls is None or not controls.breakpoints or loop.pending is None:
            return
        if loop.passing("tool"):
            return
        names = {call.tool_name for call in loop.pending.tool_calls}
        for point in controls.breakpoints:
            if point.tool is not None and point.tool in names:
                self._pause(
                    loop,
                    "tool",
                    f"Agent '{controls.name}' stopped before calling tool '{point.tool}'.",
                    point,
                )

    def _decide(self, loop: _Loop, controls: ComponentControls | None) -> list[ToolDecision] | None:
        """One decision per pending call, or None when no confirmation policy is configured."""
        if not self.tool_confirmation or loop.pending is None:
            return None
        calls = loop.pending.tool_calls
        policies = {call.tool_name: policy_for(self.tool_confirmation, call.tool_name) for call in calls}
        decided: dict[int, ToolDecision] = {}
        asked: list[int] = []
        for index, call in enumerate(calls):
            policy = policies[call.tool_name]
            if policy == "always":
                decided[index] = ToolDecision(call.tool_name, True, None, call.id, None, "policy", policy)
            elif policy == "never":
                reason = f"the tool {call.tool_name!r} may not run (confirmation policy 'never')"
                decided[index] = ToolDecision(call.tool_name, False, None, call.id, reason, "policy", policy)
            elif self.confirm is not None:
                decided[index] = decision_from(self.confirm(call), call, policy, "callback")
            else:
                asked.append(index)
        if asked:
            asked_calls = [calls[i] for i in asked]
            if loop.passing("confirm") and controls is not None and controls.answer is not None:
                answers = decisions_from_answer(controls.answer, asked_calls, policies)
                decided.update({asked[i]: decision for i, decision in answers.items()})
            else:
                name = controls.name if controls is not None else "agent"
                self._pause(
                    loop,
                    "confirm",
                    f"Agent '{name}' waits for confirmation of {len(asked_calls)} tool call(s): "
                    f"{', '.join(c.tool_name for c in asked_calls)}. Answer with "
                    "snapshot.answer(True/False or "
                    "ToolDecisions) and resume (an Agent outside a pipeline needs a confirm= callback).",
                    None,
                    question={"kind": "confirm_tool_calls", "tool_calls": asked_calls},
                )
        decisions = [decided[i] for i in range(len(calls))]
        loop.decisions.extend(decisions)
        record_tool_decisions(decisions)
        return decisions

    def _run_tools(
        self, loop: _Loop, decisions: list[ToolDecision] | None, invoke: Callable[..., list[ToolCallOutcome]]
    ) -> list[ToolCallOutcome]:
        assert loop.pending is not None and self._invoker is not None
        reply = loop.pending
        invalid_by_id = {entry.get("id"): entry for entry in reply.meta.get("invalid_tool_calls") or []}
        calls = reply.tool_calls
        if decisions is None:
            return invoke([(call, invalid_by_id.get(call.id)) for call in calls], loop.state)
        approved = [
            (
                i,
                ToolCall(
                    call.tool_name, dict(d.arguments) if d.arguments is not None else call.arguments, call.id
                ),
            )
            for i, (call, d) in enumerate(zip(calls, decisions, strict=True))
            if d.approved
        ]
        ran = (
            invoke([(call, invalid_by_id.get(call.id)) for _, call in approved], loop.state)
            if approved
            else []
        )
        by_index = dict(zip((i for i, _ in approved), ran, strict=True))
        outcomes: list[ToolCallOutcome] = []
        for index, (call, decision) in enumerate(zip(calls, decisions, strict=True)):
            outcome = by_index.get(index)
            if outcome is None:
                why = decision.reason or "it was declined"
                text = f"The call to tool {call.tool_name!r} was not run: {why}."
                outcome = ToolCallOutcome(ChatMessage.from_tool(text, origin=call, error=True))
            outcome.message.meta["decision"] = decision.to_dict()
            outcomes.append(outcome)
        return outcomes

    def _after_tools(self, loop: _Loop, outcomes: list[ToolCallOutcome]) -> bool:
        assert loop.pending is not None
        reply = loop.pending
        loop.conversation.extend(outcome.message for outcome in outcomes)
        self._merge_state(loop.state, outcomes)
        loop.pending = None
        return self._should_exit(reply, outcomes)

    def _finish(self, loop: _Loop) -> dict[str, Any]:
        result = self._result(loop.conversation, loop.state, loop.steps)
        if self.tool_confirmation:
            result["tool_decisions"] = loop.decisions
        return result

    # -- run -------------------------------------------------------------------------------------------------
    @component.output_types(messages=list[ChatMessage], last_message=ChatMessage)
    def run(
        self, messages: list[ChatMessage], streaming_callback: StreamingCallback | None = None, **state: Any
    ) -> dict[str, Any]:
        """Run the agent loop.

        Args:
            messages: the conversation so far (usually one user message).
            streaming_callback: receives each :class:`StreamingChunk` of every generation.
            **state: initial values of the keys declared in ``state_schema``.

        Returns:
            ``{"messages": [...], "last_message": ChatMessage, <state keys>...}``: the whole conversation
            (system prompt, replies and tool messages included) and the final state; with
            ``tool_confirmation``, also ``tool_decisions``.

        Raises:
            ComponentError: empty messages or undeclared state keys.
            ComponentPaused: at a ``step``/``tool`` breakpoint, or when a call needs confirmation and there is
                no ``confirm`` callback (inside a pipeline this becomes ``BreakpointReached``).
        """
        controls = current_controls()
        loop = self._begin(messages, state, controls)
        callback = streaming_callback or self.streaming_callback
        while loop.pending is not None or loop.steps < self.max_steps:
            with agent_step_span(loop.steps if loop.pending is not None else loop.steps + 1):
                if loop.pending is None:
                    self._check_step(loop, controls)
                    kwargs = self._generator_kwargs(loop.conversation, callback)
                    reply = traced_generation(self.chat_generator, kwargs)["replies"][0]
                    if not self._generated(loop, reply):
                        break
                self._check_tools(loop, controls)
                decisions = self._decide(loop, controls)
                outcomes = self._run_tools(loop, decisions, self._invoker.invoke_calls)  # type: ignore[union-attr]
                if self._after_tools(loop, outcomes):
                    break
        return self._finish(loop)

    @component.output_types(messages=list[ChatMessage], last_message=ChatMessage)
    async def run_async(
        self, messages: list[ChatMessage], streaming_callback: StreamingCallback | None = None, **state: Any
    ) -> dict[str, Any]:
        """Async :meth:`run`: uses the generator's ``run_async`` when it has one; tools (and a ``confirm``
        callback) run on threads."""
        controls = current_controls()
        loop = self._begin(messages, state, controls)
        callback = streaming_callback or self.streaming_callback
        generate_async = getattr(self.chat_generator, "run_async", None)
        while loop.pending is not None or loop.steps < self.max_steps:
            with agent_step_span(loop.steps if loop.pending is not None else loop.steps + 1):
                if loop.pending is None:
                    self._check_step(loop, controls)
                    kwargs = self._generator_kwargs(loop.conversation, callback)
                    if generate_async is not None:
                        output = await traced_generation_async(self.chat_generator, kwargs, generate_async)
                    else:
                        output = await asyncio.to_thread(traced_generation, self.chat_generator, kwargs)
                    if not self._generated(loop, output["replies"][0]):
                        break
                self._check_tools(loop, controls)
                decisions = await asyncio.to_thread(self._decide, loop, controls)
                outcomes = await asyncio.to_thread(
                    self._run_tools,
                    loop,
                    decisions,
                    self._invoker.invoke_calls,  # type: ignore[union-attr]
                )
                if self._after_tools(loop, outcomes):
                    break
        return self._finish(loop)

    def _generated(self, loop: _Loop, reply: ChatMessage) -> bool:
        """Record a reply; True when it has tool calls to run next."""
        loop.steps += 1
        loop.conversation.append(reply)
        if not reply.tool_calls or self._invoker is None:
            return False
        loop.pending = reply
        return True

    # -- serialization ---------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Serialize: the generator nested, tools by function path, state types as strings."""
        return default_to_dict(
            self,
            chat_generator=self.chat_generator.to_dict(),
            tools=serialize_tools(self.tools),
            system_prompt=self.system_prompt,
            exit_conditions=list(self.exit_conditions),
            max_steps=self.max_steps,
            streaming_callback=serialize_streaming_callback(self.streaming_callback),
            state_schema={key: type_to_string(tp) for key, tp in self.state_schema.items()} or None,
            raise_on_tool_failure=self.raise_on_tool_failure,
            tool_confirmation=dict(self.tool_confirmation) or None,
            confirm=None if self.confirm is None else serialize_callable(self.confirm, "confirm"),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Agent:
        """Build from :meth:`to_dict` output (the generator's type must be allow-listed)."""
        params = dict(data.get("init_parameters") or {})
        params["chat_generator"] = deserialize_object(params["chat_generator"])
        deserialize_callback_and_tools(params)
        if params.get("confirm"):
            params["confirm"] = deserialize_callable(params["confirm"], "confirm")
        if params.get("state_schema"):
            params["state_schema"] = {k: type_from_string(v) for k, v in params["state_schema"].items()}
        return default_from_dict(cls, {**data, "init_parameters": params})


@dataclass
class _Loop:
    """Where an agent's loop stands: what a pause saves and a resume restores."""

    conversation: list[ChatMessage]
    state: dict[str, Any]
    steps: int = 0
    pending: ChatMessage | None = None
    decisions: list[ToolDecision] = field(default_factory=list)
    at: str | None = None  # where it paused; that check is passed once on resume

    def passing(self, point: str) -> bool:
        """True (once) when the loop resumes at ``point``: the pause there already happened."""
        if self.at == point:
            self.at = None
            return True
        return False

    def to_resume(self) -> dict[str, Any]:
        return {
            "conversation": list(self.conversation),
            "state": dict(self.state),
            "steps": self.steps,
            "pending": self.pending,
            "decisions": list(self.decisions),
            "at": self.at,
        }

    @classmethod
    def from_resume(cls, data: dict[str, Any]) -> _Loop:
        return cls(
            conversation=list(data["conversation"]),
            state=dict(data["state"]),
            steps=int(data["steps"]),
            pending=data.get("pending"),
            decisions=list(data.get("decisions") or []),
            at=data.get("at"),
        )
