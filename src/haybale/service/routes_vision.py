"""The vision routes of the Helix RAG service contract: ``POST /process-vision`` and ``POST /query-vision``.

Both answer 400 "Vision RAG is not enabled" while ``RAG_VISION_ENABLED`` is off. Otherwise they authenticate
the caller and run inside ``tenant_scope(caller.tenant)`` exactly like the text routes: the vision store is
behind the same tenant-scoped view, so no request can read or replace another tenant's pages. Uploads are
read with the same streaming size limit and strict metadata as ``/process``; document identity
(``document_id`` within ``data_entity_id``) and replacement work the same way. Search is dense only.
"""

import asyncio
from typing import Any

from haybale.service.auth import take_tenant_claim
from haybale.service.dependencies import CallerDep, state_of
from haybale.service.errors import ServiceError
from haybale.service.ingestion import process_summary
from haybale.service.schemas import ProcessedDocument, ProcessResponse
from haybale.service.schemas_vision import VisionQueryRequest, VisionQueryResponse, VisionQueryResult

__all__ = ["build_vision_router"]


def _vision_of(state: Any) -> Any:
    """The application's vision index, or 400 when vision retrieval is off."""
    from haybale.app.vision import VISION_NOT_ENABLED

    if not state.settings.vision_enabled:
        raise ServiceError(400, VISION_NOT_ENABLED)
    return state.app.vision()


def _process_response(outcomes: list[Any], names: list[str], ids: list[str]) -> ProcessResponse:
    documents = [
        ProcessedDocument(
            filename=name,
            document_id=document_id,
            status=o.status,
            chunks=o.pages,
            replaced=o.replaced,
            error=None if o.error is None else f"'{name}': {o.error}",
        )
        for o, name, document_id in zip(outcomes, names, ids, strict=True)
    ]
    succeeded = [d for d in documents if d.status != "failed"]
    if not succeeded:
        errors = "; ".join((d.error or d.filename).rstrip(".") for d in documents)
        raise ServiceError(422, f"No page image was indexed: {errors}. Nothing stored was changed.")
    pages = sum(d.chunks for d in succeeded)
    return ProcessResponse(
        status="success" if len(succeeded) == len(documents) else "partial",
        indexed_count=pages,
        document_id=documents[0].document_id,
        chunks=pages,
        documents_processed=len(succeeded),
        chunks_indexed=sum(d.chunks for d in succeeded if d.status == "indexed"),
        message=process_summary(documents, "pages"),
        documents=documents,
    )


def build_vision_router() -> Any:
    """The APIRouter serving the vision routes."""
    from fastapi import APIRouter, Request

    from haybale.service.ingestion import upload_sources
    from haybale.service.routes_documents import MULTIPART_FILE_BODY
    from haybale.service.uploads import read_uploads
    from haybale.stores.tenant_scope import tenant_scope

    router = APIRouter(tags=["vision"])

    @router.post("/process-vision", response_model=ProcessResponse, openapi_extra=MULTIPART_FILE_BODY)
    async def process_vision(request: Request, caller: CallerDep) -> ProcessResponse:
        """Index the pages of uploaded PDFs and images (multipart ``file``, optional ``metadata`` JSON) for
        vision search; re-uploading a document replaces its pages atomically."""
        state = state_of(request)
        vision = _vision_of(state)
        uploads = await read_uploads(request, state.settings.max_upload_bytes)
        for upload in uploads:
            take_tenant_claim(caller, upload.metadata, f"The metadata of {upload.file_name!r}")
        sources = upload_sources(state.app, uploads)
        with tenant_scope(caller.tenant):
            outcomes = await asyncio.to_thread(vision.index_sources, sources)
        response = _process_response(outcomes, [u.file_name for u in uploads], [s.key for s in sources])
        state.metrics.count_documents(indexed=response.chunks_indexed, processed=response.documents_processed)
        return response

    @router.post("/query-vision", response_model=VisionQueryResponse)
    async def query_vision(
        body: VisionQueryRequest, request: Request, caller: CallerDep
    ) -> VisionQueryResponse:
        """Dense search over the caller's page images, best first."""
        from haybale.dataclasses import ImageContent
        from haybale.filters import validate_filters

        state = state_of(request)
        vision = _vision_of(state)
        text = body.query.replace("\x00", " ")
        if not text.strip():
            raise ServiceError(422, "The query is empty: send the text to search for in 'query'.")
        validate_filters(body.filters)
        with tenant_scope(caller.tenant):
            documents = await asyncio.to_thread(vision.search, text, body.top_k, body.filters or None)
        results = []
        for rank, doc in enumerate(documents, 1):
            meta = {k: v for k, v in doc.meta.items() if k not in ("ocr_boxes", "source_hash")}
            image = None
            if body.include_images and doc.blob is not None:
                image = ImageContent.from_document(doc).to_data_url()
            results.append(
                VisionQueryResult(
                    content=doc.content or image or "",
                    metadata=meta,
                    score=doc.score,
                    id=doc.id,
                    chunk_id=meta.get("chunk_id"),
                    rank=rank,
                    image=image,
                )
            )
        return VisionQueryResponse(results=results, mode=vision.mode, model=vision.model_name)

    return router
