"""What an indexing run takes and reports: :class:`SourceInput` (one file or upload to index),
:class:`FileOutcome` and :class:`IndexReport` (what happened to each), and the conversion pipeline
(:func:`build_indexing_pipeline`) that turns sources into chunks, whose first half
(:func:`build_extraction_pipeline`) is text extraction."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from haybale.dataclasses import ByteStream, Document
from haybale.indexing.source_tracker import source_filter

__all__ = [
    "KEY_META",
    "FileOutcome",
    "IndexReport",
    "SourceInput",
    "Status",
    "build_extraction_pipeline",
    "build_indexing_pipeline",
    "chunks_by_source",
    "extract_documents",
    "run_conversion",
]

#: Private meta key that carries each chunk's source key through the conversion pipeline (removed before
#: writing; keys starting with "_" never enter document ids).
KEY_META = "_haybale_source_key"
#: Meta key of every chunk the indexer writes: how many chunks its source has.
CHUNK_COUNT_META = "source_chunks"

#: What happened to one source in a run.
Status = Literal["indexed", "unchanged", "failed", "removed", "skipped"]


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
        ocr_pages: the pages whose text was read by OCR (scanned PDF pages, images), when indexed.
        cause: the exception behind a failure that was raised rather than reported (a conversion or embedding
            call), in the process that indexed; its fault tells a dependency's failure from a bad file.
    """

    source: str
    status: Status
    chunks: int = 0
    replaced: int = 0
    error: str | None = None
    ocr_pages: tuple[int, ...] = ()
    cause: BaseException | None = field(default=None, compare=False, repr=False)


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


def build_extraction_pipeline() -> Any:
    """The text-extraction pipeline: MultiFileConverter -> DocumentCleaner ("converter" takes ``sources`` and
    ``meta``; "cleaner" emits ``documents``). What ``/extract`` returns, and the first half of
    :func:`build_indexing_pipeline`, so extracted text is exactly what indexing chunks."""
    from haybale.components.converters import MultiFileConverter
    from haybale.components.converters.file_types import LAYOUT_MIME_TYPES
    from haybale.components.preprocessors import DocumentCleaner
    from haybale.core.pipeline import Pipeline

    pipeline = Pipeline()
    pipeline.add_component("converter", MultiFileConverter())
    # Source code and configuration keep their indentation and tabs (their meaning); prose is cleaned. So do
    # Markdown and HTML: their converters already normalize the prose and keep code blocks verbatim.
    layout_types = sorted({*LAYOUT_MIME_TYPES, "text/markdown", "text/html"})
    pipeline.add_component("cleaner", DocumentCleaner(keep_layout_types=layout_types))
    pipeline.connect("converter.documents", "cleaner.documents")
    return pipeline


def build_indexing_pipeline(
    split_by: str = "character",
    split_length: int = 500,
    split_overlap: int = 50,
    tokenizer_model: str | None = None,
) -> Any:
    """The conversion pipeline: MultiFileConverter -> DocumentCleaner -> DocumentSplitter (the extraction
    pipeline, then the splitter).

    Args:
        split_by: the splitter's unit ("character", "word", "sentence", "token", ...). Character chunks end
            at word boundaries.
        split_length: units per chunk.
        split_overlap: units shared by consecutive chunks.
        tokenizer_model: the model whose tokenizer counts tokens when ``split_by="token"``.
    """
    from haybale.components.preprocessors import DocumentSplitter

    splitter_args: dict[str, Any] = {
        "split_by": split_by,
        "split_length": split_length,
        "split_overlap": split_overlap,
        "respect_word_boundary": split_by == "character",
    }
    if split_by == "token" and tokenizer_model is not None:
        from haybale.components.embedders.sentence_transformers_backend import resolve_model_path

        # The well-known MiniLM names map to the bundled files: the tokenizer never comes from a hub.
        splitter_args["tokenizer"] = resolve_model_path(tokenizer_model)
    pipeline = build_extraction_pipeline()
    pipeline.add_component("splitter", DocumentSplitter(**splitter_args))
    pipeline.connect("cleaner.documents", "splitter.documents")
    return pipeline


def extract_documents(
    pipeline: Any, sources: list[Any], meta: list[dict[str, Any]]
) -> tuple[list[Any], list[Document]]:
    """Run a pipeline from :func:`build_extraction_pipeline`: the converter's failures, the cleaned
    documents."""
    result = pipeline.run(
        {"converter": {"sources": sources, "meta": meta}}, include_outputs_from={"converter"}
    )
    return result["converter"].get("failures", []), result.get("cleaner", {}).get("documents", [])


@dataclass(frozen=True)
class SourceInput:
    """One source to (re)index: a file on disk or bytes in memory (an upload).

    Attributes:
        key: what identifies the source in outcomes (a file's real path; an upload's document id).
        content: the file's path, or a :class:`ByteStream` (its ``meta["file_name"]`` picks the converter).
        meta: metadata copied onto every chunk of the source.
        sha256: a fingerprint of what was indexed (the file's bytes; for uploads, bytes and metadata).
            Combined with the indexer's settings it is stored as ``meta.source_hash``: a source whose scope
            already holds chunks with it is unchanged.
        scope: the filter selecting the source's previous chunks, which its new chunks replace atomically;
            default ``meta.source == key``.
    """

    key: str
    content: Path | ByteStream
    meta: dict[str, Any]
    sha256: str
    scope: dict[str, Any] | None = None

    @classmethod
    def for_file(cls, key: str, path: str | Path, sha256: str) -> SourceInput:
        """A file on disk, keyed by ``key`` (its real path): it is its own document, so its chunks carry the
        ``document_id`` (the key) and ``filename`` fields an upload's chunks carry, and the service's
        document filters reach a store indexed from files."""
        meta = {"source": key, "document_id": key, "filename": os.path.basename(key)}
        return cls(key=key, content=Path(path), meta=meta, sha256=sha256)

    @property
    def replace_filter(self) -> dict[str, Any]:
        """The filter selecting this source's chunks in the store."""
        return self.scope if self.scope is not None else source_filter(self.key)


def run_conversion(
    pipeline: Any, sources: list[Any], meta: list[dict[str, Any]]
) -> tuple[list[Any], list[Document]]:
    """Run a conversion pipeline shaped like :func:`build_indexing_pipeline`'s ("converter" taking ``sources``
    and ``meta``, "splitter" emitting ``documents``): the converter's failures and the chunks."""
    result = pipeline.run(
        {"converter": {"sources": sources, "meta": meta}}, include_outputs_from={"converter"}
    )
    return result["converter"].get("failures", []), result.get("splitter", {}).get("documents", [])


def chunks_by_source(
    batch: list[SourceInput], names: dict[str, str], reported: list[Any], documents: list[Document]
) -> tuple[dict[str, str], dict[str, list[Document]]]:
    """Sort the conversion pipeline's output for ``batch``: the converter's failures (``reported``) by source
    key, through ``names`` (the name each source was given to the converters), and each source's chunks
    (``documents``, tagged with :data:`KEY_META`) in reading order."""
    failures: dict[str, str] = {}
    members: dict[str, list[str]] = {}  # container name -> its members' errors
    for failure in reported:
        source = str(failure.get("source"))
        container = None if source in names else _container_of(source, names)
        if container is None:
            failures[names.get(source, source)] = str(failure.get("error"))
        else:
            members.setdefault(container, []).append(str(failure.get("error")))
    for container, errors in members.items():
        # A member that cannot be converted fails its archive, as extracting it does: nothing of the upload
        # is indexed with parts silently missing.
        listed = "; ".join(_shortened(error) for error in errors[:_MEMBERS_LISTED])
        more = f" (and {len(errors) - _MEMBERS_LISTED} more)" if len(errors) > _MEMBERS_LISTED else ""
        failures.setdefault(
            names[container],
            f"{len(errors)} member(s) of '{container}' could not be converted: {listed}{more}. Nothing of "
            f"'{container}' was indexed; remove or fix those members and upload it again",
        )
    by_source: dict[str, list[Document]] = {item.key: [] for item in batch}
    for chunk in documents:
        key = chunk.meta.get(KEY_META)
        if key in by_source and chunk.content:
            by_source[key].append(chunk)
    return failures, by_source


_MEMBERS_LISTED = 5
_ERROR_CHARS = 240


def _container_of(source: str, names: dict[str, str]) -> str | None:
    """The name of the archive (or other container) whose member ``source`` is ("<name>/<member path>")."""
    containers = [name for name in names if source.startswith(name + "/")]
    return max(containers, key=len) if containers else None


def _shortened(error: str) -> str:
    return error if len(error) <= _ERROR_CHARS else error[: _ERROR_CHARS - 3].rstrip() + "..."
