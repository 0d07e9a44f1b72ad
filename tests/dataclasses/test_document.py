"""Document: content-addressed ids, serialization, validation."""

import pytest

from haybale.dataclasses import ByteStream, Document, SparseEmbedding


def test_id_is_stable_and_content_addressed():
    a = Document(content="hay is dried grass", meta={"source": "a.txt"})
    b = Document(content="hay is dried grass", meta={"source": "a.txt"})
    c = Document(content="hay is dried grass", meta={"source": "b.txt"})
    assert a.id == b.id
    assert a.id != c.id
    assert len(a.id) == 64


def test_volatile_meta_does_not_enter_the_id():
    first = Document(content="x", meta={"source": "a.pdf", "file_path": "/tmp/upload-1/a.pdf", "mtime": 1.0})
    again = Document(content="x", meta={"source": "a.pdf", "file_path": "/tmp/upload-2/a.pdf", "mtime": 2.0})
    private = Document(content="x", meta={"source": "a.pdf", "_request": "r-17"})
    assert first.id == again.id == private.id


def test_embedding_and_score_do_not_change_the_id():
    plain = Document(content="x")
    embedded = Document(content="x", embedding=[0.1, 0.2], score=3.0)
    assert plain.id == embedded.id


def test_blob_enters_the_id():
    one = Document(blob=ByteStream(b"\x00\x01", mime_type="application/octet-stream"))
    two = Document(blob=ByteStream(b"\x00\x02", mime_type="application/octet-stream"))
    assert one.id != two.id


def test_explicit_id_is_kept():
    assert Document(content="x", id="my-id").id == "my-id"


def test_round_trip_nested_and_flattened():
    doc = Document(
        content="text",
        meta={"page_number": 2, "tags": ["a"]},
        embedding=[0.5, 0.25],
        sparse_embedding=SparseEmbedding(indices=[1, 7], values=[0.3, 0.9]),
        blob=ByteStream(b"raw", mime_type="text/plain", meta={"k": 1}),
        score=0.7,
        score_details={"bm25": {"rank": 1, "score": 3.2}},
    )
    assert Document.from_dict(doc.to_dict()) == doc
    flat = doc.to_dict(flatten=True)
    assert flat["page_number"] == 2 and "meta" not in flat
    assert Document.from_dict(flat) == doc


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"content": b"bytes"}, "blob=ByteStream"), ({"content": "x", "meta": ["a"]}, "meta must be a dict")],
)
def test_bad_input_is_a_clear_error(kwargs, message):
    with pytest.raises(TypeError, match=message):
        Document(**kwargs)


def test_sparse_embedding_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="2 indices and 1 values"):
        SparseEmbedding(indices=[1, 2], values=[0.5])


def test_repr_is_short():
    text = repr(Document(content="a" * 500, embedding=[0.0] * 384))
    assert len(text) < 200 and "384 floats" in text
