"""Open a document store from a URL, as the CLI's ``--store`` option and the service settings take it.

Accepted URLs:

* ``sqlite:///relative/path.db`` and ``sqlite:////absolute/path.db`` (SQLAlchemy-style: three slashes, then
  the path), or a bare path ending in ``.db`` / ``.sqlite`` / ``.sqlite3`` — a :class:`SQLiteDocumentStore`.
  The parent folder is created.
* ``memory`` — an :class:`InMemoryDocumentStore` that lives as long as the process.
* ``memory:///relative/snapshot.json`` / ``memory:////absolute/snapshot.json`` — an in-memory store loaded
  from that snapshot when it exists; :meth:`OpenedStore.flush` writes the snapshot back (atomically).
* ``postgresql://user:password@host:port/dbname`` (or ``postgres://``) — a :class:`PgvectorDocumentStore`.
  Any libpq URI works (``?host=/var/run/postgresql`` for a UNIX socket, ``?sslmode=require``, ...): every
  query parameter but haybale's own ``table`` and ``schema`` (defaults: ``haybale_documents`` in ``public``)
  is passed to libpq unchanged.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from haybale.errors import DocumentStoreUsageError

__all__ = [
    "DEFAULT_STORE_URL",
    "OpenedStore",
    "mask_password",
    "open_store_url",
    "shared_store_url",
    "store_from_url",
    "store_identity",
]

#: Where ``haybale index`` and ``haybale query`` keep their index unless told otherwise.
DEFAULT_STORE_URL = "sqlite:///.haybale/index.db"

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
#: Query parameters of a postgresql:// store URL that haybale reads; all others belong to libpq.
_HAYBALE_OPTIONS = ("table", "schema")
_URL_FORMS = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, memory, memory:///snapshot.json, "
    "postgresql://user:password@host:5432/dbname"
)


@dataclass
class OpenedStore:
    """A store opened from a URL.

    Attributes:
        store: the document store.
        url: the URL it was opened from, with any password masked (safe to print).
        snapshot_path: for ``memory:///...`` URLs, the snapshot file :meth:`flush` writes; else None.
    """

    store: Any
    url: str
    snapshot_path: Path | None = None

    def flush(self) -> None:
        """Persist what needs persisting: writes the snapshot of a ``memory:///path`` store; else nothing.

        Durable stores (SQLite, PostgreSQL) commit every write themselves.
        """
        if self.snapshot_path is not None:
            self.snapshot_path.parent.mkdir(parents=True, exist_ok=True)
            self.store.save(str(self.snapshot_path))


def _path_after_scheme(url: str, scheme: str) -> Path:
    """``scheme:///rel`` -> ``rel``; ``scheme:////abs`` -> ``/abs``."""
    rest = url[len(scheme) + 1 :]
    if not rest.startswith("///") or len(rest) == 3:
        raise DocumentStoreUsageError(
            f"Store URL {url!r} needs a path after '{scheme}:///': use {scheme}:///relative/path or "
            f"{scheme}:////absolute/path."
        )
    return Path(rest[3:]).expanduser()


#: ``scheme://user:password@`` in any text, even a URL too malformed for ``urlsplit``.
_CREDENTIALS = re.compile(r"(?P<prefix>[A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s]*):[^@\s]*@")


def mask_password(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` URL in it replaced by ``***``: safe to
    print in an error or a log line, malformed URLs included."""
    return _CREDENTIALS.sub(r"\g<prefix>:***@", text)


def _check_exists(path: Path, url: str, must_exist: bool) -> None:
    if must_exist and not path.exists():
        raise DocumentStoreUsageError(
            f"There is no index at {path} (store URL {url!r}). Build one first with `haybale index PATH "
            f"--store {url}`, or pass the --store URL of an existing index."
        )


def _open_sqlite(path: Path, url: str, must_exist: bool) -> OpenedStore:
    _check_exists(path, url, must_exist)
    from haybale.stores import SQLiteDocumentStore

    path.parent.mkdir(parents=True, exist_ok=True)
    return OpenedStore(store=SQLiteDocumentStore(path=str(path)), url=url)


def _open_memory(url: str, must_exist: bool) -> OpenedStore:
    from haybale.stores import InMemoryDocumentStore

    store = InMemoryDocumentStore()
    if url == "memory":
        return OpenedStore(store=store, url=url)
    snapshot = _path_after_scheme(url, "memory")
    _check_exists(snapshot, url, must_exist)
    if snapshot.exists():
        store.load(str(snapshot))
    return OpenedStore(store=store, url=url, snapshot_path=snapshot)


def _check_libpq_uri(dsn: str, url: str) -> None:
    """Refuse a URI libpq would refuse (an unknown parameter, a bad port) before any connection is tried."""
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        return  # PgvectorDocumentStore raises MissingDependencyError naming the extra
    try:
        conninfo_to_dict(dsn)
    except Exception as exc:  # psycopg.ProgrammingError; message from libpq
        raise DocumentStoreUsageError(
            f"Invalid PostgreSQL URI {mask_password(url)!r}: {exc}. Query parameters are libpq's "
            "(host, port, sslmode, connect_timeout, ...) plus haybale's table and schema."
        ) from None


def _open_postgres(url: str, embedding_dimension: int | None) -> OpenedStore:
    from haybale.core.secret import Secret
    from haybale.stores import PgvectorDocumentStore

    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. "Invalid IPv6 URL" for an unclosed "["
        raise DocumentStoreUsageError(
            f"Invalid PostgreSQL URI {mask_password(url)!r}: {exc}. Write it as "
            "postgresql://user:password@host:port/dbname (an IPv6 host in brackets: [::1])."
        ) from None
    # Keep libpq's parameters (host=/socket, sslmode, ...) in the DSN; take out only haybale's own.
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    options = {key: value for key, value in pairs if key in _HAYBALE_OPTIONS}
    libpq = [(key, value) for key, value in pairs if key not in _HAYBALE_OPTIONS]
    dsn = urlunsplit(parts._replace(query=urlencode(libpq)))
    _check_libpq_uri(dsn, url)
    extra: dict[str, Any] = {}
    if embedding_dimension is not None:
        extra["embedding_dimension"] = embedding_dimension
    store = PgvectorDocumentStore(
        connection_string=Secret.from_token(dsn),
        table_name=options.get("table") or "haybale_documents",
        schema_name=options.get("schema") or "public",
        **extra,
    )
    return OpenedStore(store=store, url=mask_password(url))


def open_store_url(url: str, must_exist: bool = False, embedding_dimension: int | None = None) -> OpenedStore:
    """Open the document store a URL names (see the module docstring for the forms).

    Args:
        url: the store URL.
        must_exist: refuse to create a new SQLite file or start from a missing snapshot (for read-only uses
            such as ``haybale query``).
        embedding_dimension: the embedding size a PostgreSQL table is created with (other stores learn it
            from the first embedding written); None keeps the store's default.

    Raises:
        DocumentStoreError: the URL is not one of the accepted forms (the message lists them), or
            ``must_exist`` is set and the index file is missing.
    """
    if not isinstance(url, str) or not url.strip():
        raise DocumentStoreUsageError(
            f"A store URL must be a non-empty string. Accepted forms: {_URL_FORMS}."
        )
    url = url.strip()
    if url.startswith("sqlite:"):
        return _open_sqlite(_path_after_scheme(url, "sqlite"), url, must_exist)
    if url == "memory" or url.startswith("memory:"):
        return _open_memory(url, must_exist)
    if url.startswith(("postgresql://", "postgres://")):
        return _open_postgres(url, embedding_dimension)
    if "://" not in url and url.lower().endswith(_SQLITE_SUFFIXES):
        return _open_sqlite(Path(os.path.expanduser(url)), url, must_exist)
    raise DocumentStoreUsageError(f"Unknown store URL {mask_password(url)!r}. Accepted forms: {_URL_FORMS}.")


def store_from_url(url: str) -> Any:
    """The document store a URL names (shortcut for ``open_store_url(url).store``)."""
    return open_store_url(url).store


def shared_store_url(url: str) -> str:
    """``url`` as other processes must see it to open the same store: a SQLite path made absolute.

    Used to hand the store to worker processes (``haybale index --workers N``).

    Raises:
        DocumentStoreUsageError: the URL names a store only its own process can see (``memory``, an in-memory
            snapshot), or is not a store URL.
    """
    url = url.strip()
    if url.startswith("sqlite:"):
        return f"sqlite:///{_path_after_scheme(url, 'sqlite').absolute()}"
    if "://" not in url and url.lower().endswith(_SQLITE_SUFFIXES):
        return f"sqlite:///{Path(os.path.expanduser(url)).absolute()}"
    if url.startswith(("postgresql://", "postgres://")):
        return url
    if url == "memory" or url.startswith("memory:"):
        raise DocumentStoreUsageError(
            f"The store {url!r} lives inside one process, so several workers cannot share it. Use a SQLite "
            "file (sqlite:///path.db, workers on one machine) or PostgreSQL (postgresql://..., workers on "
            "any machine)."
        )
    raise DocumentStoreUsageError(f"Unknown store URL {mask_password(url)!r}. Accepted forms: {_URL_FORMS}.")


def store_identity(url: str) -> str:
    """What identifies the store ``url`` names, safe to send around (password masked, SQLite path absolute).

    Raises:
        DocumentStoreUsageError: see :func:`shared_store_url`.
    """
    return mask_password(shared_store_url(url))
