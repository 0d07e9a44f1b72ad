"""Generate the binary files of the demo corpus in examples/corpus/ (PDF, DOCX, PPTX), deterministically.

The texts are original, written for haybale. Markdown, HTML and plain-text files of the corpus are committed
as they are; this script writes the formats that need a library (python-docx, python-pptx) or a writer (a
minimal PDF writer below: Helvetica text, one content stream per page). Running it twice produces identical
bytes: Office packages get fixed timestamps and ZIP entry dates, PDFs carry no dates.

Usage: python scripts/make_demo_corpus.py [OUTPUT_DIR]   (default: examples/corpus)
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import textwrap
import zipfile
from pathlib import Path

FIXED_TIME = dt.datetime(2024, 1, 1, 0, 0, 0)
PAGE_WIDTH, PAGE_HEIGHT = 612, 792
LINE_HEIGHT = 15
LINES_PER_PAGE = 44
WRAP_COLUMNS = 88


def _pdf_escape(text: str) -> bytes:
    raw = text.encode("cp1252", "replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _page_stream(lines: list[str]) -> bytes:
    parts = [b"BT", b"/F1 11 Tf", f"{LINE_HEIGHT} TL".encode(), b"72 740 Td"]
    for line in lines:
        parts.append(b"(" + _pdf_escape(line) + b") Tj T*")
    parts.append(b"ET")
    return b"\n".join(parts)


def write_text_pdf(path: Path, pages: list[list[str]], title: str = "") -> None:
    """Write a valid PDF with one page per entry of ``pages`` (each a list of text lines, Helvetica 11pt)."""
    objects: list[bytes] = []
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for index, lines in enumerate(pages):
        content_id = page_ids[index] + 1
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
                f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>"
            ).encode()
        )
        stream = _page_stream(lines)
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    info_id = len(objects) + 1
    objects.append(b"<< /Title (" + _pdf_escape(title) + b") /Producer (haybale demo corpus) >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {info_id} 0 R >>\n".encode())
    out.write(f"startxref\n{xref}\n%%EOF\n".encode())
    path.write_bytes(out.getvalue())


def paginate(title: str, sections: list[tuple[str, str]], footer: str) -> list[list[str]]:
    """Lay out headed sections as wrapped lines, one section per page, each page with a repeated footer."""
    pages = []
    for number, (heading, body) in enumerate(sections, start=1):
        lines = [title, "", heading, ""]
        for paragraph in body.strip().split("\n\n"):
            lines.extend(textwrap.wrap(" ".join(paragraph.split()), WRAP_COLUMNS))
            lines.append("")
        lines = lines[: LINES_PER_PAGE - 2]
        lines.extend(["", f"{footer} - page {number} of {len(sections)}"])
        pages.append(lines)
    return pages


def normalize_zip(path: Path) -> None:
    """Rewrite a ZIP package with fixed entry dates and permissions, so its bytes are reproducible."""
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, data)
    path.write_bytes(buffer.getvalue())


def _fix_core_properties(properties: object, title: str) -> None:
    properties.title = title  # type: ignore[attr-defined]
    properties.author = "haybale demo corpus"  # type: ignore[attr-defined]
    properties.created = FIXED_TIME  # type: ignore[attr-defined]
    properties.modified = FIXED_TIME  # type: ignore[attr-defined]
    properties.last_printed = FIXED_TIME  # type: ignore[attr-defined]
    properties.revision = 1  # type: ignore[attr-defined]
    properties.last_modified_by = "haybale"  # type: ignore[attr-defined]


def write_docx(path: Path, title: str, blocks: list[tuple[str, object]]) -> None:
    """Write a .docx from ("heading"|"paragraph"|"table", payload) blocks."""
    import docx

    document = docx.Document()
    _fix_core_properties(document.core_properties, title)
    document.add_heading(title, level=1)
    for kind, payload in blocks:
        if kind == "heading":
            document.add_heading(str(payload), level=2)
        elif kind == "paragraph":
            document.add_paragraph(" ".join(str(payload).split()))
        else:
            rows = list(payload)  # type: ignore[call-overload]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
    document.save(path)
    normalize_zip(path)


def write_pptx(path: Path, title: str, slides: list[tuple[str, list[str]]]) -> None:
    """Write a .pptx with a title slide and one bulleted slide per (heading, bullets) entry."""
    from pptx import Presentation

    presentation = Presentation()
    _fix_core_properties(presentation.core_properties, title)
    cover = presentation.slides.add_slide(presentation.slide_layouts[0])
    cover.shapes.title.text = title
    cover.placeholders[1].text = "haybale demo corpus"
    for heading, bullets in slides:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = heading
        frame = slide.placeholders[1].text_frame
        frame.text = bullets[0]
        for bullet in bullets[1:]:
            frame.add_paragraph().text = bullet
    presentation.save(path)
    normalize_zip(path)


def main(output: Path) -> None:
    """Write every generated file of the corpus into ``output``."""
    from corpus_texts import (  # the texts live next to this script
        BALING_GUIDE,
        CHUNKING_DOCX,
        HAYMAKING_DOCX,
        RAG_SLIDES,
        STORAGE_SLIDES,
        VECTOR_SEARCH,
    )

    output.mkdir(parents=True, exist_ok=True)
    write_text_pdf(
        output / "baling_guide.pdf",
        paginate("A Field Guide to Baling Hay", BALING_GUIDE, "Baling guide"),
        title="A Field Guide to Baling Hay",
    )
    write_text_pdf(
        output / "vector_search.pdf",
        paginate("How Vector Search Finds Similar Text", VECTOR_SEARCH, "Vector search notes"),
        title="How Vector Search Finds Similar Text",
    )
    write_docx(output / "haymaking_calendar.docx", "A Haymaking Calendar", HAYMAKING_DOCX)
    write_docx(output / "chunking_strategies.docx", "Chunking Strategies for Retrieval", CHUNKING_DOCX)
    write_pptx(output / "rag_pipeline_slides.pptx", "Building a RAG Pipeline", RAG_SLIDES)
    write_pptx(output / "hay_storage_slides.pptx", "Storing Hay Safely", STORAGE_SLIDES)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main(
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parent.parent / "examples" / "corpus"
    )
