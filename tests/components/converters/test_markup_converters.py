"""Markdown and HTML converters: init, serialization, run, and bad input."""

from __future__ import annotations

from pathlib import Path

from haybale.components.converters import HTMLToDocument, MarkdownToDocument
from haybale.dataclasses import ByteStream


def test_round_trip(assert_round_trip) -> None:
    assert_round_trip(MarkdownToDocument())
    assert_round_trip(HTMLToDocument(encoding=None, extract_main_content=False))


def test_markdown_to_text_keeps_headings(tmp_path: Path) -> None:
    path = tmp_path / "doc.md"
    path.write_text(
        "# Title\n\nSome *emphasis* and `code`.\n\n## Part\n\n- one\n- two\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n",
        encoding="utf-8",
    )
    [document] = MarkdownToDocument().run(sources=[path])["documents"]
    assert document.content == "Title\n\nSome emphasis and code.\n\nPart\n\none\ntwo\n\na | b\n1 | 2"
    assert document.meta["title"] == "Title"
    assert document.meta["mime_type"] == "text/markdown"


def test_html_main_content_without_boilerplate(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Hay</title><style>p{}</style></head><body>"
        "<nav>Menu</nav><header>Banner</header><main><h1>Hay</h1><p>Dried <b>grass</b>.</p>"
        "<script>track()</script></main><footer>Footer</footer></body></html>",
        encoding="utf-8",
    )
    [document] = HTMLToDocument().run(sources=[path])["documents"]
    assert document.content == "Hay\n\nDried grass."
    assert document.meta["title"] == "Hay"
    [full] = HTMLToDocument(extract_main_content=False).run(sources=[path])["documents"]
    assert "Menu" in full.content and "Footer" in full.content and "track" not in full.content


def test_html_without_main_uses_body() -> None:
    stream = ByteStream(data=b"<p>Only <i>body</i> text</p>", meta={"source": "frag.html"})
    [document] = HTMLToDocument().run(sources=[stream])["documents"]
    assert document.content == "Only body text"


def test_bad_input_markup_files(tmp_path: Path) -> None:
    scripts_only = tmp_path / "scripts.html"
    scripts_only.write_text("<html><body><script>x()</script></body></html>", encoding="utf-8")
    binary = tmp_path / "binary.md"
    binary.write_bytes(bytes(range(256)) * 8)
    good = tmp_path / "good.md"
    good.write_text("ok", encoding="utf-8")
    html_result = HTMLToDocument().run(sources=[scripts_only])
    assert "no extractable text" in html_result["failures"][0]["error"]
    md_result = MarkdownToDocument().run(sources=[binary, good])
    assert [d.content for d in md_result["documents"]] == ["ok"]
    assert "binary data" in md_result["failures"][0]["error"]


def test_html_pre_blocks_keep_their_indentation_and_line_breaks() -> None:
    page = b"<p>Run   this:</p><pre>\ndef f():\n    return 1   \n</pre><p>then   stop.</p>"
    [document] = HTMLToDocument().run(sources=[ByteStream(page, {"file_name": "page.html"})])["documents"]
    assert document.content == "Run this:\n\ndef f():\n    return 1\n\nthen stop."
