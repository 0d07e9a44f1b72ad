"""OpenAI-compatible ``GET /v1/models`` and ``POST /v1/chat/completions`` over the RAG pipeline.

The model ``haybale-rag`` answers the last user message of the conversation from the caller's documents:
hybrid retrieval, a prompt with the numbered sources, and the configured chat generator (see
:func:`haybale.rag.build_rag_pipeline`). Any OpenAI client works: non-streaming replies are a
``chat.completion``; with ``"stream": true`` the reply streams as server-sent events
``data: {chat.completion.chunk}`` ending with ``data: [DONE]``. The retrieved sources of a non-streaming reply
are also listed under the extra key ``sources``.
"""

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from haybale.service.dependencies import CallerDep, state_of
from haybale.service.errors import ServiceError
from haybale.service.schemas import ChatCompletionRequest

__all__ = ["RAG_MODEL_NAME", "build_openai_router"]

RAG_MODEL_NAME = "haybale-rag"
_CREATED = 1_700_000_000


def _question(body: ChatCompletionRequest) -> str:
    for message in reversed(body.messages):
        if message.role == "user" and message.text().strip():
            return message.text()
    return ""


def _generation_kwargs(body: ChatCompletionRequest) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    max_tokens = body.max_completion_tokens or body.max_tokens
    if max_tokens is not None:
        kwargs["max_tokens"] = max_tokens
    for key in ("temperature", "top_p", "stop", "seed"):
        value = getattr(body, key)
        if value is not None:
            kwargs[key] = value
    return kwargs


def rag_run_inputs(question: str, generation_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Nested run inputs of the RAG pipeline for one question (the store scopes it to the caller)."""
    data: dict[str, Any] = {
        "retriever": {"query": question},
        "prompt_builder": {"query": question},
        "answer_builder": {"query": question},
    }
    if generation_kwargs:
        data["llm"] = {"generation_kwargs": generation_kwargs}
    return data


def _usage(reply: Any) -> dict[str, int]:
    usage = (reply.meta.get("usage") if reply is not None else None) or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _chunk_event(ident: str, delta: dict[str, Any], finish: str | None = None) -> str:
    body = {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": RAG_MODEL_NAME,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n"


async def _stream_events(
    pipeline: Any, data: dict[str, Any], include_usage: bool, tenant: str | None
) -> AsyncIterator[str]:
    from haybale.stores.tenant_scope import tenant_scope

    # The response streams after the route returned: the tenant scope is entered here, in the streaming task.
    with tenant_scope(tenant):
        async for event in _events(pipeline, data, include_usage):
            yield event


async def _events(pipeline: Any, data: dict[str, Any], include_usage: bool) -> AsyncIterator[str]:
    from haybale.core.streaming import stream_pipeline

    ident = f"chatcmpl-{uuid.uuid4().hex}"
    yield _chunk_event(ident, {"role": "assistant", "content": ""})
    finish = "stop"
    stream = stream_pipeline(pipeline, data, include_outputs_from={"llm"}, components=["llm"])
    try:
        async with stream:
            async for chunk in stream:
                if chunk.content:
                    yield _chunk_event(ident, {"content": chunk.content})
                if chunk.finish_reason:
                    finish = chunk.finish_reason
            result = stream.result
    except Exception as exc:  # the status line is already sent: report the failure in the stream itself
        cause = exc.__cause__ or exc
        error = {"error": {"message": f"{type(cause).__name__}: {cause}", "type": "server_error"}}
        yield f"data: {json.dumps(error)}\n\n"
        yield "data: [DONE]\n\n"
        return
    yield _chunk_event(ident, {}, finish)
    if include_usage:
        replies = result.get("llm", {}).get("replies") or [None]
        usage_body = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": RAG_MODEL_NAME,
            "choices": [],
            "usage": _usage(replies[0]),
        }
        yield f"data: {json.dumps(usage_body)}\n\n"
    yield "data: [DONE]\n\n"


def build_openai_router() -> Any:
    """The APIRouter serving the OpenAI-compatible routes."""
    import asyncio

    from fastapi import APIRouter, Request
    from fastapi.responses import StreamingResponse

    from haybale.stores.tenant_scope import tenant_scope

    router = APIRouter(tags=["openai"])

    @router.get("/v1/models")
    async def list_models(caller: CallerDep) -> dict[str, Any]:
        """The models served: ``haybale-rag``."""
        model = {"id": RAG_MODEL_NAME, "object": "model", "created": _CREATED, "owned_by": "haybale"}
        return {"object": "list", "data": [model]}

    @router.post("/v1/chat/completions", response_model=None)
    async def chat_completions(body: ChatCompletionRequest, request: Request, caller: CallerDep) -> Any:
        """Answer the conversation's last user message from the caller's documents."""
        if body.model != RAG_MODEL_NAME:
            raise ServiceError(
                404, f"Unknown model {body.model!r}. This service serves one model: {RAG_MODEL_NAME!r}."
            )
        question = _question(body)
        if not question:
            raise ServiceError(422, "The conversation has no user message with text to answer.")
        state = state_of(request)
        pipeline = await asyncio.to_thread(state.app.rag_pipeline)
        data = rag_run_inputs(question, _generation_kwargs(body))
        if body.stream:
            options = getattr(body, "stream_options", None) or {}
            include_usage = bool(isinstance(options, dict) and options.get("include_usage"))
            return StreamingResponse(
                _stream_events(pipeline, data, include_usage, caller.tenant), media_type="text/event-stream"
            )
        with tenant_scope(caller.tenant):
            result = await pipeline.run_async(data, include_outputs_from={"llm", "retriever"})
        replies = result.get("llm", {}).get("replies") or []
        reply = replies[0] if replies else None
        documents = result.get("retriever", {}).get("documents") or []
        message = {"role": "assistant", "content": (reply.text if reply is not None else None) or ""}
        finish = str(reply.meta.get("finish_reason") or "stop") if reply is not None else "stop"
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": RAG_MODEL_NAME,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": _usage(reply),
            "sources": [
                {"content": d.content, "metadata": dict(d.meta), "score": d.score} for d in documents
            ],
        }

    return router
