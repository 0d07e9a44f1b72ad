"""Copy-on-share isolation: structural copies that share immutable leaves and nothing mutable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from haybale import ByteStream, Document, Pipeline, SparseEmbedding, component
from haybale.core.isolation import copier_for_type, copy_value


def _doc() -> Document:
    return Document(
        content="hello",
        meta={"source": "a.txt", "tags": ["x"], "nested": {"k": [1]}},
        embedding=[0.1, 0.2, 0.3],
        sparse_embedding=SparseEmbedding(indices=[1], values=[0.5]),
        blob=ByteStream(data=b"raw", meta={"m": 1}),
        score=0.5,
    )


def _assert_independent(original: Document, clone: Document) -> None:
    assert clone == original and clone is not original
    assert clone.meta is not original.meta and clone.meta["tags"] is not original.meta["tags"]
    assert clone.meta["nested"]["k"] is not original.meta["nested"]["k"]
    assert clone.embedding is not original.embedding
    assert clone.sparse_embedding is not original.sparse_embedding
    assert clone.blob is not original.blob and clone.blob.meta is not original.blob.meta  # type: ignore[union-attr]
    assert clone.content is original.content  # immutable leaves are shared, not copied
    assert clone.id == original.id


def test_copy_value_document() -> None:
    original = _doc()
    _assert_independent(original, copy_value(original))


def test_typed_copier_for_list_of_documents() -> None:
    copier = copier_for_type(list[Document])
    assert copier is not None
    docs = [_doc(), _doc()]
    copies = copier(docs)
    assert copies is not docs
    for original, clone in zip(docs, copies, strict=True):
        _assert_independent(original, clone)


def test_immutable_types_need_no_copy() -> None:
    assert copier_for_type(int) is None
    assert copier_for_type(str | None) is None
    assert copier_for_type(tuple[int, str]) is None


def test_containers() -> None:
    nested: dict[str, Any] = {"a": [1, [2, 3]], "b": {"c": {4}}, "t": (1, [5])}
    clone = copy_value(nested)
    assert clone == nested
    assert clone["a"][1] is not nested["a"][1]
    assert clone["b"]["c"] is not nested["b"]["c"]
    assert clone["t"][1] is not nested["t"][1]
    flat = [1.0, 2.0]
    assert copy_value(flat) == flat and copy_value(flat) is not flat


@dataclass(frozen=True)
class Frozen:
    items: list[int] = field(default_factory=list)


def test_frozen_dataclass_is_copied() -> None:
    original = Frozen(items=[1])
    clone = copy_value(original)
    assert clone == original and clone.items is not original.items


def test_uncopyable_objects_are_shared() -> None:
    import threading

    lock = threading.Lock()
    assert copy_value(lock) is lock


@component
class NormalizeInPlace:
    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        for doc in documents:
            doc.embedding[0] = 99.0  # type: ignore[index]
            doc.meta["touched"] = True
        return {"documents": documents}


def test_pipeline_protects_the_callers_documents_and_fan_out_receivers() -> None:
    p = Pipeline()
    p.add_component("first", NormalizeInPlace())
    p.add_component("second", NormalizeInPlace())
    p.add_component("third", NormalizeInPlace())
    p.connect("first", "second").connect("first", "third")
    docs = [_doc()]
    result = p.run({"first": {"documents": docs}}, include_outputs_from={"first"})
    assert docs[0].embedding == [0.1, 0.2, 0.3] and "touched" not in docs[0].meta
    out = result["first"]["documents"][0]
    assert out.embedding[0] == 99.0
    assert result["second"]["documents"][0] is not result["third"]["documents"][0]
    assert result["second"]["documents"][0] is not out
