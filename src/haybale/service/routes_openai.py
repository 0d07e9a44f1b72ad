"""OpenAI-compatible ``GET /v1/models`` and ``POST /v1/chat/completions`` over the RAG pipeline and the
served YAML pipelines.

The model ``haybale-rag`` answers the last user message of the conversation from the caller's documents:
hybrid retrieval, a prompt with the numbered sources, and the configured chat generator (see
:func:`haybale.rag.build_rag_pipeline`). Every served pipeline a conversation can feed is a model too, named
after the pipeline (:mod:`haybale.service.chat_pipelines` says which, and how), run for the caller's tenant
like ``POST /pipelines/{name}/run``. Any OpenAI client works: non-streaming replies are a
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


def _chunk_event(
    ident: str, delta: dict[str, Any], finish: str | None = None, model: str = RAG_MODEL_NAME
) -> str:
    body = {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n"


async def _stream_events(
    pipeline: Any, data: dict[str, Any], include_usage: bool, tenant: str | None, model: str
) -> AsyncIterator[str]:
    from haybale.stores.tenant_scope import tenant_scope

    # The response streams after the route returned: the tenant scope is entered here, in the streaming task.
    with tenant_scope(tenant):
        async for event in _events(pipeline, data, include_usage, model):
            yield event


async def _events(pipeline: Any, data: dict[str, Any], include_usage: bool, model: str) -> AsyncIterator[str]:
    from haybale.core.streaming import stream_pipeline, streaming_components
    from haybale.service.chat_pipelines import reply_of

    ident = f"chatcmpl-{uuid.uuid4().hex}"
    yield _chunk_event(ident, {"role": "assistant", "content": ""}, model=model)
    finish, streamed = "stop", False
    components = ["llm"] if model == RAG_MODEL_NAME else streaming_components(pipeline)
    stream = stream_pipeline(pipeline, data, include_outputs_from=set(components), components=components)
    try:
        async with stream:
            async for chunk in stream:
                if chunk.content:
                    streamed = True
                    yield _chunk_event(ident, {"content": chunk.content}, model=model)
                if chunk.finish_reason:
                    finish = chunk.finish_reason
            result = stream.result
    except Exception as exc:  # the status line is already sent: report the failure in the stream itself
        cause = exc.__cause__ or exc
        error = {"error": {"message": f"{type(cause).__name__}: {cause}", "type": "server_error"}}
        yield f"data: {json.dumps(error)}\n\n"
        yield "data: [DONE]\n\n"
        return
    text, reply = reply_of(result)
    if not streamed and text:  # no component streamed (none can, or it answered without chunks)
        yield _chunk_event(ident, {"content": text}, model=model)
    yield _chunk_event(ident, {}, finish, model=model)
    if include_usage:
        usage_body = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [],
            "usage": _usage(reply),
        }
        yield f"data: {json.dumps(usage_body)}\n\n"
    yield "data: [DONE]\n\n"


def _completion(model: str, text: str, reply: Any, documents: list[Any]) -> dict[str, Any]:
    from haybale.service.routes_documents import public_metadata

    finish = str(reply.meta.get("finish_reason") or "stop") if reply is not None else "stop"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish,
                "logprobs": None,
            }
        ],
        "usage": _usage(reply),
        "sources": [
            {"content": d.content, "metadata": public_metadata(d.meta), "score": d.score}
            for d in documents
            if hasattr(d, "meta")
        ],
    }


def _chat_models(state: Any) -> list[str]:
    """The served pipelines a conversation can feed (a pipeline that fails to load is left out: its own
    route, ``/pipelines/{name}/run``, reports why)."""
    from haybale.errors import HaybaleError
    from haybale.service.chat_pipelines import can_chat

    names = []
    for name in state.pipelines.names():
        if name == RAG_MODEL_NAME:
            continue
        try:
            pipeline = state.pipelines.get(name)
        except HaybaleError:
            continue
        if can_chat(pipeline):
            names.append(name)
    return names


def build_openai_router() -> Any:
    """The APIRouter serving the OpenAI-compatible routes."""
    import asyncio

    from fastapi import APIRouter, Request
    from fastapi.responses import StreamingResponse

    from haybale.service.chat_pipelines import chat_run_data, conversation_messages, reply_of, sources_of
    from haybale.service.pipeline_runs import request_inputs, run_for_tenant

    router = APIRouter(tags=["openai"])

    @router.get("/v1/models")
    async def list_models(request: Request, caller: CallerDep) -> dict[str, Any]:
        """The models served: ``haybale-rag`` and every served pipeline a conversation can feed."""
        names = [RAG_MODEL_NAME, *await asyncio.to_thread(_chat_models, state_of(request))]
        models = [{"id": n, "object": "model", "created": _CREATED, "owned_by": "haybale"} for n in names]
        return {"object": "list", "data": models}

    async def _pipeline_inputs(body: ChatCompletionRequest, request: Request) -> tuple[Any, dict[str, Any]]:
        state = state_of(request)
        if body.model == RAG_MODEL_NAME:
            question = _question(body)
            if not question:
                raise ServiceError(422, "The conversation has no user message with text to answer.")
            pipeline = await asyncio.to_thread(state.app.rag_pipeline)
            return pipeline, rag_run_inputs(question, _generation_kwargs(body))
        if body.model not in state.pipelines.names():
            available = [RAG_MODEL_NAME, *state.pipelines.names()]
            raise ServiceError(404, f"Unknown model {body.model!r}. Models served: {available}.")
        pipeline = await asyncio.to_thread(state.pipelines.get, body.model)
        messages = conversation_messages(body.messages)
        data = chat_run_data(pipeline, body.model, messages, _generation_kwargs(body))
        return pipeline, request_inputs(pipeline, data, {})

    @router.post("/v1/chat/completions", response_model=None)
    async def chat_completions(body: ChatCompletionRequest, request: Request, caller: CallerDep) -> Any:
        """Answer the conversation: ``haybale-rag`` from the caller's documents, or a served pipeline."""
        pipeline, data = await _pipeline_inputs(body, request)
        if body.stream:
            options = getattr(body, "stream_options", None) or {}
            include_usage = bool(isinstance(options, dict) and options.get("include_usage"))
            return StreamingResponse(
                _stream_events(pipeline, data, include_usage, caller.tenant, body.model),
                media_type="text/event-stream",
            )
        include = {"llm", "retriever"} if body.model == RAG_MODEL_NAME else None
        result = await run_for_tenant(pipeline, data, caller.tenant, include)
        text, reply = reply_of(result)
        return _completion(body.model, text, reply, sources_of(result))

    return router
