"""Rendering PDF pages to images with pypdfium2 (PDFium), for OCR and for vision retrieval.

PDFium is not thread-safe, so every call into it in this process goes through one lock. A page is rendered at
the requested resolution, scaled down when that would exceed ``max_pixels`` (a poster-sized page at 300 dpi
would need gigabytes).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from haybale.errors import ConversionError, optional_dependency

__all__ = ["DEFAULT_RENDER_MAX_PIXELS", "open_pdf", "render_page"]

#: Rendered pages are kept under this many pixels (about 300 dpi on an A3 page).
DEFAULT_RENDER_MAX_PIXELS = 25_000_000
_PDFIUM_LOCK = threading.RLock()


@contextmanager
def open_pdf(data: bytes, name: str, feature: str) -> Iterator[Any]:
    """Open a PDF with PDFium for the duration of the block (PDFium calls take the process-wide lock).

    Raises:
        MissingDependencyError: pypdfium2 is not installed.
        ConversionError: the PDF is corrupt or needs a password.
    """
    with optional_dependency("pypdfium2", extra="ocr", feature=feature):
        import pypdfium2 as pdfium
    with _PDFIUM_LOCK:  # every PDFium call holds the lock; the document stays open between calls
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            message = str(exc)
            if "password" in message.lower():
                raise ConversionError(
                    f"'{name}' is an encrypted PDF and needs a password to be opened. Provide an unencrypted "
                    "copy (for example `qpdf --decrypt --password=... in.pdf out.pdf`)."
                ) from None
            raise ConversionError(f"'{name}' is a corrupt or unsupported PDF: {message}") from None
    try:
        yield document
    finally:
        with _PDFIUM_LOCK:
            document.close()


def render_page(document: Any, index: int, dpi: int, max_pixels: int, name: str) -> Any:
    """Page ``index`` (0-based) of an open PDF as a Pillow RGB image at ``dpi`` (less when it would exceed
    ``max_pixels``).

    Raises:
        ConversionError: PDFium cannot render the page.
    """
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        try:
            page = document[index]
            try:
                width_pt, height_pt = page.get_size()
                scale = dpi / 72.0
                pixels = width_pt * height_pt * scale * scale
                if pixels > max_pixels:
                    scale *= math.sqrt(max_pixels / pixels)
                # The Pillow image may share the bitmap's buffer: the bitmap is left to the garbage collector.
                image = page.render(scale=scale).to_pil()
            finally:
                page.close()
        except pdfium.PdfiumError as exc:
            raise ConversionError(f"'{name}': page {index + 1} cannot be rendered: {exc}") from None
    return image if image.mode == "RGB" else image.convert("RGB")
