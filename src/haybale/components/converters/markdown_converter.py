"""MarkdownToDocument: Markdown rendered to plain text, headings kept as lines of text."""

from __future__ import annotations

import functools
from typing import Any

from haybale.components.converters._html_text import node_to_text
from haybale.components.converters._text_decoding import decode_source
from haybale.components.converters.source_reading import convert_sources, require_text
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document, Source
from haybale.errors import optional_dependency

__all__ = ["MarkdownToDocument"]


@component
class MarkdownToDocument:
    """Convert Markdown files to plain-text Documents, one per file.

    The Markdown is parsed with markdown-it-py (CommonMark plus tables) and flattened to text: markup is
    dropped, headings stay as their own lines, paragraphs are separated by a blank line, table cells by
    `` | ``. The first heading is recorded as ``meta["title"]``. The text encoding is handled as in
    :class:`TextFileToDocument`.

    Args:
        encoding: encoding tried first; None means always detect.
    """

    def __init__(self, encoding: str | None = "utf-8") -> None:
        self.encoding = encoding

    @component.output_types(documents=list[Document], failures=list[dict[str, Any]])
    def run(
        self, sources: list[Source], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Convert ``sources`` (paths or byte streams).

        Args:
            sources: files to convert.
            meta: one dict for all sources, or one per source; merged into each document's meta.

        Returns:
            ``documents`` (one per converted file) and ``failures`` (``{"source", "error"}`` per
            skipped file).
        """
        return convert_sources(type(self).__name__, sources, meta, self._convert_one, "text/markdown")

    def _convert_one(self, source: Source, meta: dict[str, Any]) -> list[Document]:
        with optional_dependency("markdown-it-py", extra="converters", feature="MarkdownToDocument"):
            import markdown_it  # noqa: F401  (checked here: the parser is built once, in _markdown_parser)
            from selectolax.lexbor import LexborHTMLParser
        decoded = decode_source(source, self.encoding)
        html = _markdown_parser().render(decoded.text)
        tree = LexborHTMLParser(html)
        text = require_text(node_to_text(tree.body), source, "this Markdown file")
        extra: dict[str, Any] = {}
        heading = tree.css_first("h1, h2, h3, h4, h5, h6")
        if heading is not None and "title" not in meta:
            extra["title"] = heading.text(deep=True).strip()
        return [Document(content=text, meta={**extra, **meta})]

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self, encoding=self.encoding)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MarkdownToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)


@functools.lru_cache(maxsize=1)
def _markdown_parser() -> Any:
    """The shared CommonMark + tables parser (building one costs as much as rendering a page).

    Rendering keeps its state per call; the rule caches are built here, before the parser is shared.
    """
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark").enable("table")
    parser.render("# warm up\n\n| a |\n| - |\n| b |\n")
    return parser
