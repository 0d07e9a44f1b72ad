"""Detecting a source's MIME type from its content (PDF, Office packages, HTML) and its file name.

One detector serves :class:`~haybale.components.routers.FileTypeRouter` and
:class:`~haybale.components.converters.MultiFileConverter`, so both agree on every file's type.
"""

from __future__ import annotations

import io
import mimetypes
import zipfile
from pathlib import Path
from typing import Any

from haybale.components.converters.source_reading import Source
from haybale.dataclasses import ByteStream

DOCX_MIME_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX_MIME_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX_MIME_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: Extensions haybale knows regardless of the platform's MIME database (which differs between machines).
KNOWN_EXTENSIONS: dict[str, str] = {
    ".txt": "text/plain",
    ".text": "text/plain",
    ".log": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".xhtml": "text/html",
    ".csv": "text/csv",
    ".json": "application/json",
    ".jsonl": "application/jsonl",
    ".ndjson": "application/jsonl",
    ".pdf": "application/pdf",
    ".docx": DOCX_MIME_TYPE,
    ".pptx": PPTX_MIME_TYPE,
    ".xlsx": XLSX_MIME_TYPE,
}
#: The main part of each Office Open XML package, as declared in its ``[Content_Types].xml``.
_OFFICE_MAIN_PARTS: tuple[tuple[str, str], ...] = (
    ("wordprocessingml.document.main", DOCX_MIME_TYPE),
    ("presentationml.presentation.main", PPTX_MIME_TYPE),
    ("spreadsheetml.sheet.main", XLSX_MIME_TYPE),
)
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body")
_HEAD_SIZE = 4096


def _sniff_content(head: bytes, package: Any) -> str | None:
    """Return the MIME type that the first bytes prove, or None. ``package`` opens the whole file as a ZIP."""
    if head.lstrip()[:1024].startswith(b"%PDF-") or head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with package() as archive:
                types = archive.read("[Content_Types].xml").decode("utf-8", "replace")
        except (KeyError, OSError, zipfile.BadZipFile):
            return "application/zip"
        for marker, mime in _OFFICE_MAIN_PARTS:
            if marker in types:
                return mime
        return "application/zip"
    start = head.lstrip()[:512].lower()
    if start.startswith(b"\xef\xbb\xbf"):
        start = start[3:].lstrip()
    if any(start.startswith(marker) for marker in _HTML_MARKERS):
        return "text/html"
    return None


def mime_type_from_name(name: str, additional_mimetypes: dict[str, str] | None = None) -> str | None:
    """Return the MIME type for a file name's extension, or None when unknown."""
    suffix = Path(name).suffix.lower()
    if not suffix:
        return None
    if additional_mimetypes and suffix in additional_mimetypes:
        return additional_mimetypes[suffix]
    if suffix in KNOWN_EXTENSIONS:
        return KNOWN_EXTENSIONS[suffix]
    return mimetypes.guess_type(f"file{suffix}", strict=False)[0]


def detect_mime_type(source: Source, additional_mimetypes: dict[str, str] | None = None) -> str | None:
    """Detect a source's MIME type: content signatures first (PDF, Office packages, HTML), then the extension.

    A byte stream's own ``mime_type`` wins. Only the first 4 KiB of a file are read (plus the ZIP directory of
    Office files). Returns None when nothing identifies the type.

    Raises:
        OSError: when a path cannot be read.
    """
    if isinstance(source, ByteStream):
        if source.mime_type:
            return source.mime_type
        data = source.data
        sniffed = _sniff_content(data[:_HEAD_SIZE], lambda: zipfile.ZipFile(io.BytesIO(data)))
        name = str(source.meta.get("file_name") or source.meta.get("file_path") or "")
    else:
        path = Path(source)
        if not path.is_file():  # also guards against FIFOs, whose open() would block forever
            raise OSError(f"'{path}' is not a regular file (missing, a directory, a link loop or a FIFO)")
        with path.open("rb") as handle:
            head = handle.read(_HEAD_SIZE)
        sniffed = _sniff_content(head, lambda: zipfile.ZipFile(path))
        name = str(path)
    from_name = mime_type_from_name(name, additional_mimetypes) if name else None
    if sniffed in ("application/pdf", DOCX_MIME_TYPE, PPTX_MIME_TYPE, XLSX_MIME_TYPE):
        return sniffed
    if sniffed == "text/html" and from_name in (None, "text/plain"):
        return sniffed
    return from_name or sniffed
