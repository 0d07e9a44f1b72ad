"""FileTypeRouter: route files and byte streams to one output per MIME type, detected by content and name."""

from __future__ import annotations

import io
import logging
import mimetypes
import re
import zipfile
from pathlib import Path
from typing import Any, TypeAlias

from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import ByteStream
from haybale.errors import ComponentError

logger = logging.getLogger(__name__)

Source: TypeAlias = str | Path | ByteStream

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

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
    ".docx": DOCX_MIME,
    ".pptx": PPTX_MIME,
    ".xlsx": XLSX_MIME,
}
#: The main part of each Office Open XML package, as declared in its ``[Content_Types].xml``.
_OFFICE_MAIN_PARTS: tuple[tuple[str, str], ...] = (
    ("wordprocessingml.document.main", DOCX_MIME),
    ("presentationml.presentation.main", PPTX_MIME),
    ("spreadsheetml.sheet.main", XLSX_MIME),
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
    if sniffed in ("application/pdf", DOCX_MIME, PPTX_MIME, XLSX_MIME):
        return sniffed
    if sniffed == "text/html" and from_name in (None, "text/plain"):
        return sniffed
    return from_name or sniffed


@component
class FileTypeRouter:
    """Route sources (paths or byte streams) to one output per MIME type.

    The type is detected from content first (PDF signature; DOCX/PPTX/XLSX by the main part declared inside
    the ZIP package; HTML markup) and from the file extension otherwise, so a PDF named ``.txt`` goes to the
    PDF output. ``mime_types`` entries are regular expressions matched against the whole MIME type
    (``"text/.*"``); each source goes to the first entry that matches, and the output socket carries the entry
    as its name. Sources that match nothing — or cannot be read — go to ``unclassified``.

    Args:
        mime_types: the MIME types (or patterns) to route, in priority order.
        additional_mimetypes: extra extension → MIME type mappings, e.g. ``{".adoc": "text/asciidoc"}``.
        raise_on_failure: raise instead of routing to ``unclassified`` when a path cannot be read.

    Raises:
        ComponentError: when ``mime_types`` is empty or holds an invalid regular expression.
    """

    def __init__(
        self,
        mime_types: list[str],
        additional_mimetypes: dict[str, str] | None = None,
        raise_on_failure: bool = False,
    ) -> None:
        if not mime_types:
            raise ComponentError(
                "FileTypeRouter needs at least one MIME type, e.g. FileTypeRouter(mime_types=['text/plain'])."
            )
        self._patterns: list[re.Pattern[str]] = []
        for mime in mime_types:
            try:
                self._patterns.append(re.compile(mime))
            except re.error as exc:
                raise ComponentError(
                    f"FileTypeRouter: mime_types entry {mime!r} is not a valid regular expression: {exc}."
                ) from None
        self.mime_types = list(mime_types)
        self.additional_mimetypes = {
            (ext if ext.startswith(".") else f".{ext}").lower(): mime
            for ext, mime in (additional_mimetypes or {}).items()
        }
        self.raise_on_failure = raise_on_failure
        outputs: dict[str, Any] = {mime: list[Source] for mime in self.mime_types}
        outputs["unclassified"] = list[Source]
        component.set_output_types(self, **outputs)

    def run(
        self, sources: list[Source], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Group ``sources`` by MIME type.

        Args:
            sources: paths or byte streams.
            meta: optional metadata (one dict, or one per source). When given, path sources are read into
                byte streams carrying that metadata plus ``source``/``file_name``/``file_path``.

        Returns:
            One key per MIME type that received sources (the source objects, in input order), plus
            ``unclassified``.

        Raises:
            ComponentError: with ``raise_on_failure=True``, when a source cannot be read.
        """
        metas = _expand_meta(meta, len(sources))
        routed: dict[str, list[Source]] = {}
        for source, extra in zip(sources, metas, strict=True):
            try:
                mime = detect_mime_type(source, self.additional_mimetypes)
            except OSError as exc:
                if self.raise_on_failure:
                    raise ComponentError(f"FileTypeRouter cannot read '{source}': {exc}") from exc
                logger.warning(
                    "FileTypeRouter: cannot read '%s' (%s); routed to 'unclassified'.", source, exc
                )
                mime = None
            item = source if extra is None else _with_meta(source, extra)
            target = self._match(mime)
            routed.setdefault(target, []).append(item)
        return routed

    def _match(self, mime: str | None) -> str:
        if mime is not None:
            for name, pattern in zip(self.mime_types, self._patterns, strict=True):
                if pattern.fullmatch(mime):
                    return name
        return "unclassified"

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(
            self,
            mime_types=self.mime_types,
            additional_mimetypes=self.additional_mimetypes or None,
            raise_on_failure=self.raise_on_failure,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileTypeRouter:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)


def _expand_meta(
    meta: dict[str, Any] | list[dict[str, Any]] | None, count: int
) -> list[dict[str, Any] | None]:
    if meta is None:
        return [None] * count
    if isinstance(meta, dict):
        return [dict(meta) for _ in range(count)]
    if len(meta) != count:
        raise ComponentError(
            f"FileTypeRouter got {count} sources but {len(meta)} meta dicts. Pass one dict per source, or "
            "a single dict for all."
        )
    return [dict(m or {}) for m in meta]


def _with_meta(source: Source, extra: dict[str, Any]) -> Source:
    if isinstance(source, ByteStream):
        return ByteStream(data=source.data, meta={**source.meta, **extra}, mime_type=source.mime_type)
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError:
        return source  # left as a path: the converter reports the read error per file
    base = {"source": str(source), "file_name": path.name, "file_path": str(path.absolute())}
    return ByteStream(data=data, meta={**base, **extra})
