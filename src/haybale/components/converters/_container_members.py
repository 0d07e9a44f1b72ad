"""Converting the files found inside a container (ZIP members, mail attachments) with the converter for each
file's type, under the container's metadata.

Every document of a member keeps the container's metadata (``source`` included, so an indexer that replaces a
source's chunks replaces the members' too) and records where it came from: ``file_name`` (the member's own
name) and ``container_path`` (its path inside the container, ``a.zip/docs/b.pdf`` for nested ones).
Failures name the member the same way. Members with nothing in them (empty, or whitespace only) are left
out without a failure: there is nothing to lose, and code archives hold many (``__init__.py``).
"""

from __future__ import annotations

import posixpath
import threading
from typing import Any

from haybale.dataclasses import ByteStream, Document

__all__ = ["PER_FILE_META_KEYS", "convert_members"]

#: Metadata that describes one file and must not be inherited by the files inside it.
PER_FILE_META_KEYS = frozenset(
    {"file_name", "mime_type", "page_count", "title", "page_number", "ocr", "ocr_pages", "ocr_boxes"}
)

_CONVERTER: Any = None
_CONVERTER_LOCK = threading.Lock()


def _member_converter() -> Any:
    """One shared MultiFileConverter for members (stateless; imported late: it imports the containers)."""
    global _CONVERTER  # noqa: PLW0603 - a lazily built, process-wide stateless converter
    if _CONVERTER is None:
        with _CONVERTER_LOCK:
            if _CONVERTER is None:
                from haybale.components.converters.multi_file_converter import MultiFileConverter

                _CONVERTER = MultiFileConverter()
    return _CONVERTER


def convert_members(
    container: str, members: list[tuple[str, bytes]], meta: dict[str, Any], container_path: str | None = None
) -> tuple[list[Document], list[dict[str, Any]]]:
    """Convert ``(path, bytes)`` members of the container named ``container``.

    Args:
        container: the container's name (its source), used in failures.
        members: each member's path inside the container and its bytes.
        meta: the container's metadata; everything but the per-file keys is inherited.
        container_path: the container's own ``container_path`` when it is itself a member.

    Returns:
        The members' documents and failures (``{"source": "<container>/<path>", "error"}``).
    """
    members = [(path, data) for path, data in members if data.strip()]
    if not members:
        return [], []
    inherited = {k: v for k, v in meta.items() if k not in PER_FILE_META_KEYS}
    prefix = container_path or str(meta.get("file_name") or posixpath.basename(container))
    streams, metas = [], []
    for path, data in members:
        file_name = posixpath.basename(path) or path
        streams.append(ByteStream(data=data, meta={"source": f"{container}/{path}", "file_name": file_name}))
        metas.append({**inherited, "file_name": file_name, "container_path": f"{prefix}/{path}"})
    result = _member_converter().run(sources=streams, meta=metas)
    return result["documents"], result["failures"]
