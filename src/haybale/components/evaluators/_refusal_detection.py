"""Recognising a refusal ("I don't know", "the sources do not say") in an answer, without a model.

:func:`detect_refusal` returns how sure the phrasing check is: a refusal phrase that opens the answer, or a
short answer made of one, is a clear refusal; the same phrase inside a longer answer (a partial answer that
adds "the sources do not mention X") is a weak sign the judge should look at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["RefusalFinding", "detect_refusal"]

_PHRASES = [
    r"i(?:'m| am) (?:sorry|afraid|not able|unable)",
    r"i (?:do not|don't|cannot|can't|could not|couldn't) "
    r"(?:know|answer|find|tell|help|say|determine|provide)",
    r"(?:cannot|can't|unable to|not able to) (?:be )?(?:answer|determine|find|tell|say)",
    r"(?:do not|don't|does not|doesn't) (?:have|contain|mention|provide|say|include) "
    r"(?:enough |sufficient |any )?(?:information|details|data|answer)",
    r"(?:no|not enough|insufficient) (?:relevant )?(?:information|context|details|data)",
    r"(?:the )?(?:sources?|context|documents?|provided (?:text|information|passages?)) (?:do|does) not "
    r"(?:contain|mention|provide|say|answer|include|cover)",
    r"not (?:mentioned|covered|stated|provided) in the (?:sources?|context|documents?|text)",
    r"as an ai\b",
    r"unfortunately\b",
]
_REFUSAL = re.compile("|".join(f"(?:{p})" for p in _PHRASES), re.IGNORECASE)
_OPENING_CHARS = 80
_SHORT_WORDS = 30


@dataclass(frozen=True)
class RefusalFinding:
    """Whether an answer refuses, how sure the phrasing check is, and the phrase that decided it."""

    refused: bool
    confidence: float
    phrase: str


def detect_refusal(answer: str) -> RefusalFinding:
    """Classify ``answer`` as a refusal or not by its phrasing (see the module docstring)."""
    text = " ".join((answer or "").split())
    if not text:
        return RefusalFinding(True, 1.0, "")
    match = _REFUSAL.search(text.replace("\u2019", "'"))
    if match is None:
        return RefusalFinding(False, 0.9, "")
    clear = match.start() < _OPENING_CHARS or len(text.split()) <= _SHORT_WORDS
    return RefusalFinding(True, 0.95 if clear else 0.4, match.group(0))
