"""The document routes of the Helix RAG service contract: ``/process``, ``/query``, ``/delete``, ``/extract``.

Every route authenticates the caller and runs inside ``tenant_scope(caller.tenant)``: the store the routes
use is tenant-scoped, so no filter, metadata or id a request sends can reach another tenant's documents.
Blocking work (conversion, embedding, store access) runs in worker threads and concurrent query embeddings
share model calls, so the event loop keeps serving. Client mistakes are answered with 4xx and a ``detail``
that says what to fix; they never change what is stored.
"""

import asyncio
from typing import Any

from haybale.indexing.indexer import EMBEDDING_KEY
from haybale.service.auth import TENANT_META_KEY, check_tenant_claim
from haybale.service.dependencies import CallerDep, state_of
from haybale.service.errors import ServiceError
from haybale.service.schemas import (
    DeleteRequest,
    DeleteResponse,
    ExtractResponse,
    ProcessResponse,
    QueryRequest,
    QueryResponse,
    QueryResult,
)

__all__ = ["MULTIPART_FILE_BODY", "build_documents_router"]


def _multipart_body(with_metadata: bool) -> dict[str, Any]:
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
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


MULTIPART_FILE_BODY = _multipart_body(with_metadata=True)


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


def build_documents_router() -> Any:
    """The APIRouter serving the document routes."""
    from fastapi import APIRouter, Request

    from haybale.service.ingestion import extract_text, index_uploads, process_response
    from haybale.service.uploads import read_uploads
    from haybale.stores.tenant_scope import tenant_scope

    router = APIRouter(tags=["documents"])

    @router.post("/process", response_model=ProcessResponse, openapi_extra=MULTIPART_FILE_BODY)
    async def process(request: Request, caller: CallerDep) -> ProcessResponse:
        """Index uploaded files (multipart ``file``, optional ``metadata`` JSON); re-uploading a document
        (same ``document_id`` in the same ``data_entity_id``) replaces its chunks atomically."""
        state = state_of(request)
        uploads = await read_uploads(request, state.settings.max_upload_bytes)
        for upload in uploads:
            check_tenant_claim(caller, upload.metadata.get(TENANT_META_KEY), "the upload's metadata")
            upload.metadata.pop(TENANT_META_KEY, None)
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
                    metadata={k: v for k, v in d.meta.items() if k != EMBEDDING_KEY},
                    score=d.score,
                    id=d.id,
                    chunk_id=d.meta.get("chunk_id"),
                    score_details=d.score_details,
                )
                for d in documents
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

        def run_delete() -> tuple[int, int]:
            with state.app.write_lock:
                deleted = int(state.app.store.delete_by_filter(filters))
                state.app.opened_store.flush()
            pages = 0
            if state.settings.vision_enabled:  # the same documents' page images go too
                vision = state.app.vision()
                with vision.write_lock:
                    pages = int(vision.store.delete_by_filter(filters))
                    vision.opened.flush()
            return deleted, pages

        with tenant_scope(caller.tenant):
            deleted, pages = await asyncio.to_thread(run_delete)
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
