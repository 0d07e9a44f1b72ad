"""Turning one uploaded file into indexed chunks, exactly once per source; and extracting its text.

A file is keyed by its *source*: the uploaded file name, prefixed with the tenant when there is one
(``tenant_a/report.pdf``). Its chunks carry ``meta.source``, ``meta.file_name``, ``meta.source_hash`` (sha256
of the bytes) and ``meta.tenant``; the upload is read from memory, so no temporary path ever enters the
metadata or the content-addressed ids. Uploading the same name again replaces that source's chunks in one
atomic ``replace_documents`` call: the store holds either the old chunks or the new ones, never both, never a
mix. A file that fails to convert changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from haybale.dataclasses import ByteStream, Document
from haybale.errors import UsageError
from haybale.service.auth import TENANT_META_KEY, Caller, scope_filters
from haybale.service.state import ServiceState
from haybale.service.uploads import UploadedFile

__all__ = ["IngestionError", "IngestionResult", "extract_text", "ingest_upload", "source_of"]

#: Metadata keys the service sets itself; an upload's metadata cannot override them.
RESERVED_META_KEYS = ("source", "source_hash", "file_name", TENANT_META_KEY)


class IngestionError(UsageError):
    """The uploaded file cannot be indexed or read (corrupt, unsupported type, no text). Nothing changed."""


@dataclass(frozen=True)
class IngestionResult:
    """What ``/process`` did: files converted, chunks written, old chunks replaced."""

    source: str
    documents_processed: int
    chunks_indexed: int
    chunks_replaced: int


def source_of(file_name: str, caller: Caller) -> str:
    """The source key of an uploaded file for this caller."""
    return f"{caller.tenant}/{file_name}" if caller.tenant is not None else file_name


def _stream(upload: UploadedFile, source: str) -> ByteStream:
    """The upload as the converters' input, read from memory (no temporary path reaches the metadata)."""
    return ByteStream(data=upload.data, meta={"file_name": upload.file_name, "source": source})


def _raise_failures(failures: list[dict[str, Any]], upload: UploadedFile) -> None:
    if failures:
        reasons = "; ".join(str(f.get("error")) for f in failures)
        if f"'{upload.file_name}'" not in reasons:  # converters name the file; say which one when they don't
            reasons = f"'{upload.file_name}': {reasons}"
        raise IngestionError(f"Could not convert the upload: {reasons}")


def ingest_upload(state: ServiceState, upload: UploadedFile, caller: Caller) -> IngestionResult:
    """Convert, clean, split and embed ``upload``; atomically replace its source's chunks with the result.

    Raises:
        IngestionError: the file could not be converted or holds no text (the store is unchanged).
    """
    from haybale.indexing.source_tracker import source_filter

    source = source_of(upload.file_name, caller)
    meta = {k: v for k, v in upload.metadata.items() if k not in RESERVED_META_KEYS}
    meta["source_hash"] = hashlib.sha256(upload.data).hexdigest()
    if caller.tenant is not None:
        meta[TENANT_META_KEY] = caller.tenant
    result = state.conversion_pipeline().run(
        {"converter": {"sources": [_stream(upload, source)], "meta": [meta]}},
        include_outputs_from={"converter"},
    )
    _raise_failures(result["converter"].get("failures", []), upload)
    converted: list[Document] = result["converter"].get("documents", [])
    chunks: list[Document] = [c for c in result.get("splitter", {}).get("documents", []) if c.content]
    if not chunks:
        raise IngestionError(
            f"'{upload.file_name}' contains no text to index (it may be empty or a scanned image). Nothing "
            "was changed."
        )
    embedder = state.document_embedder()
    if embedder is not None:
        chunks = embedder.run(documents=chunks)["documents"]
    scope = scope_filters(source_filter(source), caller)
    with state.write_lock:
        replaced, written = state.store.replace_documents(scope, chunks)
        state.opened_store.flush()
    return IngestionResult(source, len(converted), written, replaced)


def extract_text(state: ServiceState, upload: UploadedFile) -> str:
    """The text of ``upload`` (its converted documents, joined by blank lines).

    Raises:
        IngestionError: the file could not be converted.
    """
    result = state.converter().run(sources=[_stream(upload, upload.file_name)], meta=[{}])
    _raise_failures(result.get("failures", []), upload)
    return "\n\n".join(doc.content for doc in result["documents"] if doc.content)
