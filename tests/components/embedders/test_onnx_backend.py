"""backend="onnx" / "onnx-int8": the bundled MiniLM exported offline to ONNX, encoding without torch."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from haybale.components.embedders import (
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)
from haybale.components.embedders._onnx_encoder import (
    _EXPORT_RECIPE,
    ONNX_BACKENDS,
    OnnxSentenceEncoder,
    _fingerprint,
    onnx_model_path,
)
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
    # Files earlier export recipes left behind (same model, their cache folder names) must not be used.
    model_dir = Path(resolve_model_path("all-MiniLM-L6-v2"))
    for suffix in ("", "-export2"):
        stale = folder / "onnx" / f"{model_dir.name}-{_fingerprint(model_dir)}{suffix}"
        stale.mkdir(parents=True)
        for name in ("model.onnx", "model_int8.onnx", "model_int8_matmul_per_channel.onnx"):
            (stale / name).write_bytes(b"not an onnx file from this recipe")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HAYBALE_CACHE_DIR", str(folder))
        yield folder
    clear_model_cache()


def _vectors(backend: str) -> np.ndarray:
    embedder = SentenceTransformersDocumentEmbedder(progress_bar=False, backend=backend)
    documents = embedder.run(documents=[Document(content=t) for t in TEXTS])["documents"]
    return np.array([d.embedding for d in documents])


def test_concurrent_first_use_exports_once_fused_float_and_int8_matmuls(cache_dir: Path) -> None:
    import onnx
    from onnx import numpy_helper

    model_dir = resolve_model_path("all-MiniLM-L6-v2")
    with ThreadPoolExecutor(max_workers=3) as pool:
        paths = list(pool.map(lambda _: onnx_model_path(model_dir, "onnx-int8"), range(3)))
    assert len(set(paths)) == 1 and paths[0].is_file()
    folder = paths[0].parent
    assert folder.name.endswith(f"-{_EXPORT_RECIPE}") and _EXPORT_RECIPE != "export2"
    assert sorted(p.name for p in folder.glob("*.onnx")) == sorted(ONNX_BACKENDS.values())
    assert not list(folder.glob("*.partial"))  # no half-written file left behind
    float_nodes = onnx.load(str(folder / ONNX_BACKENDS["onnx"])).graph.node
    # float32: each layer's attention is one fused kernel.
    assert {"Attention", "SkipLayerNormalization", "BiasGelu"} <= {node.op_type for node in float_nodes}
    int8 = onnx.load(str(paths[0])).graph
    ops = [node.op_type for node in int8.node]
    # int8: the unfused graph, its 6 weight products per layer (Q, K, V, attention output, the two dense
    # layers) int8 (7-bit weights, one scale per output channel) with activations quantised at run time;
    # the 2 per layer between activations (scores, weighted values) stay float32; nothing fused before.
    assert ops.count("MatMulInteger") == 6 * 6 and ops.count("MatMul") == 2 * 6
    assert "DynamicQuantizeLinear" in ops
    assert not {"Attention", "QAttention", "SkipLayerNormalization"} & set(ops)
    initializers = {tensor.name: tensor for tensor in int8.initializer}
    for node in (n for n in int8.node if n.op_type == "MatMulInteger"):
        weights = initializers[node.input[1]]
        assert weights.data_type == onnx.TensorProto.INT8
        assert int(np.abs(numpy_helper.to_array(weights)).max()) == 64  # symmetric, the 7-bit range
        zero_points = numpy_helper.to_array(initializers[node.input[3]])
        assert zero_points.shape == (weights.dims[1],) and not zero_points.any()  # one per output channel


def test_the_export_is_deterministic(cache_dir: Path, tmp_path: Path) -> None:
    import hashlib

    from haybale.components.embedders._onnx_encoder import _export

    model_dir = resolve_model_path("all-MiniLM-L6-v2")
    cached = onnx_model_path(model_dir, "onnx").parent
    _export(Path(model_dir), tmp_path)  # a second export, from scratch, of the same model

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    for name in ONNX_BACKENDS.values():
        assert digest(tmp_path / name) == digest(cached / name), name  # byte for byte: same vectors anywhere


def test_onnx_gives_the_torch_vectors_and_int8_stays_close(cache_dir: Path) -> None:
    torch_vectors = _vectors("torch")
    onnx_vectors = _vectors("onnx")
    int8_vectors = _vectors("onnx-int8")
    assert onnx_vectors.shape == torch_vectors.shape == (len(TEXTS), 384)
    assert np.allclose(onnx_vectors, torch_vectors, atol=1e-4)
    cosines = (int8_vectors * torch_vectors).sum(axis=1)
    assert cosines.min() > 0.97
    exported = sorted(p.name for p in cache_dir.rglob("*.onnx") if p.stat().st_size > 1000)
    assert exported == sorted(ONNX_BACKENDS.values())  # exported once, offline, into the cache folder


def test_batching_by_token_count_keeps_the_input_order(cache_dir: Path) -> None:
    texts = [
        "bale " * 300,  # longer than the model's 256 tokens: truncated
        "hay",
        "Round bales are wrapped in plastic to keep the rain out of the hay.",
        "",
        "a b",
        "The barn holds two hundred small square bales of meadow hay.",
    ]
    encoder = OnnxSentenceEncoder(resolve_model_path("all-MiniLM-L6-v2"), "onnx", threads=1)
    one_by_one = np.vstack([encoder.encode([text]) for text in texts])
    for batch_size in (2, 4, 32):
        assert np.allclose(encoder.encode(texts, batch_size=batch_size), one_by_one, atol=1e-5)
    reversed_rows = encoder.encode(texts[::-1], batch_size=4)
    assert np.allclose(reversed_rows[::-1], one_by_one, atol=1e-5)
    assert encoder.encode([]).shape == (0, 0)


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


# Characters and tokens disagree: "the " is one word piece in four characters, ".," two in two.
BY_TOKENS = ["the " * 30, ".," * 50, ".," * 30, "the " * 10]  # 32, 102, 62 and 12 tokens


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_many_texts_of_mixed_lengths_keep_their_order_and_their_vectors(
    cache_dir: Path, backend: str
) -> None:
    texts = [*BY_TOKENS, *TEXTS]
    embedder = SentenceTransformersDocumentEmbedder(progress_bar=False, backend=backend, batch_size=3)
    together = embedder.run(documents=[Document(content=t) for t in texts])["documents"]
    alone = [embedder.run(documents=[Document(content=t)])["documents"][0] for t in texts]
    assert [d.content for d in together] == texts
    assert np.allclose([d.embedding for d in together], [d.embedding for d in alone], atol=1e-5)


def test_torch_batches_group_texts_by_token_count(monkeypatch: pytest.MonkeyPatch) -> None:
    from sentence_transformers import SentenceTransformer

    batches: list[list[str]] = []
    original = SentenceTransformer.encode

    def recording(self: object, sentences: list[str], *args: object, **kwargs: object) -> object:
        batches.append(list(sentences))
        return original(self, sentences, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SentenceTransformer, "encode", recording)
    SentenceTransformersDocumentEmbedder(progress_bar=False, batch_size=2).run(
        documents=[Document(content=t) for t in BY_TOKENS]
    )
    # By characters (120, 100 | 60, 40) the model would compute 2 x 102 + 2 x 62 positions; by tokens
    # 2 x 102 + 2 x 32.
    assert batches == [[".," * 50, ".," * 30], ["the " * 30, "the " * 10]]
