"""DOCX, PPTX and XLSX converters: init, serialization, run, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from haybale.components.converters import DOCXToDocument, PPTXToDocument, XLSXToDocument


@pytest.mark.parametrize(
    "converter", [DOCXToDocument(), PPTXToDocument(), PPTXToDocument(include_notes=True), XLSXToDocument()]
)
def test_round_trip(converter, assert_round_trip) -> None:
    assert_round_trip(converter)


def test_docx_paragraphs_and_tables_in_order(make_docx) -> None:
    path = make_docx(
        "calendar.docx",
        "Calendar",
        [
            ("paragraph", "Intro paragraph."),
            ("heading", "Summer"),
            ("table", [["Month", "Work"], ["June", "First cut"]]),
            ("paragraph", "Closing words."),
        ],
    )
    result = DOCXToDocument().run(sources=[path])
    assert result["failures"] == []
    [document] = result["documents"]
    assert document.content == (
        "Calendar\n\nIntro paragraph.\n\nSummer\n\nMonth | Work\nJune | First cut\n\nClosing words."
    )
    assert document.meta["title"] == "Calendar"
    assert document.meta["mime_type"].endswith("wordprocessingml.document")


def test_pptx_slides_separated_by_form_feeds(make_pptx) -> None:
    path = make_pptx("deck.pptx", "Deck", [("Problem", ["One", "Two"]), ("Answer", ["Three"])])
    [document] = PPTXToDocument().run(sources=[path])["documents"]
    slides = document.content.split("\f")
    assert len(slides) == 3 == document.meta["page_count"]
    assert slides[1] == "Problem\n\nOne\nTwo"
    assert slides[2] == "Answer\n\nThree"


def test_xlsx_one_document_per_sheet(make_xlsx) -> None:
    path = make_xlsx(
        "yields.xlsx",
        {
            "2023": [["field", "bales"], ["north", 120], ["south", 95.0]],
            "Empty": [],
            "2024": [["a, b", None, "c"]],
        },
    )
    result = XLSXToDocument().run(sources=[path])
    assert result["failures"] == []
    docs = result["documents"]
    assert [(d.meta["sheet_name"], d.meta["page_number"]) for d in docs] == [("2023", 1), ("2024", 3)]
    assert docs[0].content == "field,bales\nnorth,120\nsouth,95\n"
    assert docs[1].content == '"a, b",,c\n'


@pytest.mark.parametrize(
    ("converter", "name", "kind"),
    [
        (DOCXToDocument(), "bad.docx", "Word document"),
        (PPTXToDocument(), "bad.pptx", "PowerPoint presentation"),
        (XLSXToDocument(), "bad.xlsx", "Excel workbook"),
    ],
)
def test_bad_input_not_a_zip_and_corrupt_zip(tmp_path: Path, converter, name: str, kind: str) -> None:
    not_zip = tmp_path / name
    not_zip.write_bytes(b"plain text pretending to be an office file")
    wrong_zip = tmp_path / ("zip-" + name)
    import zipfile

    with zipfile.ZipFile(wrong_zip, "w") as archive:
        archive.writestr("hello.txt", "not an office package")
    empty = tmp_path / ("empty-" + name)
    empty.write_bytes(b"")
    result = converter.run(sources=[not_zip, wrong_zip, empty])
    assert result["documents"] == []
    errors = [f["error"] for f in result["failures"]]
    assert f"is not a valid {kind}" in errors[0]
    assert f"is a corrupt or unsupported {kind}" in errors[1]
    assert "empty (0 bytes)" in errors[2]


def test_bad_input_batch_continues_after_bad_office_file(tmp_path: Path, make_docx) -> None:
    bad = tmp_path / "broken.docx"
    bad.write_bytes(b"PK\x03\x04 truncated")
    good = make_docx("good.docx", "Good", [("paragraph", "Fine.")])
    result = DOCXToDocument().run(sources=[bad, good])
    assert [d.meta["file_name"] for d in result["documents"]] == ["good.docx"]
    assert [f["source"] for f in result["failures"]] == [str(bad)]
