"""PDFToDocument: init, serialization, run (pages joined by form feeds), corrupt and encrypted PDFs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from haybale.components.converters import PDFToDocument
from haybale.dataclasses import ByteStream
from haybale.errors import ComponentError, MissingDependencyError


def test_init_validates_extraction_mode() -> None:
    assert PDFToDocument().extraction_mode == "plain"
    with pytest.raises(ComponentError, match="'plain' or 'layout'"):
        PDFToDocument(extraction_mode="ocr")


def test_round_trip(assert_round_trip) -> None:
    assert_round_trip(PDFToDocument())
    assert_round_trip(PDFToDocument(extraction_mode="layout"))


def test_run_joins_pages_with_form_feeds(make_pdf) -> None:
    path = make_pdf(
        "guide.pdf", [["First page about hay."], ["Second page about balers."], ["Third."]], "Guide"
    )
    result = PDFToDocument().run(sources=[path], meta={"team": "farm"})
    assert result["failures"] == []
    [document] = result["documents"]
    pages = document.content.split("\f")
    assert [p.strip() for p in pages] == ["First page about hay.", "Second page about balers.", "Third."]
    assert document.meta["page_count"] == 3
    assert document.meta["title"] == "Guide"
    assert document.meta["mime_type"] == "application/pdf"
    assert document.meta["file_name"] == "guide.pdf"
    assert document.meta["team"] == "farm"


def test_run_accepts_bytestreams(make_pdf) -> None:
    data = make_pdf("x.pdf", [["Stream page."]]).read_bytes()
    [document] = PDFToDocument().run(sources=[ByteStream(data=data, meta={"source": "upload.pdf"})])[
        "documents"
    ]
    assert document.content.strip() == "Stream page."
    assert document.meta["source"] == "upload.pdf"


def test_bad_input_corrupt_pdf(tmp_path: Path, make_pdf) -> None:
    good = make_pdf("good.pdf", [["Readable page."]])
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(good.read_bytes()[:200])
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"this is not a pdf at all")
    result = PDFToDocument().run(sources=[truncated, good, garbage])
    assert [d.content.strip() for d in result["documents"]] == ["Readable page."]
    errors = {f["source"]: f["error"] for f in result["failures"]}
    assert set(errors) == {str(truncated), str(garbage)}
    assert "is not a PDF file" in errors[str(garbage)]
    assert str(truncated) in errors[str(truncated)]


def test_bad_input_encrypted_pdf(make_encrypted_pdf, make_pdf) -> None:
    locked = make_encrypted_pdf("locked.pdf")
    good = make_pdf("open.pdf", [["Open page."]])
    result = PDFToDocument().run(sources=[locked, good])
    assert [d.meta["file_name"] for d in result["documents"]] == ["open.pdf"]
    [failure] = result["failures"]
    assert failure["source"] == str(locked)
    assert "encrypted PDF and needs a password" in failure["error"]


def test_bad_input_pdf_without_text_layer(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    path = tmp_path / "scan.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    [failure] = PDFToDocument().run(sources=[path])["failures"]
    assert "no extractable text" in failure["error"] and "OCR" in failure["error"]


def test_bad_input_zero_byte_pdf(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    [failure] = PDFToDocument().run(sources=[path])["failures"]
    assert "empty (0 bytes)" in failure["error"]


def test_missing_dependency_raises_naming_the_extra(monkeypatch: pytest.MonkeyPatch, make_pdf) -> None:
    path = make_pdf("a.pdf", [["text"]])
    monkeypatch.setitem(sys.modules, "pypdf", None)  # makes `import pypdf` fail like an uninstalled package
    with pytest.raises(MissingDependencyError, match=r"pip install 'haybale\[converters\]'"):
        PDFToDocument().run(sources=[path])
