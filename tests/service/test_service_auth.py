"""API keys with tenant scope over real HTTP: 401 without a valid key, 403 for another tenant, and tenants
that can never read or delete each other's documents (queries go through a BM25 pipeline here: no model
needed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from haybale.service import ServiceSettings

from .conftest import BM25_PIPELINE, CORPUS, RunningService, running_service, upload

KEYS = {"key-alpha": "alpha", "key-beta": "beta"}
ALPHA = {"Authorization": "Bearer key-alpha"}
BETA = {"Authorization": "Bearer key-beta"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    folder = tmp_path_factory.mktemp("service-auth")
    pipelines = folder / "pipelines"
    pipelines.mkdir()
    (pipelines / "search.yaml").write_text(BM25_PIPELINE.format(path=folder / "index.db"), encoding="utf-8")
    settings = ServiceSettings(
        store_url=f"sqlite:///{folder / 'index.db'}", embed=False, api_keys=KEYS, pipelines_dir=pipelines
    )
    with running_service(settings) as running:
        yield running


def _glossary_of(tenant: str) -> dict[str, object]:
    return {
        "operator": "AND",
        "conditions": [
            {"field": "meta.file_name", "operator": "==", "value": "glossary.txt"},
            {"field": "meta.tenant", "operator": "==", "value": tenant},
        ],
    }


@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("POST", "/process"),
        ("POST", "/query"),
        ("POST", "/delete"),
        ("POST", "/extract"),
        ("GET", "/v1/models"),  # /metrics needs the operator's key: test_service_metrics_auth.py
        ("POST", "/v1/chat/completions"),
        ("GET", "/pipelines"),
        ("POST", "/pipelines/search/run"),
        ("GET", "/jobs"),
        ("GET", "/jobs/" + "0" * 32),
        ("DELETE", "/jobs/" + "0" * 32),
    ],
)
def test_every_route_but_health_needs_a_key(service: RunningService, method: str, route: str) -> None:
    response = service.client.request(method, route, json={})
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"
    assert service.client.get("/health").status_code == 200


@pytest.mark.parametrize("route", ["/openapi.json", "/docs", "/redoc"])
def test_the_schema_and_docs_pages_need_a_key(service: RunningService, route: str) -> None:
    response = service.client.get(route)  # no body: only the guard's schema check can refuse it
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["detail"]
    assert service.client.get(route, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert service.client.get(route, headers=ALPHA).status_code == 200


@pytest.mark.parametrize(
    "header", ["Bearer wrong-key", "Basic a2V5LWFscGhh", "Bearer", "key-alpha", "Bearer key-alpha2"]
)
def test_invalid_or_malformed_key_is_401(service: RunningService, header: str) -> None:
    before = service.count()
    response = upload(service, CORPUS / "glossary.txt", headers={"Authorization": header})
    assert response.status_code == 401
    assert service.count() == before


def test_claiming_another_tenant_is_403(service: RunningService) -> None:
    before = service.count()
    response = upload(service, CORPUS / "glossary.txt", headers={**ALPHA, "X-Haybale-Tenant": "beta"})
    assert response.status_code == 403
    assert "'beta'" in response.json()["detail"] and "'alpha'" in response.json()["detail"]
    response = upload(service, CORPUS / "glossary.txt", headers=ALPHA, metadata='{"tenant": "beta"}')
    assert response.status_code == 403
    assert service.count() == before
    assert service.client.get("/v1/models", headers={**ALPHA, "X-Haybale-Tenant": "alpha"}).status_code == 200


def _ingest_both(service: RunningService) -> None:
    assert upload(service, CORPUS / "glossary.txt", headers=ALPHA).status_code == 200
    assert upload(service, CORPUS / "glossary.txt", headers=BETA).status_code == 200
    assert upload(service, CORPUS / "weather_and_hay.txt", headers=BETA).status_code == 200


def test_documents_carry_their_tenant_and_sources_do_not_collide(service: RunningService) -> None:
    _ingest_both(service)
    alpha = service.count(_glossary_of("alpha"))
    beta = service.count(_glossary_of("beta"))
    assert alpha == beta > 0  # same file name, two tenants: two separate documents
    alpha_ids = {d.id for d in service.state.store.filter_documents(_glossary_of("alpha"))}
    beta_ids = {d.id for d in service.state.store.filter_documents(_glossary_of("beta"))}
    assert not alpha_ids & beta_ids  # same text, different tenants: never the same stored id
    sources = {d.meta["source"] for d in service.state.store.filter_documents(_glossary_of("alpha"))}
    assert sources == {"glossary.txt"}  # the caller's view of the source is kept as uploaded
    # Re-uploading by alpha replaces alpha's chunks only.
    assert upload(service, CORPUS / "glossary.txt", headers=ALPHA).status_code == 200
    assert service.count(_glossary_of("alpha")) == alpha
    assert service.count(_glossary_of("beta")) == beta


def test_tenant_cannot_delete_another_tenants_documents(service: RunningService) -> None:
    _ingest_both(service)
    beta_before = service.count({"field": "meta.tenant", "operator": "==", "value": "beta"})
    # A filter naming beta's documents explicitly still only reaches alpha's.
    attack = {"filters": {"field": "meta.tenant", "operator": "==", "value": "beta"}}
    response = service.client.post("/delete", json=attack, headers=ALPHA)
    assert response.status_code == 200
    assert response.json()["documents_deleted"] == 0
    anything = {
        "filters": {"operator": "OR", "conditions": [{"field": "content", "operator": "like", "value": "%"}]}
    }
    response = service.client.post("/delete", json=anything, headers=ALPHA)
    assert response.status_code == 200
    assert response.json()["documents_deleted"] > 0
    assert service.count({"field": "meta.tenant", "operator": "==", "value": "alpha"}) == 0
    assert service.count({"field": "meta.tenant", "operator": "==", "value": "beta"}) == beta_before


def test_tenant_cannot_read_another_tenants_documents(service: RunningService) -> None:
    _ingest_both(service)
    body = {"query": "rain forecast weather drying hay"}  # words of weather_and_hay.txt, beta's only
    as_beta = service.client.post("/pipelines/search/run", json=body, headers=BETA)
    assert as_beta.status_code == 200, as_beta.text
    beta_docs = as_beta.json()["result"]["retriever"]["documents"]
    # Stored ids are "<tenant>::<id>"; each tenant sees its own ids without the prefix.
    beta_ids = {d.id.removeprefix("beta::") for d in service.state.store.filter_documents({"tenant": "beta"})}
    assert beta_docs and {d["id"] for d in beta_docs} <= beta_ids
    assert all("tenant" not in d["meta"] for d in beta_docs)  # implied by the key, never shown
    as_alpha = service.client.post("/pipelines/search/run", json=body, headers=ALPHA)
    assert as_alpha.status_code == 200
    alpha_docs = as_alpha.json()["result"]["retriever"]["documents"]
    weather = {"tenant": "beta", "file_name": "weather_and_hay.txt"}  # beta's only: alpha has no such file
    beta_only = {d.id.removeprefix("beta::") for d in service.state.store.filter_documents(weather)}
    assert beta_only and not {d["id"] for d in alpha_docs} & beta_only
    assert not any(d["meta"]["file_name"] == "weather_and_hay.txt" for d in alpha_docs)
    # Filters naming the other tenant are ANDed with the caller's own: still nothing of beta's.
    sneaky = {
        "retriever": {"query": "hay", "filters": {"field": "meta.tenant", "operator": "==", "value": "beta"}}
    }
    response = service.client.post("/pipelines/search/run", json=sneaky, headers=ALPHA)
    assert response.status_code == 200
    assert response.json()["result"]["retriever"]["documents"] == []


def test_pipeline_filters_are_validated(service: RunningService) -> None:
    body = {"query": "hay", "filters": {"field": "meta.x", "operator": "between", "value": 1}}
    response = service.client.post("/pipelines/search/run", json=body, headers=ALPHA)
    assert response.status_code == 400
    assert "unknown operator 'between'" in response.json()["detail"]


def test_keys_file_parsing_errors_are_clear(tmp_path: Path) -> None:
    from haybale.service.settings import SettingsError, parse_api_keys

    assert parse_api_keys('{"k1": "t1"}', "x") == {"k1": "t1"}
    with pytest.raises(SettingsError, match="entry 1 is not 'key:tenant'"):
        parse_api_keys("just-a-key", "keys.txt")
    with pytest.raises(SettingsError, match="repeats an API key"):
        parse_api_keys("k:a\nk:b", "keys.txt")


def test_a_request_without_a_valid_key_is_refused_before_its_body_is_read(service: RunningService) -> None:
    """A JSON route must not buffer (and parse) an unauthenticated client's body: the 401 comes at once."""
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(service.url)
    for key in ("", "Authorization: Bearer wrong-key\r\n"):
        with socket.create_connection((address.hostname, address.port), timeout=10) as raw:
            raw.sendall(
                b"POST /query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + key.encode()
                + b"Content-Length: 1000000000\r\n\r\n"
                + b'{"query": "'
                + b"a" * 65536
            )
            answer = raw.recv(65536)  # times out (fails) while the server waits for the rest of the body
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert service.client.get("/health").status_code == 200
