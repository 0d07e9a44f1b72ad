"""The prompt an LLM-based evaluator sends and the JSON reply it expects back.

The prompt is the evaluator's instructions, the names of the JSON keys to answer with, a few worked examples
(inputs and the expected JSON outputs), then the row to judge. Replies are parsed leniently about framing
(models like to wrap JSON in Markdown code fences or add a sentence around it) and strictly about content:
the reply must hold one JSON object with every expected key.
"""

from __future__ import annotations

import json
import re
from typing import Any

from haybale.errors import ExternalServiceError

__all__ = ["InvalidReplyError", "build_evaluation_prompt", "parse_json_reply"]

_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.DOTALL)


class InvalidReplyError(ExternalServiceError, ValueError):
    """The model's reply is not a JSON object with the expected keys; the message says what was wrong."""


def _as_json(value: Any) -> str:
    # default=str: rows may hold values JSON does not know (a Document); the model still reads faithful text.
    return json.dumps(value, ensure_ascii=False, default=str)


def build_evaluation_prompt(
    instructions: str, outputs: list[str], examples: list[dict[str, Any]], row: dict[str, Any]
) -> str:
    """The full prompt for one row: instructions, expected keys, examples, then the row's inputs."""
    keys = ", ".join(f'"{name}"' for name in outputs)
    parts = [
        "Instructions:",
        instructions.strip(),
        "",
        f"Reply with a single JSON object and nothing else. It must have exactly these keys: {keys}.",
        "Decide their values by following the instructions and the examples below.",
    ]
    if examples:
        parts += ["", "Examples:"]
        for example in examples:
            parts += ["Inputs:", _as_json(example["inputs"]), "Outputs:", _as_json(example["outputs"]), ""]
    else:
        parts.append("")
    parts += ["Now evaluate these inputs.", "Inputs:", _as_json(row), "Outputs:"]
    return "\n".join(parts)


def _json_text(reply: str) -> str:
    text = reply.strip()
    fenced = _FENCE.match(text)
    if fenced:
        return fenced.group(1).strip()
    if not text.startswith("{") and "{" in text and "}" in text:
        # Tolerate a sentence around the object ("Here is the result: {...}").
        return text[text.index("{") : text.rindex("}") + 1]
    return text


def parse_json_reply(reply: str | None, outputs: list[str]) -> dict[str, Any]:
    """Parse a model reply into a dict holding every key of ``outputs``.

    Raises:
        InvalidReplyError: the reply is empty, not JSON, not an object, or lacks expected keys.
    """
    if reply is None or not reply.strip():
        raise InvalidReplyError("the model returned no text (expected a JSON object)")
    text = _json_text(reply)
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        shown = reply if len(reply) <= 200 else reply[:200] + "..."
        raise InvalidReplyError(
            f"the reply is not valid JSON ({error.msg} at position {error.pos}): {shown!r}"
        ) from error
    if not isinstance(parsed, dict):
        raise InvalidReplyError(f"the reply is JSON but not an object: {parsed!r}")
    missing = [name for name in outputs if name not in parsed]
    if missing:
        raise InvalidReplyError(f"the reply lacks the keys {missing} (it has {sorted(parsed)})")
    return parsed
