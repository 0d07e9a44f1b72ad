"""A small RAG pipeline over a real BM25 store and a chat model behind a real OpenAI-compatible HTTP server,
in a healthy and two deliberately broken variants (a retriever over the wrong documents, a prompt template
that drops the sources), plus its dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from haybale import Document, Pipeline
from haybale.components.builders import AnswerBuilder, ChatPromptBuilder
from haybale.components.generators import OpenAIChatGenerator
from haybale.components.retrievers import BM25Retriever
from haybale.core.secret import Secret
from haybale.dataclasses import ChatMessage
from haybale.stores import InMemoryDocumentStore, SQLiteDocumentStore

FACTS = {
    "hay": "Hay is grass that has been cut, dried and stored for use as animal fodder.",
    "straw": "Straw is the dry stalk of cereal plants after the grain and chaff are removed.",
    "silage": "Silage is fermented, high-moisture fodder made from green foliage crops.",
    "baler": "A baler compresses cut and raked crops such as hay into compact bales.",
}
NOISE = {
    "opera": "Opera singers train their voices for many years before their debut performances.",
    "comet": "A comet is an icy body that releases gas when passing close to the sun.",
}
QUESTIONS = {
    "hay": "what is hay made of",
    "straw": "what is straw",
    "silage": "how is silage made",
    "baler": "what does a baler do",
}
TEMPLATE = (
    '{% message role="user" %}Sources:\n{% for d in documents %}[{{ loop.index }}] {{ d.content }}\n'
    "{% endfor %}Question: {{ query }}{% endmessage %}"
)
#: the broken template renders the question only: the sources never reach the model
BROKEN_TEMPLATE = '{% message role="user" %}Question: {{ query }}{% endmessage %}'
DATASET: list[dict[str, Any]] = [
    {"id": key, "inputs": {"query": question}, "ground_truth_document_ids": [key]}
    for key, question in QUESTIONS.items()
]


def answer_from_first_source(messages: list[ChatMessage], tools: Any) -> ChatMessage:
    """The scripted model: repeats the first source line of the prompt, or guesses without one."""
    prompt = messages[-1].text or ""
    for line in prompt.splitlines():
        if line.startswith("[1] "):
            return ChatMessage.from_assistant(line[4:] + " [1]")
    return ChatMessage.from_assistant("It is a kind of purple cheese from the mountains of Peru.")


def store(facts: dict[str, str], path: Path | None = None) -> Any:
    """A store holding ``facts`` (id -> text): in memory, or in a SQLite file (survives YAML round trips)."""
    documents: Any = InMemoryDocumentStore() if path is None else SQLiteDocumentStore(path)
    documents.write_documents([Document(id=key, content=text) for key, text in facts.items()])
    return documents


def rag_pipeline(
    base_url: str,
    *,
    broken_retriever: bool = False,
    broken_template: bool = False,
    db: Path | None = None,
    ranker: Any = None,
    top_k: int = 2,
) -> Pipeline:
    """retriever -> [ranker ->] prompt_builder -> llm -> answer_builder, healthy or broken as asked (``db``: a
    SQLite file for the store; ``ranker``: a component inserted after the retriever)."""
    pipeline = Pipeline()
    documents = store(NOISE if broken_retriever else {**FACTS, **NOISE}, db)
    pipeline.add_component("retriever", BM25Retriever(documents, top_k=top_k))
    template = BROKEN_TEMPLATE if broken_template else TEMPLATE
    builder = ChatPromptBuilder(
        template=template, variables=["query", "documents"], required_variables=["query"]
    )
    pipeline.add_component("prompt_builder", builder)
    generator = OpenAIChatGenerator(
        api_key=Secret.from_env_var("HAYBALE_TEST_LLM_KEY", strict=False), model="scripted", base_url=base_url
    )
    pipeline.add_component("llm", generator)
    pipeline.add_component("answer_builder", AnswerBuilder())
    context = "retriever"
    if ranker is not None:
        pipeline.add_component("ranker", ranker)
        pipeline.connect("retriever.documents", "ranker.documents")
        context = "ranker"
    pipeline.connect(f"{context}.documents", "prompt_builder.documents")
    pipeline.connect("prompt_builder.prompt", "llm.messages")
    pipeline.connect("llm.replies", "answer_builder.replies")
    pipeline.connect(f"{context}.documents", "answer_builder.documents")
    return pipeline
