"""LLMEvaluator: judge each row of inputs with a chat model that answers in JSON."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, get_origin

from haybale.components.evaluators._llm_json_protocol import (
    InvalidReplyError,
    build_evaluation_prompt,
    parse_json_reply,
)
from haybale.components.evaluators._parallel_inputs import check_parallel_lists
from haybale.core.component import component
from haybale.core.serialization import default_to_dict, deserialize_object
from haybale.dataclasses import ChatMessage
from haybale.errors import ComponentError, DeserializationError, HaybaleError

__all__ = ["LLMEvaluator", "default_evaluation_chat_generator"]

_NAME = "LLMEvaluator"
#: How many rows run_async sends to the model at once.
_ASYNC_CONCURRENCY = 4


def default_evaluation_chat_generator() -> Any:
    """The generator used when none is given: OpenAI ``gpt-4o-mini`` in JSON mode, key from OPENAI_API_KEY."""
    from haybale.components.generators.openai_chat import OpenAIChatGenerator

    return OpenAIChatGenerator(
        model="gpt-4o-mini", generation_kwargs={"response_format": {"type": "json_object"}, "seed": 42}
    )


def _check_inputs(name: str, inputs: Any) -> list[tuple[str, Any]]:
    if not isinstance(inputs, list) or not inputs:
        raise ComponentError(
            f"{name}: inputs must be a non-empty list of (name, type) pairs such as "
            f"[('questions', list[str])], got {inputs!r}."
        )
    checked: list[tuple[str, Any]] = []
    for index, pair in enumerate(inputs):
        if not isinstance(pair, tuple | list) or len(pair) != 2 or not isinstance(pair[0], str):
            raise ComponentError(f"{name}: inputs[{index}] must be a (name, type) pair, got {pair!r}.")
        input_name: str = pair[0]
        input_type: Any = pair[1]
        if not input_name.isidentifier():
            raise ComponentError(f"{name}: input name {input_name!r} must be a valid Python identifier.")
        if input_type is not list and get_origin(input_type) is not list:
            raise ComponentError(
                f"{name}: input {input_name!r} has type {input_type!r}, but every input holds one value per "
                "row, so its type must be a list, e.g. list[str]."
            )
        checked.append((input_name, input_type))
    names = [input_name for input_name, _ in checked]
    if len(set(names)) != len(names):
        raise ComponentError(f"{name}: input names must be unique, got {names}.")
    return checked


def _check_outputs(name: str, outputs: Any) -> list[str]:
    valid = isinstance(outputs, list) and outputs and all(isinstance(o, str) and o for o in outputs)
    if not valid or len(set(outputs)) != len(outputs):
        raise ComponentError(
            f"{name}: outputs must be a non-empty list of distinct key names such as ['score'], got "
            f"{outputs!r}."
        )
    return list(outputs)


def _check_examples(
    name: str, examples: Any, input_names: list[str], outputs: list[str]
) -> list[dict[str, Any]]:
    if not isinstance(examples, list):
        raise ComponentError(f"{name}: examples must be a list of {{'inputs': ..., 'outputs': ...}} dicts.")
    for index, example in enumerate(examples):
        if not isinstance(example, dict) or set(example) != {"inputs", "outputs"}:
            raise ComponentError(
                f"{name}: examples[{index}] must be a dict with exactly the keys 'inputs' and 'outputs', got "
                f"{example!r}."
            )
        for part, expected in (("inputs", input_names), ("outputs", outputs)):
            given = example[part]
            if not isinstance(given, dict) or sorted(given) != sorted(expected):
                keys = sorted(given) if isinstance(given, dict) else given
                raise ComponentError(
                    f"{name}: examples[{index}]['{part}'] must be a dict with the keys {expected}, got "
                    f"{keys!r}."
                )
    return [dict(example) for example in examples]


@component
class LLMEvaluator:
    """Evaluate rows of inputs with a chat model: for each row, the model reads the instructions and a few
    examples and answers with a JSON object holding the declared ``outputs``.

    The input sockets are the names in ``inputs``; each receives a list with one value per row, and all lists
    must have the same length. Each row is sent as one user message to ``chat_generator`` (any haybale chat
    generator: :class:`OpenAIChatGenerator` for OpenAI or any OpenAI-compatible server,
    :class:`LlamaCppChatGenerator` for a local GGUF model).

    A reply that is not a JSON object with every output key is a failure. With ``raise_on_failure=True`` the
    run raises a :class:`ComponentError` naming the row; with False the row's result is None and its
    ``meta`` entry holds ``"error"``, and the other rows are still evaluated.

    Args:
        instructions: what to judge and how, e.g. "Is the answer supported by the context?".
        inputs: ``(name, type)`` pairs; every type is a list (one value per row), e.g. ``("questions",
            list[str])``.
        outputs: the JSON keys the model must answer with.
        examples: worked examples, each ``{"inputs": {name: value}, "outputs": {key: value}}`` for one row.
        chat_generator: the chat generator to ask; None means OpenAI ``gpt-4o-mini`` in JSON mode with the key
            from OPENAI_API_KEY.
        raise_on_failure: raise on a failed row (True) or record it and go on (False).

    Raises:
        ComponentError: malformed inputs, outputs or examples, or a chat_generator without ``run``.
    """

    def __init__(  # noqa: PLR0917 - mirrors Haystack's LLMEvaluator so evaluation code ports over
        self,
        instructions: str,
        inputs: list[tuple[str, type[list[Any]]]],
        outputs: list[str],
        examples: list[dict[str, Any]],
        chat_generator: Any = None,
        raise_on_failure: bool = True,
    ) -> None:
        if not isinstance(instructions, str) or not instructions.strip():
            raise ComponentError(f"{_NAME}: instructions must be a non-empty string, got {instructions!r}.")
        self.instructions = instructions
        self.inputs = _check_inputs(_NAME, inputs)
        self.outputs = _check_outputs(_NAME, outputs)
        self.examples = _check_examples(_NAME, examples, [n for n, _ in self.inputs], self.outputs)
        if chat_generator is None:
            chat_generator = default_evaluation_chat_generator()
        if not callable(getattr(chat_generator, "run", None)):
            raise ComponentError(
                f"{_NAME}: chat_generator must be a chat generator component (with run(messages=...)), got "
                f"{type(chat_generator).__name__}."
            )
        self.chat_generator = chat_generator
        self.raise_on_failure = bool(raise_on_failure)
        #: The name failure messages start with; evaluators built on this one put their own name here.
        self.error_label = _NAME
        component.set_input_types(self, **dict(self.inputs))

    def warm_up(self) -> None:
        """Warm up the chat generator (idempotent)."""
        warm_up = getattr(self.chat_generator, "warm_up", None)
        if callable(warm_up):
            warm_up()

    def prompt_for(self, row: dict[str, Any]) -> str:
        """The prompt sent for one row (``{input_name: value}``): useful to inspect what the model sees."""
        return build_evaluation_prompt(self.instructions, self.outputs, self.examples, row)

    def _rows(self, inputs: dict[str, Any]) -> list[dict[str, Any]]:
        expected = [name for name, _ in self.inputs]
        missing = [name for name in expected if name not in inputs]
        unknown = sorted(set(inputs) - set(expected))
        if missing or unknown:
            raise ComponentError(
                f"{_NAME}: expected the inputs {expected}; missing {missing}, unknown {unknown}."
            )
        count = check_parallel_lists(_NAME, **{name: inputs[name] for name in expected})
        return [{name: inputs[name][index] for name in expected} for index in range(count)]

    def _outcome(
        self, index: int, reply: Any, failure: Exception | None
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """Turn one row's generator result (or the exception it raised) into ``(result, meta)``."""
        meta: dict[str, Any] = {}
        try:
            if failure is not None:
                raise failure
            replies = reply.get("replies") if isinstance(reply, dict) else None
            if not replies or not isinstance(replies[0], ChatMessage):
                raise InvalidReplyError(f"the chat generator returned no reply message: {reply!r}")
            meta = dict(replies[0].meta)
            return parse_json_reply(replies[0].text, self.outputs), meta
        except (InvalidReplyError, HaybaleError) as error:
            message = f"{self.error_label}: row {index} failed: {error}"
            if self.raise_on_failure:
                raise ComponentError(
                    f"{message}. Set raise_on_failure=False to record failed rows and evaluate the rest."
                ) from error
            return None, {**meta, "error": message}

    def _collect(self, outcomes: list[tuple[dict[str, Any] | None, dict[str, Any]]]) -> dict[str, Any]:
        return {"results": [result for result, _ in outcomes], "meta": [meta for _, meta in outcomes]}

    @component.output_types(results=list[dict[str, Any] | None], meta=list[dict[str, Any]])
    def run(self, **inputs: Any) -> dict[str, Any]:
        """Ask the model about every row.

        Args:
            inputs: one list per declared input, all of the same length.

        Returns:
            ``{"results": [parsed JSON object or None per row], "meta": [reply meta per row, with "error"
            for failed rows]}``.

        Raises:
            ComponentError: missing, unknown, empty or mismatched inputs; or a failed row when
                ``raise_on_failure`` is True.
        """
        rows = self._rows(inputs)
        self.warm_up()
        outcomes = []
        for index, row in enumerate(rows):
            messages = [ChatMessage.from_user(self.prompt_for(row))]
            try:
                reply, failure = self.chat_generator.run(messages=messages), None
            except HaybaleError as error:
                reply, failure = None, error
            outcomes.append(self._outcome(index, reply, failure))
        return self._collect(outcomes)

    async def run_async(self, **inputs: Any) -> dict[str, Any]:
        """Async :meth:`run`: up to 4 rows at once, via the generator's ``run_async`` if it has one."""
        rows = self._rows(inputs)
        await asyncio.to_thread(self.warm_up)
        limit = asyncio.Semaphore(_ASYNC_CONCURRENCY)
        generate_async = getattr(self.chat_generator, "run_async", None)

        async def ask(row: dict[str, Any]) -> tuple[Any, Exception | None]:
            messages = [ChatMessage.from_user(self.prompt_for(row))]
            async with limit:
                try:
                    if generate_async is not None and inspect.iscoroutinefunction(generate_async):
                        return await generate_async(messages=messages), None
                    return await asyncio.to_thread(self.chat_generator.run, messages=messages), None
                except HaybaleError as error:
                    return None, error

        answers = await asyncio.gather(*(ask(row) for row in rows))
        return self._collect([self._outcome(i, reply, failure) for i, (reply, failure) in enumerate(answers)])

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``; input types as text, the generator nested."""
        from haybale.core.type_names import type_to_string

        return default_to_dict(
            self,
            instructions=self.instructions,
            inputs=[[name, type_to_string(tp)] for name, tp in self.inputs],
            outputs=list(self.outputs),
            examples=[dict(example) for example in self.examples],
            chat_generator=self.chat_generator.to_dict(),
            raise_on_failure=self.raise_on_failure,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LLMEvaluator:
        """Load from :meth:`to_dict` output (input types parsed safely, the generator allow-list checked).

        Raises:
            DeserializationError: malformed data, an unknown type, or a refused generator type.
        """
        params = dict(data.get("init_parameters") or {})
        params["inputs"] = deserialize_evaluator_inputs(params.get("inputs"))
        params["chat_generator"] = deserialize_chat_generator(params.get("chat_generator"))
        try:
            return cls(**params)
        except (TypeError, ComponentError) as error:
            raise DeserializationError(f"Cannot load {_NAME} from {sorted(params)}: {error}") from error


def deserialize_evaluator_inputs(inputs: Any) -> list[tuple[str, Any]]:
    """Turn serialized ``[[name, "list[str]"], ...]`` back into ``(name, type)`` pairs.

    Raises:
        DeserializationError: the data is not a list of [name, type-text] pairs or a type cannot be parsed.
    """
    from haybale.core.type_names import type_from_string

    if not isinstance(inputs, list):
        raise DeserializationError(f"{_NAME}: 'inputs' must be a list of [name, type] pairs, got {inputs!r}.")
    pairs = []
    for pair in inputs:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise DeserializationError(f"{_NAME}: each entry of 'inputs' must be [name, type], got {pair!r}.")
        name, tp = pair
        pairs.append((name, type_from_string(tp) if isinstance(tp, str) else tp))
    return pairs


def deserialize_chat_generator(data: Any) -> Any:
    """Load a nested chat generator (``{"type", "init_parameters"}``); None stays None.

    Raises:
        DeserializationError: malformed data or a type outside the allow-list.
    """
    return None if data is None else deserialize_object(data)
