"""ImageContent: detection, validation, serialization and conversions."""

from __future__ import annotations

import pytest

from haybale.dataclasses import ByteStream, Document, ImageContent
from haybale.dataclasses.image_content import image_mime_type

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_type_is_detected_and_validated() -> None:
    assert ImageContent(PNG).mime_type == "image/png"
    assert image_mime_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert image_mime_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert image_mime_type(b"%PDF-1.7") is None
    with pytest.raises(ValueError, match="not a PNG, JPEG"):
        ImageContent(b"%PDF-1.7 not an image")
    with pytest.raises(ValueError, match="image type"):
        ImageContent(PNG, mime_type="application/pdf")
    with pytest.raises(TypeError, match="bytes"):
        ImageContent("not bytes")  # type: ignore[arg-type]


def test_round_trips_and_conversions() -> None:
    image = ImageContent(PNG, meta={"page_number": 2}, detail="low")
    assert ImageContent.from_dict(image.to_dict()) == image
    assert ImageContent.from_base64(image.to_data_url()) == ImageContent(PNG)
    doc = image.to_document(content="ocr text", meta={"source": "a.pdf"})
    assert isinstance(doc, Document) and doc.blob == ByteStream(PNG, mime_type="image/png")
    back = ImageContent.from_document(doc)
    assert back.data is PNG and back.meta == {"page_number": 2, "source": "a.pdf"}
    assert ImageContent.from_bytestream(image.to_bytestream()).meta == {"page_number": 2}
    assert "<40 bytes>" in repr(image)
    with pytest.raises(ValueError, match="holds no image"):
        ImageContent.from_document(Document(content="text only"))
    with pytest.raises(ValueError, match="base64"):
        ImageContent.from_base64("data:image/png;base64,%%%")
