"""The document routes over real HTTP when the SQLite database is locked by another connection (a second
``sqlite3`` connection holding ``BEGIN EXCLUSIVE``): 503 with ``Retry-After`` and a message naming the file,
nothing half-written; a ``/delete`` that fails between its two stores says so and a retry finishes it."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from haybale.dataclasses import Document
from haybale.service import ServiceSettings

from .conftest import RunningService, running_service, upload

#: Seconds a write waits for the lock in these tests (the store's default is 30).
LOCK_TIMEOUT = 0.2
TEXT = b"Hay must be dried below twenty percent moisture before baling, or it heats and moulds. " * 12


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    folder = tmp_path_factory.mktemp("service-store-failures")
    settings = ServiceSettings(store_url=f"sqlite:///{folder / 'index.db'}", embed=False, chunk_size=120)
    with running_service(settings) as running:
        for store in (running.state.app.opened_store.store, running.state.app.vision().opened.store):
            store.lock_timeout = LOCK_TIMEOUT
            store.close()  # connections reopen with the short timeout
        yield running


@contextlib.contextmanager
def locked(path: str) -> Iterator[None]:
    """Hold the write lock of the SQLite file at ``path`` from another connection (another process)."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _entity(name: str) -> dict[str, Any]:
    return {"field": "meta.data_entity_id", "operator": "==", "value": name}


def _upload(service: RunningService, entity: str, document: str) -> dict[str, Any]:
    meta = json.dumps({"data_entity_id": entity, "document_id": document})
    response = upload(service, name=f"{document}.txt", data=TEXT, metadata=meta)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _pages(service: RunningService, entity: str, count: int) -> Any:
    """Write ``count`` page documents of ``entity`` to the vision store (as /process-vision would)."""
    vision = service.state.app.vision().opened.store
    vision.write_documents(
        [
            Document(content=f"page {n}", meta={"data_entity_id": entity, "page_number": n})
            for n in range(count)
        ]
    )
    return vision


def test_process_with_the_database_locked_is_503_naming_the_file_and_writes_nothing(
    service: RunningService,
) -> None:
    path = service.state.app.opened_store.store.path
    with locked(path):
        response = upload(service, name="locked.txt", data=TEXT, metadata='{"data_entity_id": "kb-locked"}')
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"].isdigit()
    detail = response.json()["detail"]
    assert path in detail and "locked" in detail and "Retry" in detail
    assert service.count(_entity("kb-locked")) == 0
    again = upload(service, name="locked.txt", data=TEXT, metadata='{"data_entity_id": "kb-locked"}')
    assert again.status_code == 200 and again.json()["documents"][0]["status"] == "indexed"


def test_delete_failing_between_its_two_stores_says_so_and_a_retry_finishes_it(
    service: RunningService,
) -> None:
    chunks = _upload(service, "kb-del", "del-1")["chunks"]
    assert chunks > 1
    vision = _pages(service, "kb-del", 2)
    with locked(service.state.app.opened_store.store.path):
        response = service.client.post("/delete", json={"filters": {"data_entity_id": "kb-del"}})
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"].isdigit()
    detail = response.json()["detail"]
    assert "2 page image(s) were deleted" in detail and "no text chunk was deleted" in detail
    assert "Send the same request again" in detail and "Nothing was changed" not in detail
    assert service.count(_entity("kb-del")) == chunks  # the text went nowhere: /query still finds it
    assert vision.count_documents(_entity("kb-del")) == 0

    retry = service.client.post("/delete", json={"filters": {"data_entity_id": "kb-del"}})
    assert retry.status_code == 200, retry.text
    assert retry.json() == {"status": "success", "documents_deleted": chunks}
    assert service.count(_entity("kb-del")) == 0
