"""Request and response bodies of the service (pydantic models; the wire contract of DESIGN §8)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "DEFAULT_TOP_K",
    "HEALTHY",
    "MAX_QUERY_CHARS",
    "ChatCompletionRequest",
    "ChatMessageIn",
    "DeleteRequest",
    "DeleteResponse",
    "ExtractResponse",
    "HealthResponse",
    "ProcessResponse",
    "ProcessedDocument",
    "QueryRequest",
    "QueryResponse",
    "QueryResult",
    "TopK",
]

#: The longest query ``/query`` and ``/query-vision`` take. Helix sends the user's prompt as the query, and a
#: prompt can hold pasted text; the embedding model reads only its first few hundred tokens, BM25 all of it.
MAX_QUERY_CHARS = 100_000
#: Results ``/query`` and ``/query-vision`` return when the request does not say, or says 0: Helix's Go client
#: sends its results count as is, and a knowledge source without one sends Go's zero value.
DEFAULT_TOP_K = 5
#: A results count of ``/query`` and ``/query-vision``: 0 to 1000, where 0 means :data:`DEFAULT_TOP_K`.
TopK = Annotated[int, Field(ge=0, le=1000), AfterValidator(lambda value: value or DEFAULT_TOP_K)]


class ProcessedDocument(BaseModel):
    """One uploaded file of ``POST /process``."""

    filename: str
    document_id: str
    status: str = Field(description="indexed, unchanged (same content already indexed) or failed.")
    chunks: int
    replaced: int = Field(0, description="Chunks of the earlier version that were replaced.")
    error: str | None = None
    ocr_pages: list[int] = Field(
        default_factory=list, description="Pages whose text was read by OCR (scans, images)."
    )


class ProcessResponse(BaseModel):
    """``POST /process``: the files were converted, chunked, embedded and their chunks replaced.

    ``indexed_count``, ``document_id`` and ``chunks`` are the Helix service's fields; ``documents_processed``,
    ``chunks_indexed`` and ``message`` are haybale's (both sets are always present).
    """

    status: str = Field(description="success, or partial when some of several files failed.")
    indexed_count: int = Field(description="Chunks stored for the uploaded document(s).")
    document_id: str = Field(description="The document id (the first file's, for several files).")
    chunks: int = Field(description="Same as indexed_count.")
    documents_processed: int
    chunks_indexed: int
    message: str
    documents: list[ProcessedDocument] = Field(default_factory=list)


class QueryRequest(BaseModel):
    """``POST /query``: hybrid search, optionally restricted by a filter."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="The text to search for.")
    filters: dict[str, Any] | None = Field(
        default=None,
        description='A haybale filter; the shorthand {"data_entity_id": ["kb-1"]} matches any listed value '
        "(and any element of list-valued fields such as tags).",
    )
    top_k: TopK = Field(
        default=DEFAULT_TOP_K,
        description=f"How many results; 0 (what a Go client sends when unset) means {DEFAULT_TOP_K}.",
    )


class QueryResult(BaseModel):
    """One retrieved chunk, best first; ``score`` is on the scale documented in docs/service.md."""

    content: str | None
    metadata: dict[str, Any]
    score: float | None
    id: str = Field(description="The chunk's stored id.")
    chunk_id: str | None = Field(None, description="<document_id>-chunk-<n>.")
    rank: int = Field(
        description="The result's position, 1 for the best (as the Helix Haystack service answers)."
    )
    score_details: dict[str, Any] | None = None


class QueryResponse(BaseModel):
    """The results of ``POST /query``, best first."""

    results: list[QueryResult]


class DeleteRequest(BaseModel):
    """``POST /delete``: delete every chunk matching ``filters`` (which must not be empty)."""

    model_config = ConfigDict(extra="forbid")

    filters: dict[str, Any] = Field(
        description='e.g. {"data_entity_id": "kb-1"}: every chunk of that source.'
    )


class DeleteResponse(BaseModel):
    """How many chunks ``POST /delete`` removed."""

    status: str
    documents_deleted: int


class ExtractResponse(BaseModel):
    """``POST /extract``: the text of the uploaded file."""

    text: str


#: ``/health``'s status when the service is ready: the word the Helix Haystack service answers, which
#: clients and probes written against it compare with.
HEALTHY = "healthy"


class HealthResponse(BaseModel):
    """``GET /health``."""

    status: str = Field(
        description=f"{HEALTHY!r} when ready (503 'unavailable' while the store does not answer)."
    )
    version: str


class ChatMessageIn(BaseModel):
    """One message of an OpenAI chat-completions request (text content, or a list of text parts)."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text (text parts joined)."""
        if isinstance(self.content, list):
            return "".join(str(part.get("text", "")) for part in self.content if isinstance(part, dict))
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """The subset of the OpenAI chat-completions request the RAG model honours (other fields are ignored)."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[ChatMessageIn] = Field(min_length=1)
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
