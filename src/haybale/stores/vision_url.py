"""Where a text index's vision collection lives: a store of its own beside the text one, named from its URL.

Vision retrieval keeps page images and their embeddings apart from the text chunks (another embedding model,
another vector size, bytes instead of text), in a second store of the same kind:

* ``sqlite:///data/index.db`` -> ``sqlite:///data/index_vision.db`` (a second file: its writes never wait on
  the text index's);
* ``memory`` -> ``memory`` (a second in-process store); ``memory:///snap.json`` -> ``memory:///snap_vision.json``;
* ``postgresql://.../db?table=docs`` -> the same database, table ``docs_vision`` (default
  ``haybale_documents_vision``), as the Helix service's ``haystack_documents_vision``.
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from haybale.errors import DocumentStoreUsageError

__all__ = ["VISION_SUFFIX", "vision_store_url"]

VISION_SUFFIX = "_vision"
_DEFAULT_PG_TABLE = "haybale_documents"
_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def _beside(path: str) -> str:
    """``dir/name.ext`` -> ``dir/name_vision.ext``."""
    pure = PurePosixPath(path)
    return str(pure.with_name(f"{pure.stem}{VISION_SUFFIX}{pure.suffix}"))


def vision_store_url(url: str) -> str:
    """The URL of the vision store that belongs to the text store at ``url`` (see the module docstring).

    Raises:
        DocumentStoreUsageError: ``url`` is not a store URL haybale knows.
    """
    url = url.strip()
    if url == "memory":
        return url
    for scheme in ("sqlite", "memory"):
        prefix = f"{scheme}:///"
        if url.startswith(prefix) and len(url) > len(prefix):
            return prefix + _beside(url[len(prefix) :])
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        table = next((value for key, value in pairs if key == "table"), "") or _DEFAULT_PG_TABLE
        others = [(key, value) for key, value in pairs if key != "table"]
        return urlunsplit(parts._replace(query=urlencode([*others, ("table", table + VISION_SUFFIX)])))
    if "://" not in url and url.lower().endswith(_SQLITE_SUFFIXES):
        return _beside(os.path.expanduser(url))
    raise DocumentStoreUsageError(
        f"Cannot place a vision store beside the store URL {url.split('@')[-1]!r}: use a sqlite://, memory "
        "or postgresql:// store URL."
    )
