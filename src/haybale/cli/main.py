"""The ``haybale`` command: a Typer app whose sub-commands live in one module each.

Each module named in :data:`COMMAND_MODULES` exposes ``register(app: typer.Typer) -> None``; adding a command
to the CLI means adding its module name here.
"""

from __future__ import annotations

import gc
import importlib
from typing import Annotated

import typer

__all__ = ["COMMAND_MODULES", "app", "build_app", "main"]

#: Modules that add commands to the app, in registration order (``--help`` lists groups such as ``pipeline``
#: after plain commands). Every module ships with haybale; one that fails to import is a bug and raises.
COMMAND_MODULES: tuple[str, ...] = (
    "haybale.cli.pipeline_cmd",
    "haybale.cli.index_cmd",
    "haybale.cli.query_cmd",
    "haybale.cli.ask_cmd",
    "haybale.cli.serve_cmd",
    "haybale.cli.mcp_cmd",
    "haybale.cli.worker_cmd",
    "haybale.cli.eval_cmd",
)


def _version_callback(value: bool) -> None:
    if value:
        from haybale import __version__

        typer.echo(f"haybale {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """Create the Typer app and let every module in :data:`COMMAND_MODULES` register its commands."""
    application = typer.Typer(
        name="haybale",
        help="haybale: typed components wired into pipelines; index files, query and ask them.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @application.callback()
    def root(
        version: Annotated[
            bool,
            typer.Option(
                "--version",
                help="Print the haybale version and exit.",
                is_eager=True,
                callback=_version_callback,
            ),
        ] = False,
    ) -> None:
        """haybale command line."""

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(application)
    return application


app = build_app()


def main() -> None:
    """Console-script entry point (``haybale``).

    When the command is done, every object is frozen out of the garbage collector (``gc.freeze()``): the
    interpreter's shutdown collections would otherwise walk every object torch and transformers created at
    import, about 1 s on this project's 2-core reference machine, after the command's work is over. Shutdown
    is otherwise unchanged (atexit handlers run, files are flushed, objects are released by reference
    counting); only cyclic garbage left at exit is not collected, and the commands close what they open.
    """
    try:
        app()
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
