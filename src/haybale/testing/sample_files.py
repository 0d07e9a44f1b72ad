"""Real files for tests of OCR, vision retrieval and archives, generated on the fly (needs Pillow).

* :func:`text_image`: text rendered into a PNG/JPEG/TIFF/WebP/BMP image, as a screenshot or scan holds it;
* :func:`image_only_pdf`: a PDF whose pages are images of text and have no text layer (a scan);
* :func:`zip_archive`: a ZIP of given members; :func:`zip_bomb`: a small ZIP that expands enormously.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

__all__ = ["image_only_pdf", "render_text", "text_image", "zip_archive", "zip_bomb"]


def render_text(lines: list[str], font_size: int = 40, width: int | None = None) -> Any:
    """A white Pillow RGB image with ``lines`` of black text (Pillow's built-in scalable font)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=font_size)
    longest = max((len(line) for line in lines), default=1)
    width = width or max(200, int(longest * font_size * 0.62) + 2 * font_size)
    height = (len(lines) * 2 + 1) * font_size
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((font_size, font_size + index * 2 * font_size), line, fill="black", font=font)
    return image


def text_image(lines: list[str], image_format: str = "PNG", font_size: int = 40) -> bytes:
    """``lines`` rendered into an image file of ``image_format`` (PNG, JPEG, TIFF, WEBP, BMP, GIF)."""
    image = render_text(lines, font_size)
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def image_only_pdf(pages: list[list[str]], font_size: int = 40) -> bytes:
    """A PDF with one page per entry of ``pages``, each an image of its lines: no text layer at all."""
    images = [render_text(lines, font_size, width=1400) for lines in pages]
    buffer = io.BytesIO()
    images[0].save(buffer, format="PDF", save_all=True, append_images=images[1:], resolution=150.0)
    return buffer.getvalue()


def zip_archive(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP archive holding ``members`` (path -> bytes), in the given order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for path, data in members.items():
            archive.writestr(path, data)
    return buffer.getvalue()


def zip_bomb(expanded_mib: int = 64, member: str = "payload.txt") -> bytes:
    """A ZIP of a few dozen KiB whose one member expands to ``expanded_mib`` MiB of zeros (ratio ~1000)."""
    buffer = io.BytesIO()
    zeros = bytes(1024 * 1024)
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(member, "w", force_zip64=True) as stream,
    ):
        for _ in range(expanded_mib):
            stream.write(zeros)
    return buffer.getvalue()
