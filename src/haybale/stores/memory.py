"""InMemoryDocumentStore: the fastest store -- BM25 over an incremental inverted index, exact dense search
over one float32 matrix, filters evaluated in Python before ranking, and an optional atomic snapshot to disk.

Documents live in slots (small integers reused after deletes). The BM25 index
(:mod:`haybale.stores._memory_bm25`) and the vector matrix (:mod:`haybale.stores._memory_dense`) are keyed by
the same slots, so a filter becomes a boolean mask over slots that both searches apply before ranking. A
write validates and converts its embeddings at once (float32, finite, one size) but only records its texts:
they are analysed and indexed for BM25, all pending texts together, by the next BM25 search -- a write that
is never searched by keyword (a dense-only corpus) never pays for the index.

Every mutation runs under one re-entrant lock and is validated completely before anything changes, so a bad
batch (an invalid document, a duplicate under ``DuplicatePolicy.FAIL``, an embedding of the wrong size) leaves
the store exactly as it was. Reads take the same lock, so they always see a consistent state.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from haybale.dataclasses import Document
from haybale.errors import DocumentStoreUsageError, DuplicateDocumentError, FilterError
from haybale.filters.tree import filter_to_dict, parse_filters
from haybale.stores._bulk import float32_embeddings, paused_gc
from haybale.stores._memory_bm25 import BM25_VARIANTS, BM25Index
from haybale.stores._memory_dense import SIMILARITY_FUNCTIONS, DenseMatrix
from haybale.stores._selection_cache import SelectionCache
from haybale.stores.protocol import DuplicatePolicy
from haybale.stores.scoring import (
    BM25_SCALING_FACTOR,
    DOT_PRODUCT_SCALING_FACTOR,
    check_top_k,
    scale_bm25,
    scale_cosine,
    scale_dot_product,
)
from haybale.stores.text_analysis import Analyzer

__all__ = ["BM25_SCALING_FACTOR", "DOT_PRODUCT_SCALING_FACTOR", "InMemoryDocumentStore"]


def copy_json(value: Any) -> Any:
    """Copy JSON-like data (dicts, lists, scalars) without the overhead of ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    if isinstance(value, tuple):
        return tuple(copy_json(v) for v in value)
    if isinstance(value, set):
        return {copy_json(v) for v in value}
    return value


def _clone(doc: Document, **changes: Any) -> Document:
    """Shallow copy of ``doc`` with ``changes`` applied (much cheaper than ``dataclasses.replace``)."""
    clone: Document = object.__new__(Document)
    clone.__dict__.update(doc.__dict__)
    clone.__dict__.update(changes)
    return clone


def _canonical(node: Any) -> str:
    """One string per parsed filter tree (a cache key): its full dict form as sorted JSON."""
    return json.dumps(filter_to_dict(node), sort_keys=True, ensure_ascii=False)


def _mentions_field(filters: Any, name: str) -> bool:
    """Whether a filter dict refers to the top-level document field ``name`` anywhere."""
    if isinstance(filters, dict):
        return filters.get("field") == name or any(_mentions_field(v, name) for v in filters.values())
    if isinstance(filters, list):
        return any(_mentions_field(v, name) for v in filters)
    return False


class InMemoryDocumentStore:
    """A document store held in process memory, with BM25 and exact dense search.

    Args:
        analyzer: how text becomes BM25 terms (an :class:`~haybale.stores.text_analysis.Analyzer` or a dict);
            default: English stop words and Snowball stemming.
        bm25_variant: "okapi" (default: Lucene-style BM25, the best untuned ranking on standard benchmarks),
            "bm25l" or "bm25+".
        bm25_k1: term-frequency saturation. Default 1.2 (Lucene's and Elasticsearch's default).
        bm25_b: document-length normalisation. Default 0.75 (Lucene's default).
        bm25_delta: per-term lower bound for "bm25l" / "bm25+" (ignored by "okapi").
        embedding_similarity_function: "cosine" (default) or "dot_product".
    """

    def __init__(
        self,
        analyzer: Analyzer | dict[str, Any] | None = None,
        *,
        bm25_variant: str = "okapi",
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
        bm25_delta: float = 0.5,
        embedding_similarity_function: str = "cosine",
    ) -> None:
        if isinstance(analyzer, dict):
            analyzer = Analyzer.from_dict(analyzer)
        if analyzer is not None and not isinstance(analyzer, Analyzer):
            raise DocumentStoreUsageError(
                f"analyzer must be an Analyzer, its to_dict() output, or None; got {type(analyzer).__name__}."
            )
        if bm25_variant not in BM25_VARIANTS:
            raise DocumentStoreUsageError(
                f"Unknown bm25_variant {bm25_variant!r}; choose one of {list(BM25_VARIANTS)}."
            )
        if embedding_similarity_function not in SIMILARITY_FUNCTIONS:
            raise DocumentStoreUsageError(
                f"Unknown embedding_similarity_function {embedding_similarity_function!r}; choose one of "
                f"{list(SIMILARITY_FUNCTIONS)}."
            )
        self.analyzer = analyzer or Analyzer()
        try:  # fail now, not half-way through a write, when the stemmer language is unknown
            self.analyzer.normalize_word("probe")
        except ValueError as exc:
            raise DocumentStoreUsageError(f"InMemoryDocumentStore analyzer: {exc}") from exc
        self.bm25_variant = bm25_variant
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.bm25_delta = bm25_delta
        self.embedding_similarity_function = embedding_similarity_function
        self._lock = threading.RLock()
        # Filter selections of searches, valid while ``_writes`` (bumped by every mutation) stays the same.
        self._selections = SelectionCache()
        self._writes = 0
        self._reset_state()

    def _reset_state(self) -> None:
        try:
            self._bm25 = BM25Index(
                self.analyzer, self.bm25_k1, self.bm25_b, self.bm25_delta, self.bm25_variant
            )
        except ValueError as exc:
            raise DocumentStoreUsageError(str(exc)) from exc
        self._dense = DenseMatrix(self.embedding_similarity_function)
        self._docs: list[Document | None] = []
        self._slot_of: dict[str, int] = {}
        self._free: list[int] = []
        self._changed()

    def _changed(self) -> None:
        """Record a mutation (callers hold the lock): cached filter selections no longer apply."""
        self._writes += 1

    # ---- serialization -----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Serialize the store's settings (not its documents; use :meth:`save` for those)."""
        return {
            "type": f"{type(self).__module__}.{type(self).__qualname__}",
            "init_parameters": {
                "analyzer": self.analyzer.to_dict(),
                "bm25_variant": self.bm25_variant,
                "bm25_k1": self.bm25_k1,
                "bm25_b": self.bm25_b,
                "bm25_delta": self.bm25_delta,
                "embedding_similarity_function": self.embedding_similarity_function,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InMemoryDocumentStore:
        """Build an empty store from :meth:`to_dict` output (DeserializationError when malformed)."""
        from haybale.core.serialization import default_from_dict

        return default_from_dict(cls, data)

    def save(self, path: str) -> None:
        """Write an atomic snapshot of every document (with embeddings) to ``path``; see :meth:`load`."""
        from haybale.stores._memory_snapshot import write_snapshot

        with self._lock:
            write_snapshot(path, self.to_dict(), self._all_documents())

    def load(self, path: str) -> None:
        """Replace this store's documents with a snapshot written by :meth:`save`.

        The documents are re-indexed with this store's own settings (analyzer, BM25, similarity). Raises
        DocumentStoreError when the file is missing or corrupt; the store is then left unchanged.
        """
        from haybale.stores._memory_snapshot import read_snapshot

        documents = read_snapshot(path)
        fresh = InMemoryDocumentStore.from_dict(self.to_dict())
        fresh.write_documents(documents, policy=DuplicatePolicy.OVERWRITE)
        with self._lock:
            self._bm25, self._dense = fresh._bm25, fresh._dense
            self._docs, self._slot_of, self._free = fresh._docs, fresh._slot_of, fresh._free
            self._changed()

    # ---- reading -----------------------------------------------------------------------------------------

    def _export(
        self, slot: int, score: float | None = None, details: dict[str, Any] | None = None
    ) -> Document:
        stored = self._docs[slot]
        assert stored is not None
        embedding = stored.embedding
        if embedding is None and self._dense.has(slot):
            embedding = self._dense.row(slot)
        elif embedding is not None:
            embedding = list(embedding)
        return _clone(
            stored,
            meta=copy_json(stored.meta),
            embedding=embedding,
            score=score,
            score_details=details if details is not None else copy_json(stored.score_details),
        )

    def _all_documents(self) -> list[Document]:
        return [self._export(slot) for slot, doc in enumerate(self._docs) if doc is not None]

    def _matching_slots(self, filters: dict[str, Any] | None, among: Any | None = None) -> list[int]:
        """Slots of the documents matching ``filters``; only those where the boolean array ``among`` is
        True when it is given."""
        docs = self._docs
        slots = range(len(docs)) if among is None else np.flatnonzero(among).tolist()
        if filters is None:
            return [slot for slot in slots if docs[slot] is not None]
        predicate = self._predicate(filters)
        return [slot for slot in slots if (doc := docs[slot]) is not None and predicate(doc)]

    def _predicate(self, filters: dict[str, Any]) -> Callable[[Document], bool]:
        from haybale.filters.evaluate import compile_predicate

        if not isinstance(filters, dict):
            raise FilterError(f"filters must be a dict or None, got {type(filters).__name__}.")
        predicate = compile_predicate(filters)
        dense = self._dense

        def matches(doc: Document) -> bool:
            if doc.embedding is None and dense.count:
                slot = self._slot_of[doc.id]
                if dense.has(slot):
                    return predicate(_clone(doc, embedding=dense.row(slot)))
            return predicate(doc)

        return matches if _mentions_field(filters, "embedding") else predicate

    def _candidate_mask(self, filters: dict[str, Any] | None, among: Any | None = None) -> Any | None:
        """Boolean array over slots of the documents matching ``filters`` (and ``among``, see
        :meth:`_matching_slots`); None when ``filters`` is empty (every document)."""
        if not filters:
            return None
        mask = np.zeros(len(self._docs), dtype=bool)
        mask[self._matching_slots(filters, among)] = True
        return mask

    def _search_mask(self, filters: dict[str, Any] | None, among: dict[str, Any] | None = None) -> Any | None:
        """The read-only :meth:`_candidate_mask` of ``filters`` among the documents matching the filter
        ``among`` (all when None), cached until the next mutation (callers hold the lock)."""
        node = parse_filters(filters) if isinstance(filters, dict) else None
        if node is None:
            return self._candidate_mask(filters)  # no filter (None), or not a dict (FilterError)
        among_mask = self._search_mask(among) if among else None
        key = (_canonical(node), _canonical(parse_filters(among)) if among else None)
        return self._selections.get(self._writes, key, lambda: self._candidate_mask(filters, among_mask))

    def count_documents(self, filters: dict[str, Any] | None = None) -> int:
        """Number of documents matching ``filters`` (all when None)."""
        with self._lock:
            if filters is None:
                return len(self._slot_of)
            return len(self._matching_slots(filters))

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """Copies of the documents matching ``filters`` (all when None), in storage-slot order."""
        with self._lock:
            return [self._export(slot) for slot in self._matching_slots(filters)]

    def get_documents_by_id(self, document_ids: list[str]) -> list[Document]:
        """Copies of the documents with these ids (unknown ids are skipped), in the order asked."""
        with self._lock:
            return [self._export(self._slot_of[i]) for i in document_ids if i in self._slot_of]

    # ---- search ------------------------------------------------------------------------------------------

    def bm25_search(
        self,
        query: str,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        scale_score: bool = False,
        *,
        corpus_filters: dict[str, Any] | None = None,
    ) -> list[Document]:
        """Top ``top_k`` documents by BM25 relevance to ``query`` (only documents containing a query term).

        Args:
            query: the query text.
            top_k: how many documents to return at most.
            filters: only documents matching it are returned (the BM25 statistics do not change).
            scale_score: map scores into (0, 1).
            corpus_filters: search as if the store held only the documents matching it: document count,
                average length and document frequencies are theirs, and only they can be returned. None
                (or ``{}``) means the whole store.

        Raises:
            DocumentStoreError: the query is not a string or ``top_k`` is negative.
            FilterError: ``filters`` or ``corpus_filters`` is malformed.
        """
        if not isinstance(query, str):
            raise DocumentStoreUsageError(f"bm25_search query must be a string, got {type(query).__name__}.")
        top_k = check_top_k(top_k)
        scoped = parse_filters(corpus_filters, name="corpus_filters") is not None
        with self._lock:
            corpus = self._search_mask(corpus_filters) if scoped else None
            # Only corpus documents can be returned: filters are evaluated among them alone.
            if scoped and filters == corpus_filters:
                mask = corpus
            else:
                mask = self._search_mask(filters, corpus_filters if scoped else None)
            slots, scores = self._bm25.search(query, top_k, mask, corpus=corpus)
            details = self._bm25.score_details()
            results = []
            for slot, score in zip(slots.tolist(), scores.tolist(), strict=True):
                value = scale_bm25(score) if scale_score else score
                info = {"bm25": {"score": score, **details}}
                results.append(self._export(slot, value, info))
            return results

    def embedding_search(
        self,
        query_embedding: list[float],
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        scale_score: bool = False,
    ) -> list[Document]:
        """Top ``top_k`` documents by embedding similarity (exact; documents without one are skipped)."""
        top_k = check_top_k(top_k)
        if isinstance(query_embedding, (str, bytes)) or not hasattr(query_embedding, "__len__"):
            raise DocumentStoreUsageError(
                f"query_embedding must be a list of floats, got {type(query_embedding).__name__}."
            )
        with self._lock:
            if self._dense.dim is not None and len(query_embedding) != self._dense.dim:
                raise DocumentStoreUsageError(
                    f"query_embedding has {len(query_embedding)} dimensions but the stored embeddings have "
                    f"{self._dense.dim}; embed the query with the model used for the documents."
                )
            mask = self._search_mask(filters)
            try:
                slots, scores = self._dense.search(query_embedding, top_k, mask)
            except ValueError as exc:
                raise DocumentStoreUsageError(f"Invalid query_embedding: {exc}") from exc
            results = []
            similarity = self.embedding_similarity_function
            for slot, score in zip(slots.tolist(), scores.tolist(), strict=True):
                value = score
                if scale_score:
                    value = scale_cosine(score) if similarity == "cosine" else scale_dot_product(score)
                info = {"embedding": {"score": score, "similarity": similarity}}
                results.append(self._export(slot, value, info))
            return results

    async def bm25_search_async(
        self,
        query: str,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        scale_score: bool = False,
        *,
        corpus_filters: dict[str, Any] | None = None,
    ) -> list[Document]:
        """:meth:`bm25_search` run in a worker thread."""
        return await asyncio.to_thread(
            self.bm25_search, query, top_k, filters, scale_score, corpus_filters=corpus_filters
        )

    async def embedding_search_async(
        self,
        query_embedding: list[float],
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        scale_score: bool = False,
    ) -> list[Document]:
        """:meth:`embedding_search` run in a worker thread."""
        return await asyncio.to_thread(self.embedding_search, query_embedding, top_k, filters, scale_score)

    async def count_documents_async(self, filters: dict[str, Any] | None = None) -> int:
        """:meth:`count_documents` run in a worker thread."""
        return await asyncio.to_thread(self.count_documents, filters)

    async def filter_documents_async(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """:meth:`filter_documents` run in a worker thread."""
        return await asyncio.to_thread(self.filter_documents, filters)

    async def write_documents_async(
        self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE
    ) -> int:
        """:meth:`write_documents` run in a worker thread."""
        return await asyncio.to_thread(self.write_documents, documents, policy)

    async def delete_documents_async(self, document_ids: list[str]) -> None:
        """:meth:`delete_documents` run in a worker thread."""
        await asyncio.to_thread(self.delete_documents, document_ids)

    # ---- writing -----------------------------------------------------------------------------------------

    def _plan_writes(
        self, documents: Iterable[Any], policy: DuplicatePolicy
    ) -> tuple[list[Document], tuple[Any, Any] | None]:
        """Validate a batch; return the documents to write (duplicates resolved) and their checked vectors."""
        if isinstance(documents, (str, bytes, Document)) or not isinstance(documents, Iterable):
            raise DocumentStoreUsageError(
                f"write_documents expects a list of Document objects, got {type(documents).__name__}."
            )
        if not isinstance(policy, DuplicatePolicy):
            try:
                policy = DuplicatePolicy(policy)
            except ValueError as exc:
                raise DocumentStoreUsageError(
                    f"Unknown duplicate policy {policy!r}; use one of {[p.value for p in DuplicatePolicy]}."
                ) from exc
        documents = list(documents)
        if all(type(doc) is Document for doc in documents):  # the common case, checked in bulk
            ids = [doc.id for doc in documents]
            if len(set(ids)) == len(ids) and self._slot_of.keys().isdisjoint(ids):
                return documents, self._checked_vectors(documents)
        batch: dict[str, Document] = {}
        for position, doc in enumerate(documents):
            if not isinstance(doc, Document):
                raise DocumentStoreUsageError(
                    f"write_documents: item {position} is a {type(doc).__name__}, not a Document; "
                    "nothing was written."
                )
            if doc.id in batch or doc.id in self._slot_of:
                if policy in (DuplicatePolicy.NONE, DuplicatePolicy.FAIL):
                    raise DuplicateDocumentError(
                        f"Document with id {doc.id!r} already exists (duplicate policy {policy.value}); "
                        "nothing was written. Pass policy=DuplicatePolicy.OVERWRITE or SKIP to allow it."
                    )
                if policy is DuplicatePolicy.SKIP:
                    continue
            batch[doc.id] = doc
        plan = list(batch.values())
        return plan, self._checked_vectors(plan)

    def _checked_vectors(self, plan: list[Document]) -> tuple[Any, Any] | None:
        """The float32 matrix of the embeddings in ``plan`` and which rows are exact, or None without any."""
        embedded = [d for d in plan if d.embedding is not None]
        if not embedded:
            return None
        try:
            matrix, exact = float32_embeddings([d.embedding for d in embedded])
            self._dense.check_dimension(matrix.shape[1])
        except ValueError as exc:
            words = str(exc).split()
            named = ""
            if words[0] == "embedding" and words[1].isdigit():
                named = f" (document {embedded[int(words[1])].id!r})"
            raise DocumentStoreUsageError(
                f"write_documents: invalid embedding{named}, nothing was written: {exc}"
            ) from exc
        # Rows that float32 holds exactly are kept only in the matrix; others also keep their original list.
        return matrix, exact

    def _apply_writes(self, plan: list[Document], vectors: tuple[Any, Any] | None) -> None:
        replaced = [d.id for d in plan if d.id in self._slot_of]
        if replaced:
            self._remove_ids(replaced)
        free, docs = self._free, self._docs
        reused = min(len(free), len(plan))
        slots = [free.pop() for _ in range(reused)]
        slots.extend(range(len(docs), len(docs) + len(plan) - reused))
        docs.extend([None] * (len(plan) - reused))
        exact = vectors[1].tolist() if vectors is not None else []
        text_slots: list[int] = []
        texts: list[str] = []
        vector_slots: list[int] = []
        new = object.__new__
        for doc, slot in zip(plan, slots, strict=True):
            embedding = doc.embedding
            if embedding is not None:
                # Rows float32 holds exactly live only in the matrix; others keep their original values too.
                embedding = None if exact[len(vector_slots)] else list(embedding)
                vector_slots.append(slot)
            stored: Document = new(Document)
            stored.__dict__ = {
                **doc.__dict__,
                "meta": copy_json(doc.meta) if doc.meta else {},
                "embedding": embedding,
                "score": None,
                "score_details": None,
            }
            docs[slot] = stored
            if doc.content:
                text_slots.append(slot)
                texts.append(doc.content)
        self._slot_of.update(zip([d.id for d in plan], slots, strict=True))
        self._bm25.add(text_slots, texts)
        if vectors is not None:
            self._dense.put(vector_slots, vectors[0])
        self._changed()

    def _remove_ids(self, document_ids: Iterable[str]) -> int:
        slots = [self._slot_of.pop(i) for i in dict.fromkeys(document_ids) if i in self._slot_of]
        text_slots = [s for s in slots if self._docs[s] is not None and self._docs[s].content]  # type: ignore[union-attr]
        self._bm25.remove(text_slots, [self._docs[s].content for s in text_slots])  # type: ignore[union-attr,misc]
        self._dense.remove(slots)
        for slot in slots:
            self._docs[slot] = None
        self._free.extend(sorted(slots, reverse=True))
        self._changed()
        return len(slots)

    def write_documents(
        self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE
    ) -> int:
        """Write ``documents`` all-or-nothing; returns how many were written (skipped duplicates excluded)."""
        with self._lock, paused_gc(len(documents) if isinstance(documents, list | tuple) else 0):
            plan, vectors = self._plan_writes(documents, policy)
            self._apply_writes(plan, vectors)
            return len(plan)

    def delete_documents(self, document_ids: list[str]) -> None:
        """Delete documents by id; unknown ids are ignored."""
        if isinstance(document_ids, str):
            raise DocumentStoreUsageError("delete_documents expects a list of ids, got a single string.")
        with self._lock:
            self._remove_ids(list(document_ids))

    def delete_by_filter(self, filters: dict[str, Any]) -> int:
        """Delete every document matching ``filters``; returns how many were deleted."""
        with self._lock:
            ids = [self._docs[s].id for s in self._matching_slots(filters)]  # type: ignore[union-attr]
            return self._remove_ids(ids)

    def update_by_filter(self, filters: dict[str, Any], meta: dict[str, Any]) -> int:
        """Merge ``meta`` into the metadata of every matching document (ids do not change)."""
        if not isinstance(meta, dict):
            raise DocumentStoreUsageError(f"update_by_filter meta must be a dict, got {type(meta).__name__}.")
        with self._lock:
            slots = self._matching_slots(filters)
            for slot in slots:
                stored = self._docs[slot]
                assert stored is not None
                stored.meta = {**stored.meta, **copy_json(meta)}
            self._changed()
            return len(slots)

    def replace_documents(self, filters: dict[str, Any], documents: list[Document]) -> tuple[int, int]:
        """Atomically delete what matches ``filters`` and write ``documents``; returns (deleted, written).

        The new documents are validated before anything is deleted (an id twice in the new set raises
        DuplicateDocumentError); a document whose id already exists outside the filter is overwritten.
        """
        with self._lock, paused_gc(len(documents) if isinstance(documents, list | tuple) else 0):
            doomed = [self._docs[s].id for s in self._matching_slots(filters)]  # type: ignore[union-attr]
            plan, vectors = self._plan_writes(documents, DuplicatePolicy.OVERWRITE)
            if len(plan) != len(documents):
                seen: set[str] = set()
                dup = next(d.id for d in documents if d.id in seen or seen.add(d.id))  # type: ignore[func-returns-value]
                raise DuplicateDocumentError(
                    f"replace_documents: the new set contains document id {dup!r} more than once; nothing "
                    "was changed. Remove the duplicate from the new set."
                )
            deleted = self._remove_ids(doomed)
            self._apply_writes(plan, vectors)
            return deleted, len(plan)
