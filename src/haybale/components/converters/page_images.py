"""Page images for vision retrieval: PDF pages rendered with PDFium, and the pages of image files.

Both components produce *image documents*: one :class:`~haybale.dataclasses.Document` per page whose
``blob`` is the page image (PNG or JPEG) and whose meta records ``page_number``, ``page_count``,
``image_width``, ``image_height`` and the source's ``source`` / ``file_name``. ``content`` is None (an OCR
step or a vision embedder fills in what the page means). :meth:`ImageContent.from_document` gets the
image back.
"""

from __future__ import annotations

from typing import Any

from haybale.components.converters._image_reading import (
    DEFAULT_MAX_PAGES,
    DEFAULT_MAX_PIXELS,
    encode_image,
    image_pages,
    open_image,
)
from haybale.components.converters._pdf_rendering import DEFAULT_RENDER_MAX_PIXELS, open_pdf, render_page
from haybale.components.converters.source_reading import (
    convert_sources,
    describe_source,
    read_source_bytes,
)
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import ByteStream, Document, Source
from haybale.errors import ComponentError, ConversionError

__all__ = ["ImageFileToImages", "PDFToImages"]

_FORMATS = ("png", "jpeg")


def _check_common(image_format: str, max_side: int, max_pages: int) -> None:
    if image_format not in _FORMATS:
        raise ComponentError(f"image_format must be one of {list(_FORMATS)}, got {image_format!r}.")
    for name, value in (("max_side", max_side), ("max_pages", max_pages)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ComponentError(f"{name} must be a positive integer, got {value!r}.")


def _fit(image: Any, max_side: int) -> Any:
    """``image`` scaled down so that its longer side is at most ``max_side`` pixels (never up)."""
    longest = max(image.size)
    if longest <= max_side:
        return image
    factor = max_side / longest
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size)


def _page_document(image: Any, image_format: str, number: int, count: int, meta: dict[str, Any]) -> Document:
    data, mime = encode_image(image, image_format)
    page_meta = {
        "page_number": number,
        "page_count": count,
        "image_width": image.width,
        "image_height": image.height,
        **meta,
    }
    page_meta["mime_type"] = mime
    return Document(content=None, meta=page_meta, blob=ByteStream(data=data, mime_type=mime))


@component
class PDFToImages:
    """Render the pages of PDF files to images (pypdfium2), one image document per page.

    Args:
        dpi: render resolution (pages are scaled down further to fit ``max_side``).
        image_format: ``"png"`` (lossless) or ``"jpeg"`` (smaller).
        max_side: the longest side of a page image, in pixels (vision models read about 1000-2000).
        max_pages: PDFs with more pages are refused (reported in ``failures``).
    """

    def __init__(
        self,
        dpi: int = 144,
        image_format: str = "png",
        max_side: int = 1600,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        if not isinstance(dpi, int) or isinstance(dpi, bool) or not 36 <= dpi <= 600:
            raise ComponentError(f"PDFToImages: dpi must be an integer from 36 to 600, got {dpi!r}.")
        _check_common(image_format, max_side, max_pages)
        self.dpi = dpi
        self.image_format = image_format
        self.max_side = max_side
        self.max_pages = max_pages

    @component.output_types(documents=list[Document], failures=list[dict[str, Any]])
    def run(
        self, sources: list[Source], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Render ``sources`` (paths or byte streams of PDFs).

        Returns:
            ``documents`` (one image document per page) and ``failures`` (``{"source", "error"}`` per
            skipped file).
        """
        return convert_sources(type(self).__name__, sources, meta, self._convert_one, "application/pdf")

    def _convert_one(self, source: Source, meta: dict[str, Any]) -> list[Document]:
        name = describe_source(source)
        data = read_source_bytes(source)
        if not data.lstrip()[:1024].startswith(b"%PDF"):
            raise ConversionError(f"'{name}' is not a PDF file (it does not start with '%PDF-').")
        documents = []
        with open_pdf(data, name, type(self).__name__) as pdf:
            count = len(pdf)
            if count > self.max_pages:
                raise ConversionError(
                    f"'{name}' has {count} pages, more than the {self.max_pages} accepted. Split the PDF or "
                    "raise max_pages."
                )
            for index in range(count):
                image = _fit(
                    render_page(pdf, index, self.dpi, DEFAULT_RENDER_MAX_PIXELS, name), self.max_side
                )
                documents.append(_page_document(image, self.image_format, index + 1, count, meta))
        if not documents:
            raise ConversionError(f"'{name}' has no pages.")
        return documents

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(
            self,
            dpi=self.dpi,
            image_format=self.image_format,
            max_side=self.max_side,
            max_pages=self.max_pages,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PDFToImages:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)


@component
class ImageFileToImages:
    """The pages of image files (PNG, JPEG, TIFF, WebP, BMP, GIF) as image documents, ready for a vision
    embedder: EXIF rotation applied, scaled to fit ``max_side``, one document per TIFF frame. A PNG or JPEG
    that needs none of that is passed on with its original bytes.

    Args:
        image_format: the format pages are re-encoded in when they must be (``"png"`` or ``"jpeg"``).
        max_side: the longest side of a page image, in pixels.
        max_pixels: larger images are refused (reported in ``failures``).
        max_pages: the most pages read from one file.
    """

    def __init__(
        self,
        image_format: str = "png",
        max_side: int = 1600,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        _check_common(image_format, max_side, max_pages)
        if not isinstance(max_pixels, int) or isinstance(max_pixels, bool) or max_pixels < 1:
            raise ComponentError(f"max_pixels must be a positive integer, got {max_pixels!r}.")
        self.image_format = image_format
        self.max_side = max_side
        self.max_pixels = max_pixels
        self.max_pages = max_pages

    @component.output_types(documents=list[Document], failures=list[dict[str, Any]])
    def run(
        self, sources: list[Source], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Read ``sources`` (paths or byte streams of images).

        Returns:
            ``documents`` (one image document per page) and ``failures`` (``{"source", "error"}`` per
            skipped file).
        """
        return convert_sources(type(self).__name__, sources, meta, self._convert_one, "image/png")

    def _convert_one(self, source: Source, meta: dict[str, Any]) -> list[Document]:
        name = describe_source(source)
        image = open_image(source, self.max_pixels, type(self).__name__)
        documents = []
        with image:
            if self._keeps_original(image):
                mime = "image/png" if image.format == "PNG" else "image/jpeg"
                size = {"image_width": image.width, "image_height": image.height}
                page_meta = {"page_number": 1, "page_count": 1, **size, **meta, "mime_type": mime}
                blob = ByteStream(data=read_source_bytes(source), mime_type=mime)
                return [Document(content=None, meta=page_meta, blob=blob)]
            count = getattr(image, "n_frames", 1) if image.format in ("TIFF", "MPO") else 1
            for number, page in image_pages(image, name, self.max_pixels, self.max_pages):
                fitted = _fit(page, self.max_side)
                documents.append(_page_document(fitted, self.image_format, number, count, meta))
        return documents

    def _keeps_original(self, image: Any) -> bool:
        """A single-page PNG or JPEG that fits and needs no rotation is passed on as it is."""
        return (
            image.format in ("PNG", "JPEG")
            and getattr(image, "n_frames", 1) == 1
            and max(image.size) <= self.max_side
            and image.getexif().get(0x0112, 1) in (None, 1)
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(
            self,
            image_format=self.image_format,
            max_side=self.max_side,
            max_pixels=self.max_pixels,
            max_pages=self.max_pages,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageFileToImages:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
