"""PDFToDocument: the text of PDF files, one Document per file with pages separated by form feeds; pages
without a text layer (scans) are OCR'd."""

from __future__ import annotations

import importlib.util
import io
from typing import TYPE_CHECKING, Any

from haybale.components.converters.ocr_engine import OCR_MODELS
from haybale.components.converters.source_reading import (
    convert_sources,
    describe_source,
    read_source_bytes,
    require_text,
)
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document, Source
from haybale.errors import ComponentError, ConversionError, optional_dependency

__all__ = ["PAGE_BREAK", "PDFToDocument"]

if TYPE_CHECKING:
    from haybale.components.converters.ocr_engine import OCRPage

#: Separates pages in the produced text; DocumentSplitter counts it to record ``page_number``.
PAGE_BREAK = "\f"


@component
class PDFToDocument:
    """Convert PDF files to Documents with pypdf: one Document per file, pages separated by ``"\\f"``.

    Keeping a file in one Document lets chunks span page boundaries while :class:`DocumentSplitter` still
    records each chunk's ``page_number`` by counting the form feeds before it. ``meta["page_count"]`` holds
    the number of pages and ``meta["title"]`` the PDF's title when it has one.

    **Scanned pages.** With ``ocr`` on (the default), pages without a text layer are rendered with PDFium and
    OCR'd (offline, see :class:`ImageToDocument`). A PDF with OCR'd pages yields one Document *per page*
    instead, each with its ``page_number``, ``ocr`` (whether that page was OCR'd) and, for OCR'd pages,
    ``ocr_boxes`` (line boxes as fractions of the page size); every page's meta lists ``ocr_pages``.

    A corrupt file, an encrypted file that needs a password (owner-only protection, which opens with the empty
    password, is read normally), or a PDF without any text (no text layer and OCR off, not installed, or
    finding nothing) is reported as a per-file failure.

    Args:
        extraction_mode: pypdf's ``"plain"`` (reading order) or ``"layout"`` (keeps horizontal layout).
        ocr: OCR pages that have no text layer (needs ``pip install 'haybale[ocr]'``).
        ocr_model: the OCR model (see :mod:`~haybale.components.converters.ocr_engine`); None: best installed.
        ocr_dpi: the resolution scanned pages are rendered at for OCR.
        include_boxes: record the OCR'd lines' boxes in ``meta["ocr_boxes"]``.
    """

    def __init__(
        self,
        extraction_mode: str = "plain",
        ocr: bool = True,
        ocr_model: str | None = None,
        ocr_dpi: int = 200,
        include_boxes: bool = True,
    ) -> None:
        if extraction_mode not in ("plain", "layout"):
            raise ComponentError(
                f"PDFToDocument: extraction_mode must be 'plain' or 'layout', got {extraction_mode!r}."
            )
        if not isinstance(ocr_dpi, int) or isinstance(ocr_dpi, bool) or not 36 <= ocr_dpi <= 600:
            raise ComponentError(
                f"PDFToDocument: ocr_dpi must be an integer from 36 to 600, got {ocr_dpi!r}."
            )
        if ocr_model is not None and ocr_model not in OCR_MODELS:
            raise ComponentError(
                f"PDFToDocument: unknown ocr_model {ocr_model!r}; choose one of {list(OCR_MODELS)}."
            )
        self.extraction_mode = extraction_mode
        self.ocr = ocr
        self.ocr_model = ocr_model
        self.ocr_dpi = ocr_dpi
        self.include_boxes = include_boxes

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
        with optional_dependency("pypdf", extra="converters", feature="PDFToDocument"):
            from pypdf import PdfReader
            from pypdf.errors import PyPdfError
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
        extra: dict[str, Any] = {"page_count": len(pages)}
        if title and "title" not in meta:
            extra["title"] = str(title)
        scanned = [index for index, page in enumerate(pages) if not page.strip()]
        if scanned and self.ocr:
            recognized = self._ocr_pages(data, name, scanned)
            if recognized:
                return self._per_page_documents(pages, recognized, {**extra, **meta})
        text = PAGE_BREAK.join(page.replace(PAGE_BREAK, "\n") for page in pages)
        require_text(text, source, self._no_text_reason())
        return [Document(content=text, meta={**extra, **meta})]

    def _no_text_reason(self) -> str:
        if not self.ocr:
            return "this PDF (it may be a scan without a text layer; turn on ocr to read it)"
        if importlib.util.find_spec("rapidocr_onnxruntime") is None:
            return (
                "this PDF (it is a scan without a text layer; install OCR support with "
                "`pip install 'haybale[ocr]'` to read it)"
            )
        return "this PDF (it has no text layer and OCR found no legible text on its pages)"

    def _ocr_pages(self, data: bytes, name: str, indexes: list[int]) -> dict[int, OCRPage]:
        """OCR the pages at ``indexes``; an empty dict when OCR is not installed."""
        if importlib.util.find_spec("rapidocr_onnxruntime") is None:
            return {}
        from haybale.components.converters._pdf_rendering import (
            DEFAULT_RENDER_MAX_PIXELS,
            open_pdf,
            render_page,
        )
        from haybale.components.converters.ocr_engine import get_ocr_engine

        engine = get_ocr_engine(self.ocr_model)
        recognized: dict[int, OCRPage] = {}
        with open_pdf(data, name, type(self).__name__) as document:
            for index in indexes:  # one rendered page in memory at a time
                image = render_page(document, index, self.ocr_dpi, DEFAULT_RENDER_MAX_PIXELS, name)
                result = engine.recognize(image)
                if result.text.strip():
                    recognized[index] = result
        return recognized

    def _per_page_documents(
        self, pages: list[str], recognized: dict[int, OCRPage], meta: dict[str, Any]
    ) -> list[Document]:
        ocr_pages = [index + 1 for index in sorted(recognized)]
        documents = []
        for index, layer_text in enumerate(pages):
            text = layer_text
            page_meta: dict[str, Any] = {
                "page_number": index + 1,
                "ocr": index in recognized,
                "ocr_pages": ocr_pages,
            }
            if index in recognized:
                result = recognized[index]
                text = result.text
                if self.include_boxes:
                    page_meta["ocr_boxes"] = result.boxes()
            if text.strip():
                documents.append(Document(content=text.replace(PAGE_BREAK, "\n"), meta={**page_meta, **meta}))
        return documents

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(
            self,
            extraction_mode=self.extraction_mode,
            ocr=self.ocr,
            ocr_model=self.ocr_model,
            ocr_dpi=self.ocr_dpi,
            include_boxes=self.include_boxes,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PDFToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
