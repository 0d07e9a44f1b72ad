"""Finding split windows in text: runs of N units (words, lines, sentences, tokens, ...) with overlap.

A *unit* always includes the separator that follows it (a word and its trailing whitespace, a line and its
newline), so units tile the text exactly and a window ``[start, end)`` is a plain slice of the original: no
text is rebuilt by joining pieces, and character offsets stay exact.

Two engines produce the windows as ``(start, end, unit_count)`` triples:

* :func:`regex_windows` for units a regular expression can describe (word, line, page, passage): each window
  is found by matching "up to N units" directly at the window start, so the work is linear in the text and
  no per-unit Python object is ever created (a 50 MB text splits in seconds, in constant extra memory);
* :func:`offset_windows` over a list of unit start offsets (sentences from pysbd, tokens from a tokenizer).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

from haybale.errors import ComponentError, optional_dependency

__all__ = [
    "UNIT_PATTERNS",
    "Window",
    "character_windows",
    "check_language",
    "count_units",
    "offset_windows",
    "regex_windows",
    "sentence_packed_windows",
    "sentence_starts",
    "word_character_windows",
]

#: One unit of each regex-describable kind, including its trailing separator.
UNIT_PATTERNS: dict[str, str] = {
    "word": r"\s*\S+\s*",
    "line": r"[^\n]*\n|[^\n]+",
    "page": r"[^\f]*\f|[^\f]+",
    "passage": r"[\s\S]+?(?:\n[ \t]*\n\s*|\f\s*|\Z)",
}

Window = tuple[int, int, int]


@functools.lru_cache(maxsize=64)
def _counted(unit: str, count: int) -> re.Pattern[str]:
    return re.compile(f"(?:{UNIT_PATTERNS[unit]}){{1,{count}}}")


@functools.lru_cache(maxsize=8)
def _single(unit: str) -> re.Pattern[str]:
    return re.compile(UNIT_PATTERNS[unit])


def count_units(text: str, unit: str, start: int = 0, end: int | None = None) -> int:
    """Count the ``unit``s (see :data:`UNIT_PATTERNS`) in ``text[start:end]``."""
    pattern = _single(unit)
    return sum(1 for _ in pattern.finditer(text, start, len(text) if end is None else end))


def regex_windows(text: str, unit: str, length: int, step: int) -> Iterator[Window]:
    """Yield windows of up to ``length`` units, each starting ``step`` units after the previous one.

    The last window is the first one that reaches the end of the text. ``unit_count`` is exact for the last
    window and equals ``length`` for the others (they are full by construction).
    """
    window = _counted(unit, length)
    stepper = _counted(unit, step)
    position, size = 0, len(text)
    while position < size:
        match = window.match(text, position)
        if match is None:
            return  # only separators (e.g. trailing whitespace) are left
        end = match.end()
        if end >= size:
            yield position, end, count_units(text, unit, position, end)
            return
        yield position, end, length
        position = stepper.match(text, position).end()  # type: ignore[union-attr]


def character_windows(size: int, length: int, step: int) -> Iterator[Window]:
    """Yield windows of ``length`` characters every ``step`` characters over a text of ``size`` characters."""
    position = 0
    while position < size:
        end = min(position + length, size)
        yield position, end, end - position
        if end >= size:
            return
        position += step


def _is_space(text: str, index: int) -> bool:
    return text[index].isspace()


def word_character_windows(text: str, length: int, overlap: int) -> Iterator[Window]:
    """Yield windows of at most ``length`` characters that end and start at word boundaries.

    A window ends after the last whitespace in its second half (a word longer than half a window is cut
    where the window is full). The next window starts ``overlap`` characters before the previous end, moved
    forward to the start of a word, and always after the previous start.
    """
    size = len(text)
    position = 0
    while position < size:
        end = min(position + length, size)
        if end < size and not _is_space(text, end - 1) and not _is_space(text, end):
            floor = position + length // 2
            cut = end - 1
            while cut >= floor and not _is_space(text, cut):
                cut -= 1
            if cut >= floor:
                end = cut + 1
        yield position, end, end - position
        if end >= size:
            return
        start = max(end - overlap, position + 1)
        while start < end and start > 0 and not _is_space(text, start - 1):
            start += 1
        position = start


def offset_windows(starts: list[int], size: int, length: int, step: int) -> Iterator[Window]:
    """Yield windows over units given by their start offsets (the first should be 0)."""
    total = len(starts)
    index = 0
    while index < total:
        stop = index + length
        yield starts[index], starts[stop] if stop < total else size, min(length, total - index)
        if stop >= total:
            return
        index += step


def sentence_packed_windows(
    sentence_starts: list[int], sentence_units: list[int], size: int, length: int, overlap: int
) -> Iterator[Window]:
    """Yield windows of whole sentences holding at most ``length`` units (a longer sentence stands alone).

    Consecutive windows share trailing sentences holding at most ``overlap`` units (fewer when the next
    sentence would not fit next to them).
    """
    total = len(sentence_starts)
    first = 0
    while first < total:
        stop, units = first, 0
        while stop < total and (stop == first or units + sentence_units[stop] <= length):
            units += sentence_units[stop]
            stop += 1
        yield sentence_starts[first], sentence_starts[stop] if stop < total else size, units
        if stop >= total:
            return
        # Share trailing sentences, but only as many as leave room for the next new sentence: a window made
        # of shared sentences alone would add nothing.
        back, shared, room = stop, 0, length - sentence_units[stop]
        while back - 1 > first and shared + sentence_units[back - 1] <= min(overlap, room):
            shared += sentence_units[back - 1]
            back -= 1
        first = back


_BLOCK = re.compile(UNIT_PATTERNS["passage"])
_segmenters = threading.local()


def _segmenter(language: str) -> Any:
    """One pysbd segmenter per thread and language (pysbd keeps per-call state on the segmenter)."""
    cache: dict[str, Any] | None = getattr(_segmenters, "cache", None)
    if cache is None:
        cache = _segmenters.cache = {}
    if language not in cache:
        with optional_dependency("pysbd", extra="converters", feature="Sentence splitting"):
            import pysbd
        try:
            cache[language] = pysbd.Segmenter(language=language, clean=False)
        except ValueError as exc:
            raise ComponentError(
                f"Sentence splitting does not support language {language!r}: {exc}. Use an ISO 639-1 code "
                "that pysbd supports, such as 'en', 'de', 'fr', 'es', 'it'."
            ) from None
    return cache[language]


def check_language(language: str) -> None:
    """Raise ComponentError when pysbd cannot segment ``language``."""
    _segmenter(language)


def sentence_starts(text: str, language: str) -> list[int]:
    """Return the start offset of every sentence in ``text`` (the first is 0).

    Paragraph and page breaks always end a sentence; inside each paragraph pysbd decides (offline, rule
    based). pysbd runs on one paragraph at a time, which keeps it fast on long texts.
    """
    segment: Callable[[str], list[str]] = _segmenter(language).segment
    starts: list[int] = []
    for block in _BLOCK.finditer(text):
        base, block_text = block.start(), block.group()
        if not block_text.strip():
            continue
        starts.append(base)
        cursor, skipped = 0, 0
        for index, sentence in enumerate(segment(block_text)):
            needle = sentence.strip()[:64]
            if not needle:
                continue
            limit = cursor + skipped + len(sentence) + len(needle) + 256
            found = block_text.find(needle, cursor, limit)
            if found < 0:
                skipped += len(sentence)  # pysbd altered this sentence: it stays inside the previous unit
                continue
            if index > 0 and base + found > starts[-1]:
                starts.append(base + found)
            cursor, skipped = found + len(needle), 0
    if starts:
        starts[0] = 0
    return starts
