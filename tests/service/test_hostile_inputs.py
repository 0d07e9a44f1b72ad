"""A corpus of hostile and malformed requests: each gets a clear 4xx, the store is unchanged, and the same
keep-alive connection keeps serving. Runs against SQLite and PostgreSQL/pgvector."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from haybale.service import ServiceSettings

from .conftest import BM25_PIPELINE, CORPUS, RunningService, running_service

KEY = {"Authorization": "Bearer hostile-key"}

NESTED_NOT: dict[str, Any] = {"field": "meta.a", "operator": "==", "value": 1}
for _ in range(50):
    NESTED_NOT = {"operator": "NOT", "conditions": [NESTED_NOT]}


def _zip_bomb_docx() -> bytes:
    """A DOCX whose document.xml expands from a few KB to 64 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", b"<w:t>" + b"A" * (64 * 1024 * 1024) + b"</w:t>")
    return buffer.getvalue()


def _files(name: str, data: bytes, metadata: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {"files": {"file": (name, data)}}
    if metadata is not None:
        request["data"] = {"metadata": metadata}
    return request


def _raw_upload(file_name: bytes) -> dict[str, Any]:
    """A multipart body with the file name exactly as given (clients would escape some characters)."""
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="' + file_name + b'"\r\n\r\n'
        b"hello hay\r\n--b--\r\n"
    )
    return {"content": body, "headers": {"content-type": "multipart/form-data; boundary=b"}}


#: (id, method, path, request kwargs, expected status)
HOSTILE: list[tuple[str, str, str, dict[str, Any], int]] = [
    ("metadata-nan", "POST", "/process", _files("a.txt", b"hello world", '{"x": NaN}'), 422),
    ("metadata-infinity", "POST", "/process", _files("a.txt", b"hello world", '{"x": [Infinity]}'), 422),
    ("metadata-nul-value", "POST", "/process", _files("a.txt", b"hello", '{"x": "a\\u0000b"}'), 422),
    ("metadata-nul-key", "POST", "/process", _files("a.txt", b"hello", '{"a\\u0000": 1}'), 422),
    ("metadata-not-json", "POST", "/process", _files("a.txt", b"hello", "{oops"), 400),  # as Helix's service
    ("metadata-array-wrong-length", "POST", "/process", _files("a.txt", b"hello", "[{}, {}]"), 422),
    ("metadata-deep", "POST", "/process", _files("a.txt", b"hello", "[" * 40 + "]" * 40), 422),
    ("metadata-very-deep", "POST", "/process", _files("a.txt", b"hello", "[" * 20_000 + "]" * 20_000), 422),
    (
        "metadata-bad-document-id",
        "POST",
        "/process",
        _files("a.txt", b"hello", '{"document_id": {"a": 1}}'),
        422,
    ),
    (
        "metadata-other-tenant",
        "POST",
        "/process",
        _files("a.txt", b"hello", '{"tenant": "someone-else"}'),
        403,
    ),
    ("metadata-lone-surrogate", "POST", "/process", _files("a.txt", b"hello", '{"x": "a\\ud800b"}'), 422),
    ("metadata-lone-surrogate-key", "POST", "/process", _files("a.txt", b"hello", '{"\\udfff": 1}'), 422),
    (
        "query-lone-surrogate",
        "POST",
        "/query",
        {"content": b'{"query": "\\ud800zebrafish"}', "headers": {"content-type": "application/json"}},
        422,
    ),
    (
        "pipeline-lone-surrogate",
        "POST",
        "/pipelines/search/run",
        {"content": b'{"query": "hay \\udc00"}', "headers": {"content-type": "application/json"}},
        422,
    ),
    ("filename-nul", "POST", "/process", _raw_upload(b"notes\x00.txt"), 422),
    ("filename-nul-extract", "POST", "/extract", _raw_upload(b"notes\x00.txt"), 422),
    ("no-file-part", "POST", "/process", {"data": {"metadata": "{}"}}, 422),
    (
        "extract-url-only",
        "POST",
        "/extract",
        {"files": {"url": (None, "http://169.254.169.254/latest")}},
        422,
    ),
    ("json-instead-of-multipart", "POST", "/process", {"json": {"file": "x"}}, 422),
    ("empty-file", "POST", "/process", _files("empty.txt", b""), 422),
    ("binary-as-text", "POST", "/process", _files("notes.txt", bytes(range(256)) * 64), 422),
    (
        "truncated-pdf",
        "POST",
        "/process",
        _files("cut.pdf", (CORPUS / "vector_search.pdf").read_bytes()[:700]),
        422,
    ),
    ("corrupt-docx", "POST", "/process", _files("broken.docx", b"PK\x03\x04 this is not a zip"), 422),
    ("zip-bomb-docx", "POST", "/process", _files("bomb.docx", _zip_bomb_docx()), 422),
    ("oversized-upload", "POST", "/process", _files("big.txt", b"x" * (3 * 1024 * 1024)), 413),
    ("query-wrong-type", "POST", "/query", {"json": {"query": 123}}, 422),
    ("query-empty", "POST", "/query", {"json": {"query": "  \u0000 "}}, 422),
    ("query-negative-top-k", "POST", "/query", {"json": {"query": "hay", "top_k": -5}}, 422),
    ("query-huge-top-k", "POST", "/query", {"json": {"query": "hay", "top_k": 10**9}}, 422),
    ("query-filters-string", "POST", "/query", {"json": {"query": "hay", "filters": "year=2020"}}, 422),
    (
        "query-unknown-operator",
        "POST",
        "/query",
        {"json": {"query": "hay", "filters": {"field": "a", "operator": "~", "value": 1}}},
        400,
    ),
    (
        "query-nul-filter-value",
        "POST",
        "/query",
        {"json": {"query": "hay", "filters": {"source": "a\u0000"}}},
        400,
    ),
    (
        "query-nul-filter-field",
        "POST",
        "/query",
        {"json": {"query": "hay", "filters": {"so\u0000urce": "a"}}},
        400,
    ),
    ("query-50-nested-nots", "POST", "/query", {"json": {"query": "hay", "filters": NESTED_NOT}}, 400),
    (
        "query-nan-filter",
        "POST",
        "/query",
        {
            "content": b'{"query": "hay", "filters": {"x": NaN}}',
            "headers": {"content-type": "application/json"},
        },
        400,
    ),
    ("query-extra-field", "POST", "/query", {"json": {"query": "hay", "drop_table": True}}, 422),
    (
        "query-not-json",
        "POST",
        "/query",
        {"content": b"{", "headers": {"content-type": "application/json"}},
        422,
    ),
    ("delete-empty-filters", "POST", "/delete", {"json": {"filters": {}}}, 422),
    ("delete-nested-nots", "POST", "/delete", {"json": {"filters": NESTED_NOT}}, 400),
    ("delete-wrong-type", "POST", "/delete", {"json": {"filters": ["a"]}}, 422),
    (
        "extract-two-files",
        "POST",
        "/extract",
        {"files": [("file", ("a.txt", b"a")), ("file", ("b.txt", b"b"))]},
        422,
    ),
    ("extract-corrupt", "POST", "/extract", _files("x.pdf", b"%PDF-1.7 garbage"), 422),
    ("pipeline-unknown", "POST", "/pipelines/nope/run", {"json": {}}, 404),
    ("pipeline-bad-name", "POST", "/pipelines/..%2Fetc/run", {"json": {}}, 404),
    ("pipeline-runtime-top-k", "POST", "/pipelines/search/run", {"json": {"query": "hay", "top_k": -5}}, 422),
    ("pipeline-unknown-input", "POST", "/pipelines/search/run", {"json": {"qeury": "hay"}}, 422),
    ("pipeline-wrong-input-type", "POST", "/pipelines/search/run", {"json": {"query": ["hay"]}}, 422),
    (
        "pipeline-nested-nots",
        "POST",
        "/pipelines/search/run",
        {"json": {"query": "hay", "filters": NESTED_NOT}},
        422,
    ),
    ("pipeline-body-array", "POST", "/pipelines/search/run", {"json": [1, 2]}, 422),
    (
        "pipeline-body-deep",
        "POST",
        "/pipelines/search/run",
        {"content": b"[" * 100_000 + b"]" * 100_000, "headers": {"content-type": "application/json"}},
        422,
    ),
    (
        "pipeline-body-latin-1",
        "POST",
        "/pipelines/search/run",
        {
            "content": '{"query": "caf\u00e9"}'.encode("latin-1"),
            "headers": {"content-type": "application/json"},
        },
        422,
    ),
    (
        "pipeline-inputs-deep",
        "POST",
        "/pipelines/search/run",
        {"files": {"inputs": (None, "[" * 20_000 + "]" * 20_000)}},
        422,
    ),
    (
        "chat-unknown-model",
        "POST",
        "/v1/chat/completions",
        {"json": {"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]}},
        404,
    ),
    (
        "chat-no-messages",
        "POST",
        "/v1/chat/completions",
        {"json": {"model": "haybale-rag", "messages": []}},
        422,
    ),
]


def _snapshot(service: RunningService) -> list[tuple[str, str | None, str]]:
    return sorted(
        (d.id, d.content, json.dumps(d.meta, sort_keys=True, default=str))
        for d in service.state.store.filter_documents()
    )


@pytest.fixture(scope="module", params=["sqlite", pytest.param("pgvector", marks=pytest.mark.pg)])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "pipelines").mkdir()
    (folder / "pipelines" / "search.yaml").write_text(BM25_PIPELINE.format(path=folder / "search.db"))
    if request.param == "sqlite":
        store_url = f"sqlite:///{folder / 'index.db'}"
    else:
        server = request.getfixturevalue("pg_server")
        separator = "&" if "?" in server.dsn else "?"
        store_url = f"{server.dsn}{separator}table=hostile_documents"
    settings = ServiceSettings(
        store_url=store_url,
        api_keys={"hostile-key": "acme"},
        pipelines_dir=folder / "pipelines",
        max_upload_bytes=2 * 1024 * 1024,
        embed=False,
    )
    with running_service(settings) as running:
        response = running.client.post(
            "/process",
            files={"file": ("glossary.txt", (CORPUS / "glossary.txt").read_bytes())},
            data={"metadata": json.dumps({"data_entity_id": "kb-1", "tags": ["seed"]})},
            headers=KEY,
        )
        assert response.status_code == 200, response.text
        yield running


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_request_gets_a_clear_4xx_and_changes_nothing(
    service: RunningService, hostile: tuple[str, str, str, dict[str, Any], int]
) -> None:
    case, method, path, kwargs, expected = hostile
    before = _snapshot(service)
    kwargs = dict(kwargs)
    headers = {**KEY, **kwargs.pop("headers", {})}
    response = service.client.request(method, path, headers=headers, **kwargs)
    assert response.status_code == expected, f"{case}: {response.status_code} {response.text[:500]}"
    detail = response.json()["detail"]
    assert detail, case  # always says what was wrong
    assert _snapshot(service) == before, f"{case} changed the store"
    # The same keep-alive connection keeps serving.
    assert service.client.get("/health").status_code == 200


def test_a_json_body_sent_as_text_is_told_to_send_json(service: RunningService) -> None:
    response = service.client.post(
        "/query", headers={**KEY, "content-type": "text/plain"}, content=b'{"query": "hay"}'
    )
    assert response.status_code == 422, response.text
    assert "Content-Type: application/json" in response.json()["detail"][0]["msg"]
    assert "text/plain" in response.json()["detail"][0]["msg"]


def test_a_json_body_without_a_content_type_is_told_to_send_json(service: RunningService) -> None:
    response = service.client.post("/query", headers=KEY, content=b'{"query": "hay"}')
    assert response.status_code == 422, response.text
    assert "without a Content-Type" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"query": "hay", "filters": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nests too deeply"),
        ('{"query": "caf\u00e9"}'.encode("latin-1"), "not UTF-8"),
    ],
    ids=["deeply-nested", "latin-1"],
)
def test_a_json_body_that_cannot_be_parsed_says_why(service: RunningService, body: bytes, says: str) -> None:
    before = _snapshot(service)
    headers = {**KEY, "content-type": "application/json"}
    for route in ("/query", "/delete", "/v1/chat/completions"):
        response = service.client.post(route, headers=headers, content=body)
        assert response.status_code == 400, f"{route}: {response.text[:500]}"
        assert says in response.json()["detail"], route
    assert _snapshot(service) == before
    assert service.client.get("/health").status_code == 200


def test_extract_with_a_url_instead_of_a_file_says_urls_are_not_fetched(service: RunningService) -> None:
    """The Helix Haystack service's /extract downloaded a 'url' field; this one never requests what a caller
    names (server-side request forgery), and says how to send the document instead."""
    response = service.client.post("/extract", headers=KEY, files={"url": (None, "http://127.0.0.1:1/x")})
    assert response.status_code == 422
    assert "does not fetch URLs" in response.json()["detail"] and "'file' part" in response.json()["detail"]


def test_long_queries_are_answered_and_an_overlong_one_is_not_echoed_back(service: RunningService) -> None:
    long_query = "glossary terms " * 2_000  # 30,000 characters: a prompt with pasted text
    answered = service.client.post("/query", headers=KEY, json={"query": long_query})
    assert answered.status_code == 200, answered.text[:500]
    overlong = service.client.post("/query", headers=KEY, json={"query": "x" * 1_500_000})
    assert overlong.status_code == 422
    assert len(overlong.content) < 2_000  # the 1.5 MB query is not echoed in the error
    error = overlong.json()["detail"][0]
    assert "100000 characters" in error["msg"] and "(1,500,000 characters)" in error["input"]


def test_a_json_body_over_the_upload_limit_is_413(service: RunningService) -> None:
    """JSON routes have the same body limit as uploads, declared (Content-Length) or streamed (chunked)."""
    too_big = b'{"query": "' + b"hay " * (1024 * 1024) + b'"}'  # 4 MiB; the limit is 2 MiB (+ 1 MiB framing)

    def chunked() -> Iterator[bytes]:
        for start in range(0, len(too_big), 65536):
            yield too_big[start : start + 65536]

    headers = {**KEY, "content-type": "application/json"}
    for content in (too_big, chunked()):
        response = service.client.post("/query", content=content, headers=headers)
        assert response.status_code == 413, response.text[:300]
        assert "HAYBALE_MAX_UPLOAD_BYTES" in response.json()["detail"]
    assert service.client.post("/query", json={"query": "hay"}, headers=KEY).status_code == 200


def test_a_corrupt_file_next_to_a_good_one_is_reported_and_the_good_one_indexed(
    service: RunningService,
) -> None:
    files = [
        ("file", ("good.md", b"# Good\n\nTimothy grass makes fine horse hay.")),
        ("file", ("bad.pdf", b"%PDF-1.4 not really")),
    ]
    metadata = json.dumps([{"data_entity_id": "kb-2"}, {"data_entity_id": "kb-2"}])
    response = service.client.post("/process", files=files, data={"metadata": metadata}, headers=KEY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "partial"
    statuses = {d["filename"]: d["status"] for d in body["documents"]}
    assert statuses == {"good.md": "indexed", "bad.pdf": "failed"}
    assert "bad.pdf" in next(d["error"] for d in body["documents"] if d["filename"] == "bad.pdf")


def test_a_body_cut_off_mid_upload_leaves_the_service_serving(service: RunningService) -> None:
    before = _snapshot(service)
    with httpx.Client(base_url=service.url) as client:
        body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nunterminated'
        response = client.post(
            "/process",
            content=body,
            headers={**KEY, "content-type": "multipart/form-data; boundary=b"},
        )
        assert response.status_code == 400
        assert "ends inside a file part" in response.json()["detail"]
        assert client.get("/health").status_code == 200
    assert _snapshot(service) == before


def test_a_missing_embedding_model_is_the_services_failure_not_the_clients(tmp_path: Any) -> None:
    settings = ServiceSettings(
        store_url=f"sqlite:///{tmp_path / 'x.db'}", embedding_model=str(tmp_path / "no-model")
    )
    with running_service(settings) as running:
        response = running.client.post("/query", json={"query": "hay"})
        assert response.status_code == 500
        assert "never downloads models" in response.json()["detail"]
        assert "your request was fine" in response.json()["detail"]
        assert running.client.get("/health").status_code == 200


def test_an_upload_the_embedder_cannot_serve_is_the_services_failure_not_the_clients(tmp_path: Any) -> None:
    """A client must see that retrying later can work (503), or that the operator must act (500): a 4xx
    would tell Helix the document itself is bad."""
    from .conftest import free_port

    down = {"embedding_base_url": f"http://127.0.0.1:{free_port()}/v1", "embedding_dim": 8}
    missing = {"embedding_model": str(tmp_path / "no-model")}
    for options, status in ((down, 503), (missing, 500)):
        settings = ServiceSettings(store_url=f"sqlite:///{tmp_path / 'x.db'}", **options)
        with running_service(settings) as running:
            response = running.client.post("/process", files={"file": ("notes.txt", b"Hay dries in sun.")})
            assert response.status_code == status, response.text
            assert "your request was fine" in response.json()["detail"]
            assert running.count() == 0
            if status == 503:
                assert "notes.txt" in response.json()["detail"]  # which upload to send again
