"""DOCX/PPTX converters read only the parts they need, with the same results as a full python-docx/-pptx load.

Standard packages take the part-by-part path; packages without core properties, or PPTX conversion with
notes, take the full library load. Both must give the same text.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

from haybale.components.converters import DOCXToDocument, PPTXToDocument


def _rich_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "Field notes"
    document.core_properties.author = "A. Farmer"
    document.add_heading("Field notes", level=1)
    paragraph = document.add_paragraph("Bold ")
    paragraph.add_run("and plain").bold = True
    paragraph.add_run().add_tab()
    paragraph.add_run("after a tab")
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Merged"
    table.cell(0, 2).text = "Right"
    for column, value in enumerate(["a", "b", "c"]):
        table.cell(1, column).text = value
    document.add_paragraph("Closing.")
    document.save(str(path))
    return path


def _without_core_properties(source: Path, target: Path) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            if item.filename == "docProps/core.xml":
                continue
            data = old.read(item.filename)
            if item.filename == "_rels/.rels":
                text = data.decode()
                start = text.rindex("<Relationship", 0, text.index("core-properties"))
                end = text.index("/>", start) + 2
                data = (text[:start] + text[end:]).encode()
            new.writestr(item, data)
    return target


def test_docx_text_tables_and_properties_match_python_docx(tmp_path: Path) -> None:
    import docx

    path = _rich_docx(tmp_path / "notes.docx")
    [document] = DOCXToDocument().run(sources=[path])["documents"]
    assert document.content == (
        "Field notes\n\nBold and plain\tafter a tab\n\nMerged | Right\na | b | c\n\nClosing."
    )
    assert (document.meta["title"], document.meta["author"]) == ("Field notes", "A. Farmer")
    loaded = docx.Document(str(path))
    assert [p.text.strip() for p in loaded.paragraphs if p.text.strip()] == [
        "Field notes",
        "Bold and plain\tafter a tab",
        "Closing.",
    ]


def test_docx_without_core_properties_converts_like_python_docx(tmp_path: Path) -> None:
    import docx

    standard = _rich_docx(tmp_path / "standard.docx")
    unusual = _without_core_properties(standard, tmp_path / "no-core.docx")
    [fast] = DOCXToDocument().run(sources=[standard])["documents"]
    [full] = DOCXToDocument().run(sources=[unusual])["documents"]
    assert full.content == fast.content
    defaults = docx.Document(str(unusual)).core_properties
    assert full.meta.get("title") == (defaults.title or None)
    assert full.meta.get("author") == (defaults.author or None)


def test_pptx_part_reading_matches_full_load(make_pptx: Callable[..., Path]) -> None:
    path = make_pptx("deck.pptx", "Deck", [("Problem", ["One", "Two"]), ("Answer", ["Three"])])
    [fast] = PPTXToDocument().run(sources=[path])["documents"]
    [full] = PPTXToDocument(include_notes=True).run(sources=[path])["documents"]  # no notes: same text
    assert fast.content == full.content == "Deck\n\nhaybale demo corpus\fProblem\n\nOne\nTwo\fAnswer\n\nThree"
    assert fast.meta["page_count"] == full.meta["page_count"] == 3
