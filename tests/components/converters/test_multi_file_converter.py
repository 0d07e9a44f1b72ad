"""MultiFileConverter: routing by type, the demo corpus, and per-file failures (links, folders, FIFOs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from haybale.components.converters import MultiFileConverter
from haybale.dataclasses import ByteStream

CORPUS = Path(__file__).resolve().parents[3] / "examples" / "corpus"


def test_init_defaults() -> None:
    converter = MultiFileConverter()
    assert (converter.encoding, converter.json_content_key) == ("utf-8", "content")


def test_round_trip(assert_round_trip) -> None:
    assert_round_trip(MultiFileConverter(encoding=None, json_content_key="text"))


def test_run_converts_the_whole_demo_corpus() -> None:
    files = sorted(CORPUS.iterdir())
    result = MultiFileConverter().run(sources=files)
    assert result["failures"] == []
    by_name = {d.meta["file_name"]: d for d in result["documents"]}
    assert set(by_name) == {f.name for f in files}
    assert {f.suffix for f in files} >= {".md", ".html", ".pdf", ".docx", ".pptx", ".txt"}
    assert by_name["baling_guide.pdf"].content.count("\f") == 2
    assert "Helvetica" not in by_name["baling_guide.pdf"].content
    assert "analytics" not in by_name["hay_history.html"].content
    assert by_name["rag_pipeline_slides.pptx"].meta["mime_type"].endswith("presentation")
    assert [d.meta["file_name"] for d in result["documents"]] == [f.name for f in files]


def test_run_routes_by_content_and_extension(tmp_path: Path, make_pdf) -> None:
    pdf_named_txt = tmp_path / "actually_pdf.txt"
    pdf_named_txt.write_bytes(make_pdf("p.pdf", [["Hidden PDF."]]).read_bytes())
    python_file = tmp_path / "script.py"
    python_file.write_text("print('hay')\n", encoding="utf-8")
    records = tmp_path / "data.json"
    records.write_text('[{"text": "json record"}]', encoding="utf-8")
    stream = ByteStream(data=b"<html><body><p>Streamed page</p></body></html>", meta={"source": "s"})
    result = MultiFileConverter(json_content_key="text").run(
        sources=[pdf_named_txt, python_file, records, stream], meta={"batch": 7}
    )
    assert result["failures"] == []
    docs = result["documents"]
    assert [d.content.strip() for d in docs] == [
        "Hidden PDF.",
        "print('hay')",
        "json record",
        "Streamed page",
    ]
    assert docs[0].meta["mime_type"] == "application/pdf"
    assert docs[1].meta["mime_type"] == "text/x-python"
    assert all(d.meta["batch"] == 7 for d in docs)


def test_bad_input_unknown_extension(tmp_path: Path) -> None:
    unknown = tmp_path / "archive.qqq"
    unknown.write_bytes(b"\x00\x01 whatever")
    good = tmp_path / "good.txt"
    good.write_text("good", encoding="utf-8")
    result = MultiFileConverter().run(sources=[unknown, good])
    assert [d.content for d in result["documents"]] == ["good"]
    [failure] = result["failures"]
    assert failure["source"] == str(unknown)
    assert "unknown type and is not text, so no converter handles it" in failure["error"]
    assert ".pdf" in failure["error"]


def test_bad_input_symlink_loop(tmp_path: Path) -> None:
    first, second = tmp_path / "loop_a.txt", tmp_path / "loop_b.txt"
    first.symlink_to(second)
    second.symlink_to(first)
    good = tmp_path / "good.md"
    good.write_text("# fine", encoding="utf-8")
    result = MultiFileConverter().run(sources=[first, good])
    assert [d.content for d in result["documents"]] == ["fine"]
    [failure] = result["failures"]
    assert failure["source"] == str(first)
    assert "symbolic link loop" in failure["error"]


def test_bad_input_unreadable_paths(tmp_path: Path) -> None:
    # Tests may run as root, where chmod 000 does not stop reads: use paths that fail for everyone.
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    dangling = tmp_path / "dangling.txt"
    dangling.symlink_to(tmp_path / "gone.txt")
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    missing = tmp_path / "missing.pdf"
    good = tmp_path / "good.txt"
    good.write_text("still converted", encoding="utf-8")
    result = MultiFileConverter().run(sources=[folder, dangling, fifo, missing, good])
    assert [d.content for d in result["documents"]] == ["still converted"]
    errors = [f["error"] for f in result["failures"]]
    assert "is a directory, not a file" in errors[0]
    assert "dangling symbolic link" in errors[1]
    assert "not a regular file" in errors[2]
    assert "does not exist" in errors[3]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permission bits")
def test_bad_input_permission_denied(tmp_path: Path) -> None:
    locked = tmp_path / "locked.txt"
    locked.write_text("secret", encoding="utf-8")
    locked.chmod(0)
    [failure] = MultiFileConverter().run(sources=[locked])["failures"]
    assert "permission denied" in failure["error"]


def test_bad_input_every_kind_in_one_batch(tmp_path: Path, make_pdf, make_encrypted_pdf) -> None:
    """One batch with every bad kind: each gets its own message, and the good files still convert."""
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.4\n1 0 obj broken")
    encrypted = make_encrypted_pdf("encrypted.pdf")
    zero = tmp_path / "zero.txt"
    zero.write_bytes(b"")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(bytes(range(256)) * 16)
    invalid_utf8 = tmp_path / "invalid.txt"
    invalid_utf8.write_bytes(b"ok \xff\xfe text " * 3)
    nul = tmp_path / "nul.txt"
    nul.write_bytes(b"a\x00b")
    unknown = tmp_path / "thing.unknownext"
    unknown.write_bytes(b"?\x00\x01")  # binary: text under an unknown name would be read as text
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop)
    good_pdf = make_pdf("good.pdf", [["Good PDF."]])
    sources = [corrupt, encrypted, zero, binary, invalid_utf8, nul, unknown, loop, good_pdf]
    result = MultiFileConverter().run(sources=sources)
    assert sorted(d.meta["file_name"] for d in result["documents"]) == ["good.pdf", "invalid.txt", "nul.txt"]
    errors = {Path(f["source"]).name: f["error"] for f in result["failures"]}
    assert set(errors) == {
        "corrupt.pdf",
        "encrypted.pdf",
        "zero.txt",
        "binary.txt",
        "thing.unknownext",
        "loop.txt",
    }
    assert "corrupt or unsupported PDF" in errors["corrupt.pdf"]
    assert "encrypted PDF" in errors["encrypted.pdf"]
    assert "empty (0 bytes)" in errors["zero.txt"]
    assert "binary data" in errors["binary.txt"]
    assert "no converter handles" in errors["thing.unknownext"]
    assert "symbolic link loop" in errors["loop.txt"]


@pytest.mark.parametrize(
    ("name", "data", "mime"),
    [
        ("main.go", b"package main\n\nfunc main() {\n\tprintln(1)\n}\n", "text/x-go"),
        ("lib.rs", b"fn main() {\n    let x = 1;\n}\n", "text/x-rust"),
        ("deploy.yaml", b"services:\n  web:\n    image: x\n", "text/yaml"),
        ("pom.xml", b"<project>\n  <a/>\n</project>\n", "text/xml"),
        ("query.sql", b"SELECT 1;\n", "text/x-sql"),
        ("Makefile", b"all:\n\tcc x.c\n", "text/x-makefile"),
        ("deploy", b"#!/bin/sh\nset -e\n  echo hi\n", "text/plain"),
        ("guide.v2", "Caf\u00e9 notes, version 2\n".encode(), "text/plain"),
    ],
)
def test_source_code_config_and_unnamed_text_are_read_as_text_on_any_machine(
    name: str, data: bytes, mime: str
) -> None:
    result = MultiFileConverter().run(sources=[ByteStream(data, meta={"file_name": name})])
    assert not result["failures"]
    [document] = result["documents"]
    assert document.meta["mime_type"] == mime
    assert document.content == data.decode("utf-8")  # nothing of the layout is lost in conversion


@pytest.mark.parametrize(
    ("name", "data", "mime", "text"),
    [
        ("document.pdf", b"# Hay\n\nDried grass for winter.\n", "text/plain", "Dried grass for winter."),
        ("document.pdf", b"<html><body><p>Baled hay</p></body></html>", "text/html", "Baled hay"),
        ("photo.png", "Caf\u00e9 cr\u00e8me".encode("latin-1"), "text/plain", "Caf\u00e9 cr\u00e8me"),
        ("slides.pptx", b"plain words", "text/plain", "plain words"),
    ],
)
def test_text_under_a_binary_format_s_name_is_read_as_what_it_is(
    name: str, data: bytes, mime: str, text: str
) -> None:
    """Helix's extractor names every upload document.pdf: a name that claims a signed binary format is not
    believed for bytes that lack the signature and read as text."""
    result = MultiFileConverter().run(sources=[ByteStream(data, meta={"file_name": name})])
    assert result["failures"] == []
    [document] = result["documents"]
    assert document.meta["mime_type"] == mime and text in document.content


def test_binary_bytes_under_a_binary_format_s_name_keep_its_error() -> None:
    [failure] = MultiFileConverter().run(
        sources=[ByteStream(bytes(range(256)) * 4, meta={"file_name": "report.pdf"})]
    )["failures"]
    assert "report.pdf" in failure["error"] and "unknown type" not in failure["error"]


def test_binary_under_an_unknown_name_is_refused_with_the_supported_kinds() -> None:
    result = MultiFileConverter().run(sources=[ByteStream(bytes(range(256)) * 4, meta={"file_name": "blob"})])
    [failure] = result["failures"]
    assert "'blob' has an unknown type and is not text" in failure["error"]
    assert ".pdf" in failure["error"] and ".yaml" in failure["error"]


def test_a_corrupt_image_is_named_in_its_error_not_an_in_memory_buffer() -> None:
    data = b"\x89PNG\r\n\x1a\nGARBAGE" * 4
    [failure] = MultiFileConverter().run(sources=[ByteStream(data, meta={"file_name": "scan.png"})])[
        "failures"
    ]
    assert "'scan.png' is not a readable image" in failure["error"]
    assert "BytesIO" not in failure["error"] and " at 0x" not in failure["error"]


def test_a_declared_text_plain_gives_way_to_a_source_file_name() -> None:
    from haybale.components.converters.file_types import detect_mime_type

    assert (
        detect_mime_type(ByteStream(b"package main\n", {"file_name": "main.go"}, "text/plain")) == "text/x-go"
    )
    assert detect_mime_type(ByteStream(b"notes\n", {"file_name": "notes.md"}, "text/plain")) == "text/plain"
