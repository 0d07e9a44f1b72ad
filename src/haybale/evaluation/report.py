"""EvaluationReport: per-component aggregate scores, per-row scores, worst rows, blame, and run comparison."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from haybale.errors import EvaluationError

__all__ = ["EvaluationReport", "MetricInfo", "ReportComparison", "RowResult"]


@dataclass(frozen=True)
class MetricInfo:
    """One metric of a report.

    Attributes:
        key: unique name in the report, ``"<target>.<metric>"`` (e.g. ``"retriever.recall"``).
        component: the scored component.
        socket: the scored output socket.
        metric: the metric name (e.g. ``"recall"``).
        blame: whether a low score here can make the component the culprit of a row (see ``blame``).
    """

    key: str
    component: str
    socket: str
    metric: str
    blame: bool = True

    @property
    def target(self) -> str:
        """``component`` or ``component.socket`` as given to the evaluation run."""
        return self.key.rsplit(".", 1)[0]


@dataclass
class RowResult:
    """The scores of one dataset row.

    Attributes:
        index: position in the dataset.
        row_id: the row's ``id`` (its index when it has none).
        scores: metric key -> score; None where the component produced nothing or the run failed.
        error: the pipeline error of this row, if its run failed.
        failed_component: the component that raised, if known.
        outputs: every component's outputs for this row (when ``keep_outputs``).
        query: the row's question, when it has one (for reports and clustering).
        details: metric key -> what the evaluator said about this row besides the score (``reason``,
            ``escalated``, ``confidence``), for the evaluators that say it.
    """

    index: int
    row_id: Any
    scores: dict[str, float | None] = field(default_factory=dict)
    error: str | None = None
    failed_component: str | None = None
    outputs: dict[str, dict[str, Any]] | None = None
    query: str | None = None
    details: dict[str, dict[str, Any]] = field(default_factory=dict)


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return math.fsum(present) / len(present) if present else None


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:+.4f}" if value < 0 else f"{value:.4f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _markdown(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(row.get(col)) for col in header) + " |" for row in rows]
    return "\n".join(lines) + "\n"


class EvaluationReport:
    """The result of an evaluation run.

    Attributes:
        name: the run's name.
        metrics: the metrics, upstream components first.
        rows: one :class:`RowResult` per dataset row, in dataset order.
        component_order: the pipeline's components, senders before receivers.
    """

    def __init__(
        self,
        name: str,
        metrics: Sequence[MetricInfo],
        rows: Sequence[RowResult],
        component_order: Sequence[str],
    ) -> None:
        self.name = name
        self.metrics = list(metrics)
        self.rows = list(rows)
        self.component_order = list(component_order)

    def __repr__(self) -> str:
        return f"EvaluationReport(name={self.name!r}, rows={len(self.rows)}, scores={self.scores()})"

    def metric_info(self, name: str) -> MetricInfo:
        """The metric called ``name``: a key like "retriever.recall", or a metric name unique in the report.

        Raises:
            EvaluationError: unknown or ambiguous name (the message lists the metrics).
        """
        return self._metric(name)

    def _metric(self, name: str) -> MetricInfo:
        exact = [m for m in self.metrics if m.key == name]
        matches = exact or [m for m in self.metrics if m.metric == name or m.key.endswith(f".{name}")]
        if len(matches) == 1:
            return matches[0]
        known = [m.key for m in self.metrics]
        problem = "is ambiguous" if matches else "is unknown"
        raise EvaluationError(f"Metric '{name}' {problem} in report '{self.name}'. Metrics: {known}.")

    def scores(self) -> dict[str, float | None]:
        """Metric key -> mean score over the rows that were scored (None when no row was)."""
        return {m.key: _mean([row.scores.get(m.key) for row in self.rows]) for m in self.metrics}

    def component_scores(self) -> dict[str, dict[str, float | None]]:
        """Component -> {metric: mean score}; the socket is part of the metric name when one component has
        metrics on several outputs."""
        means = self.scores()
        sockets: dict[str, set[str]] = {}
        for m in self.metrics:
            sockets.setdefault(m.component, set()).add(m.socket)
        result: dict[str, dict[str, float | None]] = {}
        for m in self.metrics:
            label = m.metric if len(sockets[m.component]) == 1 else f"{m.socket}.{m.metric}"
            result.setdefault(m.component, {})[label] = means[m.key]
        return result

    def escalation_counts(self) -> dict[str, int]:
        """Metric key -> rows a rubric evaluator sent to its judge (only metrics whose evaluator cascades)."""
        counts: dict[str, int] = {}
        for row in self.rows:
            for key, detail in row.details.items():
                if "escalated" in detail:
                    counts[key] = counts.get(key, 0) + bool(detail["escalated"])
        return counts

    def summary_rows(self) -> list[dict[str, Any]]:
        """One dict per metric: component, output, metric, score, number of scored rows (and, when a rubric
        evaluator cascaded to a judge, how many rows it escalated)."""
        means = self.scores()
        escalations = self.escalation_counts()
        summary = []
        for m in self.metrics:
            entry: dict[str, Any] = {
                "component": m.component,
                "output": m.socket,
                "metric": m.metric,
                "score": means[m.key],
                "rows_scored": sum(row.scores.get(m.key) is not None for row in self.rows),
            }
            if escalations:
                entry["escalated"] = escalations.get(m.key, 0)
            summary.append(entry)
        return summary

    def to_rows(self) -> list[dict[str, Any]]:
        """One flat dict per dataset row: ``row``, every metric key, ``error``, ``failed_component``."""
        return [
            {
                "row": row.row_id,
                **{m.key: row.scores.get(m.key) for m in self.metrics},
                "error": row.error,
                "failed_component": row.failed_component,
            }
            for row in self.rows
        ]

    def to_markdown(self, include_rows: bool = False) -> str:
        """A Markdown table of the aggregate scores (with ``include_rows``, also one of per-row scores)."""
        text = f"### Evaluation: {self.name} ({len(self.rows)} rows)\n\n" + _markdown(self.summary_rows())
        if include_rows:
            text += "\n" + _markdown(self.to_rows())
        return text

    def to_dict(self) -> dict[str, Any]:
        """Everything but the kept component outputs, as plain data (:meth:`from_dict` reads it back, e.g. a
        saved baseline run)."""
        return {
            "name": self.name,
            "scores": self.scores(),
            "components": self.component_scores(),
            "rows": self.to_rows(),
            "metrics": [
                {
                    "key": m.key,
                    "component": m.component,
                    "socket": m.socket,
                    "metric": m.metric,
                    "blame": m.blame,
                }
                for m in self.metrics
            ],
            "component_order": self.component_order,
            "results": [
                {
                    "index": row.index,
                    "row": row.row_id,
                    "query": row.query,
                    "scores": row.scores,
                    "details": row.details,
                    "error": row.error,
                    "failed_component": row.failed_component,
                }
                for row in self.rows
            ],
        }

    @classmethod
    def from_dict(cls, data: Any) -> EvaluationReport:
        """Rebuild a report saved with :meth:`to_dict` / :meth:`to_json` (without kept outputs).

        Raises:
            EvaluationError: the data is not a saved report.
        """
        try:
            metrics = [
                MetricInfo(m["key"], m["component"], m["socket"], m["metric"], bool(m.get("blame", True)))
                for m in data["metrics"]
            ]
            rows = [
                RowResult(
                    index=int(r["index"]),
                    row_id=r["row"],
                    scores={k: None if v is None else float(v) for k, v in r["scores"].items()},
                    error=r.get("error"),
                    failed_component=r.get("failed_component"),
                    query=r.get("query"),
                    details=dict(r.get("details") or {}),
                )
                for r in data["results"]
            ]
            return cls(str(data["name"]), metrics, rows, list(data["component_order"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise EvaluationError(
                f"Not a saved evaluation report (missing or malformed {exc}). Save runs with "
                "EvaluationReport.to_json() or `haybale eval ... --save-run run.json`."
            ) from exc

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON."""
        return json.dumps(self.to_dict(), indent=indent, default=str)

    def worst(self, n: int, metric: str) -> list[RowResult]:
        """The ``n`` rows with the lowest ``metric`` (a key like "retriever.recall", or a unique metric
        name like "recall"), lowest first; unscored rows are left out.

        Raises:
            EvaluationError: unknown or ambiguous metric, or ``n`` < 1.
        """
        if not isinstance(n, int) or n < 1:
            raise EvaluationError(f"worst() needs a positive number of rows, got {n!r}.")
        key = self._metric(metric).key
        scored = [row for row in self.rows if row.scores.get(key) is not None]
        return sorted(scored, key=lambda row: (row.scores[key], row.index))[:n]

    def blame(
        self, threshold: float = 0.5, baseline: EvaluationReport | None = None, min_drop: float = 1e-9
    ) -> list[dict[str, Any]]:
        """For each row that failed or scored below ``threshold`` somewhere, the most upstream culprit.

        Args:
            threshold: a score below it fails.
            baseline: a previous run of the same dataset: then only regressions count, a metric fails only
                when it is below ``threshold`` *and* dropped by more than ``min_drop`` from the baseline
                row with the same id (a run error counts when the baseline row had none). This answers
                "what did this change break?" rather than "what is weak?".
            min_drop: the smallest drop that counts as a regression.

        Returns:
            ``[{"row", "component", "metric", "score", "reason"}]``: the component that raised, or the first
            component (in pipeline order) with a failing score. A bad answer after a retriever that missed
            the ground truth is blamed on the retriever.
        """
        order = {name: i for i, name in enumerate(self.component_order)}
        ranked = sorted(
            (m for m in self.metrics if m.blame), key=lambda m: order.get(m.component, len(order))
        )
        before = {row.row_id: row for row in baseline.rows} if baseline is not None else None
        findings: list[dict[str, Any]] = []
        for row in self.rows:
            old = None if before is None else before.get(row.row_id)
            if row.error is not None:
                if before is None or (old is not None and old.error is None):
                    findings.append(
                        {
                            "row": row.row_id,
                            "component": row.failed_component,
                            "metric": None,
                            "score": None,
                            "reason": row.error,
                        }
                    )
                continue
            for m in ranked:
                score = row.scores.get(m.key)
                if score is None or score >= threshold:
                    continue
                if before is not None:
                    previous = None if old is None else old.scores.get(m.key)
                    if previous is None or score > previous - min_drop:
                        continue
                said = row.details.get(m.key, {}).get("reason")
                reason = f"{m.metric} {score:.4f} < {threshold}" + (f": {said}" if said else "")
                findings.append(
                    {
                        "row": row.row_id,
                        "component": m.component,
                        "metric": m.key,
                        "score": score,
                        "reason": reason,
                    }
                )
                break
        return findings

    def compare(self, other: EvaluationReport) -> ReportComparison:
        """Per-metric deltas from this report to ``other`` (``other - self``).

        Raises:
            EvaluationError: the reports share no metric.
        """
        return ReportComparison(self, other)


class ReportComparison:
    """The difference between two evaluation reports (``after - before``), metric by metric and row by row."""

    def __init__(self, before: EvaluationReport, after: EvaluationReport) -> None:
        shared = [m.key for m in before.metrics if m.key in {o.key for o in after.metrics}]
        if not shared:
            raise EvaluationError(
                f"Reports '{before.name}' and '{after.name}' share no metric: "
                f"{[m.key for m in before.metrics]} vs {[m.key for m in after.metrics]}. Score the same "
                "components with the same evaluators."
            )
        self.before = before
        self.after = after
        self.metrics = shared

    def deltas(self) -> dict[str, float | None]:
        """Metric key -> ``after - before`` of the mean scores (None where either side has no score)."""
        old, new = self.before.scores(), self.after.scores()
        return {
            key: None if old[key] is None or new[key] is None else new[key] - old[key]  # type: ignore[operator]
            for key in self.metrics
        }

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per shared metric: ``metric``, the two runs' scores (by run name), ``delta``."""
        old, new = self.before.scores(), self.after.scores()
        before_label, after_label = self.before.name, self.after.name
        if before_label == after_label:
            before_label, after_label = f"{before_label} (before)", f"{after_label} (after)"
        deltas = self.deltas()
        return [
            {"metric": key, before_label: old[key], after_label: new[key], "delta": deltas[key]}
            for key in self.metrics
        ]

    def changed_rows(self, metric: str) -> list[dict[str, Any]]:
        """Rows (matched by row id) whose ``metric`` changed: ``{"row", "before", "after", "delta"}``, the
        largest drop first."""
        key = self.before._metric(metric).key
        if key not in self.metrics:
            raise EvaluationError(f"Metric '{key}' is not in report '{self.after.name}'.")
        after = {row.row_id: row.scores.get(key) for row in self.after.rows}
        changes = []
        for row in self.before.rows:
            old, new = row.scores.get(key), after.get(row.row_id)
            if old is not None and new is not None and old != new:
                changes.append({"row": row.row_id, "before": old, "after": new, "delta": new - old})
        return sorted(changes, key=lambda change: change["delta"])

    def to_markdown(self) -> str:
        """A Markdown table of the per-metric scores of both runs and their deltas."""
        return f"### {self.before.name} -> {self.after.name}\n\n" + _markdown(self.to_rows())
