"""From uploaded files to indexed chunks, through the same exactly-once :class:`Indexer` as ``haybale index``.

Each upload is one *document* of the Helix contract, identified by ``metadata.document_id`` within
``metadata.data_entity_id`` (its knowledge source). Uploading a document again replaces all of its chunks in
one atomic store call, whatever its file name; two knowledge sources that both upload ``README.md`` keep
their own documents. Without a ``document_id`` one is derived from the data entity and the file name, so a
re-upload of the same file replaces it, and it is returned in the response.

Every chunk carries the caller's metadata (``source`` included, kept as sent) plus ``document_id``,
``document_group_id``, ``filename``, ``original_filename``, ``chunk_id`` (``<document_id>-chunk-<n>``),
``content_offset``, ``page_number``, ``source_hash`` and, with API keys, ``tenant`` (set by the store view).
An upload whose bytes, metadata and chunking are unchanged is not re-processed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from haybale.app.application import Application
from haybale.dataclasses import ByteStream
from haybale.errors import RuntimeFailure, fault_of
from haybale.indexing.indexer import FileOutcome, SourceInput
from haybale.indexing.sources import extract_documents
from haybale.service.errors import ServiceError
from haybale.service.schemas import ProcessedDocument, ProcessResponse
from haybale.service.uploads import UploadedFile

__all__ = [
    "IngestionError",
    "IngestionUnavailableError",
    "UploadOutcome",
    "extract_text",
    "index_uploads",
    "process_response",
    "process_summary",
    "upload_sources",
]


class IngestionError(ServiceError):
    """An upload cannot be indexed or read (corrupt, unsupported type, no text). Nothing was changed."""

    def __init__(self, detail: str) -> None:
        super().__init__(422, detail)


class IngestionUnavailableError(RuntimeFailure):
    """No upload was indexed because something the service depends on failed (the embedding server is down,
    a model is missing); the uploads themselves may be fine. Nothing was changed."""


@dataclass(frozen=True)
class UploadOutcome:
    """What happened to one uploaded file."""

    file_name: str
    document_id: str
    status: str
    chunks: int
    replaced: int
    error: str | None
    ocr_pages: tuple[int, ...] = ()
    cause: BaseException | None = None


def _identifier(meta: dict[str, Any], key: str, file_name: str) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        raise IngestionError(
            f"'{file_name}': metadata.{key} must be a non-empty string (or an integer), got {value!r}."
        )
    return str(value)


def _derived_document_id(data_entity_id: str | None, file_name: str) -> str:
    digest = hashlib.sha256(f"{data_entity_id or ''}\x00{file_name}".encode()).hexdigest()
    return f"doc-{digest[:24]}"


def _scope(document_id: str, data_entity_id: str | None) -> dict[str, Any]:
    """The filter selecting the chunks of one document of one knowledge source."""
    return {
        "operator": "AND",
        "conditions": [
            {"field": "meta.document_id", "operator": "==", "value": document_id},
            {"field": "meta.data_entity_id", "operator": "==", "value": data_entity_id},
        ],
    }


def _fingerprint(upload: UploadedFile, meta: dict[str, Any]) -> str:
    """The upload's bytes and metadata (the indexer adds its own settings: chunking, embedder)."""
    digest = hashlib.sha256(upload.data)
    digest.update(json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str).encode())
    return digest.hexdigest()


def _naming(file_name: str, error: str) -> str:
    """The error, saying which file it is about (converters usually do already)."""
    return error if file_name in error else f"'{file_name}': {error}"


def upload_sources(application: Application, uploads: list[UploadedFile]) -> list[SourceInput]:
    """The uploads as :class:`SourceInput` items for the indexer (ids resolved, metadata completed).

    Raises:
        IngestionError: an identifier is malformed, or one ``document_id`` names several files.
    """
    resolved = []
    for upload in uploads:
        meta = dict(upload.metadata)
        data_entity_id = _identifier(meta, "data_entity_id", upload.file_name)
        document_id = _identifier(meta, "document_id", upload.file_name)
        document_id = document_id or _derived_document_id(data_entity_id, upload.file_name)
        resolved.append((upload, meta, data_entity_id, document_id))
    counts = Counter((entity, document) for _, _, entity, document in resolved)
    repeated = [document for (_, document), count in counts.items() if count > 1]
    if repeated:
        raise IngestionError(
            f"Several files in this request have document_id {repeated[0]!r}; a document is one file. Send "
            "one metadata object per file (a JSON list) with distinct document_id values, or leave "
            "document_id out to get one per file."
        )
    group = (
        resolved[0][3]
        if len(resolved) == 1
        else "group-" + hashlib.sha256("\x00".join(r[3] for r in resolved).encode()).hexdigest()[:24]
    )
    sources = []
    for upload, meta, data_entity_id, document_id in resolved:
        meta["document_id"] = document_id
        if data_entity_id is not None:
            meta["data_entity_id"] = data_entity_id
        meta.setdefault("document_group_id", group)
        meta.setdefault("source", upload.file_name)
        meta["filename"] = upload.file_name
        meta.setdefault("original_filename", upload.original_name or upload.file_name)
        stream = ByteStream(upload.data, {"file_name": upload.file_name}, upload.content_type)
        sources.append(
            SourceInput(
                key=document_id,
                content=stream,
                meta=meta,
                sha256=_fingerprint(upload, meta),
                scope=_scope(document_id, data_entity_id),
            )
        )
    return sources


def index_uploads(application: Application, uploads: list[UploadedFile]) -> list[UploadOutcome]:
    """Index ``uploads`` (call inside the caller's ``tenant_scope``); one outcome per file, in order.

    Failed files change nothing; the others are indexed (each replacing its earlier version atomically).
    """
    sources = upload_sources(application, uploads)
    with application.write_lock:  # one writer at a time keeps snapshot-backed stores consistent
        report = application.indexer().index_sources(sources)
    outcomes: dict[str, FileOutcome] = {outcome.source: outcome for outcome in report.outcomes}
    results = []
    for upload, source in zip(uploads, sources, strict=True):
        outcome = outcomes[source.key]
        chunks = outcome.chunks
        if outcome.status == "unchanged":
            chunks = application.store.count_documents(source.replace_filter)
        results.append(
            UploadOutcome(
                file_name=upload.file_name,
                document_id=source.key,
                status=outcome.status,
                chunks=chunks,
                replaced=outcome.replaced,
                error=None if outcome.error is None else _naming(upload.file_name, outcome.error),
                ocr_pages=outcome.ocr_pages,
                cause=outcome.cause,
            )
        )
    return results


def process_response(outcomes: list[UploadOutcome]) -> ProcessResponse:
    """The ``/process`` answer for ``outcomes`` (also the result of an asynchronous process job).

    Raises:
        IngestionUnavailableError: no file was indexed and a dependency's failure is why (503, or 500 when a
            retry cannot help); nothing stored was changed.
        ServiceError: 422 when no file was indexed for reasons of the files themselves.
    """
    documents = [
        ProcessedDocument(
            filename=o.file_name,
            document_id=o.document_id,
            status=o.status,
            chunks=o.chunks,
            replaced=o.replaced,
            error=o.error,
            ocr_pages=list(o.ocr_pages),
        )
        for o in outcomes
    ]
    succeeded = [d for d in documents if d.status != "failed"]
    if not succeeded:
        errors = "; ".join((d.error or d.filename).rstrip(".") for d in documents)
        message = f"Nothing was indexed: {errors}. Nothing stored was changed."
        dependencies = [o.cause for o in outcomes if o.cause is not None and fault_of(o.cause) == "runtime"]
        if dependencies:
            retryable = all(getattr(cause, "retryable", True) for cause in dependencies)
            raise IngestionUnavailableError(message, retryable=retryable)
        raise ServiceError(422, message)
    chunks = sum(d.chunks for d in succeeded)
    return ProcessResponse(
        status="success" if len(succeeded) == len(documents) else "partial",
        indexed_count=chunks,
        document_id=documents[0].document_id,
        chunks=chunks,
        documents_processed=len(succeeded),
        chunks_indexed=sum(d.chunks for d in succeeded if d.status == "indexed"),
        message=process_summary(documents, "chunks"),
        documents=documents,
    )


def process_summary(documents: list[ProcessedDocument], unit: str) -> str:
    """A ``/process`` answer's ``message``: what happened to each file, counted in ``unit`` (chunks, pages).
    A full success starts "Successfully processed <file name>", the Helix Haystack service's words."""
    complete = all(d.status != "failed" for d in documents)
    lead = "Successfully processed " if complete else "Processed, with failures: "
    return lead + ", ".join(f"{d.filename} ({d.status}, {d.chunks} {unit})" for d in documents) + "."


def extract_text(application: Application, upload: UploadedFile) -> str:
    """The text of ``upload`` (its converted and cleaned documents, joined by blank lines, as indexing would
    chunk them); nothing is stored.

    Raises:
        IngestionError: the file could not be converted.
    """
    stream = ByteStream(upload.data, {"file_name": upload.file_name}, upload.content_type)
    failures, documents = extract_documents(application.extraction_pipeline(), [stream], [{}])
    if failures:
        reasons = "; ".join(str(f.get("error")) for f in failures)
        raise IngestionError(f"Could not extract text from '{upload.file_name}': {reasons}")
    return "\n\n".join(doc.content for doc in documents if doc.content)
