"""Fit a conversation into a model's context window, dropping or trimming the least important parts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from haybale.errors import ComponentError

__all__ = ["ContextFit", "fit_messages_to_context"]

#: Tokens a chat template adds around each message (role markers and separators), a safe over-estimate for
#: ChatML-style templates such as SmolLM2's.
MESSAGE_OVERHEAD_TOKENS = 6
_ELISION = "\n[...]\n"


@dataclass
class ContextFit:
    """The result of :func:`fit_messages_to_context`.

    Attributes:
        messages: the messages that fit (OpenAI wire format).
        dropped_tokens: how many content tokens were removed (0 when everything fit).
        dropped_messages: how many whole messages were removed.
        prompt_tokens: the estimated prompt size after fitting.
    """

    messages: list[dict[str, Any]]
    dropped_tokens: int
    dropped_messages: int
    prompt_tokens: int


def _content(message: dict[str, Any]) -> str:
    return message.get("content") or ""


def fit_messages_to_context(
    messages: list[dict[str, Any]],
    encode: Callable[[str], list[int]],
    decode: Callable[[list[int]], str],
    budget: int,
) -> ContextFit:
    """Make ``messages`` fit into ``budget`` prompt tokens.

    Order of sacrifice: first the oldest messages that are neither system messages nor the last message are
    dropped whole; then the longest remaining content (user content first) is trimmed in its middle, keeping
    its beginning (instructions) and its end (usually the question), with ``[...]`` marking the cut.

    Args:
        messages: chat messages in the OpenAI wire format (not modified).
        encode: text to token ids.
        decode: token ids to text.
        budget: prompt tokens available (context size minus the tokens reserved for the answer).

    Raises:
        ComponentError: when not even one trimmed message fits (the budget is smaller than the per-message
            overhead): raise ``n_ctx`` or lower ``max_tokens``.
    """
    working = [dict(m) for m in messages]
    sizes = [len(encode(_content(m))) for m in working]
    total = sum(sizes) + MESSAGE_OVERHEAD_TOKENS * len(working)
    original_content_tokens = sum(sizes)
    dropped_messages = 0
    index = 0
    while total > budget and index < len(working) - 1:
        if working[index].get("role") == "system":
            index += 1
            continue
        total -= sizes[index] + MESSAGE_OVERHEAD_TOKENS
        del working[index]
        del sizes[index]
        dropped_messages += 1
    elision = len(encode(_ELISION))
    for _ in range(4 * len(working) + 8):
        if total <= budget:
            break
        target = max(
            range(len(working)), key=lambda i: (working[i].get("role") == "user" and sizes[i] > 0, sizes[i])
        )
        if sizes[target] == 0:
            break
        tokens = encode(_content(working[target]))
        keep = max(0, len(tokens) - (total - budget) - elision)
        head = keep // 2
        tail = keep - head
        trimmed = decode(tokens[:head]) + _ELISION + (decode(tokens[-tail:]) if tail else "")
        new_size = len(encode(trimmed))
        if new_size >= sizes[target]:
            # Re-tokenising across the cut can merge tokens differently; fall back to keeping the beginning.
            trimmed = decode(tokens[:head])
            new_size = len(encode(trimmed))
        working[target]["content"] = trimmed
        total -= sizes[target] - new_size
        sizes[target] = new_size
    if total > budget:
        raise ComponentError(
            f"The prompt cannot fit into the model's context: {budget} tokens are left for the prompt, not "
            f"enough for {len(working)} message(s) even after trimming. Raise `n_ctx` or lower "
            "`max_tokens` in generation_kwargs."
        )
    return ContextFit(
        messages=working,
        dropped_tokens=max(0, original_content_tokens - sum(sizes)),
        dropped_messages=dropped_messages,
        prompt_tokens=total,
    )
