"""The persisted BM25 index of :class:`~haybale.stores.sqlite.SQLiteDocumentStore`: posting lists in SQLite.

A new process answers its first BM25 query by reading only the posting lists of the query's terms -- nothing
is rebuilt or loaded up front -- and every write updates the index inside the same ``BEGIN IMMEDIATE``
transaction as the documents, so the index is exactly as durable and crash-safe as the rows it describes.

Tables (created by :mod:`haybale.stores._sqlite_schema`):

* ``bm25_segments`` -- ``segment`` (id, increasing with ``base``), ``base`` (first ``documents.seq`` it
  covers), ``docs`` (documents with content it still holds) and ``lengths`` (uint32 per ``seq - base``: the
  document's number of terms). A segment covers a contiguous run of seqs; segments never overlap.
* ``bm25_blocks`` -- the segments' posting lists, a few hundred terms' worth per row
  (:mod:`haybale.stores._sqlite_postings`): the block of a term in a segment is one index seek away.
* ``haybale_store`` keeps the corpus statistics ``bm25_docs`` (documents with content, including those whose
  every word is a stop word: length 0, as in the in-memory store) and ``bm25_length`` (total terms).

Writes: each write transaction that adds documents with content adds one segment (the batch is analysed once,
its postings grouped by term with numpy). Deletes re-analyse the deleted documents' content to find their
terms (the analyzer is fixed per database) and rewrite only the blocks holding them; a segment whose
documents are all gone is dropped whole. Like Lucene, small segments are merged in a size-tiered way
(:data:`MERGE_FACTOR` segments of the same size class at the tail become one), so a term is in a few dozen
blocks at most however the corpus was written.

Scoring goes through :func:`haybale.stores._memory_bm25.term_contributions` with the same statistics as the
in-memory store, so scores agree with it bit for bit. A process caches the scored postings of the terms it
has seen until the database ``version`` changes (any write, from any process).
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from haybale.stores._bulk import small_pages
from haybale.stores._memory_bm25 import (
    group_postings,
    length_norm,
    stable_term_order,
    term_contributions,
    top_k_slots,
)
from haybale.stores._sqlite_postings import (
    Block,
    block_of,
    block_rows,
    insert_blocks,
    segment_postings,
    term_postings,
)
from haybale.stores._word_ids import WordIds, token_ids
from haybale.stores.text_analysis import Analyzer

__all__ = ["MERGE_FACTOR", "Analysis", "SQLiteBM25", "analyse", "delete_postings", "index_documents"]

#: How many segments of one size class are merged into one.
MERGE_FACTOR = 8
#: Cached postings per process before the cache is cleared (bounds memory on huge vocabularies).
_CACHE_POSTINGS = 8_000_000
_SPAN_LIMIT = 2**32 - 1
_ANALYSIS_BATCH = 4096


class _BatchTerms(WordIds):
    """Raw word -> batch-local term id (-1 for a stop word); :meth:`terms` lists the terms by id."""

    def __init__(self, analyzer: Analyzer) -> None:
        super().__init__()
        self.analyzer = analyzer
        self._term_ids: dict[str, int] = {}  # term -> id, in id order (dicts keep insertion order)

    def terms(self) -> list[str]:
        """The batch's terms, by id."""
        return list(self._term_ids)

    def __missing__(self, word: str) -> int:
        term = self.analyzer.normalize_word(word)
        term_id = -1 if term is None else self._term_ids.setdefault(term, len(self._term_ids))
        self[word] = term_id
        return term_id

    def register_words(self, words: list[str]) -> list[int]:
        term_ids = self._term_ids
        ids = [
            -1 if term is None else term_ids.setdefault(term, len(term_ids))
            for term in self.analyzer.normalize_words(words)
        ]
        self.update(zip(words, ids, strict=True))
        return ids


class Analysis(NamedTuple):
    """A batch's postings, grouped by term with the terms in string order (the order of a segment's
    blocks) and each term's texts in order."""

    terms: list[str]  #: the batch's terms, in string order
    counts: Any  #: postings per term (int64, each at least 1)
    text_of: Any  #: per posting, the index of its text (uint32)
    tf: Any  #: per posting, the term's frequency in that text (uint32)
    lengths: Any  #: the number of terms of each text (int64)

    def term_of(self) -> Any:
        """Per posting, the index of its term in :attr:`terms`."""
        return np.repeat(np.arange(len(self.terms)), self.counts)


def analyse(analyzer: Analyzer, texts: Sequence[str]) -> Analysis:
    """A batch's postings (see :class:`Analysis`). Runs without numpy's huge-page advice
    (:func:`~haybale.stores._bulk.small_pages`: it more than halves the time of a large batch)."""
    with small_pages():
        return _postings_of(analyzer, texts)


def _postings_of(analyzer: Analyzer, texts: Sequence[str]) -> Analysis:
    lookup = _BatchTerms(analyzer)
    lengths = np.zeros(len(texts), dtype=np.int64)
    parts = []
    # Batches keep the per-token Python strings of only a few thousand texts alive at once (much faster).
    for start in range(0, len(texts), _ANALYSIS_BATCH):
        ids, owner = token_ids(analyzer, texts[start : start + _ANALYSIS_BATCH], lookup)
        chunk = min(_ANALYSIS_BATCH, len(texts) - start)
        lengths[start : start + chunk] = np.bincount(owner, minlength=chunk)
        term_of, text_of, tf = group_postings(ids, owner, chunk)
        parts.append((term_of, (text_of + start).astype(np.uint32), tf.astype(np.uint32)))
    by_id = lookup.terms()
    string_order = sorted(range(len(by_id)), key=by_id.__getitem__)
    rank = np.empty(len(by_id), dtype=np.int64)
    rank[string_order] = np.arange(len(by_id))
    # Each part is grouped by term id with its texts in order: ranking the ids and one stable sort puts
    # every posting in its place (string order, texts in order) in one permutation.
    term_of = np.concatenate([rank[p[0]] for p in parts])
    text_of = np.concatenate([p[1] for p in parts])
    tf = np.concatenate([p[2] for p in parts])
    terms = [by_id[i] for i in string_order]
    order = stable_term_order(term_of, len(terms))
    return Analysis(terms, np.bincount(term_of, minlength=len(terms)), text_of[order], tf[order], lengths)


def _read_int(connection: sqlite3.Connection, key: str) -> int:
    row = connection.execute("SELECT value FROM haybale_store WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row is not None else 0


def _add_to_stats(connection: sqlite3.Connection, docs: int, length: int) -> None:
    connection.executemany(
        "INSERT INTO haybale_store (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER)",
        (("bm25_docs", str(docs)), ("bm25_length", str(length))),
    )


def index_documents(
    connection: sqlite3.Connection,
    analyzer: Analyzer,
    seqs: Sequence[int],
    texts: Sequence[str],
    analysis: Analysis | None = None,
) -> None:
    """Index documents with content as one new segment, then merge segments when due.

    Args:
        connection: a connection inside a write transaction.
        analyzer: the store's analyzer.
        seqs: the documents' seqs, increasing and larger than every indexed seq.
        texts: their (non-empty) contents.
        analysis: ``analyse(analyzer, texts)`` when the caller already computed it.
    """
    if not seqs:
        return
    with small_pages():  # the postings' arrays are as large as the analysis's (see analyse)
        _index_segment(connection, analyzer, seqs, texts, analysis)


def _index_segment(
    connection: sqlite3.Connection,
    analyzer: Analyzer,
    seqs: Sequence[int],
    texts: Sequence[str],
    analysis: Analysis | None,
) -> None:
    analysis = analysis if analysis is not None else analyse(analyzer, texts)
    base = int(seqs[0])
    offsets = np.asarray(seqs, dtype=np.int64) - base
    span = int(offsets[-1]) + 1
    segment_lengths = np.zeros(span, dtype="<u4")
    segment_lengths[offsets] = analysis.lengths
    row = connection.execute("SELECT COALESCE(MAX(segment), 0) + 1 FROM bm25_segments").fetchone()
    segment = int(row[0])
    connection.execute(
        "INSERT INTO bm25_segments (segment, base, docs, lengths) VALUES (?, ?, ?, ?)",
        (segment, base, len(seqs), segment_lengths.tobytes()),
    )
    # Consecutive seqs (a write's usual case) are the texts' own offsets: no gather through them.
    posting_offsets = analysis.text_of if span == len(seqs) else offsets[analysis.text_of]
    insert_blocks(
        connection, block_rows(segment, analysis.terms, analysis.counts, posting_offsets, analysis.tf)
    )
    _add_to_stats(connection, len(seqs), int(analysis.lengths.sum()))
    _merge_tail(connection)


def delete_postings(connection: sqlite3.Connection, analyzer: Analyzer, seqs: Iterable[int]) -> None:
    """Remove the documents ``seqs`` from the index (call before their rows are deleted).

    Their content is analysed again to find the terms whose postings hold them.
    """
    rows = connection.execute(
        "SELECT seq, content FROM documents WHERE seq IN (SELECT value FROM json_each(?)) "
        "AND content IS NOT NULL AND content <> '' ORDER BY seq",
        (json.dumps(list(seqs)),),
    ).fetchall()
    if not rows:
        return
    doomed = np.asarray([row[0] for row in rows], dtype=np.int64)
    analysis = analyse(analyzer, [row[1] for row in rows])
    terms, term_of, text_of, lengths = analysis.terms, analysis.term_of(), analysis.text_of, analysis.lengths
    _add_to_stats(connection, -len(rows), -int(lengths.sum()))
    segments = connection.execute("SELECT segment, base, docs FROM bm25_segments ORDER BY segment").fetchall()
    ids = np.asarray([s[0] for s in segments], dtype=np.int64)
    bases = np.asarray([s[1] for s in segments], dtype=np.int64)
    position = np.searchsorted(bases, doomed, side="right") - 1
    emptied: set[int] = set()
    for index, count in zip(*np.unique(position, return_counts=True), strict=True):
        segment, _base, docs = segments[int(index)]
        if docs <= count:
            emptied.add(int(segment))
            connection.execute("DELETE FROM bm25_blocks WHERE segment = ?", (segment,))
            connection.execute("DELETE FROM bm25_segments WHERE segment = ?", (segment,))
        else:
            connection.execute(
                "UPDATE bm25_segments SET docs = ? WHERE segment = ?", (docs - int(count), segment)
            )
    # Every (term, segment) pair that holds a deleted document, in segments that survive: their blocks.
    pairs = np.unique(term_of * len(segments) + position[text_of])
    wanted: dict[int, list[str]] = {}
    for key in pairs.tolist():
        segment = int(ids[key % len(segments)])
        if segment not in emptied:
            wanted.setdefault(segment, []).append(terms[key // len(segments)])
    for segment, segment_terms in wanted.items():
        base = int(bases[np.searchsorted(ids, segment)])
        for last_term, block in _blocks_holding(connection, segment, sorted(segment_terms)):
            _drop_from_block(connection, segment, last_term, block, doomed - base)


def _blocks_holding(
    connection: sqlite3.Connection, segment: int, terms: list[str]
) -> list[tuple[str, Block]]:
    """The distinct blocks of ``segment`` that may hold ``terms`` (sorted), each read once."""
    blocks: list[tuple[str, Block]] = []
    for term in terms:
        if blocks and term <= blocks[-1][0]:
            continue  # in the block just read: the first whose last term is not smaller
        found = block_of(connection, segment, term)
        if found is None:
            break  # past the segment's last block, like every term after it
        blocks.append(found)
    return blocks


def _drop_from_block(
    connection: sqlite3.Connection, segment: int, last_term: str, block: Block, doomed_offsets: Any
) -> None:
    """Rewrite one block without the postings of the documents at ``doomed_offsets`` (sorted)."""
    terms, bounds, offsets, tfs = block
    keep = ~np.isin(offsets.astype(np.int64), doomed_offsets)
    if keep.all():
        return
    connection.execute("DELETE FROM bm25_blocks WHERE segment = ? AND last_term = ?", (segment, last_term))
    if not keep.any():
        return
    kept = np.add.reduceat(keep.astype(np.int64), bounds[:-1])
    alive = kept > 0
    insert_blocks(
        connection,
        block_rows(
            segment,
            [t for t, a in zip(terms, alive.tolist(), strict=True) if a],
            kept[alive],
            offsets[keep],
            tfs[keep],
        ),
    )


def _size_class(docs: int) -> int:
    return int(math.log(max(docs, 1), MERGE_FACTOR))


def _merge_tail(connection: sqlite3.Connection) -> None:
    """Merge the newest segments while :data:`MERGE_FACTOR` of them share a size class."""
    while True:
        tail = connection.execute(
            "SELECT segment, base, docs, length(lengths) / 4 FROM bm25_segments "
            "ORDER BY segment DESC LIMIT ?",
            (MERGE_FACTOR,),
        ).fetchall()
        if len(tail) < MERGE_FACTOR or len({_size_class(row[2]) for row in tail}) != 1:
            return
        tail.reverse()
        first_base = tail[0][1]
        if tail[-1][1] + tail[-1][3] - first_base > _SPAN_LIMIT:
            return
        _merge(connection, tail)


def _merge(connection: sqlite3.Connection, run: list[tuple[int, int, int, int]]) -> None:
    ids = [row[0] for row in run]
    placeholders = json.dumps(ids)
    base = run[0][1]
    lengths = np.zeros(run[-1][1] + run[-1][3] - base, dtype="<u4")
    shift = {}
    for segment, seg_base, blob in connection.execute(
        "SELECT segment, base, lengths FROM bm25_segments WHERE segment IN (SELECT value FROM json_each(?))",
        (placeholders,),
    ):
        values = np.frombuffer(blob, dtype="<u4")
        lengths[seg_base - base : seg_base - base + len(values)] = values
        shift[segment] = seg_base - base
    by_term = segment_postings(connection, ids)
    connection.execute(
        "DELETE FROM bm25_blocks WHERE segment IN (SELECT value FROM json_each(?))", (placeholders,)
    )
    connection.execute(
        "DELETE FROM bm25_segments WHERE segment IN (SELECT value FROM json_each(?))", (placeholders,)
    )
    target = ids[0]
    connection.execute(
        "INSERT INTO bm25_segments (segment, base, docs, lengths) VALUES (?, ?, ?, ?)",
        (target, base, sum(row[2] for row in run), lengths.tobytes()),
    )
    terms = sorted(by_term)
    parts = [part for term in terms for part in by_term[term]]  # a term's parts come by segment
    if not parts:
        return
    counts = np.asarray([sum(len(p[1]) for p in by_term[term]) for term in terms], dtype=np.int64)
    offsets = np.concatenate([p[1].astype(np.int64) + shift[p[0]] for p in parts])
    tfs = np.concatenate([p[2].astype("<u4") for p in parts])
    insert_blocks(connection, block_rows(target, terms, counts, offsets, tfs))


class SQLiteBM25:
    """Query side of the persisted index: scores the query terms' postings, read straight from SQLite.

    Args:
        analyzer: the store's analyzer (query terms are produced with it).
        variant, k1, b, delta: BM25 settings, as for :class:`~haybale.stores._memory_bm25.BM25Index`.

    Raises:
        ValueError: unknown variant or parameters out of range.
    """

    def __init__(self, analyzer: Analyzer, variant: str, k1: float, b: float, delta: float) -> None:
        from haybale.stores._memory_bm25 import check_bm25_parameters

        check_bm25_parameters(variant, k1, b, delta)
        self.analyzer = analyzer
        self.variant, self.k1, self.b, self.delta = variant, float(k1), float(b), float(delta)
        self._version = -1
        self._scored: dict[str, tuple[Any, Any]] = {}
        self._segments: dict[int, tuple[int, Any]] = {}
        self._cached = 0

    def score_details(self) -> dict[str, Any]:
        """The parameters scores are computed with (for ``score_details``)."""
        return {"variant": self.variant, "k1": self.k1, "b": self.b, "delta": self.delta}

    def _query_terms(self, query: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for word in self.analyzer.split(query):
            term = self.analyzer.normalize_word(word)
            if term is not None:
                counts[term] = counts.get(term, 0) + 1
        return counts

    def _segment(self, connection: sqlite3.Connection, segment: int) -> tuple[int, Any]:
        cached = self._segments.get(segment)
        if cached is None:
            base, blob = connection.execute(
                "SELECT base, lengths FROM bm25_segments WHERE segment = ?", (segment,)
            ).fetchone()
            cached = (int(base), np.frombuffer(blob, dtype="<u4"))
            self._segments[segment] = cached
        return cached

    def _postings(self, connection: sqlite3.Connection, term: str) -> tuple[Any, Any, Any] | None:
        """``term``'s postings: (seqs, term frequencies as float32, document lengths as float64), by seq;
        None when no document holds it."""
        rows = term_postings(connection, term)
        if not rows:
            return None
        seq_parts, tf_parts, length_parts = [], [], []
        for segment, offsets, tfs in rows:
            base, lengths = self._segment(connection, segment)
            seq_parts.append(offsets.astype(np.int64) + base)
            tf_parts.append(tfs.astype(np.float32))
            length_parts.append(lengths[offsets])
        return (
            np.concatenate(seq_parts),
            np.concatenate(tf_parts),
            np.concatenate(length_parts).astype(np.float64),
        )

    def _term_scores(
        self, connection: sqlite3.Connection, term: str, docs: int, length: int
    ) -> tuple[Any, Any] | None:
        cached = self._scored.get(term)
        if cached is not None:
            return cached
        postings = self._postings(connection, term)
        if postings is None:
            return None
        seqs, tfs, doc_lengths = postings
        norm = length_norm(doc_lengths, self.b, docs, float(length))
        scores = term_contributions(
            tfs, norm, len(seqs), docs, variant=self.variant, k1=self.k1, delta=self.delta
        )
        if self._cached + len(seqs) > _CACHE_POSTINGS:
            self._scored.clear()
            self._cached = 0
        self._scored[term] = (seqs, scores)
        self._cached += len(seqs)
        return seqs, scores

    def _corpus_length(self, connection: sqlite3.Connection, corpus: Any) -> int:
        """Total number of terms of the documents ``corpus`` (increasing seqs, each in a segment)."""
        segments = connection.execute("SELECT segment, base FROM bm25_segments ORDER BY base").fetchall()
        bases = np.asarray([row[1] for row in segments], dtype=np.int64)
        position = np.searchsorted(bases, corpus, side="right") - 1
        cuts = np.flatnonzero(np.diff(position)) + 1
        total = 0
        for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), len(corpus)], strict=True):
            base, lengths = self._segment(connection, int(segments[int(position[lo])][0]))
            total += int(lengths[corpus[lo:hi] - base].sum(dtype=np.int64))
        return total

    def _corpus_term_scores(
        self, connection: sqlite3.Connection, terms: dict[str, int], corpus: Any
    ) -> list[tuple[tuple[Any, Any], int]]:
        """((seqs, contributions), count) of each query term held by a document of ``corpus``, scored with
        the statistics of those documents alone (nothing cached: the whole-index cache stays as it is)."""
        if not len(corpus):
            return []
        seqs_in = np.asarray(corpus, dtype=np.int64)
        docs = len(seqs_in)
        length = float(self._corpus_length(connection, seqs_in))
        found = []
        for term, count in terms.items():
            postings = self._postings(connection, term)
            if postings is None:
                continue
            seqs, tfs, doc_lengths = postings
            kept = np.isin(seqs, seqs_in, assume_unique=True)
            df = int(np.count_nonzero(kept))
            if df:
                norm = length_norm(doc_lengths[kept], self.b, docs, length)
                scores = term_contributions(
                    tfs[kept], norm, df, docs, variant=self.variant, k1=self.k1, delta=self.delta
                )
                found.append(((seqs[kept], scores), count))
        return found

    def search(
        self,
        connection: sqlite3.Connection,
        version: int,
        query: str,
        top_k: int,
        candidates: Any | None = None,
        *,
        corpus: Any | None = None,
    ) -> list[tuple[int, float]]:
        """Up to ``top_k`` ``(seq, score)`` pairs, best first (equal scores: lower seq first), among the
        documents whose seq is in ``candidates`` (a sequence or an int64 array; all when None) that contain a
        term of ``query``.

        ``corpus`` (the increasing seqs of documents with content) scores as if the index held only those
        documents: their number, their total length and each term's postings among them; only they can be
        returned. None: the whole index, with the per-process score cache.

        Call inside a read transaction that read ``version``; the caller serialises calls.
        """
        if version != self._version:
            self._scored.clear()
            self._segments.clear()
            self._cached = 0
            self._version = version
        terms = self._query_terms(query)
        if not terms or top_k <= 0 or (candidates is not None and not len(candidates)):
            return []
        if corpus is not None:
            found = self._corpus_term_scores(connection, terms, corpus)
        else:
            docs = _read_int(connection, "bm25_docs")
            length = _read_int(connection, "bm25_length")
            found = []
            for term, count in terms.items():
                scored = self._term_scores(connection, term, docs, length)
                if scored is not None:
                    found.append((scored, count))
        if not found:
            return []
        unique, inverse = np.unique(np.concatenate([s[0] for s, _c in found]), return_inverse=True)
        acc = np.zeros(len(unique), dtype=np.float32)
        start = 0
        for (seqs, contribution), count in found:
            np.add.at(
                acc, inverse[start : start + len(seqs)], contribution if count == 1 else count * contribution
            )
            start += len(seqs)
        if candidates is not None:
            acc *= np.isin(unique, np.asarray(candidates, dtype=np.int64))
        hits = np.flatnonzero(acc)
        seqs, scores = top_k_slots(unique[hits], acc[hits].astype(np.float64), top_k)
        return list(zip(seqs.tolist(), scores.tolist(), strict=True))
