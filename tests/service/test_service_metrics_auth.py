"""``GET /metrics`` is the operator's, over real HTTP: it reports every tenant's activity, so with API keys it
needs the metrics key (``HAYBALE_METRICS_API_KEY``) and no tenant key; the metrics key opens nothing else;
with keys but no metrics key it is refused; with neither it is open (tests/service/test_service_documents.py).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from haybale.service import ServiceSettings

from .conftest import CORPUS, RunningService, running_service, upload

KEYS = {"key-alpha": "alpha", "key-beta": "beta"}
ALPHA = {"Authorization": "Bearer key-alpha"}
OPERATOR_KEY = "key-operator"
OPERATOR = {"Authorization": f"Bearer {OPERATOR_KEY}"}


def _settings(folder: Path, **options: object) -> ServiceSettings:
    return ServiceSettings(store_url=f"sqlite:///{folder / 'index.db'}", embed=False, **options)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    settings = _settings(tmp_path_factory.mktemp("metrics-auth"), api_keys=KEYS, metrics_api_key=OPERATOR_KEY)
    with running_service(settings) as running:
        yield running


def _indexed_total(text: str) -> int:
    line = next(line for line in text.splitlines() if line.startswith("haybale_documents_indexed_total "))
    return int(line.split()[1])


def test_the_metrics_key_reads_the_service_wide_metrics(service: RunningService) -> None:
    assert upload(service, CORPUS / "glossary.txt", headers=ALPHA).status_code == 200
    response = service.client.get("/metrics", headers=OPERATOR)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert _indexed_total(response.text) == service.count() > 0
    assert 'route="/process",status="200"' in response.text


def test_a_tenant_key_cannot_read_metrics(service: RunningService) -> None:
    response = service.client.get("/metrics", headers=ALPHA)
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert "tenant API key cannot read /metrics" in detail and "HAYBALE_METRICS_API_KEY" in detail
    assert "haybale_documents_indexed_total" not in response.text


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": f"Basic {OPERATOR_KEY}"}],
    ids=["no key", "unknown key", "not bearer"],
)
def test_no_or_an_unknown_key_gets_401_naming_the_metrics_key(
    service: RunningService, headers: dict[str, str]
) -> None:
    response = service.client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert "HAYBALE_METRICS_API_KEY" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("method", "route"),
    [("GET", "/v1/models"), ("GET", "/pipelines"), ("POST", "/query"), ("POST", "/delete"), ("GET", "/jobs")],
)
def test_the_metrics_key_opens_no_other_route(service: RunningService, method: str, route: str) -> None:
    response = service.client.request(method, route, json={"query": "hay", "filters": {}}, headers=OPERATOR)
    assert response.status_code == 401
    assert "Invalid API key" in response.json()["detail"]


def test_the_metrics_key_cannot_upload_or_delete(service: RunningService) -> None:
    assert upload(service, CORPUS / "glossary.txt", headers=ALPHA).status_code == 200
    before = service.count()
    assert upload(service, CORPUS / "weather_and_hay.txt", headers=OPERATOR).status_code == 401
    anything = {"filters": {"field": "content", "operator": "like", "value": "%"}}
    assert service.client.post("/delete", json=anything, headers=OPERATOR).status_code == 401
    assert service.count() == before


def _read_to_the_end(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_the_request_guard_holds_a_metrics_request_with_a_body_to_the_metrics_key(
    service: RunningService,
) -> None:
    """GET carries no body as a rule; one that does is checked before it is read, against the metrics key."""
    address = urlsplit(service.url)
    answers = []
    for key in (OPERATOR_KEY, "key-alpha"):
        with socket.create_connection((address.hostname, address.port), timeout=10) as raw:
            raw.sendall(
                f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Length: 2\r\n"
                "Connection: close\r\n\r\n{}".encode()
            )
            answers.append(_read_to_the_end(raw))
    assert answers[0].startswith(b"HTTP/1.1 200"), answers[0][:200]
    assert b"haybale_http_requests_total" in answers[0]
    assert answers[1].startswith(b"HTTP/1.1 403"), answers[1][:200]


def test_with_api_keys_but_no_metrics_key_metrics_are_refused(tmp_path: Path) -> None:
    with running_service(_settings(tmp_path, api_keys=KEYS)) as running:
        for headers in ({}, ALPHA, {"Authorization": "Bearer key-beta"}):
            response = running.client.get("/metrics", headers=headers)
            assert response.status_code == 403, headers
            detail = response.json()["detail"]
            assert "operator-only" in detail and "Set HAYBALE_METRICS_API_KEY" in detail
        assert running.client.get("/v1/models", headers=ALPHA).status_code == 200  # tenants are served


def test_a_metrics_key_without_api_keys_guards_only_metrics(tmp_path: Path) -> None:
    with running_service(_settings(tmp_path, metrics_api_key=OPERATOR_KEY)) as running:
        assert running.client.get("/metrics").status_code == 401
        assert running.client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert running.client.get("/metrics", headers=OPERATOR).status_code == 200
        assert running.client.get("/v1/models").status_code == 200  # no API keys: the rest stays open
