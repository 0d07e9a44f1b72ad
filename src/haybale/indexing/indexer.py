"""Incremental, exactly-once indexing: keep a document store in sync with a set of files and folders.

How a run works:

1. :func:`~haybale.indexing.source_tracker.discover_files` lists the files (hidden entries skipped, symlink
   loops reported). Each file is keyed by its absolute real path and hashed (sha256 of its bytes).
2. A file whose key and hash the store already holds is *unchanged* and skipped: nothing is converted or
   written, so a second run over the same folder writes nothing. The stored hash also covers the indexer's
   settings (conversion, chunking, embedder), so a run with another chunk size or model re-indexes.
3. Changed and new files go, in batches, through the conversion pipeline
   ``MultiFileConverter -> DocumentCleaner -> DocumentSplitter``, then the chunks through the document
   embedder. The embedder runs outside the pipeline so that its model is only loaded when there is work: a
   re-run that finds nothing new never loads it.
4. The new chunks of a batch's sources replace their old ones in **one atomic**
   ``store.replace_documents({"field": "meta.source", "operator": "in", "value": [sources]}, chunks)``. A
   process killed at any moment leaves every source either fully old or fully new; the next run re-processes
   what is stale and converges to the same index (chunk ids are content-addressed).
5. With ``prune``, sources under the given folders whose files are gone are deleted.

Speed: batches convert ahead while the model embeds, and the model loads while the first batches convert --
in a worker thread, or with ``conversion_process`` (``haybale index``) in a child process, where conversion
does not take turns with the model load for the GIL (see :mod:`haybale.indexing.conversion_worker`). Chunks
are embedded in pools of at least ``embedding_pool`` across consecutive batches (the embedder groups texts of
similar length, and pads less the more it can choose from); the batches of a pool are then written one by one.
A changed file's chunks whose text is unchanged keep their vectors: each chunk carries a private
``_embedding_key`` (a hash of the embedder's settings and the text it embeds), and before embedding a batch
the chunks it replaces are read back and matching keys reuse their vectors -- editing one paragraph re-embeds
only the chunks that paragraph touches (see :mod:`haybale.indexing.chunk_embedding`).

A file that fails (unreadable, corrupt, unknown type) is reported and skipped; its previously indexed chunks
stay untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haybale.dataclasses import ByteStream, Document
from haybale.errors import ComponentError
from haybale.indexing.chunk_embedding import ChunkBatch, embed_pool, embedder_fingerprint
from haybale.indexing.conversion_worker import ConversionsAhead, ConversionWorker
from haybale.indexing.source_tracker import (
    discover_files,
    file_sha256,
    indexed_sources,
    source_filter,
    source_key,
    sources_filter,
    stored_whole,
)
from haybale.indexing.sources import (
    CHUNK_COUNT_META,
    KEY_META,
    FileOutcome,
    IndexReport,
    SourceInput,
    build_indexing_pipeline,
    chunks_by_source,
    run_conversion,
)

__all__ = ["FileOutcome", "IndexReport", "Indexer", "SourceInput", "build_indexing_pipeline"]

#: Source keys checked together in one ``count_documents`` call when planning a run.
_KEYS_PER_QUERY = 256
#: Chunks embedded together by default (about 10 s of MiniLM on two CPU cores).
DEFAULT_EMBEDDING_POOL = 256


def _any_of(items: list[SourceInput]) -> dict[str, Any]:
    """One filter selecting the chunks of every source in ``items``."""
    if all(item.scope is None for item in items):
        return sources_filter([item.key for item in items])
    if len(items) == 1:
        return items[0].replace_filter
    return {"operator": "OR", "conditions": [item.replace_filter for item in items]}


def _numbered(item: SourceInput, chunks: list[Document]) -> list[Document]:
    """The chunks of one source with ``chunk_id`` (``<document_id or key>-chunk-<n>``, n from 0 in reading
    order), ``content_offset`` (the chunk's character offset in the text it was cut from) and
    ``source_chunks`` (how many chunks the source has: a source missing some of them is not unchanged)."""
    prefix = str(item.meta.get("document_id") or item.key)
    numbered = []
    for position, chunk in enumerate(chunks):
        meta = {k: v for k, v in chunk.meta.items() if k != KEY_META}
        meta["chunk_id"] = f"{prefix}-chunk-{position}"
        meta[CHUNK_COUNT_META] = len(chunks)
        meta["content_offset"] = int(meta.get("split_idx_start") or 0)
        numbered.append(Document(content=chunk.content, meta=meta, blob=chunk.blob))
    return numbered


def _ocr_pages(chunks: list[Document]) -> tuple[int, ...]:
    """The page numbers of the chunks whose text came from OCR."""
    pages = {c.meta.get("page_number") for c in chunks if c.meta.get("ocr")}
    return tuple(sorted(p for p in pages if isinstance(p, int)))


@dataclass
class _StagedBatch:
    """A converted batch waiting for its vectors and its write: the outcomes of its sources that failed, and
    the sources to write (``sizes``: their chunk counts, in order) with their chunks."""

    outcomes: list[FileOutcome]
    sources: list[SourceInput] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    chunks: ChunkBatch | None = None
    replacing: bool = False


class Indexer:
    """Keeps a document store exactly in sync with files and folders (see the module docstring).

    Args:
        document_store: any store implementing the DocumentStore protocol.
        pipeline: the conversion pipeline, from :func:`build_indexing_pipeline` (or one with the same
            component names: "converter" taking ``sources`` and ``meta``, "splitter" emitting ``documents``).
        embedder: a document embedder component (``run(documents=...)``), or None to store chunks without
            embeddings.
        batch_files: how many changed files go through the pipeline together and are written in one atomic
            replace.
        on_store_written: called after every atomic write; e.g. ``OpenedStore.flush`` for snapshot stores.
        embedding_pool: chunks embedded in one embedder call, across consecutive batches, before those
            batches are written (one by one). The embedder groups what it is given by length, and a larger
            pool pads less (see :mod:`haybale.indexing.chunk_embedding`); a killed run redoes at most the
            batches of one pool.
        conversion_process: convert in a child process (see :mod:`haybale.indexing.conversion_worker`)
            rather than a thread, when there is a model to load: conversion then runs on another core while
            the model loads and embeds, and batches convert further ahead. Same chunks either way; any batch
            the child cannot convert is converted here.
    """

    def __init__(
        self,
        document_store: Any,
        pipeline: Any,
        embedder: Any = None,
        batch_files: int = 32,
        on_store_written: Callable[[], None] | None = None,
        *,
        embedding_pool: int = DEFAULT_EMBEDDING_POOL,
        conversion_process: bool = False,
    ) -> None:
        for name, value in (("batch_files", batch_files), ("embedding_pool", embedding_pool)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ComponentError(f"{name} must be a positive integer, got {value!r}.")
        self.document_store = document_store
        self.pipeline = pipeline
        self.embedder = embedder
        self.batch_files = batch_files
        self.on_store_written = on_store_written
        self.embedding_pool = embedding_pool
        self.conversion_process = conversion_process
        self._settings_digest: str | None = None

    @property
    def settings_digest(self) -> str:
        """A hash of what turns a source into chunks and vectors: the conversion pipeline's settings
        (converters, cleaning, chunking) and the embedder's. It enters every stored ``source_hash``, so a
        source indexed with other settings is not "unchanged": changing the chunk size or the embedding model
        re-indexes on the next run instead of silently keeping the old chunks or mixing vector spaces."""
        if self._settings_digest is None:
            try:
                pipeline_settings = json.dumps(self.pipeline.to_dict(), sort_keys=True, default=str)
            except Exception:  # a custom pipeline that cannot be serialized: compare by type only
                pipeline_settings = type(self.pipeline).__qualname__
            embedder = ""
            if self.embedder is not None:  # unserializable settings: the type is all that is stable
                embedder = embedder_fingerprint(self.embedder) or type(self.embedder).__qualname__
            digest = hashlib.sha256(f"{pipeline_settings}\0{embedder}".encode())
            self._settings_digest = digest.hexdigest()
        return self._settings_digest

    def stored_hash(self, item: SourceInput) -> str:
        """The ``meta.source_hash`` written on ``item``'s chunks: its content fingerprint combined with
        :attr:`settings_digest`."""
        return hashlib.sha256(f"{item.sha256}\0{self.settings_digest}".encode()).hexdigest()

    def plan(self, paths: Iterable[str | Path]) -> tuple[list[SourceInput], list[FileOutcome]]:
        """Find the files under ``paths``; return those needing work, and outcomes for the rest."""
        files, skipped = discover_files(paths)
        outcomes = [FileOutcome(s.path, "skipped" if s.walked else "failed", error=s.reason) for s in skipped]
        sources: list[SourceInput] = []
        for key, path in files.items():
            try:
                sha256 = file_sha256(path)
            except OSError as exc:
                outcomes.append(FileOutcome(key, "failed", error=f"cannot read file: {exc.strerror or exc}"))
                continue
            sources.append(SourceInput.for_file(key, path, sha256))
        pending, unchanged = self.split_unchanged(sources)
        outcomes.extend(FileOutcome(item.key, "unchanged") for item in unchanged)
        return pending, outcomes

    def split_unchanged(self, sources: list[SourceInput]) -> tuple[list[SourceInput], list[SourceInput]]:
        """Split ``sources`` into those needing work and those whose current content is already indexed.

        New sources cost one query per group of up to 256 (nothing of the group is in the store); only
        sources with chunks are checked one by one.
        """
        maybe_indexed: list[SourceInput] = []
        for start in range(0, len(sources), _KEYS_PER_QUERY):
            group = sources[start : start + _KEYS_PER_QUERY]
            if self.document_store.count_documents(_any_of(group)) > 0:
                maybe_indexed.extend(group)
        known = {id(item) for item in maybe_indexed}
        pending: list[SourceInput] = []
        unchanged: list[SourceInput] = []
        for item in sources:
            if id(item) in known and self._is_current(item):
                unchanged.append(item)
            else:
                pending.append(item)
        return pending, unchanged

    def _is_current(self, item: SourceInput) -> bool:
        """Whether every chunk of ``item`` is stored as this content and these settings write it."""
        store, scope = self.document_store, item.replace_filter
        return stored_whole(store, scope, self.stored_hash(item), CHUNK_COUNT_META)

    def index(
        self,
        paths: Iterable[str | Path],
        prune: bool = False,
        on_outcome: Callable[[FileOutcome], None] | None = None,
        on_plan: Callable[[int, int], None] | None = None,
    ) -> IndexReport:
        """Bring the store in sync with the files under ``paths``.

        Args:
            paths: files and folders.
            prune: delete indexed sources under the given folders (or the given files) that no longer exist.
            on_outcome: called with each source's outcome as soon as it is known (for progress display).
            on_plan: called once with (files found, files to process) before processing starts.

        Returns:
            The :class:`IndexReport`.
        """
        started = time.perf_counter()
        paths = list(paths)
        report = IndexReport()

        def record(outcome: FileOutcome) -> None:
            report.outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)

        pending, settled = self.plan(paths)
        if on_plan is not None:
            on_plan(len(pending) + sum(1 for o in settled if o.status == "unchanged"), len(pending))
        for outcome in settled:
            record(outcome)
        for outcome in self._index_pending(pending):
            record(outcome)
        if prune:
            for outcome in self._prune(paths):
                record(outcome)
        report.seconds = time.perf_counter() - started
        return report

    def index_sources(
        self,
        sources: list[SourceInput],
        *,
        skip_unchanged: bool = True,
        on_outcome: Callable[[FileOutcome], None] | None = None,
    ) -> IndexReport:
        """(Re)index ``sources`` — files or in-memory uploads — through the same exactly-once path as files.

        Each source's new chunks replace the chunks its ``scope`` selects in one atomic step; a source that
        fails to convert, or yields no text, changes nothing. Sources whose content (``sha256``) is already
        indexed under their scope are "unchanged" when ``skip_unchanged``.

        Returns:
            The :class:`IndexReport`, one outcome per source.
        """
        started = time.perf_counter()
        report = IndexReport()
        pending, unchanged = self.split_unchanged(sources) if skip_unchanged else (list(sources), [])
        outcomes = [FileOutcome(item.key, "unchanged") for item in unchanged]
        outcomes.extend(self._index_pending(pending))
        for outcome in outcomes:
            report.outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
        report.seconds = time.perf_counter() - started
        return report

    def _index_pending(self, pending: list[SourceInput]) -> Iterator[FileOutcome]:
        """Index ``pending`` batch by batch, embedding the chunks of consecutive batches in pools of at least
        ``embedding_pool``. Batches convert ahead (in a worker thread, or a child process with
        ``conversion_process``) while a pool embeds, and the model loads in another thread meanwhile."""
        batches = [
            pending[start : start + self.batch_files] for start in range(0, len(pending), self.batch_files)
        ]
        if not batches:
            return
        # Enough files converted ahead to fill the next pool even at one chunk per file.
        ahead = 1 + -(-self.embedding_pool // self.batch_files)
        with contextlib.ExitStack() as stack:
            worker = None
            if self.conversion_process and self.embedder is not None:
                worker = ConversionWorker.start(self.pipeline)  # first: its start overlaps the model load
            if worker is not None:
                stack.callback(worker.close)
            loader = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="haybale-model"))
            converter = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="haybale-convert"))
            stack.callback(converter.shutdown, cancel_futures=True)  # an abandoned run stops converting
            warm = getattr(self.embedder, "warm_up", None)
            loading = loader.submit(warm) if callable(warm) else None
            conversions = ConversionsAhead(
                batches,
                worker or converter,
                ahead=ahead,
                chunk_limit=16 * self.embedding_pool,  # 4,096 chunks by default: a few MB
                convert_here=self._try_convert,
                inputs=self._conversion_inputs,
            )
            pool: list[_StagedBatch] = []
            for position, batch in enumerate(batches):
                converted = conversions.next()
                pool.extend(self._stage(batch, converted))
                waiting = sum(len(staged.chunks.missing) for staged in pool if staged.chunks is not None)
                if 0 < waiting < self.embedding_pool and position + 1 < len(batches):
                    continue
                if waiting and loading is not None:
                    loading.result()  # a model that fails to load fails here, as it would in run()
                    loading = None
                if waiting:
                    embed_pool(self.embedder, [staged.chunks for staged in pool if staged.chunks is not None])
                for staged in pool:
                    yield from self._write(staged)
                pool = []

    def _try_convert(
        self, batch: list[SourceInput]
    ) -> tuple[dict[str, str], dict[str, list[Document]]] | Exception:
        try:
            return self._convert(batch)
        except Exception as exc:  # handled (retried source by source) by _index_batch
            return exc

    def _conversion_inputs(
        self, batch: list[SourceInput]
    ) -> tuple[list[Any], list[dict[str, Any]], dict[str, str]]:
        """The conversion pipeline's ``sources`` and ``meta`` for ``batch``, and the source key of each name
        the converters report failures under."""
        contents: list[Any] = []
        metas: list[dict[str, Any]] = []
        # Converters name a source in their failures: a path as given, or an in-memory source's name. Uploads
        # are named by their file name (what their owner recognises), made unique within the batch.
        names: dict[str, str] = {}
        for item in batch:
            if isinstance(item.content, ByteStream):
                name = str(item.content.meta.get("file_name") or item.key)
                if name in names:
                    name = f"{name} [{item.key}]"
                contents.append(
                    ByteStream(
                        item.content.data, {**item.content.meta, "source": name}, item.content.mime_type
                    )
                )
            else:
                name = str(item.content)
                contents.append(name)
            names[name] = item.key
            metas.append({**item.meta, "source_hash": self.stored_hash(item), KEY_META: item.key})
        return contents, metas, names

    def _convert(self, batch: list[SourceInput]) -> tuple[dict[str, str], dict[str, list[Document]]]:
        """Run the conversion pipeline: per-source failures, and per-source chunks in reading order."""
        contents, metas, names = self._conversion_inputs(batch)
        return chunks_by_source(batch, names, *run_conversion(self.pipeline, contents, metas))

    def _stage(self, batch: list[SourceInput], converted_batch: Any) -> list[_StagedBatch]:
        """The converted batch's failures and chunks (keyed, with the vectors they can reuse); a batch whose
        conversion raised is retried source by source."""
        result = converted_batch
        if isinstance(result, Exception):  # one bad batch must not end the run
            if len(batch) > 1:
                return [staged for item in batch for staged in self._stage([item], self._try_convert([item]))]
            cause = result.__cause__ or result
            error = f"{type(cause).__name__}: {cause}"
            return [_StagedBatch([FileOutcome(batch[0].key, "failed", error=error, cause=cause)])]
        failures, by_source = result
        staged = _StagedBatch([])
        for item in batch:
            if item.key in failures:
                staged.outcomes.append(FileOutcome(item.key, "failed", error=failures[item.key]))
            elif not by_source[item.key]:
                reason = "it holds no text to index (empty, or a scanned image without a text layer)"
                staged.outcomes.append(
                    FileOutcome(item.key, "failed", error=f"{reason}; nothing was changed")
                )
            else:
                staged.sources.append(item)
        if not staged.sources:
            return [staged]
        chunks = [_numbered(item, by_source[item.key]) for item in staged.sources]
        staged.sizes = [len(numbered) for numbered in chunks]
        staged.replacing = (
            self.document_store.count_documents(_any_of(staged.sources)) > 0
        )  # one query if new
        staged.chunks = ChunkBatch.prepare(
            [chunk for numbered in chunks for chunk in numbered],
            self.embedder,
            self.document_store,
            _any_of(staged.sources) if staged.replacing else None,
        )
        return [staged]

    def _write(self, staged: _StagedBatch) -> list[FileOutcome]:
        """Replace the staged sources' chunks in one atomic write; the outcome of each source."""
        if staged.chunks is None:
            return staged.outcomes
        if staged.chunks.error is not None:  # the batch's sources stay as they were; each is reported
            failed = (
                FileOutcome(item.key, "failed", error=staged.chunks.error, cause=staged.chunks.cause)
                for item in staged.sources
            )
            return [*staged.outcomes, *failed]
        chunks = staged.chunks.embedded_chunks()
        old_counts = dict.fromkeys((item.key for item in staged.sources), 0)
        if staged.replacing:
            old_counts = {
                item.key: self.document_store.count_documents(item.replace_filter) for item in staged.sources
            }
        # One atomic replace for every converted source of the batch: each source ends fully old or fully new
        # (in fact the whole batch does), and a durable store commits once per batch rather than per file.
        self.document_store.replace_documents(_any_of(staged.sources), chunks)
        if self.on_store_written is not None:
            self.on_store_written()
        outcomes = list(staged.outcomes)
        start = 0
        for item, size in zip(staged.sources, staged.sizes, strict=True):
            own = chunks[start : start + size]
            start += size
            outcomes.append(
                FileOutcome(
                    item.key, "indexed", chunks=size, replaced=old_counts[item.key], ocr_pages=_ocr_pages(own)
                )
            )
        return outcomes

    def prune(self, paths: Iterable[str | Path]) -> list[FileOutcome]:
        """Delete the indexed sources under ``paths`` whose files are gone (the last step of ``index(...,
        prune=True)``; sharded runs call it once every shard is done)."""
        return self._prune(list(paths))

    def _prune(self, paths: list[str | Path]) -> list[FileOutcome]:
        roots = [source_key(Path(p).expanduser()) for p in paths if Path(p).expanduser().exists()]
        outcomes = []
        for key in sorted(indexed_sources(self.document_store, roots)):
            if Path(key).exists():
                continue
            deleted = self.document_store.delete_by_filter(source_filter(key))
            if self.on_store_written is not None:
                self.on_store_written()
            outcomes.append(FileOutcome(key, "removed", chunks=deleted))
        return outcomes
