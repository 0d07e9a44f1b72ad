"""Incremental, exactly-once indexing: keep a document store in sync with a set of files and folders.

How a run works:

1. :func:`~haybale.indexing.source_tracker.discover_files` lists the files (hidden entries skipped, symlink
   loops reported). Each file is keyed by its absolute real path and hashed (sha256 of its bytes).
2. A file whose key and hash the store already holds is *unchanged* and skipped: nothing is converted or
   written, so a second run over the same folder writes nothing.
3. Changed and new files go, in batches, through the conversion pipeline
   ``MultiFileConverter -> DocumentCleaner -> DocumentSplitter``, then the chunks through the document
   embedder. The embedder runs outside the pipeline so that its model is only loaded when there are chunks
   to embed: a re-run that finds nothing new (or only files that fail to convert) never loads it.
4. The new chunks of a batch's sources replace their old ones in **one atomic**
   ``store.replace_documents({"field": "meta.source", "operator": "in", "value": [sources]}, chunks)``. A
   process killed at any moment leaves every source either fully old or fully new; the next run re-processes
   what is stale and converges to the same index (chunk ids are content-addressed).
5. With ``prune``, sources under the given folders whose files are gone are deleted.

A file that fails (unreadable, corrupt, unknown type) is reported and skipped; its previously indexed chunks
stay untouched.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from haybale.dataclasses import Document
from haybale.indexing.source_tracker import (
    discover_files,
    file_sha256,
    indexed_sources,
    source_filter,
    source_is_current,
    source_key,
    sources_filter,
)

__all__ = ["FileOutcome", "IndexReport", "Indexer", "PendingFile", "build_indexing_pipeline"]

Status = Literal["indexed", "unchanged", "failed", "removed", "skipped"]
#: Source keys checked together in one ``count_documents`` call when planning a run.
_KEYS_PER_QUERY = 256


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one source in a run.

    Attributes:
        source: the source key (absolute real path), or the path as given when it could not be listed.
        status: "indexed" (chunks replaced), "unchanged" (same content already indexed), "failed" (could not
            be indexed; reported, and the run exits non-zero), "removed" (pruned) or "skipped" (a symlink loop
            or broken symlink met while walking: nothing to index).
        chunks: chunks written ("indexed") or deleted ("removed").
        replaced: old chunks deleted when a changed file was re-indexed.
        error: why it failed.
    """

    source: str
    status: Status
    chunks: int = 0
    replaced: int = 0
    error: str | None = None


@dataclass
class IndexReport:
    """The outcome of :meth:`Indexer.index`: one :class:`FileOutcome` per source, plus timing."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        """How many sources ended with ``status``."""
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def failed(self) -> list[FileOutcome]:
        """The sources that failed."""
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def chunks_written(self) -> int:
        """Chunks written in this run."""
        return sum(o.chunks for o in self.outcomes if o.status == "indexed")

    @property
    def chunks_deleted(self) -> int:
        """Chunks deleted in this run (replaced or pruned)."""
        return sum(o.replaced for o in self.outcomes) + sum(
            o.chunks for o in self.outcomes if o.status == "removed"
        )


def build_indexing_pipeline(
    split_by: str = "word",
    split_length: int = 200,
    split_overlap: int = 20,
    tokenizer_model: str | None = None,
) -> Any:
    """The conversion pipeline: MultiFileConverter -> DocumentCleaner -> DocumentSplitter.

    Args:
        split_by: the splitter's unit ("word", "sentence", "token", ...).
        split_length: units per chunk.
        split_overlap: units shared by consecutive chunks.
        tokenizer_model: the model whose tokenizer counts tokens when ``split_by="token"``.
    """
    from haybale.components.converters import MultiFileConverter
    from haybale.components.preprocessors import DocumentCleaner, DocumentSplitter
    from haybale.core.pipeline import Pipeline

    splitter_args: dict[str, Any] = {
        "split_by": split_by,
        "split_length": split_length,
        "split_overlap": split_overlap,
    }
    if split_by == "token" and tokenizer_model is not None:
        from haybale.components.embedders.sentence_transformers_backend import resolve_model_path

        # The well-known MiniLM names map to the bundled files: the tokenizer never comes from a hub.
        splitter_args["tokenizer"] = resolve_model_path(tokenizer_model)
    pipeline = Pipeline()
    pipeline.add_component("converter", MultiFileConverter())
    pipeline.add_component("cleaner", DocumentCleaner())
    pipeline.add_component("splitter", DocumentSplitter(**splitter_args))
    pipeline.connect("converter.documents", "cleaner.documents")
    pipeline.connect("cleaner.documents", "splitter.documents")
    return pipeline


@dataclass(frozen=True)
class PendingFile:
    """A file that needs (re-)indexing: its source key, its path as found, and the sha256 of its bytes."""

    key: str
    path: Path
    sha256: str


class Indexer:
    """Keeps a document store exactly in sync with files and folders (see the module docstring).

    Args:
        document_store: any store implementing the DocumentStore protocol.
        pipeline: the conversion pipeline, from :func:`build_indexing_pipeline` (or one with the same
            component names: "converter" taking ``sources`` and ``meta``, "splitter" emitting ``documents``).
        embedder: a document embedder component (``run(documents=...)``), or None to store chunks without
            embeddings.
        batch_files: how many changed files go through the pipeline together (bigger batches keep the
            embedding model busy; a killed run redoes at most one batch).
        on_store_written: called after every atomic write; e.g. ``OpenedStore.flush`` for snapshot stores.
    """

    def __init__(
        self,
        document_store: Any,
        pipeline: Any,
        embedder: Any = None,
        batch_files: int = 32,
        on_store_written: Callable[[], None] | None = None,
    ) -> None:
        if not isinstance(batch_files, int) or batch_files < 1:
            raise ValueError(f"batch_files must be a positive integer, got {batch_files!r}.")
        self.document_store = document_store
        self.pipeline = pipeline
        self.embedder = embedder
        self.batch_files = batch_files
        self.on_store_written = on_store_written

    def plan(self, paths: Iterable[str | Path]) -> tuple[list[PendingFile], list[FileOutcome]]:
        """Find the files under ``paths``; return those needing work, and outcomes for the rest."""
        files, skipped = discover_files(paths)
        outcomes = [FileOutcome(s.path, "skipped" if s.walked else "failed", error=s.reason) for s in skipped]
        hashed: list[PendingFile | FileOutcome] = []
        for key, path in files.items():
            try:
                hashed.append(PendingFile(key, path, file_sha256(path)))
            except OSError as exc:
                hashed.append(FileOutcome(key, "failed", error=f"cannot read file: {exc.strerror or exc}"))
        indexed = self._keys_with_chunks([item.key for item in hashed if isinstance(item, PendingFile)])
        pending: list[PendingFile] = []
        for item in hashed:
            if isinstance(item, FileOutcome):
                outcomes.append(item)
            elif item.key in indexed and source_is_current(self.document_store, item.key, item.sha256):
                outcomes.append(FileOutcome(item.key, "unchanged"))
            else:
                pending.append(item)
        return pending, outcomes

    def _keys_with_chunks(self, keys: list[str]) -> set[str]:
        """The keys that may have chunks in the store: one count per group of keys rules out whole groups.

        A new folder (or a fresh store) costs one query per group instead of one per file.
        """
        found: set[str] = set()
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            group = keys[start : start + _KEYS_PER_QUERY]
            if self.document_store.count_documents(sources_filter(group)) > 0:
                found.update(group)
        return found

    def index(
        self,
        paths: Iterable[str | Path],
        prune: bool = False,
        on_outcome: Callable[[FileOutcome], None] | None = None,
        on_plan: Callable[[int, int], None] | None = None,
    ) -> IndexReport:
        """Bring the store in sync with ``paths``.

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
        for start in range(0, len(pending), self.batch_files):
            for outcome in self._index_batch(pending[start : start + self.batch_files]):
                record(outcome)
        if prune:
            for outcome in self._prune(paths):
                record(outcome)
        report.seconds = time.perf_counter() - started
        return report

    def _index_batch(self, batch: list[PendingFile]) -> list[FileOutcome]:
        metas = [{"source": item.key, "source_hash": item.sha256} for item in batch]
        try:
            result = self.pipeline.run(
                {"converter": {"sources": [str(item.path) for item in batch], "meta": metas}},
                include_outputs_from={"converter"},
            )
        except Exception as exc:  # one bad batch must not end the run: it is retried file by file
            if len(batch) > 1:
                return [outcome for item in batch for outcome in self._index_batch([item])]
            cause = exc.__cause__ or exc
            return [FileOutcome(batch[0].key, "failed", error=f"{type(cause).__name__}: {cause}")]
        failures = {
            str(f.get("source")): str(f.get("error")) for f in result["converter"].get("failures", [])
        }
        chunks = list(result.get("splitter", {}).get("documents", []))
        if chunks and self.embedder is not None:
            try:
                chunks = self.embedder.run(documents=chunks)["documents"]
            except Exception as exc:  # the batch's files stay as they were; each is reported
                reason = f"embedding failed: {type(exc).__name__}: {exc}"
                return [FileOutcome(item.key, "failed", error=reason) for item in batch]
        by_source: dict[str, list[Document]] = {item.key: [] for item in batch}
        for chunk in chunks:
            by_source.setdefault(str(chunk.meta.get("source")), []).append(chunk)
        outcomes: list[FileOutcome] = []
        converted: list[PendingFile] = []
        for item in batch:
            error = failures.get(str(item.path)) or failures.get(item.key)
            if error is not None:
                outcomes.append(FileOutcome(item.key, "failed", error=error))
            else:
                converted.append(item)
        if not converted:
            return outcomes
        keys = [item.key for item in converted]
        old_counts = dict.fromkeys(keys, 0)
        if self.document_store.count_documents(sources_filter(keys)) > 0:  # one query when all are new
            old_counts = {key: self.document_store.count_documents(source_filter(key)) for key in keys}
        # One atomic replace for every converted source of the batch: each source ends fully old or fully new
        # (in fact the whole batch does), and a durable store commits once per batch rather than per file.
        self.document_store.replace_documents(
            sources_filter(keys), [c for key in keys for c in by_source[key]]
        )
        if self.on_store_written is not None:
            self.on_store_written()
        outcomes.extend(
            FileOutcome(key, "indexed", chunks=len(by_source[key]), replaced=old_counts[key]) for key in keys
        )
        return outcomes

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
