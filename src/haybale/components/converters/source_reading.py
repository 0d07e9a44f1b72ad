"""Reading converter sources (paths or byte streams), their metadata, and per-source failure handling.

Every converter shares these rules:

* a source is a path (``str`` or ``Path``) or a :class:`ByteStream`;
* each produced document records ``source`` (a stable identifier: the path as given, or the byte stream's
  ``source`` / ``file_name`` meta), ``file_name``, ``mime_type`` and the volatile ``file_path`` (an absolute
  path; it does not enter document ids, see ``VOLATILE_META_KEYS``), then the byte stream's meta, then the
  caller's meta;
* a source that cannot be converted never takes the batch down: it is logged, skipped, and reported in the
  ``failures`` output as ``{"source": ..., "error": ...}``.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from haybale.dataclasses import ByteStream, Document, Source
from haybale.errors import ComponentError, ConversionError, MissingDependencyError

__all__ = [
    "ConvertOne",
    "base_meta",
    "check_readable_file",
    "convert_sources",
    "describe_source",
    "expand_meta",
    "read_source_bytes",
    "require_text",
]

logger = logging.getLogger(__name__)


#: Converts one source, given its base metadata, into documents. Raises ConversionError for a bad source.
ConvertOne = Callable[[Source, dict[str, Any]], list[Document]]


def expand_meta(
    meta: dict[str, Any] | list[dict[str, Any]] | None, count: int, component_name: str = "The component"
) -> list[dict[str, Any]]:
    """Return one metadata dict per source.

    Args:
        meta: None, one dict applied to every source, or a list with one dict per source.
        count: number of sources.
        component_name: who received the sources, for the error message.

    Raises:
        ComponentError: when a list of a different length than the sources is given.
    """
    if meta is None:
        return [{} for _ in range(count)]
    if isinstance(meta, dict):
        return [dict(meta) for _ in range(count)]
    if len(meta) != count:
        raise ComponentError(
            f"{component_name} got {count} sources but {len(meta)} meta dicts. Pass one dict per source, "
            "or a single dict that applies to every source."
        )
    return [dict(m or {}) for m in meta]


def describe_source(source: Source) -> str:
    """Return the stable identifier of a source: the path as given, or the byte stream's name."""
    if isinstance(source, ByteStream):
        meta = source.meta
        for key in ("source", "file_name"):
            if meta.get(key):
                return str(meta[key])
        return f"bytestream:{hashlib.sha256(source.data).hexdigest()[:16]}"
    return str(source)


def base_meta(source: Source, mime_type: str) -> dict[str, Any]:
    """Return the metadata every document of ``source`` starts with (before the caller's meta is merged)."""
    if isinstance(source, ByteStream):
        meta: dict[str, Any] = {"source": describe_source(source), "mime_type": source.mime_type or mime_type}
        # The file name comes from stable data only: a temporary upload path must not rename the document.
        file_name = source.meta.get("file_name")
        if not file_name and source.meta.get("source"):
            file_name = Path(str(source.meta["source"])).name
        if file_name:
            meta["file_name"] = str(file_name)
        meta.update(source.meta)
        meta["source"] = describe_source(source)
        return meta
    path = Path(source)
    return {
        "source": str(source),
        "file_name": path.name,
        "file_path": os.path.abspath(path),
        "mime_type": mime_type,
    }


def check_readable_file(path: Path) -> int:
    """Check that ``path`` is a readable regular file and return its size in bytes.

    Raises:
        ConversionError: naming what is wrong (missing, dangling link, link loop, directory, FIFO, ...).
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise ConversionError(
                f"'{path}' is a dangling symbolic link: its target '{os.readlink(path)}' does not exist. "
                "Fix or remove the link."
            ) from None
        raise ConversionError(f"'{path}' does not exist. Check the path.") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConversionError(
                f"'{path}' is part of a symbolic link loop (too many levels of symbolic links). "
                "Fix or remove the link."
            ) from None
        raise ConversionError(f"'{path}' cannot be read: {exc.strerror or exc}.") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConversionError(
            f"'{path}' is a directory, not a file. Converters take files: pass the files inside it, "
            "or run `haybale index` on the folder."
        )
    if not stat.S_ISREG(info.st_mode):
        raise ConversionError(
            f"'{path}' is not a regular file (it is a FIFO, socket or device) and cannot be converted."
        )
    if not os.access(path, os.R_OK):
        raise ConversionError(f"'{path}' is not readable (permission denied). Make it readable and retry.")
    return info.st_size


def read_source_bytes(source: Source) -> bytes:
    """Return all bytes of a source.

    Raises:
        ConversionError: when the file is missing, unreadable, not a regular file, or empty.
    """
    if isinstance(source, ByteStream):
        data = source.data
    else:
        path = Path(source)
        check_readable_file(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConversionError(f"'{path}' cannot be read: {exc.strerror or exc}.") from None
    if not data:
        raise ConversionError(f"'{describe_source(source)}' is empty (0 bytes): there is nothing to convert.")
    return data


def convert_sources(
    converter_name: str,
    sources: Sequence[Source],
    meta: dict[str, Any] | list[dict[str, Any]] | None,
    convert_one: ConvertOne,
    mime_type: str,
) -> dict[str, Any]:
    """Run ``convert_one`` on every source, collecting documents and per-source failures.

    Args:
        converter_name: the converter's class name, for log messages.
        sources: paths or byte streams.
        meta: caller metadata (see :func:`expand_meta`); merged over each source's base metadata.
        convert_one: converts one source given its merged metadata; raises for a bad source.
        mime_type: the MIME type recorded when the source does not carry one.

    Returns:
        ``{"documents": [...], "failures": [{"source": ..., "error": ...}, ...]}``.
    """
    metas = expand_meta(meta, len(sources), converter_name)
    documents: list[Document] = []
    failures: list[dict[str, Any]] = []
    for source, user_meta in zip(sources, metas, strict=True):
        merged = base_meta(source, mime_type)
        merged.update(user_meta)
        try:
            documents.extend(convert_one(source, merged))
        except ConversionError as exc:
            _record_failure(converter_name, source, str(exc), failures)
        except MissingDependencyError:
            raise  # an installation problem, not a bad file: every file would fail the same way
        except Exception as exc:  # a bad file must never take the batch down
            _record_failure(converter_name, source, f"{type(exc).__name__}: {exc}", failures)
    return {"documents": documents, "failures": failures}


def _record_failure(
    converter_name: str, source: Source, message: str, failures: list[dict[str, Any]]
) -> None:
    name = describe_source(source)
    logger.warning("%s skipped '%s': %s", converter_name, name, message)
    failures.append({"source": name, "error": message})


def require_text(text: str, source: Source, what: str) -> str:
    """Return ``text`` or raise when it holds no visible characters.

    Raises:
        ConversionError: saying that ``what`` (e.g. "this PDF") contains no extractable text.
    """
    if not text.strip():
        raise ConversionError(f"'{describe_source(source)}': {what} contains no extractable text.")
    return text
