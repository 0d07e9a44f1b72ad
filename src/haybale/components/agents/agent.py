"""Agent: a chat generator and tools in a loop, until the model answers or calls an exit tool."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, get_origin

from haybale.components.generators.chat_serialization import (
    deserialize_callback_and_tools,
    serialize_streaming_callback,
)
from haybale.components.generators.openai_format import StreamingCallback
from haybale.components.tools.tool_invoker import ToolCallOutcome, ToolInvoker
from haybale.core.component import component, get_input_sockets, is_component
from haybale.core.serialization import default_from_dict, default_to_dict, deserialize_object
from haybale.core.type_names import type_from_string, type_to_string
from haybale.dataclasses import ChatMessage, ChatRole
from haybale.errors import ComponentError
from haybale.tools import Tool, serialize_tools
from haybale.tracing.operation_spans import agent_step_span, traced_generation, traced_generation_async

__all__ = ["Agent"]

logger = logging.getLogger(__name__)

_RESERVED = frozenset({"messages", "last_message", "streaming_callback"})
_CALLBACK = "streaming_callback"


@component
class Agent:
    """Runs a chat generator with tools in a loop: generate, invoke the requested tools, feed the results
    back, repeat.

    The loop stops when the model replies without calling a tool (always: there is nothing left to do), when
    it calls a tool named in ``exit_conditions`` (after that tool ran successfully), or after ``max_steps``
    generations (a warning is logged and the conversation so far is returned).

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

    Raises:
        ComponentError: a non-component generator, an unknown exit condition, ``max_steps`` < 1, or a state
            key that clashes with the agent's own sockets.
    """

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
        self._invoker = (
            ToolInvoker(self.tools, raise_on_failure=raise_on_tool_failure) if self.tools else None
        )
        self._generator_inputs = set(get_input_sockets(chat_generator))
        for key, tp in schema.items():
            component.set_input_type(self, key, tp, default=None)
        component.set_output_types(self, messages=list[ChatMessage], last_message=ChatMessage, **schema)

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
            (system prompt, replies and tool messages included) and the final state.

        Raises:
            ComponentError: empty messages or undeclared state keys.
        """
        conversation, current = self._start(messages, state)
        callback = streaming_callback or self.streaming_callback
        steps = 0
        while steps < self.max_steps:
            with agent_step_span(steps + 1):
                kwargs = self._generator_kwargs(conversation, callback)
                replies = traced_generation(self.chat_generator, kwargs)["replies"]
                steps += 1
                reply: ChatMessage = replies[0]
                conversation.append(reply)
                outcomes = (
                    self._invoker.invoke_messages([reply], current)
                    if self._invoker and reply.tool_calls
                    else []
                )
                conversation.extend(outcome.message for outcome in outcomes)
                self._merge_state(current, outcomes)
                if self._should_exit(reply, outcomes):
                    break
        return self._result(conversation, current, steps)

    @component.output_types(messages=list[ChatMessage], last_message=ChatMessage)
    async def run_async(
        self, messages: list[ChatMessage], streaming_callback: StreamingCallback | None = None, **state: Any
    ) -> dict[str, Any]:
        """Async :meth:`run`: uses the generator's ``run_async`` when it has one; tools run on threads."""
        conversation, current = self._start(messages, state)
        callback = streaming_callback or self.streaming_callback
        generate_async = getattr(self.chat_generator, "run_async", None)
        steps = 0
        while steps < self.max_steps:
            with agent_step_span(steps + 1):
                kwargs = self._generator_kwargs(conversation, callback)
                if generate_async is not None:
                    output = await traced_generation_async(self.chat_generator, kwargs, generate_async)
                else:
                    output = await asyncio.to_thread(traced_generation, self.chat_generator, kwargs)
                steps += 1
                reply: ChatMessage = output["replies"][0]
                conversation.append(reply)
                outcomes: list[ToolCallOutcome] = []
                if self._invoker is not None and reply.tool_calls:
                    outcomes = await asyncio.to_thread(self._invoker.invoke_messages, [reply], current)
                conversation.extend(outcome.message for outcome in outcomes)
                self._merge_state(current, outcomes)
                if self._should_exit(reply, outcomes):
                    break
        return self._result(conversation, current, steps)

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
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Agent:
        """Build from :meth:`to_dict` output (the generator's type must be allow-listed)."""
        params = dict(data.get("init_parameters") or {})
        params["chat_generator"] = deserialize_object(params["chat_generator"])
        deserialize_callback_and_tools(params)
        if params.get("state_schema"):
            params["state_schema"] = {k: type_from_string(v) for k, v in params["state_schema"].items()}
        return default_from_dict(cls, {**data, "init_parameters": params})
