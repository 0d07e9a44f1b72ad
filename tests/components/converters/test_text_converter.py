"""TextFileToDocument: init, serialization, run, and bad input (binary, invalid UTF-8, NUL, huge files)."""

from __future__ import annotations

import random
import time
import tracemalloc
from pathlib import Path

import pytest

from haybale.components.converters import TextFileToDocument
from haybale.dataclasses import ByteStream
from haybale.errors import ComponentError


def test_init_defaults() -> None:
    converter = TextFileToDocument()
    assert converter.encoding == "utf-8"


def test_round_trip(assert_round_trip) -> None:
    assert_round_trip(TextFileToDocument(encoding=None))
    assert_round_trip(TextFileToDocument(encoding="latin-1"))


def test_run_records_source_meta_and_user_meta(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Hay is dried grass.\nIt feeds animals in winter.\n", encoding="utf-8")
    result = TextFileToDocument().run(sources=[str(path)], meta={"topic": "hay"})
    assert result["failures"] == []
    [document] = result["documents"]
    assert document.content == "Hay is dried grass.\nIt feeds animals in winter.\n"
    assert document.meta["source"] == str(path)
    assert document.meta["file_name"] == "notes.txt"
    assert document.meta["mime_type"] == "text/plain"
    assert document.meta["file_path"] == str(path.resolve())
    assert document.meta["topic"] == "hay"


def test_document_id_ignores_the_volatile_file_path(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "same.txt").write_text("identical content", encoding="utf-8")
    (second / "same.txt").write_text("identical content", encoding="utf-8")
    stream_a = ByteStream(data=b"identical content", meta={"source": "upload.txt", "file_path": str(first)})
    stream_b = ByteStream(data=b"identical content", meta={"source": "upload.txt", "file_path": str(second)})
    docs = TextFileToDocument().run(sources=[stream_a, stream_b])["documents"]
    assert docs[0].id == docs[1].id
    assert docs[0].meta["file_path"] != docs[1].meta["file_path"]


def test_per_source_meta_list_and_bytestream_meta() -> None:
    streams = [
        ByteStream(data=b"first", meta={"source": "one.txt", "lang": "en"}),
        ByteStream(data=b"second", meta={"file_name": "two.txt"}),
    ]
    docs = TextFileToDocument().run(sources=streams, meta=[{"n": 1}, {"n": 2}])["documents"]
    assert [(d.content, d.meta["source"], d.meta["n"]) for d in docs] == [
        ("first", "one.txt", 1),
        ("second", "two.txt", 2),
    ]
    assert docs[0].meta["lang"] == "en"
    assert docs[1].meta["file_name"] == "two.txt"


def test_meta_list_of_wrong_length_is_a_clear_error() -> None:
    with pytest.raises(ComponentError, match="2 sources but 1 meta"):
        TextFileToDocument().run(sources=[ByteStream(data=b"a"), ByteStream(data=b"b")], meta=[{}])


def test_detects_legacy_encodings(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    text = "Le foin séché au soleil est stocké dans la grange. Les élèves ont aidé à la récolte. " * 20
    path.write_bytes(text.encode("cp1252"))
    [document] = TextFileToDocument().run(sources=[path])["documents"]
    assert "séché" in document.content
    assert "\ufffd" not in document.content


def test_bad_input_invalid_utf8_is_decoded_with_replacement(tmp_path: Path) -> None:
    path = tmp_path / "mostly_utf8.txt"
    path.write_bytes(("Grass ✓ dried. " * 5000).encode("utf-8") + b"\xff\xfe broken tail")
    result = TextFileToDocument().run(sources=[path])
    assert result["failures"] == []
    [document] = result["documents"]
    assert document.content.startswith("Grass ✓ dried.")
    assert document.content.endswith("\ufffd\ufffd broken tail")


def test_bad_input_nul_bytes_are_removed(tmp_path: Path) -> None:
    path = tmp_path / "nul.txt"
    path.write_bytes(b"hay\x00 and\x00 straw\n")
    [document] = TextFileToDocument().run(sources=[path])["documents"]
    assert document.content == "hay and straw\n"


def test_bad_input_binary_named_txt_fails_clearly_and_batch_continues(tmp_path: Path) -> None:
    binary = tmp_path / "image.txt"
    binary.write_bytes(random.Random(0).randbytes(8192))
    pdf_named_txt = tmp_path / "report.txt"
    pdf_named_txt.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 4)
    good = tmp_path / "good.txt"
    good.write_text("good text", encoding="utf-8")
    result = TextFileToDocument().run(sources=[binary, good, pdf_named_txt])
    assert [d.content for d in result["documents"]] == ["good text"]
    errors = {f["source"]: f["error"] for f in result["failures"]}
    assert set(errors) == {str(binary), str(pdf_named_txt)}
    assert "binary data, not text" in errors[str(binary)]
    assert "looks like a PDF document" in errors[str(pdf_named_txt)]


def test_bad_input_zero_byte_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = TextFileToDocument().run(sources=[empty, ByteStream(data=b"", meta={"source": "up.txt"})])
    assert result["documents"] == []
    assert [f["source"] for f in result["failures"]] == [str(empty), "up.txt"]
    assert all("empty (0 bytes)" in f["error"] for f in result["failures"])


def test_bad_input_whitespace_only_file(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text("  \n\n\t ", encoding="utf-8")
    [failure] = TextFileToDocument().run(sources=[path])["failures"]
    assert "no extractable text" in failure["error"]


def test_bad_input_unknown_encoding_name_is_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(b"\xe9t\xe9")
    [failure] = TextFileToDocument(encoding="no-such-codec").run(sources=[path])["failures"]
    assert "Unknown encoding 'no-such-codec'" in failure["error"]


def test_bad_input_missing_file(tmp_path: Path) -> None:
    [failure] = TextFileToDocument().run(sources=[tmp_path / "nope.txt"])["failures"]
    assert "does not exist" in failure["error"]


def test_bad_input_50_mb_file_converts_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    line = "Baling hay in summer keeps animals fed through the winter months. " * 4 + "\n"
    size = 50 * 1024 * 1024
    with path.open("w", encoding="utf-8") as handle:
        handle.write(line * (size // len(line) + 1))
    size = path.stat().st_size
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = TextFileToDocument().run(sources=[path])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    [document] = result["documents"]
    assert len(document.content) == size
    # The decoded text itself is 1x; decoding pieces plus the joined text, or text plus its hash input, 2x.
    assert peak < 2.6 * size, f"peak {peak / 1e6:.0f} MB for a {size / 1e6:.0f} MB file"
    assert elapsed < 60


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Café crème brûlée à la française, naïveté, Ærø — résumé.", "cp1252"),
        ("El niño comió piñata en España.", "latin-1"),
        ("Zażółć gęślą jaźń, powiedział Łukasz.", "cp1250"),
    ],
)
def test_single_byte_encodings_are_detected(text: str, encoding: str) -> None:
    stream = ByteStream(data=text.encode(encoding), meta={"file_name": "note.txt"})
    [document] = TextFileToDocument().run(sources=[stream])["documents"]
    assert document.content == text
