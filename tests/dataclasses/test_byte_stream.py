"""ByteStream: reading, decoding, serialization."""

import pytest

from haybale.dataclasses import ByteStream


def test_from_file_path_and_to_string(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("héllo", encoding="utf-8")
    stream = ByteStream.from_file_path(path, mime_type="text/plain", meta={"source": "a.txt"})
    assert stream.to_string() == "héllo"
    assert stream.meta == {"source": "a.txt"}


def test_round_trip_base64_and_list_forms():
    stream = ByteStream(b"\x00\xffdata", meta={"a": 1}, mime_type="application/pdf")
    assert ByteStream.from_dict(stream.to_dict()) == stream
    assert ByteStream.from_dict({"data": [0, 255], "meta": {}}).data == b"\x00\xff"


def test_to_file(tmp_path):
    ByteStream.from_string("abc").to_file(tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == b"abc"


def test_invalid_encoding_raises():
    with pytest.raises(UnicodeDecodeError):
        ByteStream(b"\xff\xfe\xfa").to_string("utf-8")
