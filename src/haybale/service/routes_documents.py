"""The document routes: ``/process``, ``/query``, ``/delete``, ``/extract`` (the Haystack-service contract).

Blocking work (conversion, embedding, store access) runs in worker threads so the event loop keeps serving
other requests. Client mistakes are answered with 4xx and a ``detail`` that says what to fix; they never
change what is stored.
"""

import asyncio
from typing import Annotated, Any

from haybale.service.auth import TENANT_META_KEY, Caller, check_tenant_claim, scope_filters
from haybale.service.dependencies import caller_of, state_of
from haybale.service.schemas import (
    DeleteRequest,
    DeleteResponse,
    ExtractResponse,
    ProcessResponse,
    QueryRequest,
    QueryResponse,
    QueryResult,
)

__all__ = ["build_documents_router"]


def _validated(filters: dict[str, Any] | None) -> dict[str, Any] | None:
    """Check a user filter before any work is done (raises FilterError, answered with 400)."""
    from haybale.filters import validate_filters

    validate_filters(filters)
    return filters or None


def build_documents_router() -> Any:
    """The APIRouter serving the document routes."""
    from fastapi import APIRouter, Depends, HTTPException, Request

    from haybale.service.ingestion import extract_text, ingest_upload
    from haybale.service.uploads import read_upload

    router = APIRouter(tags=["documents"])

    def current_caller(request: Request) -> Caller:
        return caller_of(request)

    CallerDep = Annotated[Caller, Depends(current_caller)]

    @router.post("/process", response_model=ProcessResponse)
    async def process(request: Request, caller: CallerDep) -> ProcessResponse:
        """Index an uploaded file (multipart ``file``, optional ``metadata`` JSON object)."""
        state = state_of(request)
        upload = await read_upload(request, state.settings.max_upload_bytes)
        check_tenant_claim(caller, upload.metadata.get(TENANT_META_KEY), "the upload's metadata")
        result = await asyncio.to_thread(ingest_upload, state, upload, caller)
        state.metrics.count_documents(indexed=result.chunks_indexed, processed=result.documents_processed)
        replaced = f", replacing {result.chunks_replaced} earlier chunks" if result.chunks_replaced else ""
        return ProcessResponse(
            status="success",
            documents_processed=result.documents_processed,
            chunks_indexed=result.chunks_indexed,
            message=f"Indexed '{upload.file_name}' as {result.chunks_indexed} chunks{replaced}.",
        )

    @router.post("/query", response_model=QueryResponse)
    async def query(body: QueryRequest, request: Request, caller: CallerDep) -> QueryResponse:
        """Hybrid search (BM25 + embeddings, fused) over the caller's documents."""
        if not body.query.strip():
            raise HTTPException(422, "The query is empty: send the text to search for in 'query'.")
        filters = scope_filters(_validated(body.filters), caller)
        state = state_of(request)

        def search() -> list[Any]:
            retriever = state.retriever()
            return list(retriever.run(query=body.query, filters=filters, top_k=body.top_k)["documents"])

        documents = await asyncio.to_thread(search)
        return QueryResponse(
            results=[QueryResult(content=d.content, metadata=dict(d.meta), score=d.score) for d in documents]
        )

    @router.post("/delete", response_model=DeleteResponse)
    async def delete(body: DeleteRequest, request: Request, caller: CallerDep) -> DeleteResponse:
        """Delete every chunk of the caller's documents that matches ``filters``."""
        if not body.filters:
            raise HTTPException(
                422,
                "Refusing to delete with an empty filter, which would match every document. Send a filter "
                'such as {"field": "meta.file_name", "operator": "==", "value": "report.pdf"}.',
            )
        filters = scope_filters(_validated(body.filters), caller)
        state = state_of(request)

        def run_delete() -> int:
            with state.write_lock:
                deleted = int(state.store.delete_by_filter(filters))
                state.opened_store.flush()
            return deleted

        deleted = await asyncio.to_thread(run_delete)
        state.metrics.count_documents(deleted=deleted)
        return DeleteResponse(status="success", documents_deleted=deleted)

    @router.post("/extract", response_model=ExtractResponse)
    async def extract(request: Request, caller: CallerDep) -> ExtractResponse:
        """The text of an uploaded file (multipart ``file``); nothing is stored."""
        state = state_of(request)
        upload = await read_upload(request, state.settings.max_upload_bytes, with_metadata=False)
        text = await asyncio.to_thread(extract_text, state, upload)
        return ExtractResponse(text=text)

    return router
