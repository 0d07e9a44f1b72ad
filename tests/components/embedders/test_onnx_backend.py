"""backend="onnx" / "onnx-int8": the bundled MiniLM exported offline to ONNX, encoding without torch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from haybale.components.embedders import (
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)
from haybale.components.embedders._onnx_encoder import ONNX_BACKENDS, onnx_model_path
from haybale.components.embedders.sentence_transformers_backend import clear_model_cache, resolve_model_path
from haybale.dataclasses import Document
from haybale.errors import ComponentError, ModelUnavailableError

pytestmark = pytest.mark.slow

TEXTS = [
    "Hay is grass that has been cut, dried and stored for animal fodder.",
    "How does BM25 rank documents?",
    "vitamin d deficiency in older adults",
    "Round bales are wrapped in plastic to keep the rain out.",
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("onnx-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HAYBALE_CACHE_DIR", str(folder))
        yield folder
    clear_model_cache()


def _vectors(backend: str) -> np.ndarray:
    embedder = SentenceTransformersDocumentEmbedder(progress_bar=False, backend=backend)
    documents = embedder.run(documents=[Document(content=t) for t in TEXTS])["documents"]
    return np.array([d.embedding for d in documents])


def test_onnx_gives_the_torch_vectors_and_int8_stays_close(cache_dir: Path) -> None:
    torch_vectors = _vectors("torch")
    onnx_vectors = _vectors("onnx")
    int8_vectors = _vectors("onnx-int8")
    assert onnx_vectors.shape == torch_vectors.shape == (len(TEXTS), 384)
    assert np.allclose(onnx_vectors, torch_vectors, atol=1e-4)
    cosines = (int8_vectors * torch_vectors).sum(axis=1)
    assert cosines.min() > 0.97
    exported = sorted(p.name for p in cache_dir.rglob("*.onnx"))
    assert exported == sorted(ONNX_BACKENDS.values())  # exported once, offline, into the cache folder


def test_the_text_embedder_and_serialization_carry_the_backend(cache_dir: Path) -> None:
    embedder = SentenceTransformersTextEmbedder(progress_bar=False, backend="onnx-int8")
    data = embedder.to_dict()
    assert data["init_parameters"]["backend"] == "onnx-int8"
    assert SentenceTransformersTextEmbedder.from_dict(data).to_dict() == data
    vector = embedder.run(text=TEXTS[0])["embedding"]
    assert len(vector) == 384 and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3  # normalised like MiniLM
    same = onnx_model_path(resolve_model_path("all-MiniLM-L6-v2"), "onnx-int8")
    assert (
        same.stat().st_mtime
        == onnx_model_path(resolve_model_path("all-MiniLM-L6-v2"), "onnx-int8").stat().st_mtime
    )


def test_bad_backends_and_folders_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ComponentError, match="Unknown backend 'tpu'"):
        SentenceTransformersTextEmbedder(backend="tpu")
    with pytest.raises(ModelUnavailableError, match="local model folder"):
        onnx_model_path(tmp_path, "onnx")
    with pytest.raises(ComponentError, match="Unknown ONNX backend"):
        onnx_model_path(tmp_path, "onnx-int4")
