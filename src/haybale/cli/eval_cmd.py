"""``haybale eval DATASET --pipeline X.yaml``: score every component of a pipeline on a dataset, gate on
the scores, compare with a baseline run, write a report; ``haybale eval traces SPANS.jsonl``: the same
rubrics over stored traces.

Exit codes: 0 when every ``--gate`` holds, 1 when one is breached, 2 for unusable input (a missing file, a
malformed dataset, an unknown rubric or metric).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from haybale.evaluation import EvaluationReport

__all__ = ["eval_app", "register"]


class _DatasetFirstGroup(TyperGroup):
    """``haybale eval DATASET ...`` runs the ``run`` command; ``haybale eval traces ...`` the ``traces``
    one."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args.insert(0, "run")
        return super().resolve_command(ctx, args)


eval_app = typer.Typer(
    cls=_DatasetFirstGroup,
    no_args_is_help=True,
    help="Evaluate a pipeline on a dataset (haybale eval DATASET --pipeline X.yaml ...), or stored traces "
    "(haybale eval traces SPANS.jsonl).",
)

GateOpt = Annotated[
    list[str] | None,
    typer.Option("--gate", help="METRIC>=N or delta(METRIC)>=N (repeatable); exit 1 when one is breached."),
]
ReportOpt = Annotated[
    Path | None, typer.Option("--report-dir", help="Write report.md, report.html and plots/ here.")
]
JudgeUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--judge-url",
        help="OpenAI-compatible base URL of the judge for unsure rows; 'local' for the bundled SmolLM2.",
    ),
]
JudgeModelOpt = Annotated[str, typer.Option("--judge-model", help="The judge's model name.")]
JudgeKeyOpt = Annotated[
    str, typer.Option("--judge-api-key-env", help="Environment variable holding the judge's API key.")
]
EscalateOpt = Annotated[
    float,
    typer.Option(
        "--escalate-below",
        min=0.0,
        max=1.0,
        help="Rows with a cheap-check confidence below this go to the judge (1.0: every row).",
    ),
]
ThresholdOpt = Annotated[
    float, typer.Option("--blame-threshold", min=0.0, max=1.0, help="A score below this fails the row.")
]
ClusterOpt = Annotated[
    bool,
    typer.Option("--cluster/--no-cluster", help="Group failing rows into named problems (MiniLM + HDBSCAN)."),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(2)


def _judge(url: str | None, model: str, key_env: str) -> Any:
    if url is None:
        return None
    if url == "local":
        from haybale.components.generators import LlamaCppChatGenerator

        return LlamaCppChatGenerator(n_ctx=4096, generation_kwargs={"max_tokens": 96, "temperature": 0.0})
    from haybale.components.generators import OpenAIChatGenerator
    from haybale.core.secret import Secret

    return OpenAIChatGenerator(
        api_key=Secret.from_env_var(key_env, strict=False),
        model=model,
        base_url=url,
        generation_kwargs={"temperature": 0.0},
        max_retries=2,
    )


def _rubrics(specs: list[str], pipeline: Any, rows: list[dict[str, Any]], judge: Any, escalate: float) -> Any:
    from haybale.errors import EvaluationError
    from haybale.evaluation.rubric_catalog import build_rubric, default_rubrics

    if not specs:
        chosen = default_rubrics(pipeline, rows, judge, escalate)
        if not chosen:
            raise EvaluationError(
                "No default rubric fits this pipeline and dataset (rows need ground-truth documents for "
                "retrievers; generators and agents are scored without). Name rubrics with --rubric "
                "component=rubric,rubric."
            )
        return chosen
    chosen = {}
    for spec in specs:
        component, sep, names = spec.partition("=")
        if not sep or not component or not names:
            raise EvaluationError(
                f"--rubric {spec!r}: write COMPONENT=RUBRIC[,RUBRIC...], e.g. retriever=recall,mrr."
            )
        chosen.setdefault(component, []).extend(
            build_rubric(n.strip(), pipeline, component, rows, judge=judge, escalate_below=escalate)
            for n in names.split(",")
            if n.strip()
        )
    return chosen


def _progress_runner(work: Any) -> Any:
    """Run ``work(progress)`` under a Rich progress bar on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                label = "running the pipeline" if stage == "run" else "scoring"
                tasks[stage] = bar.add_task(label, total=total)
            bar.update(tasks[stage], completed=done)

        return work(progress)


def _print_scores(report: EvaluationReport, gate_results: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{report.name}: {len(report.rows)} rows")
    summary = report.summary_rows()
    for column in summary[0] if summary else []:
        table.add_column(column)
    for entry in summary:
        table.add_row(
            *("n/a" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v) for v in entry.values())
        )
    console = Console()
    console.print(table)
    for result in gate_results:
        value = "n/a" if result.value is None else f"{result.value:.4f}"
        console.print(f"gate {result.gate}: {value} {'pass' if result.passed else 'FAIL'}")


def _finish(
    report: EvaluationReport,
    *,
    gates: list[str] | None,
    baseline_path: Path | None,
    save_run: Path | None,
    report_dir: Path | None,
    blame_threshold: float,
    cluster: bool,
    notes: list[str],
) -> None:
    from haybale.evaluation.gates import check_gates, parse_gate
    from haybale.evaluation.report import EvaluationReport
    from haybale.evaluation.report_files import ReportExtras, write_report

    parsed = [parse_gate(g) for g in gates or []]
    baseline = None
    if baseline_path is not None:
        try:
            baseline = EvaluationReport.from_dict(json.loads(baseline_path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise _fail(f"cannot read the baseline {str(baseline_path)!r}: {exc}") from exc
    results = check_gates(report, parsed, baseline)
    if save_run is not None:
        save_run.parent.mkdir(parents=True, exist_ok=True)
        save_run.write_text(report.to_json(), encoding="utf-8")
    _print_scores(report, results)
    if report_dir is not None:
        clusters = []
        if cluster:
            from haybale.evaluation.clustering import cluster_failures

            clusters = cluster_failures(report, blame_threshold)
        comparison = baseline.compare(report) if baseline is not None else None
        extras = ReportExtras(blame_threshold, results, comparison, clusters, notes)
        paths = write_report(report_dir, report, extras)
        typer.echo(f"report: {paths['markdown']} and {paths['html']}", err=True)
    if any(not r.passed for r in results):
        raise typer.Exit(1)


@eval_app.command("run")
def run_command(
    *,
    dataset: Annotated[Path, typer.Argument(help="Dataset: JSON lines, or a JSON list of rows.")],
    pipeline: Annotated[Path, typer.Option("--pipeline", help="The pipeline (YAML or JSON).")],
    rubric: Annotated[
        list[str] | None,
        typer.Option("--rubric", help="COMPONENT=RUBRIC[,RUBRIC] (repeatable); default: by component role."),
    ] = None,
    gate: GateOpt = None,
    baseline: Annotated[Path | None, typer.Option("--baseline", help="A run saved with --save-run.")] = None,
    save_run: Annotated[Path | None, typer.Option("--save-run", help="Save this run (JSON).")] = None,
    report_dir: ReportOpt = None,
    name: Annotated[str | None, typer.Option("--name", help="The run's name in reports.")] = None,
    judge_url: JudgeUrlOpt = None,
    judge_model: JudgeModelOpt = "gpt-4o-mini",
    judge_api_key_env: JudgeKeyOpt = "HAYBALE_JUDGE_API_KEY",
    escalate_below: EscalateOpt = 0.5,
    blame_threshold: ThresholdOpt = 0.5,
    cluster: ClusterOpt = True,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N rows.")] = None,
    allow_module: Annotated[
        list[str] | None, typer.Option("--allow-module", help="Also load component types from this module.")
    ] = None,
) -> None:
    """Run DATASET through the pipeline and score each component (default rubrics by role). The word
    'run' may be left out: haybale eval DATASET --pipeline X.yaml."""
    from haybale.core.pipeline import Pipeline
    from haybale.errors import HaybaleError
    from haybale.evaluation import EvaluationRun
    from haybale.evaluation.dataset_file import load_dataset

    try:
        rows = load_dataset(dataset, limit)
        loaded = Pipeline.load(pipeline, allowed_modules=allow_module)
        judge = _judge(judge_url, judge_model, judge_api_key_env)
        specs = _rubrics(list(rubric or []), loaded, rows, judge, escalate_below)
        run = EvaluationRun(loaded, specs, name=name or dataset.stem, keep_outputs=False)
        report = _progress_runner(lambda progress: run.run(rows, progress))
        _finish(
            report,
            gates=gate,
            baseline_path=baseline,
            save_run=save_run,
            report_dir=report_dir,
            blame_threshold=blame_threshold,
            cluster=cluster,
            notes=[],
        )
    except (HaybaleError, OSError) as exc:
        raise _fail(str(exc)) from exc


@eval_app.command("traces")
def traces_command(
    *,
    spans: Annotated[Path, typer.Argument(help="Spans stored as JSON lines (JsonlSpanTracer).")],
    rubric: Annotated[
        list[str] | None,
        typer.Option(
            "--rubric",
            help="groundedness, refusal, context_adherence, chunk_attribution, "
            "chunk_utilization (repeatable; default all).",
        ),
    ] = None,
    gate: GateOpt = None,
    report_dir: ReportOpt = None,
    judge_url: JudgeUrlOpt = None,
    judge_model: JudgeModelOpt = "gpt-4o-mini",
    judge_api_key_env: JudgeKeyOpt = "HAYBALE_JUDGE_API_KEY",
    escalate_below: EscalateOpt = 0.5,
    blame_threshold: ThresholdOpt = 0.5,
    cluster: ClusterOpt = True,
) -> None:
    """Score the model calls recorded in stored traces (content tracing must have been on)."""
    from haybale.errors import HaybaleError
    from haybale.evaluation.trace_scoring import score_traces, trace_rubric_evaluators
    from haybale.tracing import load_spans

    try:
        evaluators = trace_rubric_evaluators(
            rubric, _judge(judge_url, judge_model, judge_api_key_env), escalate_below
        )
        scored = score_traces(load_spans(spans), evaluators, name=spans.stem)
        if not scored.report.rows:
            raise _fail(
                f"no trace in {spans} recorded a model call with its prompt and answer: enable content "
                "tracing (HAYBALE_CONTENT_TRACING_ENABLED=true) when recording."
            )
        notes = (
            [f"{len(scored.skipped)} traces had model calls without recorded content; not scored."]
            if scored.skipped
            else []
        )
        _finish(
            scored.report,
            gates=gate,
            baseline_path=None,
            save_run=None,
            report_dir=report_dir,
            blame_threshold=blame_threshold,
            cluster=cluster,
            notes=notes,
        )
    except (HaybaleError, OSError) as exc:
        raise _fail(str(exc)) from exc


def register(app: typer.Typer) -> None:
    """Add the ``eval`` command group to the ``haybale`` Typer app."""
    app.add_typer(eval_app, name="eval")
