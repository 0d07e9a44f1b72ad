"""``haybale query "text"``: search an index and print ranked results with source, page and score."""

from __future__ import annotations

import enum
import json
import os
from typing import Annotated, Any

import typer

__all__ = ["register"]

_SNIPPET_CHARS = 160


class QueryMode(str, enum.Enum):
    """How the index is searched."""

    bm25 = "bm25"
    dense = "dense"
    hybrid = "hybrid"


def _parse_filters(text: str | None) -> dict[str, Any] | None:
    """Parse and validate ``--filters``; raises typer.BadParameter with the reason."""
    if text is None or not text.strip():
        return None
    try:
        filters = json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(
            f"not valid JSON ({exc.msg} at character {exc.pos}). Example: "
            '--filters \'{"field": "meta.file_name", "operator": "==", "value": "guide.md"}\'',
            param_hint="--filters",
        ) from None
    if not isinstance(filters, dict):
        raise typer.BadParameter(
            f"must be a JSON object, got {type(filters).__name__}.", param_hint="--filters"
        )
    from haybale.errors import FilterError
    from haybale.filters import validate_filters

    try:
        validate_filters(filters)
    except FilterError as exc:
        raise typer.BadParameter(str(exc), param_hint="--filters") from None
    return filters


def _results_table(documents: list[Any], query: str, mode: str) -> Any:
    from rich.table import Table

    table = Table(title=f"{mode} results for {query!r}")
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("source", overflow="fold")
    table.add_column("page", justify="right")
    table.add_column("text", overflow="fold")
    for rank, doc in enumerate(documents, start=1):
        snippet = " ".join((doc.content or "").split())
        if len(snippet) > _SNIPPET_CHARS:
            snippet = snippet[: _SNIPPET_CHARS - 1] + "…"
        page = doc.meta.get("page_number")
        score = "" if doc.score is None else f"{doc.score:.4g}"
        source = str(doc.meta.get("file_name") or doc.meta.get("source") or doc.id[:12])
        table.add_row(str(rank), score, source, "" if page is None else str(page), snippet)
    return table


def query_command(
    query: Annotated[str, typer.Argument(help="What to search for.")],
    *,
    store: Annotated[
        str | None,
        typer.Option(
            help="Store URL of the index (default: HAYBALE_STORE_URL, PGVECTOR_DSN or the CLI default)."
        ),
    ] = None,
    mode: Annotated[QueryMode, typer.Option(help="bm25 (keywords), dense (embeddings) or hybrid (both).")] = (
        QueryMode.hybrid
    ),
    top_k: Annotated[int, typer.Option(min=1, help="How many results.")] = 5,
    filters: Annotated[
        str | None, typer.Option(help="Metadata filter as JSON (haybale filter language).")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Query embedding model; use the one the index was built with.")
    ] = None,
) -> None:
    """Search an index and print the ranked results with their source, page and score.

    Hybrid scores are on the same scale as the service's /query (see docs/service.md). Exit code 2 for bad
    options (malformed --filters, unknown store URL), 1 when the search fails.
    """
    from rich.console import Console

    from haybale.app import Application, Settings
    from haybale.errors import FilterError, HaybaleError
    from haybale.indexing.search import search_store

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # haybale never downloads models
    out, err = Console(), Console(stderr=True)
    parsed_filters = _parse_filters(filters)
    try:
        application = Application(Settings.load(store_url=store, embedding_model=model), must_exist=True)
    except HaybaleError as exc:
        err.print(f"[red]Error:[/red] {exc}")
        raise typer.Exit(2) from None
    opened = application.opened_store
    try:
        if mode is QueryMode.hybrid:
            retriever = application.retriever(top_k)
            documents = retriever.run(query=query, filters=parsed_filters, top_k=top_k)["documents"]
        else:
            embedder = None if mode is QueryMode.bm25 else application.text_embedder()
            documents = search_store(
                opened.store,
                query,
                mode=mode.value,
                top_k=top_k,
                filters=parsed_filters,
                text_embedder=embedder,
            )
    except FilterError as exc:
        err.print(f"[red]Error in --filters:[/red] {exc}")
        raise typer.Exit(2) from None
    except HaybaleError as exc:
        err.print(f"[red]Error:[/red] {exc}")
        raise typer.Exit(1) from None
    if not documents:
        out.print(f"No results for {query!r} in {opened.url}.")
        return
    out.print(_results_table(documents, query, mode.value))


def register(app: typer.Typer) -> None:
    """Add the ``query`` command to the ``haybale`` Typer app."""
    app.command("query")(query_command)
