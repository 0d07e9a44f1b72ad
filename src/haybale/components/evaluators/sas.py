"""SASEvaluator: semantic answer similarity, the cosine of bi-encoder embeddings of two answers."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from haybale.components.embedders.sentence_transformers_backend import (
    DEFAULT_SENTENCE_TRANSFORMERS_MODEL,
    load_sentence_transformer,
)
from haybale.components.evaluators._parallel_inputs import (
    check_parallel_lists,
    check_string_list,
    mean_score,
)
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.errors import ComponentError

__all__ = ["SASEvaluator"]

_NAME = "SASEvaluator"


@component
class SASEvaluator:
    """Semantic answer similarity: how close in meaning each predicted answer is to the expected one.

    Both answers are embedded with a sentence-transformers bi-encoder and compared by cosine similarity
    (1.0 = same meaning; unrelated answers land near 0). Unlike exact match it credits paraphrases
    ("Paris" vs "It is Paris."). The model is loaded in :meth:`warm_up` (or on the first run) through the
    process-wide cache the SentenceTransformers embedders use, so an embedder and this evaluator on the same
    model share one copy; the default model resolves offline to the bundled all-MiniLM-L6-v2.

    Args:
        model: a sentence-transformers model name or local folder.
        batch_size: texts encoded per forward pass.
        device: "cpu", "cuda", ...; None picks the best available.

    Raises:
        ComponentError: a batch size that is not a positive integer.
    """

    def __init__(
        self,
        model: str = DEFAULT_SENTENCE_TRANSFORMERS_MODEL,
        batch_size: int = 32,
        device: str | None = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ComponentError(f"{_NAME}: batch_size must be a positive integer, got {batch_size!r}.")
        if not isinstance(model, str) or not model.strip():
            raise ComponentError(f"{_NAME}: model must be a model name or folder, got {model!r}.")
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self._encoder: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model (once per process for each model and device; idempotent and thread-safe).

        Raises:
            MissingDependencyError: sentence-transformers is not installed.
            ComponentError: the model cannot be found locally.
        """
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = load_sentence_transformer(self.model, self.device)

    @component.output_types(score=float, individual_scores=list[float])
    def run(self, ground_truth_answers: list[str], predicted_answers: list[str]) -> dict[str, Any]:
        """Score each predicted answer against its ground truth.

        Args:
            ground_truth_answers: the expected answer per question.
            predicted_answers: the predicted answer per question.

        Returns:
            ``{"score": mean similarity, "individual_scores": [cosine similarity per question]}``.

        Raises:
            ComponentError: empty or mismatched lists, or entries that are not strings (a missing prediction
                should be passed as "" so it scores low, not as None).
        """
        count = check_parallel_lists(
            _NAME, ground_truth_answers=ground_truth_answers, predicted_answers=predicted_answers
        )
        check_string_list(_NAME, "ground_truth_answers", ground_truth_answers)
        check_string_list(_NAME, "predicted_answers", predicted_answers)
        self.warm_up()
        # One encode call for both sides fills the batches better than two.
        vectors = self._encoder.encode(
            [*ground_truth_answers, *predicted_answers],
            batch_size=self.batch_size,
            show_progress_bar=False,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        truths, predictions = vectors[:count], vectors[count:]
        # Normalised embeddings: the row-wise dot product is the cosine similarity.
        similarities = [min(1.0, max(-1.0, float(s))) for s in (truths * predictions).sum(axis=1)]
        return {"score": mean_score(similarities), "individual_scores": similarities}

    async def run_async(
        self, ground_truth_answers: list[str], predicted_answers: list[str]
    ) -> dict[str, Any]:
        """Async :meth:`run`: encodes in a worker thread so the event loop stays responsive."""
        return await asyncio.to_thread(self.run, ground_truth_answers, predicted_answers)

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self, model=self.model, batch_size=self.batch_size, device=self.device)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SASEvaluator:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
