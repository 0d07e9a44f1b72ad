"""Request and response bodies of the service (pydantic models; the wire contract of DESIGN §8)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatCompletionRequest",
    "ChatMessageIn",
    "DeleteRequest",
    "DeleteResponse",
    "ExtractResponse",
    "HealthResponse",
    "ProcessResponse",
    "QueryRequest",
    "QueryResponse",
    "QueryResult",
]


class ProcessResponse(BaseModel):
    """``POST /process``: the file was converted, chunked, embedded and its chunks replaced."""

    status: str
    documents_processed: int
    chunks_indexed: int
    message: str


class QueryRequest(BaseModel):
    """``POST /query``: hybrid search, optionally restricted by a filter."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, description="The text to search for.")
    filters: dict[str, Any] | None = Field(default=None, description="A haybale filter on the documents.")
    top_k: int = Field(default=5, ge=1, le=1000, description="How many results.")


class QueryResult(BaseModel):
    """One retrieved chunk."""

    content: str | None
    metadata: dict[str, Any]
    score: float | None


class QueryResponse(BaseModel):
    """The results of ``POST /query``, best first."""

    results: list[QueryResult]


class DeleteRequest(BaseModel):
    """``POST /delete``: delete every chunk matching ``filters`` (which must not be empty)."""

    model_config = ConfigDict(extra="forbid")

    filters: dict[str, Any]


class DeleteResponse(BaseModel):
    """How many chunks ``POST /delete`` removed."""

    status: str
    documents_deleted: int


class ExtractResponse(BaseModel):
    """``POST /extract``: the text of the uploaded file."""

    text: str


class HealthResponse(BaseModel):
    """``GET /health``."""

    status: str
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
