"""Request and response bodies of the vision routes (``/process-vision`` answers like ``/process``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from haybale.service.schemas import DEFAULT_TOP_K, MAX_QUERY_CHARS, TopK

__all__ = ["VisionQueryRequest", "VisionQueryResponse", "VisionQueryResult"]


class VisionQueryRequest(BaseModel):
    """``POST /query-vision``: dense search over the indexed page images."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="What to look for, in words.")
    top_k: TopK = Field(
        default=DEFAULT_TOP_K,
        description=f"How many pages; 0 (what a Go client sends when unset) means {DEFAULT_TOP_K}.",
    )
    filters: dict[str, Any] | None = Field(
        default=None, description="A haybale filter on the pages' metadata."
    )
    include_images: bool = Field(
        default=True, description="Return each page image as a data: URL in 'image' (false: metadata only)."
    )


class VisionQueryResult(BaseModel):
    """One page, best first."""

    content: str = Field(
        description="The page's OCR text (OCR text path); otherwise the page image as a data: URL, which is "
        "what Helix's client takes a vision result's content to be (empty with include_images false)."
    )
    metadata: dict[str, Any]
    score: float | None = Field(description="Cosine similarity scaled to 0..1.")
    id: str
    chunk_id: str | None = Field(None, description="<document_id>-page-<n>.")
    rank: int = Field(description="The result's position, 1 for the best.")
    image: str | None = Field(None, description="The page image as a data: URL.")


class VisionQueryResponse(BaseModel):
    """The pages of ``POST /query-vision``, best first, and how they were found."""

    results: list[VisionQueryResult]
    mode: str = Field(
        description="multimodal (a vision model embedded the pages) or ocr-text (their OCR text)."
    )
    model: str
