"""The facts in a text that a reference answer can confirm or contradict without a model: numbers (years,
counts, amounts) and names (capitalised words such as places, people, months).

Numbers are compared by value as written in decimal: "1,889", "1889" and "1889.0" are the same number, and
the words two to twelve count as numbers. Names are compared by their stems (the analyzer of
:mod:`..text_support`), so "Moselle" in an answer matches "moselle" in a reference. A capitalised word at the
start of a sentence may just be an ordinary word ("Dried grass."), so such a name is marked as not
``proper`` unless its sentence is a fragment of names only ("Paris.", "The Rhine and the Moselle.").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from haybale.components.evaluators._text_support import sentences, terms

__all__ = ["NAME", "NUMBER", "Fact", "facts", "mentions", "numbers"]

NUMBER = "number"
NAME = "name"

_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:st|nd|rd|th|s)?\b")
_WORD = re.compile(r"[^\W\d_][\w'\u2019-]*")
_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"), start=2
    )
}


@dataclass(frozen=True)
class Fact:
    """One checkable fact: its kind (``"number"`` or ``"name"``), the key it is compared by (a number's
    value, a name's stems joined by spaces), the text as written, and whether it is surely a fact (every
    number; a name capitalised where an ordinary word would not be)."""

    kind: str
    key: str
    text: str
    proper: bool


def _number_key(whole: str, fraction: str | None) -> str:
    integer = str(int(whole.replace(",", "")))
    fraction = (fraction or "").rstrip("0")
    return f"{integer}.{fraction}" if fraction else integer


def numbers(text: str) -> dict[str, str]:
    """The numbers in ``text``: value key -> the first spelling of it."""
    found: dict[str, str] = {}
    for match in _NUMBER.finditer(text):
        found.setdefault(_number_key(match.group(1), match.group(2)), match.group(0))
    for word in _WORD.findall(text):
        key = _NUMBER_WORDS.get(word.lower())
        if key is not None:
            found.setdefault(key, word)
    return found


def _names(text: str) -> list[Fact]:
    found: list[Fact] = []
    for sentence in sentences(text):
        words = [(w, terms(w)) for w in _WORD.findall(sentence)]
        content = [(w, stems) for w, stems in words if stems]
        fragment = all(w[0].isupper() for w, _ in content)  # "The Rhine and the Moselle."
        for position, (word, stems) in enumerate(words):
            if not word[0].isupper() or not stems or word.lower() in _NUMBER_WORDS:
                continue
            found.append(Fact(NAME, " ".join(stems), word, proper=position > 0 or fragment))
    return found


def facts(text: str) -> list[Fact]:
    """The numbers and names in ``text``, each once (a name counts as proper if any mention of it is)."""
    found: dict[tuple[str, str], Fact] = {}
    for key, written in numbers(text).items():
        found.setdefault((NUMBER, key), Fact(NUMBER, key, written, proper=True))
    for fact in _names(text):
        seen = found.get((NAME, fact.key))
        if seen is None or (fact.proper and not seen.proper):
            found[(NAME, fact.key)] = fact
    return list(found.values())


def mentions(fact: Fact, text_numbers: dict[str, str], text_terms: set[str]) -> bool:
    """Whether a text (given as its :func:`numbers` and its set of :func:`~..text_support.terms`) states
    ``fact``: the same number, or every stem of the name, capitalised or not."""
    if fact.kind == NUMBER:
        return fact.key in text_numbers
    return all(stem in text_terms for stem in fact.key.split())
