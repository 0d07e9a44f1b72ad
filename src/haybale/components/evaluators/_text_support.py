"""Lexical evidence for the deterministic rubric checks: sentences, content terms, and how much of a claim's
wording a source contains.

Terms come from the analyzer the document stores use for BM25 (case folding, accent folding, English stop
words removed, Snowball stems), so "Cattle eat dried grasses" and "grass dried for cattle" share their terms.
Citation markers such as ``[2]`` are not words of a claim; :func:`citations` reads them separately.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

__all__ = [
    "citations",
    "prompt_text",
    "sentences",
    "strip_citations",
    "support",
    "terms",
]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_CITATION = re.compile(r"\[(\d{1,3})\]")
_ANALYZER: Any = None
_ANALYZER_LOCK = threading.Lock()


def _analyzer() -> Any:
    global _ANALYZER  # noqa: PLW0603 - one shared analyzer (and its word cache) per process
    if _ANALYZER is None:
        with _ANALYZER_LOCK:
            if _ANALYZER is None:
                from haybale.stores.text_analysis import Analyzer

                _ANALYZER = Analyzer()
    return _ANALYZER


def terms(text: str) -> list[str]:
    """The content terms of ``text`` in order (stems, stop words removed, citation markers dropped)."""
    return list(_analyzer().tokenize(strip_citations(text)))


def strip_citations(text: str) -> str:
    """``text`` without ``[n]`` citation markers."""
    return _CITATION.sub(" ", text)


def citations(text: str) -> list[int]:
    """The numbers of the ``[n]`` citation markers in ``text``, in order (1-based, as prompts number
    sources)."""
    return [int(match) for match in _CITATION.findall(text)]


def sentences(text: str) -> list[str]:
    """``text`` split into sentences (at ``.!?`` followed by space, and at line breaks); sentences without a
    content term (greetings, bare citations) are dropped."""
    parts = (part.strip() for part in _SENTENCE_END.split(text or ""))
    return [part for part in parts if part and terms(part)]


def support(claim_terms: Iterable[str], source_terms: set[str]) -> float:
    """The fraction of a claim's distinct terms that occur in the source (0.0 for a claim without terms)."""
    wanted = set(claim_terms)
    if not wanted:
        return 0.0
    return len(wanted & source_terms) / len(wanted)


def prompt_text(prompt: Any) -> str:
    """A rendered prompt as text: a string as it is, chat messages joined by line breaks (their texts)."""
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return prompt
    items = prompt if isinstance(prompt, list | tuple) else [prompt]
    parts: list[str] = []
    for item in items:
        texts = getattr(item, "texts", None)
        if isinstance(texts, list):
            parts.extend(str(t) for t in texts)
        elif isinstance(item, dict) and isinstance(item.get("content"), str):
            parts.append(item["content"])
        else:
            parts.append(str(item))
    return "\n".join(parts)
