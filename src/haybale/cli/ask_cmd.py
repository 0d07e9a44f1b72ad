"""``haybale ask "question"``: answer from the index with a streamed reply and numbered sources."""

from __future__ import annotations

from typing import Annotated, Any

import typer

__all__ = ["ask_command", "register"]

_SNIPPET_CHARS = 120

_REAL_MODEL_HINT = (
    "This answer comes from SmolLM2-135M, a tiny local model that is often wrong: trust the sources above, "
    "not the wording. For better answers point haybale at any OpenAI-compatible server, e.g.\n"
    "  export HAYBALE_LLM_BASE_URL=http://localhost:11434/v1 HAYBALE_LLM_MODEL=llama3.1   # Ollama\n"
    "  export HAYBALE_LLM_BASE_URL=https://api.openai.com/v1 HAYBALE_LLM_MODEL=gpt-4o-mini "
    "HAYBALE_LLM_API_KEY=sk-...\n"
    "then run `haybale ask` again."
)


def _sources_table(documents: list[Any]) -> Any:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape("Sources (an answer's [n] cites source n)"), title_justify="left")
    table.add_column("#", justify="right", style="bold")
    table.add_column("source", overflow="fold")
    table.add_column("page", justify="right")
    table.add_column("score", justify="right")
    table.add_column("text", overflow="fold")
    for number, document in enumerate(documents, start=1):
        snippet = " ".join((document.content or "").split())
        if len(snippet) > _SNIPPET_CHARS:
            snippet = snippet[: _SNIPPET_CHARS - 1] + "…"
        meta = document.meta
        source = str(meta.get("file_name") or meta.get("source") or meta.get("file_path") or document.id[:12])
        page = meta.get("page_number")
        score = "" if document.score is None else f"{document.score:.4f}"
        page_text = "" if page is None else str(page)
        table.add_row(escape(f"[{number}]"), escape(source), page_text, score, escape(snippet))
    return table


async def _stream_answer(pipeline: Any, question: str) -> dict[str, Any]:
    from haybale.core.streaming import stream_pipeline

    stream = stream_pipeline(pipeline, {"query": question}, include_outputs_from={"retriever"})
    async with stream:
        async for chunk in stream:
            if chunk.content:
                typer.echo(chunk.content, nl=False)
    typer.echo("")
    return stream.result


def ask_command(
    question: Annotated[str, typer.Argument(help="The question to answer from the indexed documents.")],
    *,
    store: Annotated[
        str | None,
        typer.Option(
            help="Store URL of the index (default: HAYBALE_STORE_URL, PGVECTOR_DSN or the CLI default)."
        ),
    ] = None,
    top_k: Annotated[int, typer.Option(min=1, help="How many retrieved chunks the answer may use.")] = 5,
    embedding_model: Annotated[
        str | None, typer.Option(help="Query embedding model; use the one the index was built with.")
    ] = None,
) -> None:
    """Answer a question from the index: hybrid retrieval, then a streamed answer and numbered sources.

    Uses the local SmolLM2-135M model, or the OpenAI-compatible server in HAYBALE_LLM_BASE_URL (with
    HAYBALE_LLM_MODEL and HAYBALE_LLM_API_KEY). Exit code 2 for bad options or a missing index, 1 for an
    empty index or a failed run.
    """
    import asyncio

    from rich.console import Console
    from rich.markup import escape

    from haybale.app import Application, Settings
    from haybale.errors import HaybaleError
    from haybale.rag import is_local_default_model

    out, err = Console(), Console(stderr=True, soft_wrap=True)
    if not question.strip():
        raise typer.BadParameter("the question is empty; ask something, e.g. haybale ask 'How is hay baled?'")
    try:
        settings = Settings.load(store_url=store, embedding_model=embedding_model, rag_top_k=top_k)
        application = Application(settings, must_exist=True)
        count = application.store.count_documents()
    except HaybaleError as exc:
        err.print(f"[red]Error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    opened = application.opened_store
    if count == 0:
        err.print(
            f"[red]The index at {escape(opened.url)} is empty[/red]: there is nothing to answer from. Index "
            f"documents first, e.g. `haybale index examples/corpus --store {escape(opened.url)}`."
        )
        raise typer.Exit(1)
    pipeline = application.rag_pipeline()
    generator = pipeline.get_component("llm")
    out.print(f"[bold]Question:[/bold] {escape(question)}", highlight=False)
    out.print("[bold]Answer:[/bold]")
    try:
        result = asyncio.run(_stream_answer(pipeline, question))
    except HaybaleError as exc:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        err.print(f"[red]Error:[/red] {escape(str(cause))}", highlight=False)
        raise typer.Exit(1) from None
    documents = result.get("retriever", {}).get("documents") or []
    out.print()
    out.print(_sources_table(documents))
    if is_local_default_model(generator):
        err.print(_REAL_MODEL_HINT, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``ask`` command to the ``haybale`` Typer app."""
    app.command("ask")(ask_command)
