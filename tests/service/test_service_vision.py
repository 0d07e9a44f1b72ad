"""Vision retrieval and OCR over real HTTP: /process-vision and /query-vision (OCR text path with the bundled
MiniLM; multimodal path against a real-HTTP double of vLLM), OCR'd text reaching /process and /query, zip
bombs refused without losing what was stored, tenant scope, and the 400 when vision is off."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from haybale.components.embedders.openai_multimodal_embedders import DSE_IMAGE_PROMPT, DSE_QUERY_PREFIX
from haybale.service import ServiceSettings
from haybale.testing.multimodal_embedding_server import create_multimodal_embedding_app, ocr_word_embedder
from haybale.testing.openai_compatible_server import OpenAICompatibleServer
from haybale.testing.sample_files import image_only_pdf, text_image, zip_archive, zip_bomb

from .conftest import RunningService, running_service, upload

pytestmark = pytest.mark.slow  # OCR and MiniLM

SCAN = image_only_pdf([["Minutes of the cooperative meeting"], ["The zebra migration crossed the river"]])
PHOTO = text_image(["Tractor tyre pressure is 1.2 bar"])
KEYS = {"key-a": "farm-a", "key-b": "farm-b"}


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    folder = tmp_path_factory.mktemp("service-vision")
    settings = ServiceSettings(store_url=f"sqlite:///{folder / 'index.db'}", api_keys=KEYS)
    with running_service(settings) as running:
        yield running


def test_process_vision_then_query_vision_on_the_ocr_text_path(service: RunningService) -> None:
    meta = json.dumps({"data_entity_id": "kb-1", "document_id": "minutes"})
    response = upload(
        service, name="minutes.pdf", data=SCAN, metadata=meta, route="/process-vision", headers=_auth("key-a")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success" and body["indexed_count"] == 2 and body["document_id"] == "minutes"
    photo = upload(service, name="tyre.png", data=PHOTO, route="/process-vision", headers=_auth("key-a"))
    assert photo.status_code == 200, photo.text

    found = service.client.post(
        "/query-vision", json={"query": "zebra migration", "top_k": 2}, headers=_auth("key-a")
    ).json()
    assert found["mode"] == "ocr-text" and found["model"].startswith("ocr-text:")
    best = found["results"][0]
    assert best["metadata"]["page_number"] == 2 and best["metadata"]["document_id"] == "minutes"
    assert best["chunk_id"] == "minutes-page-2" and "zebra" in best["content"].lower()
    assert best["image"].startswith("data:image/png;base64,") and 0 < best["score"] <= 1
    assert best["score"] > found["results"][1]["score"]
    lean = service.client.post(
        "/query-vision",
        json={"query": "tyre pressure", "top_k": 1, "include_images": False},
        headers=_auth("key-a"),
    ).json()["results"][0]
    assert lean["metadata"]["file_name"] == "tyre.png" and lean["image"] is None

    # the vision pages live beside the text index, not in it, and another tenant sees none of them
    assert service.count({"field": "meta.document_id", "operator": "==", "value": "minutes"}) == 0
    other = service.client.post("/query-vision", json={"query": "zebra migration"}, headers=_auth("key-b"))
    assert other.status_code == 200 and other.json()["results"] == []

    # re-uploading replaces the document's pages instead of adding more; the same bytes are "unchanged"
    again = upload(
        service, name="minutes.pdf", data=SCAN, metadata=meta, route="/process-vision", headers=_auth("key-a")
    )
    assert again.json()["documents"][0]["status"] == "unchanged" and again.json()["indexed_count"] == 2
    vision_store = service.state.app.vision().opened.store
    minutes = {"field": "meta.document_id", "operator": "==", "value": "minutes"}
    assert vision_store.count_documents(minutes) == 2

    # a page deleted on its own (by chunk_id) comes back with the next upload: the document is not "unchanged"
    one_page = {"filters": {"chunk_id": "minutes-page-1"}}
    removed = service.client.post("/delete", json=one_page, headers=_auth("key-a"))
    assert removed.json()["documents_deleted"] == 1
    healed = upload(
        service, name="minutes.pdf", data=SCAN, metadata=meta, route="/process-vision", headers=_auth("key-a")
    )
    assert healed.json()["documents"][0]["status"] == "indexed" and vision_store.count_documents(minutes) == 2

    # /delete removes the document's pages too, and only the caller's
    deleted = service.client.post(
        "/delete", json={"filters": {"document_id": "minutes"}}, headers=_auth("key-b")
    )
    assert deleted.json()["documents_deleted"] == 0 and vision_store.count_documents(minutes) == 2
    deleted = service.client.post(
        "/delete", json={"filters": {"document_id": "minutes"}}, headers=_auth("key-a")
    )
    assert deleted.json()["documents_deleted"] == 2 and vision_store.count_documents(minutes) == 0


def test_ocr_text_reaches_process_and_query(service: RunningService) -> None:
    response = upload(
        service, name="scan.pdf", data=SCAN, metadata='{"document_id": "scan"}', headers=_auth("key-b")
    )
    assert response.status_code == 200, response.text
    [document] = response.json()["documents"]
    assert document["ocr_pages"] == [1, 2]
    hits = service.client.post(
        "/query", json={"query": "zebra migration river", "top_k": 1}, headers=_auth("key-b")
    )
    [hit] = hits.json()["results"]
    assert hit["metadata"]["page_number"] == 2 and "zebra" in hit["content"].lower()
    assert hit["metadata"]["ocr"] is True and hit["metadata"]["ocr_boxes"]


def test_zip_bomb_is_refused_and_nothing_stored_is_lost(service: RunningService) -> None:
    good = zip_archive({"notes/readme.txt": b"Bale storage needs dry air.", "photo.png": PHOTO})
    response = upload(
        service, name="bundle.zip", data=good, metadata='{"document_id": "bundle"}', headers=_auth("key-a")
    )
    assert response.status_code == 200, response.text
    before = service.count()
    bomb = upload(
        service,
        name="bundle.zip",
        data=zip_bomb(48),
        metadata='{"document_id": "bundle"}',
        headers=_auth("key-a"),
    )
    assert bomb.status_code == 422 and "likely zip bomb" in bomb.json()["detail"]
    assert service.count() == before
    hits = service.client.post(
        "/query", json={"query": "tyre pressure", "top_k": 3}, headers=_auth("key-a")
    ).json()
    assert any(h["metadata"].get("container_path") == "bundle.zip/photo.png" for h in hits["results"])


def test_vision_routes_refuse_other_files_and_bad_input(service: RunningService) -> None:
    text = upload(
        service, name="notes.txt", data=b"plain text", route="/process-vision", headers=_auth("key-a")
    )
    assert text.status_code == 422 and "not a PDF or an image" in text.json()["detail"]
    assert service.client.post("/query-vision", json={"query": "x"}).status_code == 401
    bad = service.client.post(
        "/query-vision", json={"query": "x", "filters": {"operator": "XOR"}}, headers=_auth("key-a")
    )
    assert bad.status_code == 400


def test_vision_off_answers_400(tmp_path: Path) -> None:
    settings = ServiceSettings(
        store_url=f"sqlite:///{tmp_path / 'index.db'}", vision_enabled=False, embed=False
    )
    with running_service(settings) as running:
        process = upload(running, name="a.png", data=PHOTO, route="/process-vision")
        query = running.client.post("/query-vision", json={"query": "x"})
    for response in (process, query):
        assert response.status_code == 400 and response.json()["detail"].startswith(
            "Vision RAG is not enabled"
        )
    assert not (tmp_path / "index_vision.db").exists()


def test_a_pdf_over_the_page_limit_is_refused_before_any_page_is_rendered(tmp_path: Path) -> None:
    settings = ServiceSettings(
        store_url=f"sqlite:///{tmp_path / 'index.db'}", vision_max_pages=1, embed=False
    )
    with running_service(settings) as running:
        response = upload(running, name="minutes.pdf", data=SCAN, route="/process-vision")
    assert response.status_code == 422
    assert "'minutes.pdf' has 2 pages, more than the 1 accepted" in response.json()["detail"]


def test_multimodal_path_against_a_vllm_double(tmp_path: Path) -> None:
    double = create_multimodal_embedding_app(ocr_word_embedder(ignore=(DSE_IMAGE_PROMPT, DSE_QUERY_PREFIX)))
    with OpenAICompatibleServer(double) as vllm:
        settings = ServiceSettings(
            store_url=f"sqlite:///{tmp_path / 'index.db'}",
            vision_base_url=vllm.base_url.removesuffix("/v1"),
            embedding_dim=128,
            embed=False,
        )
        with running_service(settings) as running:
            indexed = upload(running, name="minutes.pdf", data=SCAN, route="/process-vision")
            assert indexed.status_code == 200
            assert indexed.json()["message"] == "Successfully processed minutes.pdf (indexed, 2 pages)."
            found = running.client.post("/query-vision", json={"query": "cooperative meeting"}).json()
    assert found["mode"] == "multimodal" and found["model"] == "MrLight/dse-qwen2-2b-mrl-v1"
    top = found["results"][0]
    assert top["metadata"]["page_number"] == 1 and [r["rank"] for r in found["results"]] == [1, 2]
    # No OCR text on this path: the content is the page image, as Helix's client expects of a vision result.
    assert top["content"] == top["image"] and top["content"].startswith("data:image/png;base64,")
    assert len(double.state.requests) == 3  # two pages, one query
