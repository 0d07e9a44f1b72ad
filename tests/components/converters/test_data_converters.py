"""CSV and JSON converters: init, serialization, run, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from haybale.components.converters import CSVToDocument, JSONToDocument
from haybale.errors import ComponentError


def test_init_validation() -> None:
    with pytest.raises(ComponentError, match="conversion_mode"):
        CSVToDocument(conversion_mode="cell")
    with pytest.raises(ComponentError, match="delimiter"):
        CSVToDocument(delimiter=";;")


def test_round_trip(assert_round_trip) -> None:
    assert_round_trip(CSVToDocument(conversion_mode="row", delimiter=";"))
    assert_round_trip(JSONToDocument(content_key=None, records_path="data.items", meta_fields=["a"]))


def test_csv_file_and_row_modes(tmp_path: Path) -> None:
    path = tmp_path / "yields.csv"
    path.write_text("field,bales\nnorth,120\n,\nsouth,95\n", encoding="utf-8")
    [whole] = CSVToDocument().run(sources=[path])["documents"]
    assert whole.content == "field,bales\nnorth,120\n,\nsouth,95\n"
    assert whole.meta["mime_type"] == "text/csv"
    rows = CSVToDocument(conversion_mode="row").run(sources=[path])["documents"]
    assert [(d.content, d.meta["row_number"]) for d in rows] == [
        ("field: north\nbales: 120", 1),
        ("field: south\nbales: 95", 3),
    ]


def test_json_records_with_content_key_and_meta(tmp_path: Path) -> None:
    path = tmp_path / "faq.json"
    payload = {
        "data": {"items": [{"content": "Hay is grass.", "year": 2020, "tags": ["x"]}, {"other": 1}, "Plain"]}
    }
    path.write_text(json.dumps(payload), encoding="utf-8")
    docs = JSONToDocument(records_path="data.items").run(sources=[path])["documents"]
    assert [(d.content, d.meta["record_index"]) for d in docs] == [("Hay is grass.", 0), ("Plain", 2)]
    assert docs[0].meta["year"] == 2020 and "tags" not in docs[0].meta
    only = JSONToDocument(records_path="data.items", meta_fields=[]).run(sources=[path])["documents"]
    assert "year" not in only[0].meta


def test_json_lines_and_whole_records(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "a", "n": 1}\n\n{"text": "b", "n": 2}\n', encoding="utf-8")
    docs = JSONToDocument(content_key="text").run(sources=[path])["documents"]
    assert [(d.content, d.meta["n"]) for d in docs] == [("a", 1), ("b", 2)]
    whole = JSONToDocument(content_key=None).run(sources=[path])["documents"]
    assert json.loads(whole[0].content) == {"text": "a", "n": 1}


def test_bad_input_json(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"content": ', encoding="utf-8")
    wrong_key = tmp_path / "wrong.json"
    wrong_key.write_text('[{"body": "x"}]', encoding="utf-8")
    wrong_path = tmp_path / "path.json"
    wrong_path.write_text('{"a": []}', encoding="utf-8")
    bad_lines = tmp_path / "lines.jsonl"
    bad_lines.write_text('{"content": "a"}\n{oops}\n', encoding="utf-8")
    good = tmp_path / "good.json"
    good.write_text('{"content": "fine"}', encoding="utf-8")
    converter = JSONToDocument(records_path=None)
    result = converter.run(sources=[broken, wrong_key, good, bad_lines])
    assert [d.content for d in result["documents"]] == ["fine"]
    errors = [f["error"] for f in result["failures"]]
    assert "is not valid JSON" in errors[0]
    assert "content_key 'content'" in errors[1]
    assert "line 2" in errors[2]
    [failure] = JSONToDocument(records_path="a.b").run(sources=[wrong_path])["failures"]
    assert "records_path 'a.b' not found" in failure["error"]


def test_bad_input_csv_binary(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    [failure] = CSVToDocument().run(sources=[path])["failures"]
    assert "PNG image" in failure["error"]
