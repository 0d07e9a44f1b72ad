"""OCR of images and scanned PDF pages, and page images for vision retrieval, on files made with Pillow."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from haybale.components.converters import (
    ImageFileToImages,
    ImageToDocument,
    MultiFileConverter,
    PDFToDocument,
    PDFToImages,
)
from haybale.core.pipeline import Pipeline
from haybale.dataclasses import ByteStream, ImageContent
from haybale.errors import ComponentError
from haybale.testing.sample_files import image_only_pdf, render_text, text_image

pytestmark = pytest.mark.slow  # OCR runs a real model (about half a second per page)


def _words(text: str) -> set[str]:
    return {w.strip(".,:").lower() for w in text.split()}


def test_init_validation_and_round_trip(assert_round_trip) -> None:
    with pytest.raises(ComponentError, match="ocr_model"):
        ImageToDocument(ocr_model="tesseract")
    with pytest.raises(ComponentError, match="max_pixels"):
        ImageToDocument(max_pixels=0)
    with pytest.raises(ComponentError, match="ocr_dpi"):
        PDFToDocument(ocr_dpi=5000)
    with pytest.raises(ComponentError, match="image_format"):
        PDFToImages(image_format="gif")
    assert_round_trip(ImageToDocument(ocr_model="pp-ocrv4", include_boxes=False, max_pages=3))
    assert_round_trip(PDFToDocument(ocr=False, ocr_dpi=150))
    assert_round_trip(PDFToImages(dpi=100, image_format="jpeg", max_side=800))
    assert_round_trip(ImageFileToImages(max_side=640))


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "TIFF", "WEBP", "BMP"])
def test_image_text_is_read_with_boxes(tmp_path: Path, image_format: str) -> None:
    path = tmp_path / f"scan.{image_format.lower()}"
    path.write_bytes(text_image(["Invoice 4711 for the tractor repair", "Total due 250 EUR"], image_format))
    result = MultiFileConverter().run(sources=[path])
    assert result["failures"] == []
    [doc] = result["documents"]
    assert {"invoice", "4711", "tractor", "repair", "total", "250"} <= _words(doc.content)
    assert doc.meta["page_number"] == 1 and doc.meta["ocr"] is True and doc.meta["ocr_pages"] == [1]
    first = doc.meta["ocr_boxes"][0]
    assert "Invoice" in first["text"] and 0 <= first["bbox"][0] < first["bbox"][2] <= 1
    assert first["bbox"][1] < doc.meta["ocr_boxes"][1]["bbox"][1]  # reading order: top line first


def test_multi_page_tiff_gets_one_document_per_page(tmp_path: Path) -> None:
    pages = [render_text(["First page mentions barley"]), render_text(["Second page mentions oats"])]
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:])
    docs = ImageToDocument().run(sources=[ByteStream(buffer.getvalue(), meta={"file_name": "fax.tiff"})])[
        "documents"
    ]
    assert [(d.meta["page_number"], "barley" in d.content, "oats" in d.content) for d in docs] == [
        (1, True, False),
        (2, False, True),
    ]
    assert all(d.meta["page_count"] == 2 and d.meta["ocr_pages"] == [1, 2] for d in docs)


def test_scanned_pdf_pages_are_ocrd_with_page_numbers(tmp_path: Path, make_pdf) -> None:
    from pypdf import PdfReader, PdfWriter

    text_pdf = make_pdf("text.pdf", [["This page has a real text layer about hay"]])
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(image_only_pdf([["Scanned page about the combine harvester"]]))
    writer = PdfWriter()
    for source in (text_pdf, scan):
        for page in PdfReader(source).pages:
            writer.add_page(page)
    mixed = tmp_path / "mixed.pdf"
    with mixed.open("wb") as handle:
        writer.write(handle)
    docs = PDFToDocument().run(sources=[mixed])["documents"]
    assert [d.meta["page_number"] for d in docs] == [1, 2]
    assert [d.meta["ocr"] for d in docs] == [False, True]
    assert all(d.meta["ocr_pages"] == [2] for d in docs)
    assert "real text layer" in docs[0].content and "ocr_boxes" not in docs[0].meta
    assert {"combine", "harvester"} <= _words(docs[1].content) and docs[1].meta["ocr_boxes"]


def test_scanned_pdf_without_ocr_is_a_failure_naming_the_fix(tmp_path: Path) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(image_only_pdf([["Nothing readable without OCR"]]))
    result = PDFToDocument(ocr=False).run(sources=[scan])
    assert result["documents"] == []
    assert "scan.pdf" in result["failures"][0]["error"] and "turn on ocr" in result["failures"][0]["error"]


def test_blank_image_and_corrupt_image_are_failures(tmp_path: Path) -> None:
    from PIL import Image

    blank = io.BytesIO()
    Image.new("RGB", (300, 200), "white").save(blank, format="PNG")
    truncated = text_image(["cut off"])[:200]
    result = ImageToDocument().run(
        sources=[
            ByteStream(blank.getvalue(), meta={"file_name": "blank.png"}),
            ByteStream(truncated, meta={"file_name": "broken.png"}),
        ]
    )
    assert result["documents"] == []
    errors = {f["source"]: f["error"] for f in result["failures"]}
    assert "no legible text" in errors["blank.png"]
    assert "broken.png" in errors["broken.png"] and "corrupt" in errors["broken.png"]


def test_oversized_image_is_refused_before_decoding() -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (6000, 6000)).save(buffer, format="PNG")  # small file, 36 megapixels
    result = ImageToDocument(max_pixels=10_000_000).run(sources=[ByteStream(buffer.getvalue())])
    assert "too large an image (6000x6000 pixels)" in result["failures"][0]["error"]


def test_pdf_to_images_renders_each_page_as_an_image_document() -> None:
    pdf = image_only_pdf([["one"], ["two"], ["three"]])
    docs = PDFToImages(max_side=500).run(sources=[ByteStream(pdf, meta={"file_name": "deck.pdf"})])[
        "documents"
    ]
    assert [d.meta["page_number"] for d in docs] == [1, 2, 3]
    image = ImageContent.from_document(docs[0])
    assert image.mime_type == "image/png" and max(image.size()) <= 500
    assert docs[0].content is None and docs[0].meta["file_name"] == "deck.pdf"


def test_image_file_to_images_passes_small_pngs_unchanged_and_fits_big_ones() -> None:
    small = text_image(["fits"])
    big = text_image(["a wide line of text to make the image wide"], font_size=120)
    docs = ImageFileToImages(max_side=1200).run(sources=[ByteStream(small), ByteStream(big)])["documents"]
    assert docs[0].blob.data == small  # nothing to do: the original bytes
    assert max(ImageContent.from_document(docs[1]).size()) == 1200


def test_image_content_passes_through_a_pipeline_without_copying_bytes() -> None:
    from haybale.core.component import component

    @component
    class Tag:
        @component.output_types(image=ImageContent)
        def run(self, image: ImageContent) -> dict[str, ImageContent]:
            image.meta["seen"] = True
            return {"image": image}

    image = ImageContent(text_image(["x"]), meta={"page_number": 1})
    pipeline = Pipeline()
    pipeline.add_component("first", Tag())
    pipeline.add_component("second", Tag())
    pipeline.connect("first.image", "second.image")
    out = pipeline.run({"first": {"image": image}})["second"]["image"]
    assert out.data is image.data and out.meta == {"page_number": 1, "seen": True}
    assert image.meta == {"page_number": 1}  # the caller's object was not mutated
    assert "image: ImageContent" in pipeline.to_mermaid()
