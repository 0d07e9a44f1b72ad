"""The Helix wire contract, spoken exactly as Helix's Go client speaks it, against ``haybale serve`` running
as a real process configured only by the environment variables of Helix's compose file — on SQLite and on
PostgreSQL/pgvector (``PGVECTOR_DSN``, a libpq URI with ``?host=/socket``).

Requests mirror the Go client: ``/extract`` and ``/process`` as multipart with a ``file`` part (and, for
``/process``, a ``metadata`` part holding a JSON object), ``/query`` and ``/delete`` as JSON bodies with the
shorthand filters Helix builds (``{"data_entity_id": [...], "document_id": [...]}``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import CORPUS, serve_process

pytestmark = pytest.mark.slow


class HelixClient:
    """The requests Helix's Go ``HaystackRAG`` client sends, and nothing more."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=120.0)

    def extract(self, name: str, data: bytes) -> httpx.Response:
        return self.http.post("/extract", files={"file": (name, data, "application/octet-stream")})

    def index(self, name: str, data: bytes, metadata: dict[str, Any]) -> httpx.Response:
        return self.http.post(
            "/process",
            files={"file": (name, data, "application/octet-stream")},
            data={"metadata": json.dumps(metadata)},
        )

    def query(self, text: str, filters: dict[str, Any], top_k: int = 5) -> httpx.Response:
        return self.http.post("/query", json={"query": text, "filters": filters, "top_k": top_k})

    def delete(self, filters: dict[str, Any]) -> httpx.Response:
        return self.http.post("/delete", json={"filters": filters})


@pytest.fixture(scope="module", params=["sqlite", pytest.param("pgvector", marks=pytest.mark.pg)])
def helix(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HelixClient]:
    folder = tmp_path_factory.mktemp("helix")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAYBALE_", "RAG_", "PGVECTOR", "VLLM"))}
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "LOG_LEVEL": "WARNING",
            "RAG_HAYSTACK_CHUNK_SIZE": "500",
            "RAG_HAYSTACK_CHUNK_OVERLAP": "50",
            "RAG_VISION_ENABLED": "false",
            "HELIX_EMBEDDINGS_SOCKET": str(folder / "no-such.sock"),  # absent: the bundled model is used
        }
    )
    if request.param == "sqlite":
        env["HAYBALE_STORE_URL"] = f"sqlite:///{folder / 'index.db'}"
    else:
        server = request.getfixturevalue("pg_server")
        separator = "&" if "?" in server.dsn else "?"
        env["PGVECTOR_DSN"] = f"{server.dsn}{separator}table=helix_documents"
    with serve_process(env=env, log=folder / "serve.log") as (url, _):
        client = HelixClient(url)
        yield client
        client.http.close()


def _index_corpus(helix: HelixClient) -> dict[str, str]:
    """Index three files under two knowledge sources, as Helix's reconciler would; return name -> id."""
    uploads = [
        ("bm25_explained.md", "kb-search", "doc-bm25", ["retrieval", "ranking"]),
        ("vector_search.pdf", "kb-search", "doc-vectors", ["retrieval", "embeddings"]),
        ("weather_and_hay.txt", "kb-farm", "doc-weather", ["farming"]),
    ]
    ids = {}
    for name, entity, document_id, tags in uploads:
        metadata = {
            "data_entity_id": entity,
            "document_id": document_id,
            "source": f"s3://kb/{name}",
            "tags": tags,
        }
        response = helix.index(name, (CORPUS / name).read_bytes(), metadata)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "success"
        assert body["document_id"] == document_id
        assert body["indexed_count"] == body["chunks"] > 0
        assert body["documents_processed"] == 1 and body["chunks_indexed"] == body["chunks"]
        assert body["message"].startswith(f"Successfully processed {name}")  # the Helix service's words
        ids[name] = document_id
    return ids


def test_health_answers_as_the_helix_service_does(helix: HelixClient) -> None:
    response = helix.http.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy" and response.json()["version"]


def test_extract_returns_the_text(helix: HelixClient) -> None:
    response = helix.extract("weather_and_hay.txt", (CORPUS / "weather_and_hay.txt").read_bytes())
    assert response.status_code == 200
    assert set(response.json()) == {"text"}
    assert "weather" in response.json()["text"].lower()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("bm25_explained.md", "bm25"),
        ("postgresql_basics.html", "postgresql"),
        ("chunking_strategies.docx", "chunk"),
        ("vector_search.pdf", "vector"),
    ],
)
def test_extract_reads_any_file_under_the_name_helix_gives_it(
    helix: HelixClient, source: str, expected: str
) -> None:
    """Helix's extractor sends every file as ``document.pdf``: the content decides how it is read."""
    response = helix.extract("document.pdf", (CORPUS / source).read_bytes())
    assert response.status_code == 200, response.text
    text = response.json()["text"]
    assert expected in text.lower() and "<html" not in text.lower()


def test_index_query_filter_and_delete_as_helix_does(helix: HelixClient) -> None:
    _index_corpus(helix)
    response = helix.query("How does BM25 rank documents?", {"data_entity_id": ["kb-search"]}, top_k=5)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert 0 < len(results) <= 5
    top = results[0]
    assert {"content", "metadata", "score"} <= set(top)
    meta = top["metadata"]
    assert meta["document_id"] == "doc-bm25" and meta["data_entity_id"] == "kb-search"
    assert meta["source"] == "s3://kb/bm25_explained.md"  # the caller's source, kept
    assert meta["filename"] == "bm25_explained.md"
    assert meta["chunk_id"].startswith("doc-bm25-chunk-") and top["chunk_id"] == meta["chunk_id"]
    assert isinstance(meta["content_offset"], int) and meta["page_number"] >= 1
    assert 0.0 < top["score"] <= 1.0
    assert all(r["metadata"]["data_entity_id"] == "kb-search" for r in results)
    assert [r["rank"] for r in results] == list(range(1, len(results) + 1))  # as the Helix service answers
    assert not [k for r in results for k in r["metadata"] if k.startswith("_") or k == "tenant"]
    # Several document ids: OR; data entity AND document ids: AND.
    both = helix.query("search", {"document_id": ["doc-bm25", "doc-vectors"]}, top_k=20).json()["results"]
    assert {r["metadata"]["document_id"] for r in both} == {"doc-bm25", "doc-vectors"}
    none = helix.query("search", {"data_entity_id": ["kb-farm"], "document_id": ["doc-bm25"]}).json()[
        "results"
    ]
    assert none == []
    # A list filter on a list-valued field matches any element.
    tagged = helix.query("search", {"tags": ["embeddings", "nothing"]}, top_k=20).json()["results"]
    assert tagged and {r["metadata"]["document_id"] for r in tagged} == {"doc-vectors"}
    # Deleting a knowledge source removes all of its documents and nothing else.
    deleted = helix.delete({"data_entity_id": "kb-search"})
    assert deleted.status_code == 200 and deleted.json()["documents_deleted"] > 0
    assert helix.query("search", {"data_entity_id": ["kb-search"]}).json()["results"] == []
    assert helix.query("rain", {"data_entity_id": ["kb-farm"]}).json()["results"]
    assert helix.delete({"document_id": "doc-weather"}).json()["documents_deleted"] > 0
    assert helix.query("rain", {"data_entity_id": ["kb-farm"]}).json()["results"] == []


def _tree(entity: str, *documents: str) -> dict[str, Any]:
    """The filter Helix's current Go client builds: the data entity AND any of the document ids."""
    conditions: list[dict[str, Any]] = [{"field": "meta.data_entity_id", "operator": "==", "value": entity}]
    if documents:
        ids = [{"field": "meta.document_id", "operator": "==", "value": d} for d in documents]
        conditions.append({"operator": "OR", "conditions": ids})
    return {"operator": "AND", "conditions": conditions}


def test_the_current_go_client_is_answered(helix: HelixClient) -> None:
    """Helix's current Go client sends string-valued metadata with its own fields plus a ``data_entity_id``
    form field beside it, queries with a Haystack filter tree (and ``top_k`` 0 when a source sets no limit),
    and deletes with a filter tree."""

    def upload(name: str, text: bytes, meta: dict[str, str], entity: str) -> httpx.Response:
        return helix.http.post(
            "/process",
            files={"file": (name, text, "application/octet-stream")},
            data={"metadata": json.dumps(meta), "data_entity_id": entity},
        )

    paper = {
        "document_id": "doc-go",
        "document_group_id": "group-go",
        "source": "https://example.org/papers/2602.23242",
        "content_offset": "0",
        "filename": "2602.23242.md",
        "original_filename": "2602.23242",
        "data_entity_id": "kb-go",
        "team": "blue",
    }
    text = b"# Drying hay\n\nHay bales are stacked in rows so the wind dries them in the field."
    assert upload("2602.23242.md", text, paper, "kb-go").status_code == 200
    # Metadata without data_entity_id: the form field supplies it.
    notes = {"document_id": "doc-go-notes", "source": "notes.txt", "content_offset": "0"}
    silage = b"Silage is fermented hay kept in airtight bales."
    assert upload("notes.txt", silage, notes, "kb-go").status_code == 200
    # The two disagree: refused, naming both.
    clash = upload("other.txt", b"Straw.", {**notes, "data_entity_id": "kb-other"}, "kb-go")
    assert clash.status_code == 422 and "kb-other" in clash.text and "kb-go" in clash.text

    query = {"query": "hay bales drying in the wind", "filters": _tree("kb-go", "doc-go"), "top_k": 0}
    response = helix.http.post("/query", json=query)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results and {r["metadata"]["document_id"] for r in results} == {"doc-go"}
    meta = results[0]["metadata"]
    assert meta["document_group_id"] == "group-go" and meta["source"] == paper["source"]
    assert meta["original_filename"] == "2602.23242" and meta["team"] == "blue"
    assert meta["data_entity_id"] == "kb-go" and isinstance(meta["content_offset"], int)
    every = helix.http.post("/query", json={"query": "hay", "filters": _tree("kb-go"), "top_k": 10}).json()
    assert {r["metadata"]["document_id"] for r in every["results"]} == {"doc-go", "doc-go-notes"}

    deleted = helix.http.post("/delete", json={"filters": _tree("kb-go")})
    assert deleted.status_code == 200 and deleted.json()["documents_deleted"] >= 2
    after = helix.http.post("/query", json={"query": "hay", "filters": _tree("kb-go"), "top_k": 10})
    assert after.json()["results"] == []


def test_two_knowledge_sources_uploading_the_same_file_name_keep_both(helix: HelixClient) -> None:
    first = helix.index("README.md", b"# Alpha\n\nAlpha cows graze on clover.", {"data_entity_id": "kb-a"})
    second = helix.index("README.md", b"# Beta\n\nBeta goats climb rocks.", {"data_entity_id": "kb-b"})
    assert first.status_code == second.status_code == 200
    assert first.json()["document_id"] != second.json()["document_id"]
    assert helix.query("cows clover", {"data_entity_id": ["kb-a"]}).json()["results"]
    assert helix.query("goats rocks", {"data_entity_id": ["kb-b"]}).json()["results"]
    # Re-uploading kb-a's README replaces kb-a's version only.
    again = helix.index(
        "README.md", b"# Alpha\n\nAlpha cows now graze on alfalfa.", {"data_entity_id": "kb-a"}
    )
    assert again.json()["document_id"] == first.json()["document_id"]
    contents = [
        r["content"] for r in helix.query("cows", {"data_entity_id": ["kb-a"]}, top_k=10).json()["results"]
    ]
    assert contents and all("alfalfa" in c for c in contents)
    assert helix.query("goats", {"data_entity_id": ["kb-b"]}).json()["results"]
    helix.delete({"data_entity_id": ["kb-a", "kb-b"]})


def test_chunks_follow_the_500_50_character_default(helix: HelixClient) -> None:
    text = ("Hay is grass that has been cut, dried and stored for animal fodder. " * 40).encode()
    body = helix.index("long.txt", text, {"data_entity_id": "kb-chunks", "document_id": "long"}).json()
    results = helix.query("hay grass fodder", {"document_id": ["long"]}, top_k=50).json()["results"]
    assert len(results) == body["chunks"] > 5
    assert all(len(r["content"]) <= 500 for r in results)
    # Helix's Go client sends its results count as is: a knowledge source without one sends 0.
    unset = helix.query("hay grass fodder", {"document_id": ["long"]}, top_k=0)
    assert unset.status_code == 200, unset.text
    assert len(unset.json()["results"]) == 5
    assert helix.query("hay", {"document_id": ["long"]}, top_k=-1).status_code == 422
    helix.delete({"document_id": "long"})


def test_latin1_text_is_decoded(helix: HelixClient) -> None:
    text = "Café crème brûlée à la française, naïveté et Größe."
    response = helix.extract("note.txt", text.encode("latin-1"))
    assert response.json()["text"].strip() == text
