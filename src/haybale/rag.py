"""The retrieval-augmented generation (RAG) query pipeline of ``haybale ask`` and ``examples/rag.yaml``.

::

    hybrid retriever --documents--> chat prompt builder --prompt--> chat generator --replies--> answer builder
           \\_____________________________documents__________________________________________/

Run it with the flat input ``{"query": "..."}``: the question reaches the retriever, the prompt and the answer
builder. The answer (``answer_builder.answers[0]``) cites its sources as ``[n]``, the numbers of the retrieved
documents in the prompt.

The chat generator defaults to the local SmolLM2-135M (offline, tiny, often wrong). Set
``HAYBALE_LLM_BASE_URL`` (and ``HAYBALE_LLM_MODEL``, ``HAYBALE_LLM_API_KEY`` when needed) to use any
OpenAI-compatible server instead — see :func:`chat_generator_from_env`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

__all__ = [
    "LLM_API_KEY_ENV",
    "LLM_BASE_URL_ENV",
    "LLM_MODEL_ENV",
    "RAG_TEMPLATE",
    "build_rag_pipeline",
    "chat_generator_from_env",
    "is_local_default_model",
]

LLM_BASE_URL_ENV = "HAYBALE_LLM_BASE_URL"
LLM_MODEL_ENV = "HAYBALE_LLM_MODEL"
LLM_API_KEY_ENV = "HAYBALE_LLM_API_KEY"

#: The prompt: numbered sources, then the question. Kept short so it fits SmolLM2's small context.
RAG_TEMPLATE = """{% message role="system" %}You answer questions using only the numbered sources given. \
Cite the sources you use as [1], [2], ... If the sources do not contain the answer, say you do not know.\
{% endmessage %}{% message role="user" %}Sources:
{% for document in documents %}[{{ loop.index }}] {{ document.content }}
{% endfor %}
Question: {{ query }}{% endmessage %}"""

#: Generation settings for the local default: short, deterministic answers; SmolLM2 loops without a
#: repetition penalty.
LOCAL_GENERATION_KWARGS: dict[str, Any] = {
    "max_tokens": 160,
    "temperature": 0.0,
    "repeat_penalty": 1.3,
    # The tiny model tends to invent a follow-up exchange after its answer; stop there.
    "stop": ["\nQuestion:", "\nQ:"],
}


def chat_generator_from_env(environ: Mapping[str, str] | None = None) -> Any:
    """The chat generator ``haybale ask`` uses.

    With ``HAYBALE_LLM_BASE_URL`` set: an :class:`OpenAIChatGenerator` for that server, model
    ``HAYBALE_LLM_MODEL`` (default ``gpt-4o-mini``), key from ``HAYBALE_LLM_API_KEY`` (optional: servers
    without authentication need none). Otherwise the local :class:`LlamaCppChatGenerator` with SmolLM2-135M.
    """
    env = os.environ if environ is None else environ
    base_url = (env.get(LLM_BASE_URL_ENV) or "").strip()
    if base_url:
        from haybale.components.generators import OpenAIChatGenerator
        from haybale.core.secret import Secret

        return OpenAIChatGenerator(
            api_key=Secret.from_env_var(LLM_API_KEY_ENV, strict=False),
            model=(env.get(LLM_MODEL_ENV) or "").strip() or "gpt-4o-mini",
            base_url=base_url,
            generation_kwargs={"temperature": 0.0},
            max_retries=2,
            timeout=120.0,
        )
    from haybale.components.generators import LlamaCppChatGenerator

    return LlamaCppChatGenerator(n_ctx=2048, generation_kwargs=dict(LOCAL_GENERATION_KWARGS))


def is_local_default_model(generator: Any) -> bool:
    """Whether ``generator`` is the bundled SmolLM2 (tiny; answers need checking against the sources)."""
    from haybale.components.generators import LlamaCppChatGenerator

    return isinstance(generator, LlamaCppChatGenerator) and generator.model is None


def build_rag_pipeline(
    document_store: Any,
    *,
    top_k: int = 5,
    chat_generator: Any = None,
    text_embedder: Any = None,
    template: str = RAG_TEMPLATE,
) -> Any:
    """Build the RAG query pipeline over ``document_store``.

    Args:
        document_store: a store with BM25 and embedding search (in-memory, SQLite, pgvector), indexed with
            the same embedding model as ``text_embedder``.
        top_k: how many fused documents reach the prompt.
        chat_generator: defaults to :func:`chat_generator_from_env`.
        text_embedder: the query embedder; defaults to ``SentenceTransformersTextEmbedder`` with the bundled
            all-MiniLM-L6-v2 (the model ``haybale index`` uses by default).
        template: a ChatPromptBuilder string template with ``documents`` and ``query`` variables.

    Returns:
        A :class:`~haybale.core.pipeline.Pipeline` with components ``retriever``, ``prompt_builder``, ``llm``
        and ``answer_builder``; run it with ``{"query": "..."}``.
    """
    from haybale.components.builders import AnswerBuilder, ChatPromptBuilder
    from haybale.components.retrievers import HybridRetriever
    from haybale.core.pipeline import Pipeline

    if text_embedder is None:
        from haybale.components.embedders import SentenceTransformersTextEmbedder

        text_embedder = SentenceTransformersTextEmbedder(progress_bar=False)
    pipeline = Pipeline(
        metadata={"description": "Answer a question from the indexed documents, citing them."}
    )
    pipeline.add_component("retriever", HybridRetriever(document_store, text_embedder, top_k=top_k))
    pipeline.add_component(
        "prompt_builder", ChatPromptBuilder(template=template, required_variables=["query", "documents"])
    )
    pipeline.add_component("llm", chat_generator if chat_generator is not None else chat_generator_from_env())
    pipeline.add_component("answer_builder", AnswerBuilder())
    pipeline.connect("retriever.documents", "prompt_builder.documents")
    pipeline.connect("prompt_builder.prompt", "llm.messages")
    pipeline.connect("llm.replies", "answer_builder.replies")
    pipeline.connect("retriever.documents", "answer_builder.documents")
    return pipeline
