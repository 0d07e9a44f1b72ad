"""``haybale pipeline validate|draw|run FILE.yaml``: check, draw and run pipelines saved as YAML or JSON."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from haybale.core.pipeline import Pipeline

__all__ = ["pipeline_app", "register"]

pipeline_app = typer.Typer(
    help="Validate, draw and run pipelines saved as YAML (or JSON).", no_args_is_help=True
)

FileArg = Annotated[
    Path, typer.Argument(help="Pipeline file (.yaml, .yml or .json).", exists=False, dir_okay=False)
]
AllowOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-module",
        help="Also load component types from this module prefix (repeatable). haybale.* is always allowed.",
    ),
]

UnsafeOpt = Annotated[
    bool,
    typer.Option(
        "--allow-unsafe-templates",
        help="Let a ConditionalRouter with 'unsafe: true' turn its Jinja sandbox off. Only for a file you "
        "wrote yourself: an unsandboxed template can run any code on this machine.",
    ),
]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def _load(path: Path, allow: list[str] | None, unsafe: bool = False) -> Pipeline:
    from haybale.core.pipeline import Pipeline
    from haybale.errors import HaybaleError

    if not path.is_file():
        raise _fail(f"pipeline file '{path}' does not exist or is not a file.")
    try:
        return Pipeline.load(path, allowed_modules=allow, allow_unsafe_templates=unsafe)
    except HaybaleError as exc:
        raise _fail(f"cannot load '{path}': {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read '{path}': {exc}") from exc


def _jsonable(value: Any) -> Any:  # noqa: PLR0911 - one return per JSON kind
    """Make pipeline outputs printable as JSON (data classes through their to_dict())."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return _jsonable(to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return repr(value)


@pipeline_app.command("validate")
def validate_command(
    file: FileArg, allow_module: AllowOpt = None, allow_unsafe_templates: UnsafeOpt = False
) -> None:
    """Load the pipeline (types, init parameters, connections) and list its open inputs and outputs."""
    from haybale.core.sockets import describe_type

    pipeline = _load(file, allow_module, allow_unsafe_templates)
    components = list(pipeline.walk())
    typer.echo(
        f"OK: {file} is a valid pipeline ({len(components)} components, "
        f"{len(pipeline.connections())} connections)."
    )
    for name, sockets in pipeline.inputs().items():
        for socket, info in sockets.items():
            mark = "required" if info["is_mandatory"] else "optional"
            typer.echo(f"  input  {name}.{socket}: {describe_type(info['type'])} ({mark})")
    for name, sockets in pipeline.outputs().items():
        for socket, info in sockets.items():
            typer.echo(f"  output {name}.{socket}: {describe_type(info['type'])}")


@pipeline_app.command("draw")
def draw_command(
    file: FileArg,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write .svg/.png (needs Graphviz) or .mmd/.md (Mermaid text)."),
    ] = None,
    allow_module: AllowOpt = None,
    allow_unsafe_templates: UnsafeOpt = False,
) -> None:
    """Print the pipeline as Mermaid text, or render it to a file."""
    from haybale.errors import HaybaleError

    pipeline = _load(file, allow_module, allow_unsafe_templates)
    if output is None:
        typer.echo(pipeline.to_mermaid(), nl=False)
        return
    suffix = output.suffix.lower()
    if suffix in (".mmd", ".md", ".mermaid"):
        text = pipeline.to_mermaid()
        output.write_text(f"```mermaid\n{text}```\n" if suffix == ".md" else text, encoding="utf-8")
    else:
        try:
            pipeline.draw(output)
        except HaybaleError as exc:
            raise _fail(str(exc)) from exc
    typer.echo(f"Wrote {output}")


@pipeline_app.command("run")
def run_command(
    file: FileArg,
    input_json: Annotated[
        str,
        typer.Option(
            "--input", "-i", help='Run inputs as JSON: {"component": {"input": value}} or {"input": value}.'
        ),
    ] = "{}",
    *,
    include: Annotated[
        list[str] | None,
        typer.Option("--include", help="Also return the full outputs of this component (repeatable)."),
    ] = None,
    use_async: Annotated[bool, typer.Option("--async", help="Run with run_async().")] = False,
    allow_module: AllowOpt = None,
    allow_unsafe_templates: UnsafeOpt = False,
) -> None:
    """Run the pipeline once and print its result as JSON."""
    from haybale.errors import HaybaleError

    try:
        data = json.loads(input_json)
    except json.JSONDecodeError as exc:
        raise _fail(
            f"--input is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}). Example: "
            '--input \'{"word": "world"}\'',
            code=2,
        ) from exc
    if not isinstance(data, dict):
        raise _fail("--input must be a JSON object.", code=2)
    pipeline = _load(file, allow_module, allow_unsafe_templates)
    try:
        if use_async:
            import asyncio

            result = asyncio.run(pipeline.run_async(data, include_outputs_from=include))
        else:
            result = pipeline.run(data, include_outputs_from=include)
    except HaybaleError as exc:
        raise _fail(f"{type(exc).__name__}: {exc}") from exc
    typer.echo(json.dumps(_jsonable(result), indent=2, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    """Add the ``pipeline`` command group to the ``haybale`` Typer app."""
    app.add_typer(pipeline_app, name="pipeline")
