"""Detecting a source's MIME type from its content (PDF, images, RTF, ZIP-based packages, HTML) and its name.

One detector serves :class:`~haybale.components.routers.FileTypeRouter` and
:class:`~haybale.components.converters.MultiFileConverter`, so both agree on every file's type.
"""

from __future__ import annotations

import io
import mimetypes
import zipfile
from pathlib import Path
from typing import Any

from haybale.components.converters._text_types import (
    LAYOUT_MIME_TYPES,
    SOURCE_EXTENSIONS,
    SOURCE_FILE_NAMES,
    looks_like_text,
)
from haybale.dataclasses import ByteStream, Source
from haybale.dataclasses.image_content import IMAGE_MIME_TYPES, image_mime_type

__all__ = [
    "DOCX_MIME_TYPE",
    "EML_MIME_TYPE",
    "EPUB_MIME_TYPE",
    "KNOWN_EXTENSIONS",
    "LAYOUT_MIME_TYPES",
    "MIME_ALIASES",
    "MSG_MIME_TYPE",
    "ODS_MIME_TYPE",
    "ODT_MIME_TYPE",
    "OLE_MIME_TYPE",
    "PPTX_MIME_TYPE",
    "RTF_MIME_TYPE",
    "XLSX_MIME_TYPE",
    "XLS_MIME_TYPE",
    "ZIP_MIME_TYPE",
    "detect_mime_type",
    "mime_type_from_name",
    "normalize_mime_type",
]

DOCX_MIME_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX_MIME_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX_MIME_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT_MIME_TYPE = "application/vnd.oasis.opendocument.text"
ODS_MIME_TYPE = "application/vnd.oasis.opendocument.spreadsheet"
EPUB_MIME_TYPE = "application/epub+zip"
ZIP_MIME_TYPE = "application/zip"
RTF_MIME_TYPE = "application/rtf"
XLS_MIME_TYPE = "application/vnd.ms-excel"
EML_MIME_TYPE = "message/rfc822"
MSG_MIME_TYPE = "application/vnd.ms-outlook"
#: Compound File Binary (OLE2) signature: legacy Office files and Outlook messages.
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: An OLE compound file whose name does not say which format it holds.
OLE_MIME_TYPE = "application/x-ole-storage"
#: Types other names are given for by browsers and mail clients, mapped to the name haybale uses.
MIME_ALIASES: dict[str, str] = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "image/x-ms-bmp": "image/bmp",
    "image/x-bmp": "image/bmp",
    "text/rtf": RTF_MIME_TYPE,
    "application/x-rtf": RTF_MIME_TYPE,
    "application/x-zip-compressed": ZIP_MIME_TYPE,
    "application/x-zip": ZIP_MIME_TYPE,
    "application/x-msexcel": XLS_MIME_TYPE,
    "application/x-excel": XLS_MIME_TYPE,
    "application/x-outlook-msg": MSG_MIME_TYPE,
    "application/epub": EPUB_MIME_TYPE,
}
#: Content types that say nothing about the format: detection ignores them.
_UNINFORMATIVE_TYPES = frozenset({"application/octet-stream", "binary/octet-stream", "application/unknown"})

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
    ".xls": XLS_MIME_TYPE,
    ".odt": ODT_MIME_TYPE,
    ".ods": ODS_MIME_TYPE,
    ".rtf": RTF_MIME_TYPE,
    ".epub": EPUB_MIME_TYPE,
    ".eml": EML_MIME_TYPE,
    ".msg": MSG_MIME_TYPE,
    ".zip": ZIP_MIME_TYPE,
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jpe": "image/jpeg",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".webp": "image/webp",
    **SOURCE_EXTENSIONS,  # source code, configuration and markup: text (see _text_types)
}
#: ZIP-based formats that declare themselves in a stored ``mimetype`` first member (ODF, EPUB).
_PACKAGE_MIMETYPES = frozenset({ODT_MIME_TYPE, ODS_MIME_TYPE, EPUB_MIME_TYPE})
#: The main part of each Office Open XML package, as declared in its ``[Content_Types].xml``.
_OFFICE_MAIN_PARTS: tuple[tuple[str, str], ...] = (
    ("wordprocessingml.document.main", DOCX_MIME_TYPE),
    ("presentationml.presentation.main", PPTX_MIME_TYPE),
    ("spreadsheetml.sheet.main", XLSX_MIME_TYPE),
)
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body")
_HEAD_SIZE = 4096


def _sniff_content(head: bytes, package: Any) -> str | None:  # noqa: PLR0911 - one return per signature
    """Return the MIME type that the first bytes prove, or None. ``package`` opens the whole file as a ZIP."""
    if head.lstrip()[:1024].startswith(b"%PDF-") or head.startswith(b"%PDF-"):
        return "application/pdf"
    image = image_mime_type(head)
    if image is not None:
        return image
    if head.startswith(b"{\\rtf"):
        return RTF_MIME_TYPE
    if head.startswith(_OLE_SIGNATURE):
        return OLE_MIME_TYPE
    if head.startswith(b"PK\x03\x04"):
        return _sniff_package(head, package)
    start = head.lstrip()[:512].lower()
    if start.startswith(b"\xef\xbb\xbf"):
        start = start[3:].lstrip()
    if any(start.startswith(marker) for marker in _HTML_MARKERS):
        return "text/html"
    return None


def _sniff_package(head: bytes, package: Any) -> str:
    """The type of a ZIP file: ODF/EPUB by their ``mimetype`` member, Office Open XML by its main part."""
    # ODF and EPUB store "mimetype" uncompressed as the first member: its bytes follow the 30-byte header.
    if head[30:38] == b"mimetype":
        declared = head[38 : 38 + 64].split(b"PK", 1)[0].decode("ascii", "replace").strip()
        if declared in _PACKAGE_MIMETYPES:
            return declared
    try:
        with package() as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names:
                declared = (
                    archive.read("mimetype")[:64].decode("ascii", "replace").strip()
                    if "mimetype" in names
                    else ""
                )
                return declared if declared in _PACKAGE_MIMETYPES else ZIP_MIME_TYPE
            types = archive.read("[Content_Types].xml").decode("utf-8", "replace")
    except (KeyError, OSError, zipfile.BadZipFile, RuntimeError, ValueError):
        return ZIP_MIME_TYPE
    for marker, mime in _OFFICE_MAIN_PARTS:
        if marker in types:
            return mime
    return ZIP_MIME_TYPE


def normalize_mime_type(mime: str | None) -> str | None:
    """``mime`` without parameters, lower-cased, with common aliases mapped (``image/jpg`` -> ``image/jpeg``);
    None for missing or uninformative types (``application/octet-stream``)."""
    if not mime:
        return None
    base = mime.split(";", 1)[0].strip().lower()
    if not base or base in _UNINFORMATIVE_TYPES:
        return None
    return MIME_ALIASES.get(base, base)


def mime_type_from_name(name: str, additional_mimetypes: dict[str, str] | None = None) -> str | None:
    """Return the MIME type for a file name's extension, or None when unknown."""
    path = Path(name)
    if (known := SOURCE_FILE_NAMES.get(path.name.lower())) is not None:
        return known
    suffix = path.suffix.lower()
    if not suffix:
        return None
    if additional_mimetypes and suffix in additional_mimetypes:
        return additional_mimetypes[suffix]
    if suffix in KNOWN_EXTENSIONS:
        return KNOWN_EXTENSIONS[suffix]
    return mimetypes.guess_type(f"file{suffix}", strict=False)[0]


def detect_mime_type(
    source: Source, additional_mimetypes: dict[str, str] | None = None, trust_declared: bool = True
) -> str | None:
    """Detect a source's MIME type: content signatures first (PDF, images, RTF, ZIP-based packages, OLE files,
    HTML), then the extension.

    A byte stream's own ``mime_type`` wins when ``trust_declared`` (aliases such as ``image/jpg`` are
    normalized; ``application/octet-stream`` counts as no type). Only the first 4 KiB of a file are read (plus
    the ZIP directory of Office files). Returns None when nothing identifies the type.

    Raises:
        OSError: when a path cannot be read.
    """
    if isinstance(source, ByteStream):
        declared = normalize_mime_type(source.mime_type)
        if declared and trust_declared:
            # "text/plain" is what many clients say of any text file; a source file's name says more (and
            # decides whether its indentation is kept).
            named = mime_type_from_name(str(source.meta.get("file_name") or ""), additional_mimetypes)
            return named if declared == "text/plain" and named in LAYOUT_MIME_TYPES else declared
        data = source.data
        head = data[:_HEAD_SIZE]
        sniffed = _sniff_content(head, lambda: zipfile.ZipFile(io.BytesIO(data)))
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
    return _decide(sniffed, from_name, head)


#: Names whose files are ZIP packages of their own kind (detected by name when their content is ambiguous).
_ZIP_BASED_BY_NAME = frozenset(
    {ODT_MIME_TYPE, ODS_MIME_TYPE, EPUB_MIME_TYPE, DOCX_MIME_TYPE, PPTX_MIME_TYPE, XLSX_MIME_TYPE}
)
#: Formats stored in OLE compound files, told apart by name.
_OLE_BY_NAME = frozenset(
    {XLS_MIME_TYPE, MSG_MIME_TYPE, "application/msword", "application/vnd.ms-powerpoint"}
)
_CONCLUSIVE = frozenset(
    {"application/pdf", DOCX_MIME_TYPE, PPTX_MIME_TYPE, XLSX_MIME_TYPE, RTF_MIME_TYPE, *_PACKAGE_MIMETYPES}
)


#: Types whose files always start with a signature :func:`_sniff_content` recognises.
_SIGNED = frozenset(
    {*_CONCLUSIVE, *IMAGE_MIME_TYPES, *_ZIP_BASED_BY_NAME, *_OLE_BY_NAME, ZIP_MIME_TYPE, OLE_MIME_TYPE}
)


def _decide(sniffed: str | None, from_name: str | None, head: bytes) -> str | None:
    """Content wins where it is conclusive; the name decides the rest.

    A name that claims a signed binary format (PDF, an image, an Office or ZIP file) for bytes that lack its
    signature and read as text is wrong: the bytes are HTML (by their markers) or text of no telling type
    (None; the caller decides text). Clients do send such names -- Helix's extractor names every upload
    ``document.pdf``. Bytes that are not text keep the name's type, so a corrupt file still gets that
    format's own error.
    """
    if sniffed in _CONCLUSIVE or sniffed in IMAGE_MIME_TYPES:
        return sniffed
    if sniffed == ZIP_MIME_TYPE:
        return from_name if from_name in _ZIP_BASED_BY_NAME else ZIP_MIME_TYPE
    if sniffed == OLE_MIME_TYPE:
        return from_name if from_name in _OLE_BY_NAME else OLE_MIME_TYPE
    misnamed = from_name in _SIGNED and looks_like_text(head)
    if sniffed == "text/html" and (from_name in (None, "text/plain") or misnamed):
        return sniffed
    if sniffed is None and misnamed:
        return None
    return from_name or sniffed
