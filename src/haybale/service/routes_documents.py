"""The document routes of the Helix RAG service contract: ``/process``, ``/query``, ``/delete``, ``/extract``.

Every route authenticates the caller and runs inside ``tenant_scope(caller.tenant)``: the store the routes
use is tenant-scoped, so no filter, metadata or id a request sends can reach another tenant's documents.
Blocking work (conversion, embedding, store access) runs in worker threads and concurrent query embeddings
share model calls, so the event loop keeps serving. Client mistakes are answered with 4xx and a ``detail``
that says what to fix; they never change what is stored.
"""

import asyncio
from typing import Any

from haybale.errors import DocumentStoreUnavailableError
from haybale.indexing.chunk_embedding import EMBEDDING_KEY
from haybale.service.auth import take_tenant_claim
from haybale.service.dependencies import CallerDep, state_of
from haybale.service.errors import ServiceError
from haybale.service.routes_jobs import ASYNC_PARAMETER, submit_job, wants_async
from haybale.service.schemas import (
    DeleteRequest,
    DeleteResponse,
    ExtractResponse,
    ProcessResponse,
    QueryRequest,
    QueryResponse,
    QueryResult,
)

__all__ = ["MULTIPART_FILE_BODY", "build_documents_router", "public_metadata"]


def _multipart_body(with_metadata: bool, with_async: bool = False) -> dict[str, Any]:
    """The OpenAPI request body of an upload route (the route parses the stream itself, with limits)."""
    properties: dict[str, Any] = {
        "file": {"type": "string", "format": "binary", "description": "The file (repeat for several)."}
    }
    if with_metadata:
        properties["metadata"] = {
            "type": "string",
            "description": "JSON object applied to every file (or a list of one object per file): "
            '{"data_entity_id": "kb-1", "document_id": "doc-1", "source": "guide.pdf", "tags": ["a"]}.',
        }
    schema = {"type": "object", "properties": properties, "required": ["file"]}
    body: dict[str, Any] = {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }
    if with_async:
        body["parameters"] = [ASYNC_PARAMETER]
    return body


MULTIPART_FILE_BODY = _multipart_body(with_metadata=True)


def public_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """A retrieved chunk's metadata as answers show it (/query results, chat sources): without the indexer's
    private embedding-cache key."""
    return {k: v for k, v in meta.items() if k != EMBEDDING_KEY}


def _clean_query(text: str) -> str:
    """The query without NUL characters (no stored text can contain one; Helix strips them too)."""
    cleaned = text.replace("\x00", " ")
    if not cleaned.strip():
        raise ServiceError(422, "The query is empty: send the text to search for in 'query'.")
    return cleaned


def _checked_filters(filters: dict[str, Any] | None) -> dict[str, Any] | None:
    """Validate a filter before any work is done (FilterError -> 400 with the path of the bad part)."""
    from haybale.filters import validate_filters

    validate_filters(filters)
    return filters or None


async def _submit_process_job(state: Any, tenant: str | None, uploads: list[Any]) -> Any:
    """Queue the uploads as a process job (ids and metadata checked now, so mistakes are still 4xx)."""
    from haybale.jobs.options import IndexingOptions
    from haybale.jobs.payloads import encode_uploads
    from haybale.jobs.tasks import PROCESS_UPLOADS_TASK
    from haybale.service.ingestion import upload_sources

    sources = upload_sources(state.app, uploads)
    documents = [
        {"filename": upload.file_name, "document_id": source.key}
        for upload, source in zip(uploads, sources, strict=True)
    ]
    payload = {
        "options": IndexingOptions.from_settings(state.settings).to_dict(),
        "uploads": encode_uploads(uploads),
    }
    detail = {"document_id": documents[0]["document_id"], "documents": documents}
    label = ", ".join(u.file_name for u in uploads)[:200]
    return await submit_job(
        state, PROCESS_UPLOADS_TASK, payload, kind="process", tenant=tenant, label=label, detail=detail
    )


def _delete_everywhere(state: Any, filters: dict[str, Any] | None) -> tuple[int, int]:
    """Delete the documents matching ``filters``: (text chunks, page images) deleted."""
    # Two stores, two transactions: the page images go first, so the usual failure (the vision
    # store) changes nothing, and a failure of the text store after them says what was done.
    pages = 0
    if state.settings.vision_enabled:  # the same documents' page images go too
        vision = state.app.vision()
        with vision.write_lock:
            pages = int(vision.store.delete_by_filter(filters))
            vision.opened.flush()
    try:
        with state.app.write_lock:
            deleted = int(state.app.store.delete_by_filter(filters))
            state.app.opened_store.flush()
    except Exception as error:
        if not pages:
            raise
        raise DocumentStoreUnavailableError(
            f"Deleting the matching text chunks failed ({type(error).__name__}: {error}) after their "
            f"{pages} page image(s) were deleted; no text chunk was deleted. Send the same request "
            "again to finish: deletes are idempotent."
        ) from error
    return deleted, pages


def build_documents_router() -> Any:
    """The APIRouter serving the document routes."""
    from fastapi import APIRouter, Request

    from haybale.service.ingestion import extract_text, index_uploads, process_response
    from haybale.service.uploads import read_uploads
    from haybale.stores.tenant_scope import tenant_scope

    router = APIRouter(tags=["documents"])

    @router.post(
        "/process",
        response_model=ProcessResponse,
        openapi_extra=_multipart_body(with_metadata=True, with_async=True),
        responses={202: {"description": "Accepted as a job (with ?async=true): job_id, status_url."}},
    )
    async def process(request: Request, caller: CallerDep) -> Any:
        """Index uploaded files (multipart ``file``, optional ``metadata`` JSON); re-uploading a document
        (same ``document_id`` in the same ``data_entity_id``) replaces its chunks atomically. With
        ``?async=true``: 202 and a job id; the job's result is this route's answer."""
        state = state_of(request)
        uploads = await read_uploads(request, state.settings.max_upload_bytes)
        for upload in uploads:
            take_tenant_claim(caller, upload.metadata, f"The metadata of {upload.file_name!r}")
        if wants_async(request):
            return await _submit_process_job(state, caller.tenant, uploads)
        with tenant_scope(caller.tenant):
            outcomes = await asyncio.to_thread(index_uploads, state.app, uploads)
        response = process_response(outcomes)
        state.metrics.count_documents(indexed=response.chunks_indexed, processed=response.documents_processed)
        return response

    @router.post("/query", response_model=QueryResponse)
    async def query(body: QueryRequest, request: Request, caller: CallerDep) -> QueryResponse:
        """Hybrid search (BM25 + embeddings) over the caller's documents, best first."""
        text = _clean_query(body.query)
        filters = _checked_filters(body.filters)
        state = state_of(request)
        with tenant_scope(caller.tenant):
            documents = await state.app.search(text, body.top_k, filters)
        return QueryResponse(
            results=[
                QueryResult(
                    content=d.content,
                    metadata=public_metadata(d.meta),
                    score=d.score,
                    id=d.id,
                    chunk_id=d.meta.get("chunk_id"),
                    rank=rank,
                    score_details=d.score_details,
                )
                for rank, d in enumerate(documents, 1)
            ]
        )

    @router.post("/delete", response_model=DeleteResponse)
    async def delete(body: DeleteRequest, request: Request, caller: CallerDep) -> DeleteResponse:
        """Delete every chunk of the caller's documents that matches ``filters``, and their vision pages
        (``documents_deleted`` counts both)."""
        if not body.filters:
            raise ServiceError(
                422,
                "Refusing to delete with an empty filter, which would match every document. Send a filter "
                'such as {"data_entity_id": "kb-1"} or {"document_id": ["doc-1", "doc-2"]}.',
            )
        filters = _checked_filters(body.filters)
        state = state_of(request)

        with tenant_scope(caller.tenant):
            deleted, pages = await asyncio.to_thread(_delete_everywhere, state, filters)
        state.metrics.count_documents(deleted=deleted + pages)
        return DeleteResponse(status="success", documents_deleted=deleted + pages)

    @router.post(
        "/extract", response_model=ExtractResponse, openapi_extra=_multipart_body(with_metadata=False)
    )
    async def extract(request: Request, caller: CallerDep) -> ExtractResponse:
        """The text of an uploaded file (multipart ``file``); nothing is stored."""
        state = state_of(request)
        uploads = await read_uploads(
            request, state.settings.max_upload_bytes, with_metadata=False, single=True
        )
        text = await asyncio.to_thread(extract_text, state.app, uploads[0])
        return ExtractResponse(text=text)

    return router
