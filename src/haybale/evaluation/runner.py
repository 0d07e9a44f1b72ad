"""Run a dataset through a pipeline, keep every component's outputs, and score each component on its own."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from haybale.core.component import get_input_sockets, get_output_sockets
from haybale.errors import EvaluationError, HaybaleError, PipelineError
from haybale.evaluation.evaluator_inputs import MISSING, RowContext, evaluator_input
from haybale.evaluation.report import EvaluationReport, MetricInfo, RowResult
from haybale.evaluation.spec import EvaluatorSpec, as_spec

__all__ = [
    "EvaluationRun",
    "Progress",
    "evaluate_pipeline",
    "evaluate_pipeline_async",
    "row_details",
    "row_query",
]

#: ``progress(stage, done, total)``: stage "run" (rows through the pipeline) or "score" (metrics computed)
Progress = Callable[[str, int, int], None]

#: per-row outputs of rubric evaluators (and the ranker-uplift evaluator) kept in the report
_DETAIL_KEYS = {
    "reasons": "reason",
    "escalated": "escalated",
    "confidences": "confidence",
    "uplifts": "uplift",
    "recall_preserved": "recall_preserved",
    "context_relevance_deltas": "context_relevance_delta",
}


def row_details(result: Mapping[str, Any], count: int) -> list[dict[str, Any]]:
    """Per-row ``{"reason", "escalated", "confidence"}`` (and a ranker's ``uplift``, ``recall_preserved``,
    ``context_relevance_delta``) from an evaluator result (what it provides)."""
    details: list[dict[str, Any]] = [{} for _ in range(count)]
    for output, name in _DETAIL_KEYS.items():
        values = result.get(output)
        if isinstance(values, list) and len(values) == count:
            for detail, value in zip(details, values, strict=True):
                detail[name] = value
    return details


def row_query(row: Mapping[str, Any]) -> str | None:
    """The question of a dataset row: its ``question``/``query``, else the one in its run inputs."""
    for key in ("question", "query"):
        if isinstance(row.get(key), str):
            return str(row[key])
    inputs = row.get("inputs")
    if isinstance(inputs, Mapping):
        for key in ("question", "query"):
            if isinstance(inputs.get(key), str):
                return str(inputs[key])
        for value in inputs.values():
            if isinstance(value, Mapping):
                for key in ("question", "query"):
                    if isinstance(value.get(key), str):
                        return str(value[key])
    return None


#: output sockets tried, in order, when a target names only a component with several outputs
_PREFERRED_OUTPUTS = ("documents", "answers", "replies", "prompt", "text")


@dataclass(frozen=True)
class _Binding:
    info: MetricInfo
    spec: EvaluatorSpec


def _pipeline_order(pipeline: Any) -> list[str]:
    """Component names, senders before receivers (insertion order breaks ties; loops keep insertion order)."""
    names = [name for name, _ in pipeline.walk()]
    incoming: dict[str, set[str]] = {name: set() for name in names}
    for sender, receiver in pipeline.connections():
        s, r = sender.split(".", 1)[0], receiver.split(".", 1)[0]
        if s != r:
            incoming[r].add(s)
    ordered: list[str] = []
    remaining = list(names)
    while remaining:
        ready = [n for n in remaining if not (incoming[n] - set(ordered))] or remaining[:1]
        ordered.append(ready[0])
        remaining.remove(ready[0])
    return ordered


class EvaluationRun:
    """A pipeline plus the evaluators that score its components.

    Args:
        pipeline: the pipeline to evaluate (any ``Pipeline``).
        evaluators: ``{"component" or "component.socket": [evaluator or EvaluatorSpec, ...]}``; a single
            evaluator may be given without a list. A bare component name scores its only output, or the first
            of ``documents``, ``answers``, ``replies``, ``prompt``, ``text`` it has.
        name: the name of this run in reports and comparisons (e.g. "bm25 top_k=3").
        keep_outputs: keep every component's outputs per row in the report (for inspecting bad rows).

    Raises:
        EvaluationError: unknown component or socket, an ambiguous target, a non-evaluator, or two metrics
            with the same name on one target.
    """

    def __init__(
        self,
        pipeline: Any,
        evaluators: Mapping[str, Sequence[Any] | Any],
        name: str = "run",
        keep_outputs: bool = True,
    ) -> None:
        if not evaluators:
            raise EvaluationError(
                "EvaluationRun needs at least one evaluator, e.g. {'retriever': [DocumentRecallEvaluator()]}."
            )
        self.pipeline = pipeline
        self.name = name
        self.keep_outputs = keep_outputs
        self.order = _pipeline_order(pipeline)
        self._bindings: list[_Binding] = []
        for target, value in evaluators.items():
            component_name, socket = self._resolve_target(target)
            specs = value if isinstance(value, list | tuple) else [value]
            seen: set[str] = set()
            for item in specs:
                spec = as_spec(item, target)
                if spec.metric in seen:
                    raise EvaluationError(
                        f"Two evaluators on '{target}' are both called '{spec.metric}'. Name them apart with "
                        f"EvaluatorSpec(evaluator, name='...')."
                    )
                seen.add(spec.metric)
                warm = getattr(spec.evaluator, "warm_up", None)
                if callable(warm):
                    warm()
                info = MetricInfo(f"{target}.{spec.metric}", component_name, socket, spec.metric, spec.blame)
                self._bindings.append(_Binding(info, spec))
        self._bindings.sort(key=lambda b: self.order.index(b.info.component))

    def _resolve_target(self, target: str) -> tuple[str, str]:
        component_name, _, socket = target.partition(".")
        names = [name for name, _ in self.pipeline.walk()]
        if component_name not in names:
            raise EvaluationError(
                f"Cannot score '{target}': the pipeline has no component '{component_name}'. Components: "
                f"{sorted(names)}."
            )
        outputs = list(get_output_sockets(self.pipeline.get_component(component_name)))
        if socket:
            if socket not in outputs:
                raise EvaluationError(
                    f"Cannot score '{target}': component '{component_name}' has no output '{socket}'. "
                    f"Its outputs: {outputs}."
                )
            return component_name, socket
        if len(outputs) == 1:
            return component_name, outputs[0]
        for preferred in _PREFERRED_OUTPUTS:
            if preferred in outputs:
                return component_name, preferred
        raise EvaluationError(
            f"Cannot tell which output of '{component_name}' to score (it has {outputs}). Name it: "
            f"'{component_name}.{outputs[0] if outputs else 'socket'}'."
        )

    @property
    def metrics(self) -> list[MetricInfo]:
        """The metrics this run computes, upstream components first."""
        return [b.info for b in self._bindings]

    # ------------------------------------------------------------------ running
    def _check_dataset(self, dataset: Sequence[Mapping[str, Any]]) -> None:
        if isinstance(dataset, str | bytes) or not isinstance(dataset, Sequence) or not dataset:
            raise EvaluationError(
                "The dataset must be a non-empty list of rows like {'inputs': {...run data...}, "
                "'ground_truth_documents': [...], 'ground_truth_answer': '...'}."
            )
        for index, row in enumerate(dataset):
            if not isinstance(row, Mapping) or not isinstance(row.get("inputs"), Mapping):
                raise EvaluationError(
                    f"Dataset row {index} must be a dict with an 'inputs' dict (the pipeline run data), got "
                    f"{row!r:.80}."
                )

    def _row_result(self, index: int, row: Mapping[str, Any], outcome: Any) -> RowResult:
        result = RowResult(index=index, row_id=row.get("id", index), scores={}, query=row_query(row))
        if isinstance(outcome, HaybaleError):
            result.error = f"{type(outcome).__name__}: {outcome}"
            result.failed_component = getattr(outcome, "component_name", None)
        elif self.keep_outputs:
            result.outputs = outcome
        return result

    def run(self, dataset: Sequence[Mapping[str, Any]], progress: Progress | None = None) -> EvaluationReport:
        """Run every row through ``pipeline.run`` and score it.

        A row whose pipeline run fails is kept in the report with its error and the failing component; its
        scores are None.

        Args:
            dataset: the rows (see :class:`EvaluationRun`).
            progress: called as ``progress(stage, done, total)``: stage "run" after each row, "score" after
                each metric.

        Raises:
            EvaluationError: a malformed dataset, a row lacking a needed ground truth, or an evaluator that
                rejects its inputs.
        """
        self._check_dataset(dataset)
        include = set(self.order)
        outcomes: list[Any] = []
        for done, row in enumerate(dataset, start=1):
            try:
                outcomes.append(self.pipeline.run(row["inputs"], include_outputs_from=include))
            except PipelineError as exc:
                outcomes.append(exc)
            if progress is not None:
                progress("run", done, len(dataset))
        return self._score(dataset, outcomes, progress)

    async def run_async(
        self,
        dataset: Sequence[Mapping[str, Any]],
        concurrency_limit: int = 4,
        progress: Progress | None = None,
    ) -> EvaluationReport:
        """Like :meth:`run`, with ``pipeline.run_async`` and up to ``concurrency_limit`` rows at once."""
        self._check_dataset(dataset)
        if not isinstance(concurrency_limit, int) or concurrency_limit < 1:
            raise EvaluationError(f"concurrency_limit must be a positive int, got {concurrency_limit!r}.")
        include = set(self.order)
        gate = asyncio.Semaphore(concurrency_limit)
        finished = 0

        async def one(row: Mapping[str, Any]) -> Any:
            nonlocal finished
            async with gate:
                try:
                    return await self.pipeline.run_async(row["inputs"], include_outputs_from=include)
                except PipelineError as exc:
                    return exc
                finally:
                    finished += 1
                    if progress is not None:
                        progress("run", finished, len(dataset))

        outcomes = await asyncio.gather(*(one(row) for row in dataset))
        return self._score(dataset, list(outcomes), progress)

    # ------------------------------------------------------------------ scoring
    def _columns(
        self, binding: _Binding, pairs: list[tuple[Mapping[str, Any], Any]]
    ) -> tuple[list[int], dict[str, list[Any]]]:
        """The rows this binding can score and the evaluator's input columns for them."""
        info = binding.info
        scored: list[int] = []
        contexts: list[RowContext] = []
        for index, (row, outcome) in enumerate(pairs):
            produced = None if isinstance(outcome, HaybaleError) else outcome.get(info.component)
            if produced is None or info.socket not in produced:
                continue
            scored.append(index)
            contexts.append(
                RowContext(row, index, self.pipeline, outcome, info.component, info.socket, info.target)
            )
        columns: dict[str, list[Any]] = {}
        for socket in get_input_sockets(binding.spec.evaluator).values():
            optional = not socket.is_mandatory and socket.name not in binding.spec.inputs
            values = [evaluator_input(binding.spec, socket.name, ctx, optional=optional) for ctx in contexts]
            if optional and any(value is MISSING for value in values):
                continue  # an optional input is given for every row or for none
            columns[socket.name] = values
        return scored, columns

    def _score(
        self, dataset: Sequence[Mapping[str, Any]], outcomes: list[Any], progress: Progress | None = None
    ) -> EvaluationReport:
        pairs = list(zip(dataset, outcomes, strict=True))
        rows = [self._row_result(i, row, outcome) for i, (row, outcome) in enumerate(pairs)]
        for done, binding in enumerate(self._bindings, start=1):
            key = binding.info.key
            for row in rows:
                row.scores[key] = None
            scored, columns = self._columns(binding, pairs)
            if scored:
                scores, details = self._evaluate(binding, columns, len(scored))
                for index, score, detail in zip(scored, scores, details, strict=True):
                    rows[index].scores[key] = score
                    if detail:
                        rows[index].details[key] = detail
            if progress is not None:
                progress("score", done, len(self._bindings))
        return EvaluationReport(self.name, self.metrics, rows, self.order)

    def _evaluate(
        self, binding: _Binding, columns: dict[str, list[Any]], count: int
    ) -> tuple[list[float | None], list[dict[str, Any]]]:
        evaluator = binding.spec.evaluator
        # evaluators take one list per query; a row's ground-truth/retrieved documents are already lists
        try:
            result = evaluator.run(**columns)
        except HaybaleError as exc:
            raise EvaluationError(
                f"{type(evaluator).__name__} scoring '{binding.info.target}' rejected its inputs: {exc}"
            ) from exc
        scores = result.get("individual_scores") if isinstance(result, dict) else None
        if not isinstance(scores, list) or len(scores) != count:
            raise EvaluationError(
                f"{type(evaluator).__name__} scoring '{binding.info.target}' returned no per-row "
                f"'individual_scores' list; evaluators must return one score per row."
            )
        values = [None if s is None or math.isnan(float(s)) else float(s) for s in scores]
        return values, row_details(result, count)


def evaluate_pipeline(
    pipeline: Any,
    dataset: Sequence[Mapping[str, Any]],
    evaluators: Mapping[str, Sequence[Any] | Any],
    *,
    name: str = "run",
    keep_outputs: bool = True,
    progress: Progress | None = None,
) -> EvaluationReport:
    """Score every mapped component of ``pipeline`` on ``dataset``; see :class:`EvaluationRun`."""
    return EvaluationRun(pipeline, evaluators, name=name, keep_outputs=keep_outputs).run(dataset, progress)


async def evaluate_pipeline_async(
    pipeline: Any,
    dataset: Sequence[Mapping[str, Any]],
    evaluators: Mapping[str, Sequence[Any] | Any],
    *,
    name: str = "run",
    keep_outputs: bool = True,
    concurrency_limit: int = 4,
) -> EvaluationReport:
    """Like :func:`evaluate_pipeline`, with ``pipeline.run_async`` and rows run concurrently."""
    run = EvaluationRun(pipeline, evaluators, name=name, keep_outputs=keep_outputs)
    return await run.run_async(dataset, concurrency_limit)
