"""PDFToDocument: the text of PDF files, one Document per file with pages separated by form feeds."""

from __future__ import annotations

import io
from typing import Any

from haybale.components.converters.source_reading import (
    Source,
    convert_sources,
    describe_source,
    read_source_bytes,
    require_text,
)
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document
from haybale.errors import ComponentError, ConversionError, MissingDependencyError

#: Separates pages in the produced text; DocumentSplitter counts it to record ``page_number``.
PAGE_BREAK = "\f"


@component
class PDFToDocument:
    """Convert PDF files to Documents with pypdf: one Document per file, pages separated by ``"\\f"``.

    Keeping a file in one Document lets chunks span page boundaries while :class:`DocumentSplitter` still
    records each chunk's ``page_number`` by counting the form feeds before it. ``meta["page_count"]`` holds
    the number of pages and ``meta["title"]`` the PDF's title when it has one.

    A corrupt file, an encrypted file that needs a password (owner-only protection, which opens with the empty
    password, is read normally), or a PDF without a text layer (a scan: run OCR first) is reported as a
    per-file failure.

    Args:
        extraction_mode: pypdf's ``"plain"`` (reading order) or ``"layout"`` (keeps horizontal layout).
    """

    def __init__(self, extraction_mode: str = "plain") -> None:
        if extraction_mode not in ("plain", "layout"):
            raise ComponentError(
                f"PDFToDocument: extraction_mode must be 'plain' or 'layout', got {extraction_mode!r}."
            )
        self.extraction_mode = extraction_mode

    @component.output_types(documents=list[Document], failures=list[dict[str, Any]])
    def run(
        self, sources: list[Source], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Convert ``sources`` (paths or byte streams).

        Args:
            sources: files to convert.
            meta: one dict for all sources, or one per source; merged into each document's meta.

        Returns:
            ``documents`` (one per converted file) and ``failures`` (``{"source", "error"}`` per
            skipped file).
        """
        return convert_sources(type(self).__name__, sources, meta, self._convert_one, "application/pdf")

    def _convert_one(self, source: Source, meta: dict[str, Any]) -> list[Document]:
        try:
            from pypdf import PdfReader
            from pypdf.errors import PyPdfError
        except ImportError as exc:
            raise MissingDependencyError.for_extra("pypdf", "converters", "PDFToDocument") from exc
        name = describe_source(source)
        data = read_source_bytes(source)
        if not data.lstrip()[:1024].startswith(b"%PDF"):
            raise ConversionError(f"'{name}' is not a PDF file (it does not start with '%PDF-').")
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise ConversionError(
                    f"'{name}' is an encrypted PDF and needs a password to be opened. Provide an "
                    "unencrypted copy (for example `qpdf --decrypt --password=... in.pdf out.pdf`)."
                )
            mode: Any = self.extraction_mode
            pages = [page.extract_text(extraction_mode=mode) or "" for page in reader.pages]
            title = reader.metadata.title if reader.metadata is not None else None
        except ConversionError:
            raise
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConversionError(
                f"'{name}' is a corrupt or unsupported PDF: {type(exc).__name__}: {exc}"
            ) from None
        text = PAGE_BREAK.join(page.replace(PAGE_BREAK, "\n") for page in pages)
        require_text(text, source, "this PDF (it may be a scan without a text layer; run OCR first)")
        extra: dict[str, Any] = {"page_count": len(pages)}
        if title and "title" not in meta:
            extra["title"] = str(title)
        return [Document(content=text, meta={**extra, **meta})]

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self, extraction_mode=self.extraction_mode)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PDFToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
