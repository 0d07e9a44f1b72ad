"""Tenant isolation through every served component that touches a store: two tenants share one SQLite file
(the service's own index, which YAML pipelines open too); whatever tenant B sends, it never reads, writes,
overwrites or deletes tenant A's documents, and a request never makes the server read its own files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from haybale.dataclasses import ChatMessage, Document
from haybale.service import ServiceSettings

from .conftest import CORPUS, RunningService, running_service

pytestmark = pytest.mark.slow

A = {"Authorization": "Bearer key-a"}
B = {"Authorization": "Bearer key-b"}

STORE = """
      document_store:
        type: haybale.stores.sqlite.SQLiteDocumentStore
        init_parameters: {{path: "{db}"}}"""

EMBEDDER = "haybale.components.embedders.sentence_transformers_text_embedder.SentenceTransformersTextEmbedder"
PIPELINES = {
    "bm25": """
components:
  retriever:
    type: haybale.components.retrievers.bm25.BM25Retriever
    init_parameters:{store}
connections: []
""",
    "dense": """
components:
  retriever:
    type: haybale.components.retrievers.embedding.EmbeddingRetriever
    init_parameters:{store}
connections: []
""",
    "hybrid": """
components:
  retriever:
    type: haybale.components.retrievers.hybrid.HybridRetriever
    init_parameters:{store}
      text_embedder:
        type: {text_embedder}
        init_parameters: {{progress_bar: false}}
connections: []
""",
    "write": """
components:
  writer:
    type: haybale.components.writers.document_writer.DocumentWriter
    init_parameters:{store}
      policy: overwrite
connections: []
""",
    "cache": """
components:
  cache:
    type: haybale.components.caching.cache_checker.CacheChecker
    init_parameters:{store}
      cache_field: meta.document_id
connections: []
""",
    "tools": """
components:
  invoker:
    type: haybale.components.tools.tool_invoker.ToolInvoker
    init_parameters:
      tools:
      - type: haybale.components.tools.component_tool.ComponentTool
        data:
          name: search
          description: Search the notes
          component:
            type: haybale.components.retrievers.bm25.BM25Retriever
            init_parameters:{tool_store}
connections: []
""",
    "ingest": """
components:
  converter:
    type: haybale.components.converters.multi_file_converter.MultiFileConverter
    init_parameters: {{}}
  writer:
    type: haybale.components.writers.document_writer.DocumentWriter
    init_parameters:{store}
      policy: overwrite
connections:
  - sender: converter.documents
    receiver: writer.documents
""",
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend

    folder = tmp_path_factory.mktemp("isolation")
    db = folder / "shared.db"
    pipelines = folder / "pipelines"
    pipelines.mkdir()
    for name, text in PIPELINES.items():
        (pipelines / f"{name}.yaml").write_text(
            text.format(
                store=STORE.format(db=db),
                tool_store=STORE.format(db=db).replace("\n      ", "\n                "),
                text_embedder=EMBEDDER,
            )
        )
    keys = folder / "keys.txt"
    keys.write_text("key-a:tenant-a\nkey-b:tenant-b\n", encoding="utf-8")
    backend = ScriptedChatBackend([ChatMessage.from_assistant("Answer [1].")])
    with serve_chat_backend(backend, model_name="scripted") as chat:
        settings = ServiceSettings(
            store_url=f"sqlite:///{db}",
            api_keys_file=keys,
            pipelines_dir=pipelines,
            llm_base_url=chat.base_url,
            llm_model="scripted",
        )
        with running_service(settings) as running:
            response = running.client.post(
                "/process",
                files={"file": ("weather_and_hay.txt", (CORPUS / "weather_and_hay.txt").read_bytes())},
                data={"metadata": json.dumps({"data_entity_id": "kb-a", "document_id": "secret-doc"})},
                headers=A,
            )
            assert response.status_code == 200, response.text
            running.keys_file = keys  # type: ignore[attr-defined]
            yield running


def _a_chunks(service: RunningService) -> list[Document]:
    return service.state.store.filter_documents({"tenant": "tenant-a"})


def _snapshot(service: RunningService) -> list[tuple[str, str | None]]:
    return sorted((d.id, d.content) for d in _a_chunks(service))


def _run(service: RunningService, name: str, body: Any, headers: dict[str, str], **kwargs: Any) -> Any:
    return service.client.post(f"/pipelines/{name}/run", json=body, headers=headers, **kwargs)


def test_retrievers_only_see_the_callers_documents(service: RunningService) -> None:
    question = {"query": "weather rain forecast hay drying"}
    for name in ("bm25", "hybrid"):
        mine = _run(service, name, question, A)
        assert mine.status_code == 200, mine.text
        assert mine.json()["result"]["retriever"]["documents"], name
        theirs = _run(service, name, question, B)
        assert theirs.status_code == 200
        assert theirs.json()["result"]["retriever"]["documents"] == [], name
        sneaky = _run(service, name, {**question, "filters": {"tenant": "tenant-a"}}, B)
        assert sneaky.json()["result"]["retriever"]["documents"] == [], name
    embedding = _a_chunks(service)[0].embedding
    assert _run(service, "dense", {"query_embedding": embedding}, A).json()["result"]["retriever"][
        "documents"
    ]
    assert (
        _run(service, "dense", {"query_embedding": embedding}, B).json()["result"]["retriever"]["documents"]
        == []
    )
    query = {"query": "weather rain forecast", "filters": {"document_id": ["secret-doc"]}}
    assert service.client.post("/query", json=query, headers=B).json()["results"] == []
    assert service.client.post("/query", json=query, headers=A).json()["results"]


def test_a_retriever_inside_a_tool_only_sees_the_callers_documents(service: RunningService) -> None:
    call = {"tool_call": {"tool_name": "search", "arguments": {"query": "weather rain forecast"}, "id": "c1"}}
    body = {"messages": [{"role": "assistant", "content": [call], "name": None, "meta": {}}]}

    def found(headers: dict[str, str]) -> str:
        response = _run(service, "tools", body, headers)
        assert response.status_code == 200, response.text
        (message,) = response.json()["result"]["invoker"]["tool_messages"]
        return json.dumps(message)

    assert "secret-doc" in found(A)
    assert "secret-doc" not in found(B)


def test_the_cache_checker_never_hits_another_tenants_documents(service: RunningService) -> None:
    mine = _run(service, "cache", {"items": ["secret-doc"]}, A).json()["result"]["cache"]
    assert mine["hits"] and mine["misses"] == []
    theirs = _run(service, "cache", {"items": ["secret-doc"]}, B).json()["result"]["cache"]
    assert theirs["hits"] == [] and theirs["misses"] == ["secret-doc"]


def test_a_writer_cannot_claim_overwrite_or_pollute_another_tenant(service: RunningService) -> None:
    before = _snapshot(service)
    victim = _a_chunks(service)[0]
    claim = {
        "documents": [{"content": "planted", "meta": {"tenant": "tenant-a", "document_id": "secret-doc"}}]
    }
    refused = _run(service, "write", claim, B)
    assert refused.status_code == 403 and "tenant" in refused.json()["detail"]
    # The stored id of one of A's chunks, with policy overwrite: lands in B's own space.
    overwrite = {
        "documents": [{"id": victim.id, "content": "overwritten", "meta": {"document_id": "secret-doc"}}]
    }
    written = _run(service, "write", overwrite, B)
    assert written.status_code == 200 and written.json()["result"]["writer"]["documents_written"] == 1
    assert _snapshot(service) == before
    results = service.client.post("/query", json={"query": "overwritten"}, headers=A).json()["results"]
    assert all(r["content"] != "overwritten" for r in results)
    assert (
        service.client.post("/delete", json={"filters": {"document_id": "secret-doc"}}, headers=B).json()[
            "documents_deleted"
        ]
        == 1
    )  # B's own planted copy only
    assert _snapshot(service) == before


def test_file_inputs_take_uploads_never_server_paths(service: RunningService) -> None:
    before = _snapshot(service)
    keys_file = str(service.keys_file)  # type: ignore[attr-defined]
    for paths in ([keys_file], ["/etc/passwd"], [str(Path(keys_file).parent / "shared.db")]):
        response = _run(service, "ingest", {"sources": paths}, B)
        assert response.status_code == 422, response.text
        assert "cannot name files on the server" in response.json()["detail"]
    leaked = service.client.post("/query", json={"query": "key-a tenant-a"}, headers=B).json()["results"]
    assert all("key-a" not in r["content"] for r in leaked)
    upload = service.client.post(
        "/pipelines/ingest/run",
        files={"sources": ("notes.md", b"# Goats\n\nGoats climb steep rocks easily.")},
        data={"inputs": "{}"},
        headers=B,
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["result"]["writer"]["documents_written"] == 1
    assert service.client.post("/query", json={"query": "goats climb rocks"}, headers=B).json()["results"]
    as_a = service.client.post("/query", json={"query": "goats climb rocks"}, headers=A).json()["results"]
    assert all("Goats" not in r["content"] for r in as_a)
    assert _snapshot(service) == before


def test_chat_answers_only_from_the_callers_documents(service: RunningService) -> None:
    body = {
        "model": "haybale-rag",
        "messages": [{"role": "user", "content": "What does the weather do to hay?"}],
    }
    mine = service.client.post("/v1/chat/completions", json=body, headers=A).json()
    assert mine["sources"]
    theirs = service.client.post("/v1/chat/completions", json=body, headers=B).json()
    a_contents = {d.content for d in _a_chunks(service)}
    assert not {s["content"] for s in theirs["sources"]} & a_contents


def test_another_tenants_uploads_do_not_move_the_callers_scores(service: RunningService) -> None:
    """BM25 statistics are per tenant: tenant B uploading the very file A searches (doubling every term's
    document frequency in the shared store) changes none of A's scores, so B's writes cannot be detected."""
    question = {"query": "weather rain forecast hay drying"}

    def scores() -> tuple[list[Any], list[Any]]:
        found = _run(service, "bm25", question, A).json()["result"]["retriever"]["documents"]
        answered = service.client.post("/query", json={**question, "top_k": 5}, headers=A).json()["results"]
        return [(d["id"], d["score"]) for d in found], [(r["content"], r["score"]) for r in answered]

    before = scores()
    assert before[0] and before[1]
    upload = service.client.post(
        "/process",
        files={"file": ("weather_and_hay.txt", (CORPUS / "weather_and_hay.txt").read_bytes())},
        data={"metadata": json.dumps({"data_entity_id": "kb-b", "document_id": "copy-of-b"})},
        headers=B,
    )
    assert upload.status_code == 200, upload.text
    _assert_same(scores(), before)
    deleted = service.client.post("/delete", json={"filters": {"document_id": "copy-of-b"}}, headers=B)
    assert deleted.status_code == 200 and deleted.json()["documents_deleted"] > 0
    _assert_same(scores(), before)


def _assert_same(now: tuple[list[Any], list[Any]], before: tuple[list[Any], list[Any]]) -> None:
    """BM25 scores equal to the last bit; /query's fused scores too, but for the dense similarity's last
    float32 bit (numpy computes it another way once the caller's share of the store halves)."""
    assert now[0] == before[0]
    assert [content for content, _ in now[1]] == [content for content, _ in before[1]]
    assert [score for _, score in now[1]] == pytest.approx([score for _, score in before[1]], rel=1e-6)


def test_a_pipeline_whose_stores_cannot_be_scoped_is_refused() -> None:
    from haybale.core.component import component
    from haybale.core.pipeline import Pipeline
    from haybale.service.pipeline_scoping import UnscopablePipelineError, scope_pipeline_stores
    from haybale.stores import InMemoryDocumentStore
    from haybale.stores.tenant_scope import TenantScopedStore

    @component
    class FanOutWriter:
        def __init__(self) -> None:
            self.stores = [InMemoryDocumentStore(), InMemoryDocumentStore()]

        @component.output_types(count=int)
        def run(self, text: str) -> dict[str, Any]:
            return {"count": len(text)}

    @component
    class PlainReader:
        def __init__(self) -> None:
            self.document_store = InMemoryDocumentStore()

        @component.output_types(count=int)
        def run(self, text: str) -> dict[str, Any]:
            return {"count": self.document_store.count_documents()}

    @component
    class BoundSearch:
        def __init__(self) -> None:
            self.search = InMemoryDocumentStore().bm25_search  # a store method, bound to the unscoped store

        @component.output_types(count=int)
        def run(self, text: str) -> dict[str, Any]:
            return {"count": len(self.search(text, top_k=5))}

    refused = Pipeline()
    refused.add_component("fan_out", FanOutWriter())
    with pytest.raises(UnscopablePipelineError, match=r"fan_out\.stores holds document stores inside a list"):
        scope_pipeline_stores(refused, "refused")
    bound = Pipeline()
    bound.add_component("searcher", BoundSearch())
    with pytest.raises(UnscopablePipelineError, match=r"searcher\.search holds a method of a document store"):
        scope_pipeline_stores(bound, "bound")
    accepted = Pipeline()
    accepted.add_component("reader", PlainReader())
    assert scope_pipeline_stores(accepted, "accepted") == ["accepted.reader.document_store"]
    assert isinstance(accepted.get_component("reader").document_store, TenantScopedStore)


def test_stores_nested_too_deep_to_check_are_refused_not_skipped() -> None:
    from haybale.components.retrievers.bm25 import BM25Retriever
    from haybale.core.pipeline import Pipeline
    from haybale.core.super_component import SuperComponent
    from haybale.service.pipeline_scoping import UnscopablePipelineError, scope_pipeline_stores
    from haybale.stores import InMemoryDocumentStore

    innermost = Pipeline()
    innermost.add_component("retriever", BM25Retriever(document_store=InMemoryDocumentStore()))
    pipeline = innermost
    for level in range(8):
        outer = Pipeline()
        outer.add_component(f"level{level}", SuperComponent(pipeline))
        pipeline = outer
    with pytest.raises(UnscopablePipelineError, match="levels deep"):
        scope_pipeline_stores(pipeline, "deep")
