"""ImageToDocument: the text in images (scans, screenshots, photos of documents), found by OCR."""

from __future__ import annotations

from typing import Any

from haybale.components.converters._image_reading import (
    DEFAULT_MAX_PAGES,
    DEFAULT_MAX_PIXELS,
    image_pages,
    open_image,
)
from haybale.components.converters.ocr_engine import OCR_MODELS, get_ocr_engine
from haybale.components.converters.source_reading import convert_sources, describe_source
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document, Source
from haybale.errors import ComponentError, ConversionError

__all__ = ["ImageToDocument"]


def _check_limits(max_pixels: int, max_pages: int) -> None:
    for name, value in (("max_pixels", max_pixels), ("max_pages", max_pages)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ComponentError(f"{name} must be a positive integer, got {value!r}.")


@component
class ImageToDocument:
    """OCR image files (PNG, JPEG, TIFF, WebP, BMP, GIF) into text Documents, offline on the CPU.

    One Document per page that holds text (a multi-page TIFF has one page per frame; other images one page).
    Meta records ``page_number``, ``page_count``, ``ocr: True``, ``ocr_pages`` (the pages that were OCR'd),
    ``ocr_model``, ``image_width`` / ``image_height`` and, with ``include_boxes``, ``ocr_boxes``: one
    ``{"text", "bbox": [x0, y0, x1, y1], "confidence"}`` per line, the box in fractions of the page's width
    and height from its top-left corner. EXIF rotation is applied first.

    An image that is unreadable, truncated, larger than ``max_pixels`` per page, or holds no legible text is
    reported in ``failures``.

    Args:
        ocr_model: one of ``"pp-ocrv6-tiny"`` and ``"pp-ocrv4"`` (see
            :mod:`~haybale.components.converters.ocr_engine`); None picks the best installed one.
        include_boxes: record the line boxes in ``meta["ocr_boxes"]``.
        max_pixels: the largest page accepted, in pixels.
        max_pages: the most pages read from one file.
    """

    def __init__(
        self,
        ocr_model: str | None = None,
        include_boxes: bool = True,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        if ocr_model is not None and ocr_model not in OCR_MODELS:
            raise ComponentError(
                f"ImageToDocument: unknown ocr_model {ocr_model!r}; choose one of {list(OCR_MODELS)}."
            )
        _check_limits(max_pixels, max_pages)
        self.ocr_model = ocr_model
        self.include_boxes = include_boxes
        self.max_pixels = max_pixels
        self.max_pages = max_pages

    def warm_up(self) -> None:
        """Load the OCR model (idempotent; shared by every OCR component of the process)."""
        get_ocr_engine(self.ocr_model)

    @component.output_types(documents=list[Document], failures=list[dict[str, Any]])
    def run(
        self, sources: list[Source], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """OCR ``sources`` (paths or byte streams).

        Args:
            sources: image files.
            meta: one dict for all sources, or one per source; merged into each document's meta.

        Returns:
            ``documents`` (one per page with text) and ``failures`` (``{"source", "error"}`` per skipped
            file).
        """
        return convert_sources(type(self).__name__, sources, meta, self._convert_one, "image/png")

    def _convert_one(self, source: Source, meta: dict[str, Any]) -> list[Document]:
        name = describe_source(source)
        image = open_image(source, self.max_pixels, type(self).__name__)
        engine = get_ocr_engine(self.ocr_model)
        pages = []
        with image:
            for number, page in image_pages(image, name, self.max_pixels, self.max_pages):
                pages.append((number, engine.recognize(page)))
        read = [(number, result) for number, result in pages if result.text.strip()]
        if not read:
            raise ConversionError(
                f"'{name}': OCR found no legible text in this image ({len(pages)} page(s)). If it shows "
                "text, scan it at a higher resolution (about 300 dpi)."
            )
        ocr_pages = [number for number, _ in read]
        documents = []
        for number, result in read:
            page_meta: dict[str, Any] = {
                "page_number": number,
                "page_count": len(pages),
                "ocr": True,
                "ocr_pages": ocr_pages,
                "ocr_model": engine.model,
                "image_width": result.width,
                "image_height": result.height,
            }
            if self.include_boxes:
                page_meta["ocr_boxes"] = result.boxes()
            documents.append(Document(content=result.text, meta={**page_meta, **meta}))
        return documents

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(
            self,
            ocr_model=self.ocr_model,
            include_boxes=self.include_boxes,
            max_pixels=self.max_pixels,
            max_pages=self.max_pages,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
