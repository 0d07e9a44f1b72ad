"""Reading image files safely: size limits checked from the header, EXIF rotation applied, multi-page TIFFs.

Shared by :class:`~haybale.components.converters.ImageToDocument` (OCR into text) and
:class:`~haybale.components.converters.ImageFileToImages` (page images for vision retrieval).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from typing import Any

from haybale.components.converters.source_reading import describe_source, read_source_bytes
from haybale.dataclasses import Source
from haybale.errors import ConversionError, optional_dependency

__all__ = [
    "DEFAULT_MAX_PAGES",
    "DEFAULT_MAX_PIXELS",
    "encode_image",
    "image_pages",
    "open_image",
    "require_pillow",
]

#: Images with more pixels than this (per page) are refused: decoding one would take gigabytes of memory.
DEFAULT_MAX_PIXELS = 50_000_000
#: Pages (frames) read from one multi-page image.
DEFAULT_MAX_PAGES = 500


def require_pillow(feature: str) -> Any:
    """The ``PIL.Image`` module, or MissingDependencyError naming the extra."""
    with optional_dependency("pillow", extra="ocr", feature=feature):
        from PIL import Image
    return Image


def open_image(source: Source, max_pixels: int, feature: str) -> Any:
    """Open an image source without decoding its pixels; its size is checked against ``max_pixels``.

    Raises:
        ConversionError: the file is unreadable, not an image Pillow can read, or too large.
    """
    image_module = require_pillow(feature)
    from PIL import UnidentifiedImageError

    name = describe_source(source)
    data = read_source_bytes(source)
    with warnings.catch_warnings():
        warnings.simplefilter("error", image_module.DecompressionBombWarning)
        try:
            image = image_module.open(io.BytesIO(data))
        except (image_module.DecompressionBombWarning, image_module.DecompressionBombError):
            raise _too_large(name, None, max_pixels) from None
        except UnidentifiedImageError:  # Pillow's message names its in-memory buffer, not the file
            raise ConversionError(
                f"'{name}' is not a readable image (PNG, JPEG, TIFF, WebP, BMP, GIF): its content matches "
                "none of these formats (corrupt, or another kind of file under an image's name)."
            ) from None
        except (OSError, ValueError, SyntaxError) as exc:
            raise ConversionError(
                f"'{name}' is not a readable image (PNG, JPEG, TIFF, WebP, BMP, GIF): {exc}"
            ) from None
    _check_size(image, name, max_pixels)
    return image


def _too_large(name: str, size: tuple[int, int] | None, max_pixels: int) -> ConversionError:
    shown = f" ({size[0]}x{size[1]} pixels)" if size else ""
    return ConversionError(
        f"'{name}' is too large an image{shown}: more than {max_pixels} pixels per page. Scale it down (300 "
        "dpi is plenty for text) or raise max_pixels."
    )


def _check_size(image: Any, name: str, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise _too_large(name, (width, height), max_pixels)
    if width < 1 or height < 1:
        raise ConversionError(f"'{name}' is an empty image (0 pixels).")


def image_pages(image: Any, name: str, max_pixels: int, max_pages: int) -> Iterator[tuple[int, Any]]:
    """``(page_number, image)`` for every page of ``image`` (TIFF frames; the first frame of an animation),
    each decoded, EXIF-rotated and size-checked.

    Raises:
        ConversionError: a page is truncated or corrupt, too large, or there are more than ``max_pages``.
    """
    from PIL import ImageOps

    frames = getattr(image, "n_frames", 1) if image.format in ("TIFF", "MPO") else 1
    if frames > max_pages:
        raise ConversionError(
            f"'{name}' has {frames} pages, more than the {max_pages} accepted. Split the file or raise "
            "max_pages."
        )
    for index in range(frames):
        try:
            image.seek(index)
            _check_size(image, name, max_pixels)
            page = ImageOps.exif_transpose(image)
            page.load()
        except ConversionError:
            raise
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise ConversionError(
                f"'{name}' is a truncated or corrupt image (page {index + 1}): {exc}"
            ) from None
        yield index + 1, page


def encode_image(image: Any, image_format: str) -> tuple[bytes, str]:
    """Encode a Pillow image as ``"png"`` or ``"jpeg"``; returns the bytes and the MIME type."""
    buffer = io.BytesIO()
    if image_format == "jpeg":
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        rgb.save(buffer, format="JPEG", quality=88, optimize=True)
        return buffer.getvalue(), "image/jpeg"
    ready = image if image.mode in ("RGB", "RGBA", "L", "LA", "P", "1") else image.convert("RGB")
    ready.save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue(), "image/png"
