"""Images that flow between components: encoded bytes (PNG, JPEG, ...) with a MIME type and metadata.

An :class:`ImageContent` holds the *encoded* image (``bytes``, immutable), so passing one through a pipeline
never copies the pixels: the pipeline's copy-on-share isolation rebuilds the small dataclass and its ``meta``
dict and shares the bytes. Decoding (Pillow) happens only where pixels are needed, at first use.

Image *documents* — what vision stores hold — are ordinary :class:`~haybale.dataclasses.Document` objects
whose ``blob`` is the image (:meth:`ImageContent.to_document` / :meth:`ImageContent.from_document`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haybale.dataclasses.byte_stream import ByteStream

__all__ = ["IMAGE_MIME_TYPES", "ImageContent", "image_mime_type"]

#: Image types haybale reads, by MIME type.
IMAGE_MIME_TYPES: frozenset[str] = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/bmp", "image/tiff", "image/webp"}
)


_SIGNATURES: tuple[tuple[tuple[bytes, ...], str], ...] = (
    ((b"\x89PNG\r\n\x1a\n",), "image/png"),
    ((b"\xff\xd8\xff",), "image/jpeg"),
    ((b"GIF87a", b"GIF89a"), "image/gif"),
    ((b"II*\x00", b"MM\x00*"), "image/tiff"),
)


def image_mime_type(data: bytes) -> str | None:
    """The MIME type the first bytes of an encoded image prove (PNG, JPEG, GIF, BMP, TIFF, WebP), or None."""
    head = data[:16]
    for signatures, mime in _SIGNATURES:
        if head.startswith(signatures):
            return mime
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"BM") and len(data) > 26:  # BITMAPFILEHEADER: the declared size must match
        declared = int.from_bytes(data[2:6], "little")
        if declared in (0, len(data)):
            return "image/bmp"
    return None


@dataclass
class ImageContent:
    """An encoded image plus its MIME type and metadata.

    Args:
        data: the encoded image bytes.
        mime_type: ``image/png``, ``image/jpeg``, ...; None means detect it from ``data``.
        meta: metadata (``page_number``, ``source``, ``file_name``, ``width``, ``height``, ...).
        detail: the detail level vision LLM APIs accept (``"auto"``, ``"low"``, ``"high"``), or None.

    Raises:
        TypeError: ``data`` is not bytes.
        ValueError: the MIME type is not an image type, or cannot be detected.
    """

    data: bytes
    mime_type: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    detail: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.data, bytearray | memoryview):
            self.data = bytes(self.data)
        if not isinstance(self.data, bytes):
            raise TypeError(
                f"ImageContent.data must be the encoded image as bytes, got {type(self.data).__name__}. Use "
                "ImageContent.from_file_path(path) or ImageContent.from_base64(text)."
            )
        if self.mime_type is None:
            self.mime_type = image_mime_type(self.data)
            if self.mime_type is None:
                raise ValueError(
                    "ImageContent: the bytes are not a PNG, JPEG, GIF, BMP, TIFF or WebP image; pass "
                    "mime_type if the format is one Pillow reads."
                )
        elif not self.mime_type.startswith("image/"):
            raise ValueError(
                f"ImageContent.mime_type must be an image type such as 'image/png', got {self.mime_type!r}."
            )
        if self.detail not in (None, "auto", "low", "high"):
            raise ValueError(
                f"ImageContent.detail must be None, 'auto', 'low' or 'high', got {self.detail!r}."
            )

    def __repr__(self) -> str:
        return (
            f"ImageContent(mime_type={self.mime_type!r}, data=<{len(self.data)} bytes>, meta={self.meta!r})"
        )

    # ------------------------------------------------------------------------------------- constructors
    @classmethod
    def from_file_path(
        cls, path: str | Path, mime_type: str | None = None, meta: dict[str, Any] | None = None
    ) -> ImageContent:
        """Read an image file (its type is detected from its bytes unless given).

        Raises:
            OSError: the file cannot be read.
            ValueError: the file is not an image.
        """
        file = Path(path)
        return cls(data=file.read_bytes(), mime_type=mime_type, meta={"file_name": file.name, **(meta or {})})

    @classmethod
    def from_base64(
        cls, text: str, mime_type: str | None = None, meta: dict[str, Any] | None = None
    ) -> ImageContent:
        """Decode base64 text or a ``data:image/...;base64,...`` URL.

        Raises:
            ValueError: the text is not valid base64 or not an image.
        """
        if text.startswith("data:"):
            header, _, text = text.partition(",")
            declared = header[5:].split(";", 1)[0]
            mime_type = mime_type or (declared or None)
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("ImageContent.from_base64: the text is not valid base64.") from None
        return cls(data=data, mime_type=mime_type, meta=dict(meta or {}))

    @classmethod
    def from_bytestream(cls, stream: ByteStream) -> ImageContent:
        """The image held by a :class:`ByteStream` (its MIME type and meta are kept)."""
        return cls(data=stream.data, mime_type=stream.mime_type, meta=dict(stream.meta))

    @classmethod
    def from_document(cls, document: Any) -> ImageContent:
        """The image of an image document (its ``blob``), with the document's meta.

        Raises:
            ValueError: the document has no image blob.
        """
        blob = getattr(document, "blob", None)
        if blob is None or not (blob.mime_type or "").startswith("image/"):
            raise ValueError(
                f"Document {getattr(document, 'id', '')!r} holds no image: image documents carry the image "
                "in `blob` (a ByteStream with an image/* MIME type), as PDFToImages and ImageFileToImages "
                "produce."
            )
        return cls(data=blob.data, mime_type=blob.mime_type, meta=dict(document.meta))

    # ------------------------------------------------------------------------------------- conversions
    @property
    def base64(self) -> str:
        """The bytes as base64 text."""
        return base64.b64encode(self.data).decode("ascii")

    def to_data_url(self) -> str:
        """A ``data:`` URL (what OpenAI-compatible vision APIs take in ``image_url``)."""
        return f"data:{self.mime_type};base64,{self.base64}"

    def to_bytestream(self) -> ByteStream:
        """The image as a :class:`ByteStream` (bytes shared, meta copied)."""
        return ByteStream(data=self.data, meta=dict(self.meta), mime_type=self.mime_type)

    def to_document(self, content: str | None = None, meta: dict[str, Any] | None = None) -> Any:
        """An image document: ``blob`` is the image, ``meta`` this image's meta updated with ``meta``."""
        from haybale.dataclasses.document import Document

        merged = {**self.meta, **(meta or {})}
        return Document(content=content, meta=merged, blob=ByteStream(self.data, mime_type=self.mime_type))

    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels, read from the image header (needs Pillow).

        Raises:
            MissingDependencyError: Pillow is not installed.
            ValueError: the bytes cannot be decoded.
        """

        from haybale.errors import optional_dependency

        with optional_dependency("pillow", extra="ocr", feature="ImageContent.size"):
            from PIL import Image, UnidentifiedImageError
        import io

        try:
            with Image.open(io.BytesIO(self.data)) as image:
                return int(image.width), int(image.height)
        except (UnidentifiedImageError, OSError) as exc:
            raise ValueError(f"ImageContent: the {self.mime_type} bytes cannot be decoded: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict; the bytes are base64-encoded."""
        return {
            "data": self.base64,
            "mime_type": self.mime_type,
            "meta": dict(self.meta),
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageContent:
        """Build from :meth:`to_dict` output."""
        return cls(
            data=base64.b64decode(data["data"]),
            mime_type=data.get("mime_type"),
            meta=dict(data.get("meta") or {}),
            detail=data.get("detail"),
        )
