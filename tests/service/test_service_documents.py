"""The document routes over real HTTP, without models (chunks stored without embeddings): /process,
/delete, /extract, /health, /metrics, and how client mistakes are answered (413, 422, 400) without touching
the store."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from haybale.service import ServiceSettings

from .conftest import CORPUS, RunningService, running_service, upload

MAX_UPLOAD = 64 * 1024


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    folder = tmp_path_factory.mktemp("service-docs")
    settings = ServiceSettings(
        store_url=f"sqlite:///{folder / 'index.db'}", embed=False, max_upload_bytes=MAX_UPLOAD, chunk_size=60
    )
    with running_service(settings) as running:
        yield running


def _by_file(name: str) -> dict[str, str]:
    return {"field": "meta.file_name", "operator": "==", "value": name}


def test_health_needs_nothing(service: RunningService) -> None:
    response = service.client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"  # the word the Helix Haystack service answers
    assert service.client.get("/health/live").json()["status"] == "healthy"


def test_health_is_a_readiness_check_of_the_store(tmp_path: Path) -> None:
    """The seed's /health is a readiness check: 503 while the store cannot answer; /health/live stays 200."""
    settings = ServiceSettings(
        store_url="postgresql://haybale:secret-pw@127.0.0.1:1/nowhere?table=docs", embed=False
    )
    with running_service(settings) as running:
        response = running.client.get("/health")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable" and "not ready" in body["detail"]
        assert (
            "secret-pw" not in response.text and "127.0.0.1" not in response.text
        )  # the cause is logged only
        assert response.headers["retry-after"] == "5"
        assert running.client.get("/health/live").status_code == 200


@pytest.mark.parametrize("file_name", ["glossary.txt", "rag_overview.md", "baling_guide.pdf"])
def test_process_indexes_txt_md_pdf_with_stable_metadata(service: RunningService, file_name: str) -> None:
    response = upload(service, CORPUS / file_name, metadata='{"category": "corpus", "year": 2024}')
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    assert body["documents_processed"] >= 1
    assert body["chunks_indexed"] == service.count(_by_file(file_name)) > 0
    assert file_name in body["message"]
    chunks = service.state.store.filter_documents(_by_file(file_name))
    for chunk in chunks:
        assert chunk.meta["source"] == file_name  # the upload name, never a temporary path
        assert chunk.meta["category"] == "corpus" and chunk.meta["year"] == 2024
        assert "/tmp" not in str(chunk.meta.get("file_path", ""))


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("f.py", "def f(x):\n    if x:\n        return 1\n    return 2"),
        ("main.go", "func main() {\n\tif ok {\n\t\trun()\n\t}\n}"),
        ("deploy.yaml", "web:\n  image: hay\n  ports:\n    - 80"),
        ("Makefile", "all:\n\tcc -o hay hay.c"),
    ],
)
def test_source_code_is_indexed_with_its_indentation(service: RunningService, name: str, code: str) -> None:
    """Seed: "Code: Source files (with syntax preservation)"; Helix sends every file as octet-stream."""
    response = service.client.post(
        "/process", files={"file": (name, code.encode() + b"\n", "application/octet-stream")}
    )
    assert response.status_code == 200, response.text
    chunks = service.state.store.filter_documents(_by_file(name))
    assert (
        "\n".join(c.content for c in sorted(chunks, key=lambda c: c.meta["content_offset"]))[:20] == code[:20]
    )
    assert any(c.content == code for c in chunks) or code.startswith(chunks[0].content)
    extracted = service.client.post(
        "/extract", files={"file": (name, code.encode(), "application/octet-stream")}
    )
    assert extracted.status_code == 200 and extracted.json()["text"] == code


def test_a_zip_of_code_is_indexed_and_one_with_an_unconvertible_member_is_refused_whole(
    service: RunningService,
) -> None:
    from haybale.testing.sample_files import zip_archive

    good = zip_archive(
        {"src/main.go": b"package main\n", "README.md": b"# Hay\n", "cfg.yaml": b"a:\n  b: 1\n"}
    )
    indexed = upload(service, name="code.zip", data=good)
    assert indexed.status_code == 200, indexed.text
    assert indexed.json()["chunks_indexed"] == 3
    bad = zip_archive({"README.md": b"# Straw\n", "blob.bin": bytes(range(256)), "cut.pdf": b"%PDF-1.4 cut"})
    before = service.count()
    for route in ("/process", "/extract"):  # both refuse it, naming each member and why
        refused = upload(service, name="mixed.zip", data=bad, route=route)
        assert refused.status_code == 422, refused.text
        detail = refused.json()["detail"]
        assert "mixed.zip/blob.bin" in detail and "mixed.zip/cut.pdf" in detail
    assert (
        "Nothing of 'mixed.zip' was indexed" in upload(service, name="mixed.zip", data=bad).json()["detail"]
    )
    assert service.count() == before  # not the README either


def test_reupload_replaces_chunks_exactly_once(service: RunningService) -> None:
    first = upload(service, CORPUS / "weather_and_hay.txt")
    assert first.status_code == 200, first.text
    ids_before = sorted(d.id for d in service.state.store.filter_documents(_by_file("weather_and_hay.txt")))
    second = upload(service, CORPUS / "weather_and_hay.txt")
    assert second.status_code == 200
    ids_after = sorted(d.id for d in service.state.store.filter_documents(_by_file("weather_and_hay.txt")))
    assert ids_after == ids_before  # same ids, no duplicates
    assert second.json()["document_id"] == first.json()["document_id"]
    assert second.json()["indexed_count"] == second.json()["chunks"] == len(ids_before)
    assert second.json()["documents"][0]["status"] == "unchanged"  # same bytes and metadata: no work


def test_reupload_after_one_chunk_was_deleted_restores_it(service: RunningService) -> None:
    meta = '{"document_id": "heal-1"}'
    first = upload(
        service, name="heal.txt", data=b"Hay bales keep best when stacked off the ground. " * 8, metadata=meta
    )
    assert first.status_code == 200 and first.json()["chunks"] >= 3
    whole = sorted(d.meta["chunk_id"] for d in service.state.store.filter_documents(_by_file("heal.txt")))
    deleted = service.client.post("/delete", json={"filters": {"chunk_id": "heal-1-chunk-1"}})
    assert deleted.json()["documents_deleted"] == 1
    again = upload(
        service, name="heal.txt", data=b"Hay bales keep best when stacked off the ground. " * 8, metadata=meta
    )
    assert again.status_code == 200
    assert again.json()["documents"][0]["status"] == "indexed"  # not "unchanged": a chunk was missing
    restored = sorted(d.meta["chunk_id"] for d in service.state.store.filter_documents(_by_file("heal.txt")))
    assert restored == whole
    third = upload(
        service, name="heal.txt", data=b"Hay bales keep best when stacked off the ground. " * 8, metadata=meta
    )
    assert third.json()["documents"][0]["status"] == "unchanged"


def test_reupload_with_new_content_drops_the_old_chunks(service: RunningService) -> None:
    name = "notes.txt"
    assert upload(service, name=name, data=b"Alfalfa hay is cut early. " * 30).status_code == 200
    response = upload(service, name=name, data=b"Timothy grass grows slowly.")
    assert response.status_code == 200
    chunks = service.state.store.filter_documents(_by_file(name))
    assert [c.content for c in chunks] == ["Timothy grass grows slowly."]


def test_delete_by_filter_removes_only_matches(service: RunningService) -> None:
    upload(service, CORPUS / "glossary.txt")
    upload(service, CORPUS / "bm25_explained.md")
    expected = service.count(_by_file("glossary.txt"))
    others = service.count(_by_file("bm25_explained.md"))
    response = service.client.post("/delete", json={"filters": _by_file("glossary.txt")})
    assert response.status_code == 200
    assert response.json() == {"status": "success", "documents_deleted": expected}
    assert service.count(_by_file("glossary.txt")) == 0
    assert service.count(_by_file("bm25_explained.md")) == others


def test_a_delete_refused_by_a_locked_store_changes_nothing_and_says_to_retry(tmp_path: Path) -> None:
    settings = ServiceSettings(store_url=f"sqlite:///{tmp_path / 'index.db'}", embed=False)
    with running_service(settings) as running:
        meta = '{"data_entity_id": "kb-del"}'
        assert upload(running, name="kb.txt", data=b"Hay keeps dry. " * 40, metadata=meta).status_code == 200
        stored = running.count()
        vision = running.state.app.vision()
        vision.opened.store.lock_timeout = 0.2  # the page-image store: give up fast (connections open lazily)
        assert vision.opened.store.count_documents() == 0
        holder = sqlite3.connect(tmp_path / "index_vision.db", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another process writing the page-image store
        try:
            refused = running.client.post("/delete", json={"filters": {"data_entity_id": "kb-del"}})
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert refused.status_code == 503, refused.text
        detail = refused.json()["detail"]
        assert "locked" in detail and "nothing was written" in detail and "Retry" in detail
        assert running.count() == stored  # the text chunks were not deleted before the failure
        retried = running.client.post("/delete", json={"filters": {"data_entity_id": "kb-del"}})
        assert retried.status_code == 200 and retried.json()["documents_deleted"] == stored
        assert running.count() == 0


def test_delete_accepts_shorthand_filters(service: RunningService) -> None:
    upload(service, name="tagged.txt", data=b"Haylage is fermented forage.", metadata='{"tag": "x1"}')
    response = service.client.post("/delete", json={"filters": {"tag": "x1"}})
    assert response.status_code == 200
    assert response.json()["documents_deleted"] == 1


def test_extract_returns_text_and_stores_nothing(service: RunningService) -> None:
    before = service.count()
    response = upload(service, CORPUS / "vector_search.pdf", route="/extract")
    assert response.status_code == 200, response.text
    text = response.json()["text"]
    assert "vector" in text.lower()
    assert service.count() == before


def test_extract_cleans_the_text_as_indexing_does(service: RunningService) -> None:
    """The seed's extraction ends with text cleaning: artifacts removed, whitespace normalized. /extract
    returns exactly the text /process chunks, and source code keeps its layout."""
    messy = b"First   line  \n\n\n\n   Second\tline of the  extract test."
    extracted = upload(service, name="messy.txt", data=messy, route="/extract")
    assert extracted.status_code == 200, extracted.text
    assert extracted.json()["text"] == "First line\nSecond line of the extract test."
    upload(service, name="messy.txt", data=messy, metadata='{"document_id": "messy-extract"}')
    chunks = service.state.store.filter_documents(
        {"field": "meta.document_id", "operator": "==", "value": "messy-extract"}
    )
    assert [chunk.content for chunk in chunks] == [extracted.json()["text"]]
    code = b"def f():\n\treturn  1\n\n\n\nx = 2\n"
    assert upload(service, name="f.py", data=code, route="/extract").json()["text"] == code.decode().rstrip()


def test_oversized_upload_is_413_and_store_unchanged(service: RunningService) -> None:
    upload(service, CORPUS / "glossary.txt")
    before = sorted(d.id for d in service.state.store.filter_documents())
    response = upload(service, name="glossary.txt", data=b"x" * (MAX_UPLOAD + 1))
    assert response.status_code == 413
    assert str(MAX_UPLOAD) in response.json()["detail"]
    assert sorted(d.id for d in service.state.store.filter_documents()) == before


def test_oversized_chunked_upload_is_cut_off_while_streaming(service: RunningService) -> None:
    """No Content-Length: the limit is enforced on the bytes as they arrive."""
    before = service.count()
    boundary = "haybaleboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(64):  # 4 MiB in total, far over the limit plus the multipart allowance
            yield b"y" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    response = service.client.post(
        "/process", content=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 413
    assert service.count() == before


def test_corrupt_pdf_is_422_and_service_keeps_serving(service: RunningService) -> None:
    upload(service, CORPUS / "baling_guide.pdf")
    before = service.count()
    response = upload(service, name="baling_guide.pdf", data=b"%PDF-1.7\n1 0 obj <<garbage\n%%EOF")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "baling_guide.pdf" in detail
    assert service.count() == before  # the earlier chunks of that source are untouched
    assert service.client.get("/health").status_code == 200
    assert upload(service, CORPUS / "glossary.txt").status_code == 200


def test_unsupported_binary_is_422(service: RunningService) -> None:
    response = upload(service, name="program.exe", data=bytes(range(256)) * 4)
    assert response.status_code == 422
    assert "program.exe" in response.json()["detail"]


def test_file_with_no_text_is_422(service: RunningService) -> None:
    response = upload(service, name="empty.txt", data=b"   \n")
    assert response.status_code == 422
    assert "no extractable text" in response.json()["detail"]
    for data in (b"   \n", b""):  # the file's reason, then what the service did: one sentence each
        detail = upload(service, name="empty.txt", data=data).json()["detail"]
        assert ".." not in detail and detail.endswith(". Nothing stored was changed."), detail


@pytest.mark.parametrize(
    ("metadata", "status"),
    [("{not json", 400), ("[1, 2]", 422), ('"text"', 422)],  # not JSON: 400 as the Helix service answers
)
def test_malformed_metadata_is_refused(service: RunningService, metadata: str, status: int) -> None:
    before = service.count()
    response = upload(service, CORPUS / "glossary.txt", metadata=metadata)
    assert response.status_code == status
    assert "metadata" in response.json()["detail"]
    if status == 400:
        assert response.json()["detail"].startswith("Invalid metadata JSON")
    assert service.count() == before


def test_the_reserved_tenant_field_is_refused_without_tenant_keys_not_dropped(
    service: RunningService,
) -> None:
    before = service.count()
    response = upload(service, CORPUS / "glossary.txt", metadata='{"tenant": "acme", "document_id": "t-1"}')
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "'glossary.txt'" in detail and "'tenant'" in detail and "Rename the field" in detail
    assert service.count() == before
    renamed = upload(service, CORPUS / "glossary.txt", metadata='{"customer": "acme", "document_id": "t-1"}')
    assert renamed.status_code == 200
    assert service.count({"field": "meta.customer", "operator": "==", "value": "acme"}) > 0


def test_missing_file_part_is_422(service: RunningService) -> None:
    response = service.client.post("/process", data={"metadata": "{}"}, files={"other": ("a.txt", b"x")})
    assert response.status_code == 422
    assert "'file'" in response.json()["detail"]
    assert service.client.post("/process", json={"file": "x"}).status_code == 422


@pytest.mark.parametrize("route", ["/process", "/extract"])
def test_a_file_field_sent_as_text_is_named_as_such(service: RunningService, route: str) -> None:
    # `curl -F file=notes.txt` (no @) or a part without a file name arrives as a text field, not a file.
    as_text = {"data": {"file": "notes.txt"}, "files": {"other": ("other.txt", b"x")}}
    for request in (as_text, {"files": {"file": ("", b"hello")}}):
        response = service.client.post(route, **request)
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert "not a file" in detail and "file name" in detail, detail


@pytest.mark.parametrize("route", ["/delete", "/query"])
def test_unknown_filter_operator_is_400_with_the_filter_error(service: RunningService, route: str) -> None:
    before = service.count()
    bad = {"field": "meta.file_name", "operator": "~=", "value": "glossary.txt"}
    body = {"filters": bad} if route == "/delete" else {"query": "hay", "filters": bad}
    response = service.client.post(route, json=body)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "unknown operator '~='" in detail and "'=='" in detail
    assert service.count() == before


def test_empty_delete_filter_is_refused(service: RunningService) -> None:
    before = service.count()
    response = service.client.post("/delete", json={"filters": {}})
    assert response.status_code == 422
    assert "empty filter" in response.json()["detail"]
    assert service.count() == before


def test_unknown_route_is_json_404(service: RunningService) -> None:
    response = service.client.get("/nope")
    assert response.status_code == 404
    assert "detail" in response.json()


def test_metrics_in_prometheus_format(service: RunningService) -> None:
    upload(service, CORPUS / "glossary.txt")
    service.client.post("/delete", json={"filters": {}})
    response = service.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE haybale_http_requests_total counter" in text
    assert 'haybale_http_requests_total{method="POST",route="/process",status="200"}' in text
    assert 'haybale_http_requests_total{method="POST",route="/delete",status="422"}' in text
    assert 'haybale_http_request_duration_seconds_bucket{method="POST",route="/process",le="+Inf"}' in text
    process_labels = 'method="POST",route="/process"'
    buckets = [
        int(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(f"haybale_http_request_duration_seconds_bucket{{{process_labels},le=")
    ]
    (count_line,) = [
        line
        for line in text.splitlines()
        if line.startswith(f"haybale_http_request_duration_seconds_count{{{process_labels}}} ")
    ]
    assert buckets == sorted(buckets)  # cumulative buckets never decrease
    assert buckets[-1] == int(count_line.split()[1]) >= 1  # +Inf holds every observed request
    indexed = [line for line in text.splitlines() if line.startswith("haybale_documents_indexed_total ")]
    assert len(indexed) == 1 and int(indexed[0].split()[1]) > 0


def test_settings_from_env_paths(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("# tenants\nkey-a:alpha\nkey-b:beta\n", encoding="utf-8")
    settings = ServiceSettings.from_env(
        {
            "HAYBALE_API_KEYS_FILE": str(keys),
            "HAYBALE_API_KEYS": "key-c:gamma",
            "HAYBALE_MAX_UPLOAD_BYTES": "1024",
            "HAYBALE_PIPELINES_DIR": str(tmp_path),
        }
    )
    assert settings.api_keys == {"key-a": "alpha", "key-b": "beta", "key-c": "gamma"}
    assert settings.max_upload_bytes == 1024
    assert settings.pipelines_dir == tmp_path
    assert settings.store_url == "sqlite:///.haybale/index.db"
