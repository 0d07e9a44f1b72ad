"""An incremental BM25 inverted index over integer document slots, scored with numpy.

Layout: every term has a posting list held as two parallel numpy arrays (document slots, term frequencies).
:meth:`BM25Index.add` only records raw texts; the next search (or :meth:`BM25Index.flush`) analyses all of
them as one batch (:mod:`haybale.stores._word_ids`) and appends one chunk per term; the chunks of a term are
concatenated the first time a query or a delete touches it. Deletes re-analyse the deleted texts to find their
terms and filter only those terms' postings (a text deleted before it was indexed is just forgotten). Corpus
statistics (document count, total length, document frequency per term) are updated in place, so no write or
delete ever rebuilds the whole index.

Scoring variants (``variant``):

* ``"okapi"`` (default) -- Robertson/Sparck Jones BM25 with Lucene's always-positive idf
  ``ln(1 + (N - df + 0.5) / (df + 0.5))``; the term-frequency part is
  ``tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))``. This is what Lucene, Elasticsearch and bm25s rank
  with by default, and what scores best on standard benchmarks (NFCorpus, BEIR) without tuning.
* ``"bm25l"`` -- Lv & Zhai's BM25L: ``c = tf / (1 - b + b * dl / avgdl)``, score
  ``idf * (k1 + 1) * (c + delta) / (k1 + c + delta)`` with ``idf = ln((N + 1) / (df + 0.5))``; favours long
  documents less harshly.
* ``"bm25+"`` -- Lv & Zhai's BM25+: the okapi term-frequency part plus ``delta`` for every matching term, with
  ``idf = ln((N + 1) / df)``.

Every idf above is positive, so a document scores above zero exactly when it contains a query term.
Repeated query terms count once per occurrence (as a Lucene boolean query would).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from haybale.stores._bulk import small_pages
from haybale.stores._word_ids import SEPARATOR_ID, WordIds, token_ids
from haybale.stores.text_analysis import TEXT_SEPARATOR, Analyzer

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "BM25_VARIANTS",
    "BM25Index",
    "check_bm25_parameters",
    "group_postings",
    "idf",
    "length_norm",
    "stable_term_order",
    "term_contributions",
    "token_ids",
    "top_k_slots",
]

BM25_VARIANTS: tuple[str, ...] = ("okapi", "bm25l", "bm25+")
_BATCH = 4096
_SEPARATOR = TEXT_SEPARATOR
_SEPARATOR_ID = SEPARATOR_ID
_EMPTY_SLOTS: Any = np.empty(0, dtype=np.int32)
_EMPTY_TFS: Any = np.empty(0, dtype=np.float32)


def check_bm25_parameters(variant: str, k1: float, b: float, delta: float) -> None:
    """Refuse an unknown BM25 variant or parameters out of range (shared by every BM25 index).

    Raises:
        ValueError: naming the bad value and its valid range.
    """
    if variant not in BM25_VARIANTS:
        raise ValueError(f"Unknown BM25 variant {variant!r}; choose one of {list(BM25_VARIANTS)}.")
    if not (k1 >= 0 and 0 <= b <= 1 and delta >= 0):
        raise ValueError(
            f"BM25 parameters out of range: k1={k1} (needs >= 0), b={b} (needs 0..1), delta={delta} "
            "(needs >= 0)."
        )


class _TermIds(WordIds):
    """Raw word -> term id (-1 for a stop word); a miss analyses the word and registers its term."""

    def __init__(self, index: BM25Index) -> None:
        super().__init__()
        self._index = index

    def __missing__(self, word: str) -> int:
        term = self._index.analyzer.normalize_word(word)
        term_id = -1 if term is None else self._index._term_id_for(term)
        self[word] = term_id
        return term_id

    def register_words(self, words: list[str]) -> list[int]:
        term_id_for = self._index._term_id_for
        ids = [
            -1 if term is None else term_id_for(term) for term in self._index.analyzer.normalize_words(words)
        ]
        self.update(zip(words, ids, strict=True))
        return ids


class _AnalyzedTermIds(dict[str, int]):
    """Already-analysed term -> term id; a miss registers the term (no stop-word or stemming step)."""

    def __init__(self, index: BM25Index) -> None:
        super().__init__()
        self._index = index
        self[_SEPARATOR] = _SEPARATOR_ID

    def __missing__(self, term: str) -> int:
        term_id = self._index._term_id_for(term)
        self[term] = term_id
        return term_id


class BM25Index:
    """Inverted index with BM25 scoring over document slots (small non-negative ints chosen by the caller).

    Args:
        analyzer: turns text into terms; the same analyzer must be used for the life of the index.
        k1: term-frequency saturation (typically 0.9-2.0).
        b: document-length normalisation (0 = none, 1 = full).
        delta: lower bound added per matching term by "bm25l" and "bm25+" (ignored by "okapi").
        variant: "okapi", "bm25l" or "bm25+" (see the module docstring).
    """

    def __init__(
        self, analyzer: Analyzer, k1: float = 1.5, b: float = 0.75, delta: float = 0.5, variant: str = "okapi"
    ) -> None:
        check_bm25_parameters(variant, k1, b, delta)
        self.analyzer = analyzer
        self.k1, self.b, self.delta, self.variant = float(k1), float(b), float(delta), variant
        self._word_ids = _TermIds(self)
        self._analyzed_ids = _AnalyzedTermIds(self)
        self._term_index: dict[str, int] = {}
        self._slots: list[Any] = []  # term id -> consolidated int32 slot array
        self._tfs: list[Any] = []  # term id -> consolidated float32 tf array
        self._pending: dict[int, list[tuple[Any, Any]]] = {}  # term id -> chunks not yet consolidated
        self._df: Any = np.zeros(1024, dtype=np.int64)
        self._doc_len: Any = np.zeros(1024, dtype=np.float64)
        self._indexed: Any = np.zeros(1024, dtype=bool)
        self.doc_count = 0
        self.total_length = 0.0
        self._norm_cache: Any = None
        self._contrib: dict[int, tuple[Any, Any]] = {}  # term id -> (slots, scores); cleared by any change
        self._unindexed: dict[int, str] = {}  # slot -> raw text added but not indexed yet (see add)

    # ---- bookkeeping -------------------------------------------------------------------------------------

    def _term_id_for(self, term: str) -> int:
        term_id = self._term_index.get(term)
        if term_id is None:
            term_id = len(self._slots)
            self._term_index[term] = term_id
            self._slots.append(_EMPTY_SLOTS)
            self._tfs.append(_EMPTY_TFS)
            if term_id >= len(self._df):
                self._df = np.concatenate([self._df, np.zeros(len(self._df), dtype=np.int64)])
        return term_id

    def _ensure_slots(self, max_slot: int) -> None:
        size = len(self._doc_len)
        if max_slot < size:
            return
        new_size = max(max_slot + 1, size * 2)
        self._doc_len = np.concatenate([self._doc_len, np.zeros(new_size - size, dtype=np.float64)])
        self._indexed = np.concatenate([self._indexed, np.zeros(new_size - size, dtype=bool)])

    def _postings(self, term_id: int) -> tuple[Any, Any]:
        chunks = self._pending.pop(term_id, None)
        if chunks:
            slot_parts = [self._slots[term_id], *(c[0] for c in chunks)]
            tf_parts = [self._tfs[term_id], *(c[1] for c in chunks)]
            self._slots[term_id] = np.concatenate(slot_parts)
            self._tfs[term_id] = np.concatenate(tf_parts)
        return self._slots[term_id], self._tfs[term_id]

    def _term_ids_of(self, texts: Sequence[str], analyzed: bool = False) -> tuple[Any, Any]:
        """Analyse ``texts``: (term id per kept token, index of its text), stop words dropped.

        With ``analyzed``, each text is already its terms joined by spaces (the output of the analyzer), so
        the terms are looked up as they are.
        """
        # One str.split over all texts joined by a separator word that no text can produce ("\x00" is not a
        # word character): far fewer Python-level calls than splitting text by text.
        lookup = self._analyzed_ids if analyzed else self._word_ids
        return token_ids(self.analyzer, texts, lookup, analyzed)

    # ---- writes ------------------------------------------------------------------------------------------

    def add(self, slots: Sequence[int], texts: Sequence[str], *, analyzed: bool = False) -> None:
        """Add ``texts`` under ``slots`` (slots must not be indexed already).

        Raw texts are only recorded here: they are analysed and indexed, all pending texts in one batch, by
        the next search or :meth:`flush` (a write never pays for an index nobody queries, and many small
        writes are indexed together). With ``analyzed=True`` each text is already its index terms joined by
        spaces (as produced by ``" ".join(analyzer.tokenize(text))``) and is indexed at once.

        Raises:
            ValueError: a slot is already indexed (or pending), or given twice.
        """
        if not len(slots):
            return
        slot_arr = np.asarray(slots, dtype=np.int64)
        self._ensure_slots(int(slot_arr.max()))
        pending = self._unindexed
        if (
            self._indexed[slot_arr].any()
            or len(np.unique(slot_arr)) != len(slot_arr)
            or (pending and any(slot in pending for slot in slot_arr.tolist()))
        ):
            raise ValueError("BM25Index.add: some slots are already indexed; remove them first.")
        if analyzed:
            self._index(slot_arr, texts, analyzed=True)
        else:
            pending.update(zip(slot_arr.tolist(), texts, strict=True))

    def flush(self) -> None:
        """Index every text recorded by :meth:`add` and not indexed yet."""
        if self._unindexed:
            slot_arr = np.fromiter(self._unindexed, dtype=np.int64, count=len(self._unindexed))
            texts = list(self._unindexed.values())
            self._index(slot_arr, texts)
            self._unindexed.clear()

    def _index(self, slot_arr: Any, texts: Sequence[str], analyzed: bool = False) -> None:
        with small_pages():  # a large batch's arrays: see haybale.stores._bulk.small_pages
            self._index_batches(slot_arr, texts, analyzed)

    def _index_batches(self, slot_arr: Any, texts: Sequence[str], analyzed: bool) -> None:
        # Batches keep the per-token Python strings of only a few thousand texts alive at once (fast).
        parts = [
            self._batch_postings(slot_arr[start : start + _BATCH], texts[start : start + _BATCH], analyzed)
            for start in range(0, len(slot_arr), _BATCH)
        ]
        self.doc_count += len(slot_arr)
        self._norm_cache = None
        self._contrib.clear()
        term_of = np.concatenate([p[0] for p in parts])
        if not len(term_of):
            return
        slot_of = np.concatenate([p[1] for p in parts])
        tf_of = np.concatenate([p[2] for p in parts])
        if len(parts) > 1:  # each part is sorted by term: a stable merge groups every term in one run
            order = stable_term_order(term_of, len(self._slots))
            term_of, slot_of, tf_of = term_of[order], slot_of[order], tf_of[order]
        starts = np.flatnonzero(np.diff(term_of)) + 1
        bounds = np.concatenate([[0], starts, [len(term_of)]]).tolist()
        unique_terms = term_of[bounds[:-1]]
        self._df[unique_terms] += np.diff(bounds)
        pending = self._pending
        for term_id, lo, hi in zip(unique_terms.tolist(), bounds[:-1], bounds[1:], strict=True):
            if term_id not in pending and not len(self._slots[term_id]):
                self._slots[term_id] = slot_of[lo:hi]  # a new term: its postings are this slice
                self._tfs[term_id] = tf_of[lo:hi]
            else:  # appended lazily: consolidated when a query or delete first touches the term
                pending.setdefault(term_id, []).append((slot_of[lo:hi], tf_of[lo:hi]))

    def _batch_postings(
        self, slot_arr: Any, texts: Sequence[str], analyzed: bool = False
    ) -> tuple[Any, Any, Any]:
        """Analyse one batch and record its lengths: (term ids, slots, term frequencies) sorted by term."""
        ids, owner = self._term_ids_of(texts, analyzed)
        lengths = np.bincount(owner, minlength=len(texts)).astype(np.float64)
        self._doc_len[slot_arr] = lengths
        self._indexed[slot_arr] = True
        self.total_length += float(lengths.sum())
        term_of, position, tf = group_postings(ids, owner, len(texts))
        return term_of, slot_arr[position].astype(np.int32), tf.astype(np.float32)

    def remove(self, slots: Sequence[int], texts: Sequence[str], *, analyzed: bool = False) -> None:
        """Remove the documents indexed under ``slots``; ``texts`` are the texts they were indexed with.

        ``analyzed`` must match how they were added (raw texts, or their terms joined by spaces).
        """
        if self._unindexed:  # a text never indexed is simply forgotten
            pending = self._unindexed
            kept = [(s, t) for s, t in zip(slots, texts, strict=True) if pending.pop(s, None) is None]
            slots, texts = [s for s, _t in kept], [t for _s, t in kept]
        if len(slots) == 0:
            return
        slot_arr = np.asarray(slots, dtype=np.int64)
        ids, owner = self._term_ids_of(texts, analyzed)
        self.doc_count -= len(slot_arr)
        self.total_length -= float(self._doc_len[slot_arr].sum())
        self._doc_len[slot_arr] = 0.0
        self._indexed[slot_arr] = False
        self._norm_cache = None
        self._contrib.clear()
        if not len(ids):
            return
        span = int(slot_arr.max()) + 1
        keys = np.unique(ids * span + slot_arr[owner])
        affected, per_term = np.unique(keys // span, return_counts=True)
        self._df[affected] -= per_term
        removed = np.zeros(len(self._doc_len), dtype=bool)
        removed[slot_arr] = True
        for term_id in affected.tolist():
            term_slots, term_tfs = self._postings(term_id)
            keep = ~removed[term_slots]
            self._slots[term_id] = term_slots[keep]
            self._tfs[term_id] = term_tfs[keep]

    # ---- queries -----------------------------------------------------------------------------------------

    def query_terms(self, query: str) -> dict[int, int]:
        """Known term ids of ``query`` with their number of occurrences (unknown words are ignored)."""
        self.flush()
        counts: dict[int, int] = {}
        for word in self.analyzer.split(query):
            term = self.analyzer.normalize_word(word)
            term_id = None if term is None else self._term_index.get(term)
            if term_id is not None and self._df[term_id] > 0:
                counts[term_id] = counts.get(term_id, 0) + 1
        return counts

    def _length_norm(self) -> Any:
        """Per-slot ``1 - b + b * dl / avgdl`` (cached until the next write or delete)."""
        if self._norm_cache is None:
            self._norm_cache = length_norm(self._doc_len, self.b, self.doc_count, self.total_length)
        return self._norm_cache

    def _term_scores(self, term_id: int) -> tuple[Any, Any]:
        """(slots, BM25 contribution of this term per slot), cached until the next write or delete."""
        cached = self._contrib.get(term_id)
        if cached is not None:
            return cached
        slots, tfs = self._postings(term_id)
        norm = self._length_norm()[slots]
        scores = term_contributions(
            tfs,
            norm,
            int(self._df[term_id]),
            self.doc_count,
            variant=self.variant,
            k1=self.k1,
            delta=self.delta,
        )
        result = (slots, scores)
        self._contrib[term_id] = result
        return result

    def _corpus_term_scores(self, terms: dict[int, int], corpus: Any) -> list[tuple[Any, Any, int]]:
        """(slots, contribution, count) of each query term, scored as if the index held only the slots where
        ``corpus`` (a boolean array over slots) is True: document count, total length and document
        frequencies are counted among them (a term none of them holds is left out). Not cached."""
        inside = np.zeros(len(self._doc_len), dtype=bool)
        shared = min(len(corpus), len(inside))
        np.logical_and(corpus[:shared], self._indexed[:shared], out=inside[:shared])
        doc_count = int(np.count_nonzero(inside))
        if not doc_count:
            return []
        total_length = float(self._doc_len[inside].sum())
        scored = []
        for term_id, count in terms.items():
            slots, tfs = self._postings(term_id)
            kept = inside[slots]
            df = int(np.count_nonzero(kept))
            if df:
                slots = slots[kept]
                norm = length_norm(self._doc_len[slots], self.b, doc_count, total_length)
                contribution = term_contributions(
                    tfs[kept], norm, df, doc_count, variant=self.variant, k1=self.k1, delta=self.delta
                )
                scored.append((slots, contribution, count))
        return scored

    def search(
        self, query: str, top_k: int, mask: Any | None = None, *, corpus: Any | None = None
    ) -> tuple[Any, Any]:
        """The ``top_k`` best documents for ``query``: (slots, scores), best first, only scoring documents.

        Args:
            query: the query text (analysed like the documents; unknown words are ignored).
            top_k: how many to return at most.
            mask: optional boolean array over slots; only slots where it is True may be returned.
            corpus: optional boolean array over slots: score as if the index held only those slots (their
                statistics; only they may be returned). None: the whole index, with the cached scores.
        """
        terms = self.query_terms(query)
        if not terms or not self.doc_count or top_k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        if corpus is None:
            scored = [(*self._term_scores(term_id), count) for term_id, count in terms.items()]
        else:
            scored = self._corpus_term_scores(terms, corpus)
        acc = np.zeros(len(self._doc_len), dtype=np.float32)
        for slots, contribution, count in scored:
            np.add.at(acc, slots, contribution if count == 1 else count * contribution)
        if mask is not None:
            acc[: len(mask)] *= mask[: len(acc)]
            acc[len(mask) :] = 0.0
        # Select among the scoring slots only: argpartition over an array that is mostly zeros degrades badly.
        hits = np.flatnonzero(acc)
        return top_k_slots(hits, acc[hits].astype(np.float64), top_k)

    def score_details(self) -> dict[str, Any]:
        """The parameters scores are computed with (for ``score_details``)."""
        return {"variant": self.variant, "k1": self.k1, "b": self.b, "delta": self.delta}


def top_k_slots(slots: NDArray[Any], scores: NDArray[Any], top_k: int) -> tuple[NDArray[Any], NDArray[Any]]:
    """The ``top_k`` best (slot, score) pairs, best first; ties broken by lower slot (insertion order)."""
    if top_k <= 0 or not len(slots):
        return slots[:0], scores[:0]
    if len(slots) > top_k:
        part = np.argpartition(-scores, top_k - 1)[:top_k]
        slots, scores = slots[part], scores[part]
    order = np.lexsort((slots, -scores))
    return slots[order], scores[order]


def stable_term_order(term_of: Any, term_count: int) -> Any:
    """``np.argsort(term_of, kind="stable")``, as a radix sort (several times faster) when every term id
    fits in 16 bits."""
    if term_count <= 1 << 16:
        return np.argsort(term_of.astype(np.uint16), kind="stable")
    return np.argsort(term_of, kind="stable")


def group_postings(ids: Any, owner: Any, n_texts: int) -> tuple[Any, Any, Any]:
    """Postings of one analysed batch: (term id, text index, term frequency), sorted by term then text."""
    span = max(n_texts, 1)
    if len(ids) and (int(ids.max()) + 1) * span <= 1 << 32:  # keys fit in 32 bits: a sort ~40 % faster
        keys32 = ids.astype(np.uint32) * np.uint32(span) + owner.astype(np.uint32)
        unique32, tf = np.unique(keys32, return_counts=True)
        keys = unique32.astype(np.int64)
    else:
        keys, tf = np.unique(ids * span + owner, return_counts=True)
    term_of = keys // span
    return term_of, keys - term_of * span, tf


def idf(variant: str, df: int, doc_count: int) -> float:
    """The inverse document frequency of a term found in ``df`` of ``doc_count`` documents."""
    n = doc_count
    if variant == "okapi":
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))
    if variant == "bm25l":
        return math.log((n + 1.0) / (df + 0.5))
    return math.log((n + 1.0) / df)


def length_norm(doc_lengths: Any, b: float, doc_count: int, total_length: float) -> Any:
    """Per-document ``1 - b + b * dl / avgdl`` (float64)."""
    avgdl = total_length / doc_count if doc_count and total_length else 1.0
    return (1.0 - b) + b * (doc_lengths / avgdl)


def term_contributions(
    tfs: Any, norm: Any, df: int, doc_count: int, *, variant: str, k1: float, delta: float
) -> Any:
    """One term's BM25 score per posting (float32), from its term frequencies (float32) and the
    :func:`length_norm` of the documents holding it. Every store scores through this one function, so
    their scores agree to the bit."""
    weight = idf(variant, df, doc_count)
    if variant == "bm25l":
        c = tfs / norm
        part = (k1 + 1.0) * (c + delta) / (k1 + c + delta)
    else:
        part = tfs * (k1 + 1.0) / (tfs + k1 * norm)
        if variant == "bm25+":
            part += delta
    return (weight * part).astype(np.float32)
