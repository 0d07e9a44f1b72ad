"""The shared Analyzer: case folding, unicode splitting, accents, stop words, stemming, serialization."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from haybale.stores.text_analysis import ENGLISH_STOP_WORDS, TEXT_SEPARATOR, Analyzer


def test_default_pipeline_folds_case_drops_stop_words_and_stems() -> None:
    assert Analyzer().tokenize("The Runners were RUNNING to the Cities") == ["runner", "run", "citi"]


def test_accents_are_folded_so_spellings_meet() -> None:
    analyzer = Analyzer()
    assert analyzer.tokenize("café CAFÉ cafe") == ["cafe", "cafe", "cafe"]
    assert analyzer.tokenize("naïve résumé") == analyzer.tokenize("naive resume")


def test_unicode_words_in_other_scripts_are_kept() -> None:
    assert Analyzer(stemming=False).tokenize("Москва 東京 straße") == ["москва", "東京", "strasse"]


def test_punctuation_splits_words_and_underscore_digits_stay() -> None:
    assert Analyzer(stemming=False).tokenize("e-mail, snake_case; v2.0!") == [
        "e",
        "mail",
        "snake_case",
        "v2",
        "0",
    ]


def test_ascii_fast_path_matches_the_unicode_regex() -> None:
    analyzer = Analyzer(stopwords=False, stemming=False)
    rng = random.Random(7)
    alphabet = [chr(i) for i in range(128)]
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        assert analyzer.split(text) == re.findall(r"\w+", text.casefold())


def test_custom_stop_words_and_switches() -> None:
    analyzer = Analyzer(stopwords=["Apple"], stemming=False, lowercase=True)
    assert analyzer.tokenize("apple The banana") == ["the", "banana"]
    assert Analyzer(stopwords=False, stemming=False).tokenize("the cats") == ["the", "cats"]
    assert Analyzer(lowercase=False, stemming=False, stopwords=False).tokenize("Big big") == ["Big", "big"]
    assert "the" in ENGLISH_STOP_WORDS


def test_other_language_stems_with_its_snowball_stemmer() -> None:
    assert Analyzer(language="german", stopwords=False).tokenize("Häuser") == Analyzer(
        language="german", stopwords=False
    ).tokenize("Hauser")
    assert Analyzer(language="french", stopwords=True).tokenize("le") == [
        "le"
    ]  # English list only for English


def test_unknown_language_is_a_clear_error_at_first_use() -> None:
    with pytest.raises(ValueError, match="no Snowball stemmer"):
        Analyzer(language="klingon").tokenize("qapla")


@pytest.mark.parametrize("bad", [{"stopwords": "yes"}, {"stopwords": [1]}, {"language": ""}])
def test_bad_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Analyzer(**bad)  # type: ignore[arg-type]


def test_round_trips_through_dict() -> None:
    analyzer = Analyzer(language="english", stopwords=["x", "y"], stemming=False, lowercase=False)
    data = analyzer.to_dict()
    assert Analyzer.from_dict(data) == analyzer
    assert Analyzer.from_dict(data).to_dict() == data
    with pytest.raises(ValueError, match="Unknown Analyzer settings"):
        Analyzer.from_dict({"language": "english", "tokenizer": "x"})


def test_empty_text_and_normalize_word() -> None:
    analyzer = Analyzer()
    assert analyzer.tokenize("") == []
    assert analyzer.tokenize("the and of") == []
    assert analyzer.normalize_word("the") is None
    assert analyzer.normalize_word("cats") == "cat"


def test_spaced_words_splits_exactly_like_split() -> None:
    analyzer = Analyzer()
    rng = random.Random(11)
    alphabet = [chr(i) for i in range(128)] + list("éßΩжは\u3000\u2028\u0661")
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert analyzer.spaced_words(text).split() == analyzer.split(text)


@pytest.mark.parametrize(
    "texts",
    [
        ["Hello, World", "", "a_b-c"],
        ["ascii only", "café", "x\x00y"],  # non-ASCII and a NUL inside a text take the per-text path
        ["x\x00y", "z"],
        [],
    ],
)
def test_spaced_words_of_many_separates_texts(texts: list[str]) -> None:
    analyzer = Analyzer()
    tokens = analyzer.spaced_words_of_many(texts).split()
    per_text: list[list[str]] = [[]]
    for token in tokens:
        if token == TEXT_SEPARATOR:
            per_text.append([])
        else:
            per_text[-1].append(token)
    assert per_text == ([analyzer.split(t) for t in texts] or [[]])


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"stemming": False},
        {"stopwords": ["Café", "running"], "lowercase": False},
        {"language": "german", "stopwords": False},
    ],
)
def test_normalize_words_analyses_a_batch_like_normalize_word_one_by_one(settings: dict[str, Any]) -> None:
    words = ["running", "the", "cats", "café", "Café", "naïve", "42", "doc", "running", "häuser", "x_y", "ß"]
    one_by_one = [Analyzer(**settings).normalize_word(word) for word in words]
    batch = Analyzer(**settings)
    assert batch.normalize_words(words[:4]) == one_by_one[:4]
    assert batch.normalize_words(words) == one_by_one  # half of them already analysed by the first call
    assert [batch.normalize_word(word) for word in words] == one_by_one
