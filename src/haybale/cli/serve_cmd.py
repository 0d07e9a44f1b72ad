"""``haybale serve``: run the RAG service (:func:`haybale.service.create_app`) under uvicorn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from haybale.stores.url import DEFAULT_STORE_URL

__all__ = ["register", "serve_command"]


def serve_command(
    *,
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 for every interface).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    store: Annotated[
        str | None, typer.Option(help=f"Store URL (default: HAYBALE_STORE_URL or {DEFAULT_STORE_URL}).")
    ] = None,
    pipelines_dir: Annotated[
        Path | None,
        typer.Option(help="Folder of <name>.yaml pipelines served at POST /pipelines/<name>/run."),
    ] = None,
    api_keys_file: Annotated[
        Path | None,
        typer.Option(help="File of 'key:tenant' lines; with keys, every route but /health needs one."),
    ] = None,
    max_upload_mb: Annotated[
        float | None, typer.Option(min=0.001, help="Largest accepted upload, in MiB (default 50).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve /process, /query, /delete, /extract, /pipelines, /v1/chat/completions and /metrics.

    Options override the HAYBALE_* environment variables (see `haybale.service.settings`). Exit code 2 for
    invalid settings.
    """
    import dataclasses

    from haybale.errors import HaybaleError
    from haybale.service.settings import ServiceSettings, parse_api_keys

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # haybale never downloads models
    try:
        settings = ServiceSettings.from_env()
        changes: dict[str, Any] = {}
        if store is not None:
            changes["store_url"] = store
        if pipelines_dir is not None:
            changes["pipelines_dir"] = pipelines_dir
        if max_upload_mb is not None:
            changes["max_upload_bytes"] = int(max_upload_mb * 1024 * 1024)
        if api_keys_file is not None:
            try:
                text = api_keys_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise typer.BadParameter(f"cannot read {api_keys_file}: {exc.strerror or exc}") from None
            changes["api_keys"] = parse_api_keys(text, str(api_keys_file))
        settings = dataclasses.replace(settings, **changes)
        from haybale.service.app import create_app

        app = create_app(settings)
    except HaybaleError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None
    import uvicorn

    auth = f"{len(settings.api_keys)} API keys" if settings.api_keys else "no API keys (open access)"
    typer.echo(f"haybale serve: {settings.store_url}, {auth}, on http://{host}:{port}", err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the ``haybale`` Typer app."""
    app.command("serve")(serve_command)
