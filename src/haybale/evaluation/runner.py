"""Run a dataset through a pipeline, keep every component's outputs, and score each component on its own."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from haybale.core.component import get_input_sockets, get_output_sockets
from haybale.errors import EvaluationError, HaybaleError, PipelineError
from haybale.evaluation.report import EvaluationReport, MetricInfo, RowResult
from haybale.evaluation.spec import EvaluatorSpec, as_spec, evaluator_input

__all__ = ["EvaluationRun", "evaluate_pipeline", "evaluate_pipeline_async"]

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
                info = MetricInfo(f"{target}.{spec.metric}", component_name, socket, spec.metric)
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
        result = RowResult(index=index, row_id=row.get("id", index), scores={})
        if isinstance(outcome, HaybaleError):
            result.error = f"{type(outcome).__name__}: {outcome}"
            result.failed_component = getattr(outcome, "component_name", None)
        elif self.keep_outputs:
            result.outputs = outcome
        return result

    def run(self, dataset: Sequence[Mapping[str, Any]]) -> EvaluationReport:
        """Run every row through ``pipeline.run`` and score it.

        A row whose pipeline run fails is kept in the report with its error and the failing component; its
        scores are None.

        Raises:
            EvaluationError: a malformed dataset, a row lacking a needed ground truth, or an evaluator that
                rejects its inputs.
        """
        self._check_dataset(dataset)
        include = set(self.order)
        outcomes: list[Any] = []
        for row in dataset:
            try:
                outcomes.append(self.pipeline.run(row["inputs"], include_outputs_from=include))
            except PipelineError as exc:
                outcomes.append(exc)
        return self._score(dataset, outcomes)

    async def run_async(
        self, dataset: Sequence[Mapping[str, Any]], concurrency_limit: int = 4
    ) -> EvaluationReport:
        """Like :meth:`run`, with ``pipeline.run_async`` and up to ``concurrency_limit`` rows at once."""
        self._check_dataset(dataset)
        if not isinstance(concurrency_limit, int) or concurrency_limit < 1:
            raise EvaluationError(f"concurrency_limit must be a positive int, got {concurrency_limit!r}.")
        include = set(self.order)
        gate = asyncio.Semaphore(concurrency_limit)

        async def one(row: Mapping[str, Any]) -> Any:
            async with gate:
                try:
                    return await self.pipeline.run_async(row["inputs"], include_outputs_from=include)
                except PipelineError as exc:
                    return exc

        outcomes = await asyncio.gather(*(one(row) for row in dataset))
        return self._score(dataset, list(outcomes))

    # ------------------------------------------------------------------ scoring
    def _score(self, dataset: Sequence[Mapping[str, Any]], outcomes: list[Any]) -> EvaluationReport:
        pairs = list(zip(dataset, outcomes, strict=True))
        rows = [self._row_result(i, row, outcome) for i, (row, outcome) in enumerate(pairs)]
        for binding in self._bindings:
            info = binding.info
            scored: list[int] = []
            columns: dict[str, list[Any]] = {}
            sockets = get_input_sockets(binding.spec.evaluator)
            for index, (row, outcome) in enumerate(pairs):
                produced = None if isinstance(outcome, HaybaleError) else outcome.get(info.component)
                if produced is None or info.socket not in produced:
                    rows[index].scores[info.key] = None
                    continue
                scored.append(index)
                for socket in sockets.values():
                    if not socket.is_mandatory and socket.name not in binding.spec.inputs:
                        continue
                    value = evaluator_input(
                        binding.spec,
                        socket.name,
                        row=row,
                        output=produced[info.socket],
                        target=info.target,
                        index=index,
                    )
                    columns.setdefault(socket.name, []).append(value)
            if not scored:
                continue
            scores = self._evaluate(binding, columns)
            for index, score in zip(scored, scores, strict=True):
                rows[index].scores[info.key] = score
        return EvaluationReport(self.name, self.metrics, rows, self.order)

    def _evaluate(self, binding: _Binding, columns: dict[str, list[Any]]) -> list[float]:
        evaluator = binding.spec.evaluator
        # evaluators take one list per query; a row's ground-truth/retrieved documents are already lists
        try:
            result = evaluator.run(**columns)
        except HaybaleError as exc:
            raise EvaluationError(
                f"{type(evaluator).__name__} scoring '{binding.info.target}' rejected its inputs: {exc}"
            ) from exc
        scores = result.get("individual_scores") if isinstance(result, dict) else None
        if not isinstance(scores, list) or len(scores) != len(next(iter(columns.values()), [])):
            raise EvaluationError(
                f"{type(evaluator).__name__} scoring '{binding.info.target}' returned no per-row "
                f"'individual_scores' list; evaluators must return one score per row."
            )
        return [float(s) if s is not None else None for s in scores]  # type: ignore[misc]


def evaluate_pipeline(
    pipeline: Any,
    dataset: Sequence[Mapping[str, Any]],
    evaluators: Mapping[str, Sequence[Any] | Any],
    *,
    name: str = "run",
    keep_outputs: bool = True,
) -> EvaluationReport:
    """Score every mapped component of ``pipeline`` on ``dataset``; see :class:`EvaluationRun`."""
    return EvaluationRun(pipeline, evaluators, name=name, keep_outputs=keep_outputs).run(dataset)


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
