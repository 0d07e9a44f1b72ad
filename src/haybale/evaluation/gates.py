"""Quality gates for CI: ``retriever.recall>=0.8``, ``groundedness>0.9``, ``delta(recall)>=-0.02``.

A gate names a metric (its full key ``component.metric``, or a metric name unique in the report), a
comparison (``>=``, ``>``, ``<=``, ``<``, ``==``) and a number. ``delta(metric)`` compares the change
against a baseline run instead of the score itself. ``haybale eval --gate ...`` exits with 1 when any gate
is breached.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from haybale.errors import EvaluationError
from haybale.evaluation.report import EvaluationReport

__all__ = ["Gate", "GateResult", "check_gates", "parse_gate"]

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
}
_GATE = re.compile(
    r"^\s*(?:(?P<delta>delta)\s*\(\s*(?P<dmetric>[\w.@-]+)\s*\)|(?P<metric>[\w.@-]+))\s*"
    r"(?P<op>>=|<=|==|>|<)\s*(?P<value>[-+]?(?:\d+\.?\d*|\.\d+))\s*$"
)


@dataclass(frozen=True)
class Gate:
    """One gate: ``metric op threshold`` on the score, or on its change against a baseline (``delta``)."""

    metric: str
    op: str
    threshold: float
    delta: bool = False

    def __str__(self) -> str:
        name = f"delta({self.metric})" if self.delta else self.metric
        return f"{name}{self.op}{self.threshold:g}"


@dataclass(frozen=True)
class GateResult:
    """A checked gate: the value it saw (None when the metric has no score) and whether it passed."""

    gate: Gate
    metric_key: str
    value: float | None
    passed: bool


def parse_gate(text: str) -> Gate:
    """Parse ``"retriever.recall>=0.8"`` or ``"delta(groundedness)>=-0.02"``.

    Raises:
        EvaluationError: the text is not a gate; the message shows the accepted form.
    """
    match = _GATE.match(text)
    if match is None:
        raise EvaluationError(
            f"Cannot read the gate {text!r}. Write METRIC OP NUMBER or delta(METRIC) OP NUMBER, e.g. "
            "'retriever.recall>=0.8' or 'delta(llm.groundedness)>=-0.02' (OP one of >=, >, <=, <, ==)."
        )
    delta = match.group("delta") is not None
    metric = match.group("dmetric") if delta else match.group("metric")
    return Gate(metric, match.group("op"), float(match.group("value")), delta)


def check_gates(
    report: EvaluationReport, gates: Sequence[Gate], baseline: EvaluationReport | None = None
) -> list[GateResult]:
    """Check every gate against ``report`` (and ``baseline`` for delta gates).

    A metric without any scored row fails its gate (nothing was measured, so nothing is assured).

    Raises:
        EvaluationError: a gate names an unknown or ambiguous metric, or a delta gate has no baseline.
    """
    scores = report.scores()
    deltas = baseline.compare(report).deltas() if baseline is not None and any(g.delta for g in gates) else {}
    results = []
    for gate in gates:
        key = report.metric_info(gate.metric).key
        if gate.delta:
            if baseline is None:
                raise EvaluationError(f"The gate {gate} compares against a baseline: pass one (--baseline).")
            value = deltas.get(key)
        else:
            value = scores.get(key)
        passed = value is not None and _OPERATORS[gate.op](value, gate.threshold)
        results.append(GateResult(gate, key, value, passed))
    return results
