"""The evaluation report a person reads: Markdown and HTML with plots.

Sections: the scores per component and metric (with how many rows a rubric escalated to its judge), the
gates and whether they held, the per-rubric change against a baseline run, a score histogram per component,
the component blamed for each failing row (a bar chart and a table), and the failures grouped into named
clusters. :func:`write_report` writes ``report.md``, ``report.html`` (self-contained: plots inlined) and the
plots as ``plots/*.svg`` next to the Markdown, which links to them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from haybale.evaluation.clustering import FailureCluster
from haybale.evaluation.gates import GateResult
from haybale.evaluation.report import EvaluationReport, ReportComparison
from haybale.evaluation.svg_plots import bar_chart_svg, histogram_svg

__all__ = ["ReportExtras", "blame_summary", "plots", "render_html", "render_markdown", "write_report"]

_MAX_FAILURE_ROWS = 50
#: the section each bar chart belongs to
_TITLE = {"blame": "blame", "regressions": "regressions"}


@dataclass
class ReportExtras:
    """What a report shows besides the scores: gates, a baseline comparison, failure clusters."""

    blame_threshold: float = 0.5
    gates: Sequence[GateResult] = ()
    comparison: ReportComparison | None = None
    clusters: Sequence[FailureCluster] = ()
    notes: list[str] = field(default_factory=list)


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:+.4f}" if value < 0 else f"{value:.4f}"
    return " ".join(str(value).replace("|", "\\|").split())


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "_none_\n"
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(row.get(col)) for col in header) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "plot"


def plots(report: EvaluationReport, extras: ReportExtras) -> dict[str, str]:
    """File stem -> SVG: one score histogram per component, and the blame bar chart(s)."""
    threshold = extras.blame_threshold
    charts: dict[str, str] = {}
    for component in report.component_order:
        metrics = [m for m in report.metrics if m.component == component]
        if not metrics:
            continue
        series = {
            m.metric: [s for row in report.rows if (s := row.scores.get(m.key)) is not None] for m in metrics
        }
        charts[f"scores-{_slug(component)}"] = histogram_svg(f"{component}: score distribution", series)
    blamed = Counter(str(f["component"] or "pipeline error") for f in report.blame(threshold))
    if blamed:
        charts["blame"] = bar_chart_svg(f"Blamed component per failing row (score < {threshold:g})", blamed)
    if extras.comparison is not None:
        baseline = extras.comparison.before
        regressed = Counter(
            str(f["component"] or "pipeline error") for f in report.blame(threshold, baseline=baseline)
        )
        if regressed:
            charts["regressions"] = bar_chart_svg(
                f"Blamed component per regression vs {baseline.name}", regressed
            )
    return charts


def _gate_rows(gates: Sequence[GateResult]) -> list[dict[str, Any]]:
    return [
        {
            "gate": str(g.gate),
            "metric": g.metric_key,
            "value": g.value,
            "result": "pass" if g.passed else "FAIL",
        }
        for g in gates
    ]


def _failure_rows(findings: list[dict[str, Any]], report: EvaluationReport) -> list[dict[str, Any]]:
    queries = {row.row_id: row.query or "" for row in report.rows}
    return [
        {
            "row": f["row"],
            "question": (queries.get(f["row"]) or "")[:80],
            "blamed": f["component"],
            "metric": f["metric"],
            "score": f["score"],
            "reason": str(f["reason"])[:160],
        }
        for f in findings[:_MAX_FAILURE_ROWS]
    ]


def _cluster_rows(clusters: Sequence[FailureCluster]) -> list[dict[str, Any]]:
    return [
        {"problem": c.name, "rows": len(c.rows), "examples": "; ".join(q[:60] for q in c.queries[:2] if q)}
        for c in clusters
    ]


def blame_summary(findings: list[dict[str, Any]], rows: int, what: str) -> str:
    """One sentence: how many rows fail and the share blamed on each component."""
    if not findings:
        return f"No {what}."
    counts = Counter(str(f["component"] or "pipeline error") for f in findings)
    parts = [f"{name} {count} ({count / len(findings):.0%})" for name, count in counts.most_common()]
    return f"{len(findings)} of {rows} rows: {what}; blamed: {', '.join(parts)}."


def _sections(report: EvaluationReport, extras: ReportExtras) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(title, lead text, table rows) per section, shared by Markdown and HTML."""
    threshold = extras.blame_threshold
    sections: list[tuple[str, str, list[dict[str, Any]]]] = [
        ("Scores", f"{len(report.rows)} rows, {len(report.metrics)} metrics.", report.summary_rows())
    ]
    if extras.gates:
        failed = sum(not g.passed for g in extras.gates)
        lead = "All gates hold." if not failed else f"{failed} of {len(extras.gates)} gates FAILED."
        sections.append(("Gates", lead, _gate_rows(extras.gates)))
    if extras.comparison is not None:
        lead = f"Change from `{extras.comparison.before.name}` to `{extras.comparison.after.name}`."
        sections.append(("Delta against the baseline", lead, extras.comparison.to_rows()))
    findings = report.blame(threshold)
    what = f"a score below {threshold:g} or a failed run"
    sections.append(
        ("Blame", blame_summary(findings, len(report.rows), what), _failure_rows(findings, report))
    )
    if extras.comparison is not None:
        regressions = report.blame(threshold, baseline=extras.comparison.before)
        what = (
            f"a regression against {extras.comparison.before.name} (below {threshold:g}, lower than before)"
        )
        lead = blame_summary(regressions, len(report.rows), what)
        sections.append(("Regressions", lead, _failure_rows(regressions, report)))
    if extras.clusters:
        lead = f"{len(extras.clusters)} groups of failing rows (question + failure reason, MiniLM + HDBSCAN)."
        sections.append(("Failure clusters", lead, _cluster_rows(extras.clusters)))
    return sections


def render_markdown(report: EvaluationReport, extras: ReportExtras, plot_dir: str | None = "plots") -> str:
    """The report as Markdown; ``plot_dir``: where the SVG files are, relative to the Markdown file (None:
    no plot links)."""
    charts = plots(report, extras)
    lines = [f"# Evaluation report: {report.name}", ""]
    lines += [f"> {note}" for note in extras.notes]
    for title, lead, rows in _sections(report, extras):
        lines += [f"## {title}", "", lead, "", _table(rows)]
        if plot_dir is None:
            continue
        stems = [stem for stem in charts if stem.startswith("scores-")] if title == "Scores" else []
        stems += [
            stem for stem in ("blame", "regressions") if stem in charts and title.lower() == _TITLE[stem]
        ]
        lines += [f"![{stem}]({plot_dir}/{stem}.svg)" for stem in stems]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _html_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    header = "".join(f"<th>{escape(str(col))}</th>" for col in rows[0])
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"fail" if v == "FAIL" else ""}">{escape(_fmt(v).replace(chr(92) + "|", "|"))}</td>'
            for v in row.values()
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}th{background:#f3f3f3}
td.fail{color:#b00;font-weight:bold}.plots{display:flex;flex-wrap:wrap;gap:1em}blockquote{color:#555}"""


def render_html(report: EvaluationReport, extras: ReportExtras) -> str:
    """The report as one self-contained HTML page (plots inlined as SVG)."""
    charts = plots(report, extras)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Evaluation report: {escape(report.name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Evaluation report: {escape(report.name)}</h1>",
    ]
    parts += [f"<blockquote>{escape(note)}</blockquote>" for note in extras.notes]
    for title, lead, rows in _sections(report, extras):
        parts += [f"<h2>{escape(title)}</h2>", f"<p>{escape(lead)}</p>", _html_table(rows)]
        if title == "Scores":
            parts.append(
                '<div class="plots">' + "".join(v for k, v in charts.items() if k != "blame") + "</div>"
            )
        if title == "Blame" and "blame" in charts:
            parts.append(charts["blame"])
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(directory: str | Path, report: EvaluationReport, extras: ReportExtras) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and ``plots/*.svg`` into ``directory`` (created).

    Returns:
        ``{"markdown": path, "html": path}``.
    """
    target = Path(directory)
    (target / "plots").mkdir(parents=True, exist_ok=True)
    for stem, svg in plots(report, extras).items():
        (target / "plots" / f"{stem}.svg").write_text(svg, encoding="utf-8")
    markdown = target / "report.md"
    markdown.write_text(render_markdown(report, extras), encoding="utf-8")
    html = target / "report.html"
    html.write_text(render_html(report, extras), encoding="utf-8")
    return {"markdown": markdown, "html": html}
