"""FileTypeRouter: init, serialization, routing by content and extension, and bad input."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from haybale.components.routers import FileTypeRouter
from haybale.core.component import get_output_sockets
from haybale.core.pipeline import Pipeline
from haybale.dataclasses import ByteStream
from haybale.errors import ComponentError

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _office_zip(main_part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            f'<Types><Override PartName="/x.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            f'{main_part}+xml"/></Types>',
        )
    return buffer.getvalue()


def test_init_declares_one_output_per_mime_type() -> None:
    router = FileTypeRouter(mime_types=["text/plain", "application/pdf", "text/.*"])
    assert set(get_output_sockets(router)) == {"text/plain", "application/pdf", "text/.*", "unclassified"}


def test_init_rejects_empty_and_invalid_patterns() -> None:
    with pytest.raises(ComponentError, match="at least one MIME type"):
        FileTypeRouter(mime_types=[])
    with pytest.raises(ComponentError, match="not a valid regular expression"):
        FileTypeRouter(mime_types=["text/(plain"])


def test_round_trip_also_through_yaml() -> None:
    router = FileTypeRouter(
        mime_types=["text/plain", "image/.*"], additional_mimetypes={"adoc": "text/asciidoc"}
    )
    data = router.to_dict()
    assert data["init_parameters"]["additional_mimetypes"] == {".adoc": "text/asciidoc"}
    assert FileTypeRouter.from_dict(data).to_dict() == data
    pipeline = Pipeline()
    pipeline.add_component("router", router)
    assert Pipeline.loads(pipeline.dumps()).get_component("router").to_dict() == data


def test_run_routes_by_content_first_then_extension(tmp_path: Path) -> None:
    files = {
        "a.txt": b"plain words",
        "b.md": b"# heading",
        "pdf_named.txt": b"%PDF-1.4\n...",
        "doc.bin": _office_zip("wordprocessingml.document.main"),
        "sheet.xlsx": _office_zip("spreadsheetml.sheet.main"),
        "page.txt": b"<!DOCTYPE html><html><body>x</body></html>",
        "noext": b"<html><body>y</body></html>",
        "data.zip": _office_zip("nothing.known"),
        "mystery.qqq": b"???",
        "notes.adoc": b"= Title",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    router = FileTypeRouter(
        mime_types=["application/pdf", DOCX, XLSX, "text/html", "text/markdown", "text/plain", "text/.*"],
        additional_mimetypes={".adoc": "text/asciidoc"},
    )
    result = router.run(sources=[tmp_path / name for name in files])
    names = {key: [Path(p).name for p in value] for key, value in result.items()}
    assert names == {
        "application/pdf": ["pdf_named.txt"],
        DOCX: ["doc.bin"],
        XLSX: ["sheet.xlsx"],
        "text/html": ["page.txt", "noext"],
        "text/markdown": ["b.md"],
        "text/plain": ["a.txt"],
        "text/.*": ["notes.adoc"],
        "unclassified": ["data.zip", "mystery.qqq"],
    }


def test_run_with_bytestreams_and_meta(tmp_path: Path) -> None:
    path = tmp_path / "doc.txt"
    path.write_text("hello", encoding="utf-8")
    typed = ByteStream(data=b"whatever", mime_type="text/markdown")
    named = ByteStream(data=b"%PDF-1.7 ...", meta={"file_name": "x.bin"})
    result = FileTypeRouter(mime_types=["text/plain", "text/markdown", "application/pdf"]).run(
        sources=[path, typed, named], meta={"tenant": "t1"}
    )
    [plain] = result["text/plain"]
    assert isinstance(plain, ByteStream)
    assert plain.data == b"hello" and plain.meta["tenant"] == "t1" and plain.meta["source"] == str(path)
    assert result["text/markdown"][0].meta == {"tenant": "t1"}
    assert result["application/pdf"][0].meta == {"file_name": "x.bin", "tenant": "t1"}


def test_run_inside_a_pipeline_with_socket_names_containing_slashes(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("x", encoding="utf-8")
    pipeline = Pipeline()
    pipeline.add_component("router", FileTypeRouter(mime_types=["text/plain"]))
    result = pipeline.run({"router": {"sources": [path]}})
    assert result == {"router": {"text/plain": [path]}}


def test_bad_input_unreadable_sources_go_to_unclassified(tmp_path: Path) -> None:
    folder = tmp_path / "dir.txt"
    folder.mkdir()
    loop = tmp_path / "loop.pdf"
    loop.symlink_to(loop)
    missing = tmp_path / "missing.txt"
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    router = FileTypeRouter(mime_types=["text/plain", "application/pdf"])
    result = router.run(sources=[folder, loop, missing, empty])
    assert result == {"unclassified": [folder, loop, missing], "text/plain": [empty]}
    with pytest.raises(ComponentError, match="cannot read"):
        FileTypeRouter(mime_types=["text/plain"], raise_on_failure=True).run(sources=[missing])


def test_bad_input_meta_list_length() -> None:
    with pytest.raises(ComponentError, match="2 sources but 1 meta"):
        FileTypeRouter(mime_types=["text/plain"]).run(sources=[ByteStream(b"a"), ByteStream(b"b")], meta=[{}])


def test_routes_feed_converters_in_a_pipeline(tmp_path: Path) -> None:
    from haybale.components.converters import MarkdownToDocument, TextFileToDocument

    text, markdown, other = tmp_path / "a.txt", tmp_path / "b.md", tmp_path / "c.bin"
    text.write_text("plain text", encoding="utf-8")
    markdown.write_text("# Heading", encoding="utf-8")
    other.write_bytes(b"\x00\x01")
    pipeline = Pipeline()
    pipeline.add_component("router", FileTypeRouter(mime_types=["text/plain", "text/markdown"]))
    pipeline.add_component("text", TextFileToDocument())
    pipeline.add_component("markdown", MarkdownToDocument())
    pipeline.connect("router.text/plain", "text.sources")
    pipeline.connect("router.text/markdown", "markdown.sources")
    result = pipeline.run({"router": {"sources": [text, markdown, other]}})
    assert [d.content for d in result["text"]["documents"]] == ["plain text"]
    assert [d.content for d in result["markdown"]["documents"]] == ["Heading"]
    assert result["router"] == {"unclassified": [other]}
