"""The text analyzer shared by every document store, so BM25 rankings agree across stores.

An :class:`Analyzer` turns text into index terms in three steps:

1. **Case folding** (``lowercase=True``): ``str.casefold`` on the whole text, so "Straße" and "STRASSE" meet.
2. **Word splitting**: unicode-aware runs of word characters (regex ``\\w+``: letters, digits and underscore
   in any script). Accents are folded per word ("café" -> "cafe") so accented and unaccented spellings match;
   words in scripts without a decomposition (CJK, Cyrillic, ...) are kept as they are.
3. **Stop-word removal and stemming**: an English stop-word list (or your own list) is removed, then each word
   is reduced to its Snowball stem with PyStemmer ("running" -> "run").

Steps 2-3 are cached per distinct word, so analysing a large corpus costs one regex pass plus one dictionary
lookup per word. The cache is bounded (it is cleared when it holds ``_CACHE_LIMIT`` words).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from haybale.errors import optional_dependency

__all__ = ["ENGLISH_STOP_WORDS", "TEXT_SEPARATOR", "Analyzer"]

#: English stop words: articles, pronouns, auxiliaries, prepositions, conjunctions and common function words.
_ENGLISH_STOP_WORDS_TEXT = """
    a about above after again against all am an and any are aren as at be because been before being below
    between both but by can cannot could couldn did didn do does doesn doing don down during each few for from
    further had hadn has hasn have haven having he her here hers herself him himself his how i if in into is
    isn it its itself just let me more most mustn my myself no nor not of off on once only or other ought our
    ours ourselves out over own same shan she should shouldn so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was wasn we were weren what
    when where which while who whom why will with won would wouldn you your yours yourself yourselves s t d ll
    m re ve y also however thus via whether upon yet within without among amongst onto per whereas
"""
ENGLISH_STOP_WORDS: frozenset[str] = frozenset(_ENGLISH_STOP_WORDS_TEXT.split())

_WORD = re.compile(r"\w+")
_ASCII_NON_WORD = str.maketrans({chr(i): " " for i in range(128) if not (chr(i).isalnum() or chr(i) == "_")})
#: Delimits texts in :meth:`Analyzer.spaced_words_of_many`; not a word character, so no word contains it.
TEXT_SEPARATOR = "\x00"
_ASCII_NON_WORD_KEEP_SEPARATOR = str.maketrans(
    {chr(i): " " for i in range(128) if not (chr(i).isalnum() or chr(i) in ("_", TEXT_SEPARATOR))}
)
_CACHE_LIMIT = 2_000_000
_SUPPORTED_LANGUAGES_HINT = "english, french, german, spanish, italian, portuguese, dutch, russian, ..."


def _fold_accents(word: str) -> str:
    """Remove combining marks from ``word`` ("café" -> "cafe"); pure-ASCII words are returned unchanged."""
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", folded) or word


class _WordCache(dict[str, str]):
    """Word -> term memo ("" for stop words); a miss analyses the word once. Bounded by ``_CACHE_LIMIT``."""

    def __init__(self, analyze: Callable[[str], str]) -> None:
        super().__init__()
        self._analyze = analyze

    def __missing__(self, word: str) -> str:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        term = self._analyze(word)
        self[word] = term
        return term


class Analyzer:
    """Turns text into BM25 index terms: case folding, unicode word splitting, stop words, Snowball stemming.

    Args:
        language: Snowball stemmer language (any name PyStemmer knows: "english", "german", "french", ...).
        stopwords: True for the built-in English list (only when ``language`` is "english"), False for none,
            or your own list of words (matched after case folding).
        stemming: reduce words to their Snowball stem.
        lowercase: case-fold the text before splitting.
    """

    def __init__(
        self,
        language: str = "english",
        stopwords: bool | list[str] = True,
        stemming: bool = True,
        lowercase: bool = True,
    ) -> None:
        if not isinstance(language, str) or not language:
            raise ValueError(
                f"Analyzer language must be a non-empty string such as 'english', got {language!r}."
            )
        if not isinstance(stopwords, (bool, list)) or (
            isinstance(stopwords, list) and not all(isinstance(w, str) for w in stopwords)
        ):
            raise ValueError(
                f"Analyzer stopwords must be True, False or a list of strings, got {stopwords!r}."
            )
        self.language = language
        self.stopwords = list(stopwords) if isinstance(stopwords, list) else stopwords
        self.stemming = bool(stemming)
        self.lowercase = bool(lowercase)
        self._stop: frozenset[str] = self._resolve_stopwords()
        self._stem_words: Callable[[list[str]], list[str]] | None = None
        self._cache = _WordCache(self._analyze_word)
        self._lock = threading.Lock()

    def _resolve_stopwords(self) -> frozenset[str]:
        if isinstance(self.stopwords, list):
            return frozenset(_fold_accents(w.casefold() if self.lowercase else w) for w in self.stopwords)
        if self.stopwords and self.language.lower() in ("english", "en", "porter"):
            return ENGLISH_STOP_WORDS
        return frozenset()

    def _stemmer(self) -> Callable[[list[str]], list[str]]:
        """The Snowball stemmer's list call (``stemWords``), created on first use."""
        with self._lock:
            if self._stem_words is None:
                with optional_dependency("PyStemmer", extra="all", feature="Snowball stemming"):
                    import Stemmer
                try:
                    stemmer = Stemmer.Stemmer(self.language)
                except KeyError as exc:
                    raise ValueError(
                        f"Analyzer language {self.language!r} has no Snowball stemmer. Use one of "
                        f"{_SUPPORTED_LANGUAGES_HINT} or pass stemming=False."
                    ) from exc
                # PyStemmer memoises words in a cache of its own (10,000 by default), which a batch of more
                # distinct words than that churns through: evicting cost four times the stemming itself
                # (0.08 of 0.1 s for 100k new words). Words are memoised here already (``_WordCache``).
                stemmer.maxCacheSize = 0
                self._stem_words = stemmer.stemWords
            return self._stem_words

    def normalize_word(self, word: str) -> str | None:
        """Return the index term for one word from :meth:`split`, or None when it is a stop word."""
        return self._cache[word] or None

    def normalize_words(self, words: Sequence[str]) -> list[str | None]:
        """:meth:`normalize_word` of each of ``words``, with one stemmer call for all the words not analysed
        before (a bulk write's new words: per-word calls were most of analysing a batch of new words)."""
        cache = self._cache
        new = [word for word in words if word not in cache]  # a word given twice is analysed twice, alike
        if new:
            if len(cache) + len(new) > _CACHE_LIMIT:
                cache.clear()
            cache.update(zip(new, self._analyze_words(new), strict=True))
        return [cache[word] or None for word in words]

    def _analyze_words(self, words: list[str]) -> list[str]:
        """Uncached analysis of ``words`` (see :meth:`_analyze_word`), with one stemmer call for all."""
        stop = self._stop
        folded = words if "".join(words).isascii() else [_fold_accents(word) for word in words]
        if stop.isdisjoint(words) and (folded is words or stop.isdisjoint(folded)):
            # The usual batch of new words: no stop word, every word keeps a term.
            if not self.stemming:
                return list(folded)
            stems = self._stemmer()(folded)
            if "" not in stems:
                return stems
            terms = folded
        else:
            terms = [
                "" if term in stop or word in stop else term for word, term in zip(words, folded, strict=True)
            ]
            if not self.stemming:
                return terms
            stems = self._stemmer()([term for term in terms if term])
        remaining = iter(stems)
        # A stop word keeps "" as its term; a word whose stem would be empty stays as it is.
        return [(next(remaining) or term) if term else "" for term in terms]

    def _analyze_word(self, word: str) -> str:
        """Uncached analysis of one word: "" for a stop word, else its (accent-folded, stemmed) term."""
        return self._analyze_words([word])[0]

    def split(self, text: str) -> list[str]:
        """Split ``text`` into raw words (case-folded when ``lowercase``), before stop words and stemming."""
        if self.lowercase:
            text = text.casefold()
        if text.isascii():
            # Same result as the regex for ASCII text (\w is [A-Za-z0-9_] there), about 30% faster.
            return text.translate(_ASCII_NON_WORD).split()
        return _WORD.findall(text)

    def spaced_words(self, text: str) -> str:
        """``text`` reduced to its raw words separated by whitespace: ``spaced_words(t).split() == split(t)``.

        Lets a caller split many texts with one ``str.split`` call (the store's bulk indexing path).
        """
        if self.lowercase:
            text = text.casefold()
        if text.isascii():
            return text.translate(_ASCII_NON_WORD)
        return " ".join(_WORD.findall(text))

    def spaced_words_of_many(self, texts: Sequence[str]) -> str:
        """The raw words of all ``texts`` in one string, consecutive texts separated by ``TEXT_SEPARATOR``.

        ``spaced_words_of_many(ts).split()`` is the words of ``ts[0]``, the separator, the words of ``ts[1]``,
        and so on. One pass over a joined ASCII batch is much cheaper than one call per text.
        """
        glue = f" {TEXT_SEPARATOR} "
        joined = glue.join(texts)
        if joined.isascii() and joined.count(TEXT_SEPARATOR) == len(texts) - 1:
            # ASCII casefold is lower(); separators survive the translation, nothing else non-word does.
            return (joined.lower() if self.lowercase else joined).translate(_ASCII_NON_WORD_KEEP_SEPARATOR)
        return glue.join([self.spaced_words(text) for text in texts])

    def tokenize(self, text: str) -> list[str]:
        """Return the index terms of ``text`` in order (stop words removed, words stemmed)."""
        if not text:
            return []
        return [term for term in map(self._cache.__getitem__, self.split(text)) if term]

    def tokenize_many(self, texts: Iterable[str]) -> list[list[str]]:
        """Tokenize several texts (same result as calling :meth:`tokenize` on each)."""
        return [self.tokenize(text) for text in texts]

    def to_dict(self) -> dict[str, Any]:
        """Serialize the analyzer's settings as a JSON-compatible dict."""
        return {
            "language": self.language,
            "stopwords": self.stopwords,
            "stemming": self.stemming,
            "lowercase": self.lowercase,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Analyzer:
        """Build an analyzer from :meth:`to_dict` output."""
        allowed = {"language", "stopwords", "stemming", "lowercase"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"Unknown Analyzer settings {sorted(unknown)}; allowed are {sorted(allowed)}.")
        return cls(**data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Analyzer) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.language, str(self.stopwords), self.stemming, self.lowercase))

    def __repr__(self) -> str:
        return (
            f"Analyzer(language={self.language!r}, stopwords={self.stopwords!r}, "
            f"stemming={self.stemming}, lowercase={self.lowercase})"
        )
