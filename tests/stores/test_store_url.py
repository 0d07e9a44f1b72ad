"""haybale.stores.url: opening document stores from --store URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from haybale.dataclasses import Document
from haybale.errors import DocumentStoreError
from haybale.stores import InMemoryDocumentStore
from haybale.stores.url import DEFAULT_STORE_URL, open_store_url, store_from_url


def test_default_url_is_the_sqlite_index_under_dot_haybale() -> None:
    assert DEFAULT_STORE_URL == "sqlite:///.haybale/index.db"


def test_plain_memory_url() -> None:
    opened = open_store_url("memory")
    assert isinstance(opened.store, InMemoryDocumentStore)
    assert opened.snapshot_path is None
    opened.flush()  # nothing to persist


def test_memory_snapshot_url_round_trips(tmp_path: Path) -> None:
    url = f"memory:///{tmp_path}/snaps/index.json"
    opened = open_store_url(url)
    assert opened.snapshot_path == tmp_path / "snaps" / "index.json"
    opened.store.write_documents([Document(content="kept across processes")])
    opened.flush()
    reopened = store_from_url(url)
    assert [d.content for d in reopened.filter_documents()] == ["kept across processes"]


def test_relative_memory_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    opened = open_store_url("memory:///rel/snap.json")
    assert opened.snapshot_path == Path("rel/snap.json")


def test_must_exist_refuses_a_missing_index(tmp_path: Path) -> None:
    with pytest.raises(DocumentStoreError, match="haybale index"):
        open_store_url(f"memory:///{tmp_path}/missing.json", must_exist=True)
    with pytest.raises(DocumentStoreError, match="There is no index"):
        open_store_url(f"sqlite:///{tmp_path}/missing.db", must_exist=True)
    assert not (tmp_path / "missing.db").exists()


@pytest.mark.parametrize(
    "url",
    ["", "   ", "mysql://x", "sqlite:", "sqlite://relative.db", "sqlite:///", "memory:snap", "index.txt"],
)
def test_unknown_or_malformed_urls_list_the_accepted_forms(url: str) -> None:
    with pytest.raises(DocumentStoreError, match=r"sqlite:///|needs a path"):
        open_store_url(url)


def test_postgres_url_options_are_checked_and_password_masked() -> None:
    with pytest.raises(DocumentStoreError) as info:
        open_store_url("postgresql://user:s3cret@localhost:5432/db?tabel=x")
    assert "s3cret" not in str(info.value) and "***" in str(info.value)


def test_postgres_url_too_malformed_to_parse_is_a_usage_error_without_the_password() -> None:
    with pytest.raises(DocumentStoreError, match="Invalid PostgreSQL URI") as info:
        open_store_url("postgresql://user:s3cret@[::1/db")
    assert "s3cret" not in str(info.value) and "user:***@" in str(info.value)


def test_sqlite_url_creates_parent_folder(tmp_path: Path) -> None:
    opened = open_store_url(f"sqlite:///{tmp_path}/deep/dir/index.db")
    opened.store.write_documents([Document(content="x")])
    assert (tmp_path / "deep" / "dir" / "index.db").exists()
    assert type(opened.store).__name__ == "SQLiteDocumentStore"
    bare = open_store_url(str(tmp_path / "deep" / "dir" / "index.db"))
    assert bare.store.count_documents() == 1
