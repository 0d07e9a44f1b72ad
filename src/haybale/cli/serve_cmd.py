"""``haybale serve``: run the RAG service (:func:`haybale.service.create_app`) under uvicorn."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

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
        str | None,
        typer.Option(help=f"Store URL (default: HAYBALE_STORE_URL, PGVECTOR_DSN or {DEFAULT_STORE_URL})."),
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
    log_level: Annotated[
        str | None, typer.Option(help="Log level (default: LOG_LEVEL or HAYBALE_LOG_LEVEL, else info).")
    ] = None,
    log_format: Annotated[
        str | None, typer.Option(help="text or json (one JSON object per line, with trace ids).")
    ] = None,
    tracing_exporter: Annotated[
        str | None,
        typer.Option(
            help="none, otlp (to HAYBALE_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT), console or jsonl."
        ),
    ] = None,
) -> None:
    """Serve /process, /query, /delete, /extract, /pipelines, /v1/chat/completions and /metrics.

    Options override the environment (the Helix variables PGVECTOR_DSN, RAG_HAYSTACK_*, VLLM_BASE_URL, ... and
    haybale's HAYBALE_*; see docs/service.md). Exit code 2 for invalid settings.
    """
    from haybale.app.settings import Settings
    from haybale.errors import HaybaleError

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # haybale never downloads models
    try:
        settings = Settings.load(
            store_url=store,
            pipelines_dir=pipelines_dir,
            api_keys_file=api_keys_file,
            max_upload_bytes=None if max_upload_mb is None else int(max_upload_mb * 1024 * 1024),
            log_level=log_level,
            log_format=log_format,
            tracing_exporter=tracing_exporter,
        )
        from haybale.service.app import create_app

        app = create_app(settings)
    except HaybaleError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None
    import uvicorn

    level = settings.log_level.lower()
    uvicorn_logging: dict[str, object] = {}
    if settings.log_format == "json":
        from haybale.tracing import configure_json_logging

        configure_json_logging(level.upper())
        uvicorn_logging["log_config"] = None  # uvicorn's loggers then reach the JSON handler on the root
    else:
        logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    auth = f"{len(settings.api_keys)} API keys" if settings.api_keys else "no API keys (open access)"
    if settings.metrics_api_key:
        auth += ", /metrics with the metrics key"
    elif settings.api_keys:
        auth += ", /metrics refused (set HAYBALE_METRICS_API_KEY to scrape it)"
    tracing = settings.tracing_exporter if settings.tracing_exporter != "none" else "metrics only"
    typer.echo(
        f"haybale serve: {app.state.haybale.app.opened_store.url}, {auth}, tracing: {tracing}, on "
        f"http://{host}:{port}",
        err=True,
    )
    uvicorn.run(app, host=host, port=port, log_level=level, **uvicorn_logging)  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the ``haybale`` Typer app."""
    app.command("serve")(serve_command)
