"""The vision index on every store (memory, SQLite, PostgreSQL): a store of its own beside the text one."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from haybale.app import Application, Settings
from haybale.dataclasses import ByteStream, Document
from haybale.errors import DocumentStoreUsageError, SettingsError
from haybale.indexing.indexer import SourceInput
from haybale.stores.tenant_scope import TenantScopedStore, tenant_scope
from haybale.stores.vision_url import vision_store_url
from haybale.testing.sample_files import image_only_pdf


def test_vision_store_urls_sit_beside_the_text_store() -> None:
    assert vision_store_url("sqlite:///data/index.db") == "sqlite:///data/index_vision.db"
    assert vision_store_url("sqlite:////abs/x.sqlite") == "sqlite:////abs/x_vision.sqlite"
    assert vision_store_url("memory") == "memory"
    assert vision_store_url("memory:///snap.json") == "memory:///snap_vision.json"
    assert vision_store_url("idx.db") == "idx_vision.db"
    assert (
        vision_store_url("postgresql://u:p@h:5432/db")
        == "postgresql://u:p@h:5432/db?table=haybale_documents_vision"
    )
    assert (
        vision_store_url("postgresql://u@/db?host=%2Ftmp&table=docs")
        == "postgresql://u@/db?host=%2Ftmp&table=docs_vision"
    )
    with pytest.raises(DocumentStoreUsageError, match="vision store"):
        vision_store_url("redis://x")


def _store_url(kind: str, tmp_path: Path) -> str:
    if kind == "memory":
        return f"memory:///{tmp_path / 'snapshot.json'}"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'index.db'}"
    dsn = os.environ["HAYBALE_TEST_PG_DSN"]
    table = "t_" + uuid.uuid4().hex[:10]
    return f"{dsn}{'&' if '?' in dsn else '?'}table={table}"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["memory", "sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def test_pages_are_indexed_and_found_in_the_vision_store_only(kind: str, tmp_path: Path, request) -> None:
    if kind == "pg":
        request.getfixturevalue("pg_server")
    application = Application(Settings(store_url=_store_url(kind, tmp_path)), tenant_scoped=True)
    try:
        with tenant_scope("farm-a"):
            application.store.write_documents([Document(content="a text chunk about hay")])
        vision = application.vision()
        assert isinstance(vision.store, TenantScopedStore) and vision.mode == "ocr-text"
        pdf = image_only_pdf([["Soil samples from the north field"], ["Weather station calibration"]])
        item = SourceInput(
            key="samples",
            content=ByteStream(pdf, {"file_name": "samples.pdf"}),
            meta={"document_id": "samples", "source": "samples.pdf"},
            sha256="v1",
            scope={"field": "meta.document_id", "operator": "==", "value": "samples"},
        )
        with tenant_scope("farm-a"):
            [outcome] = vision.index_sources([item])
            assert (outcome.status, outcome.pages) == ("indexed", 2)
            [best, _] = vision.search("weather station", top_k=2, filters=None)
            assert best.meta["page_number"] == 2 and best.blob.mime_type == "image/png"
            assert best.meta["vision_model"] == "ocr-text:sentence-transformers/all-MiniLM-L6-v2"
            [again] = vision.index_sources([item])
            assert again.status == "unchanged"
            assert application.store.count_documents() == 1  # the text store holds only its chunk
        with tenant_scope("farm-b"):
            assert vision.search("weather station", top_k=2, filters=None) == []
        if kind == "memory":
            vision.opened.flush()
            assert (tmp_path / "snapshot_vision.json").exists()
        if kind == "sqlite":
            assert (tmp_path / "index_vision.db").exists()
        if kind == "pg":
            assert vision.opened.store.table_name.endswith("_vision")
    finally:
        application.close()


def test_vision_off_is_a_settings_error(tmp_path: Path) -> None:
    application = Application(Settings(store_url=f"sqlite:///{tmp_path / 'i.db'}", vision_enabled=False))
    with pytest.raises(SettingsError, match="Vision RAG is not enabled"):
        application.vision()
