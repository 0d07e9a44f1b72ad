"""HTMLToDocument: the main content of web pages, without scripts, styles and page furniture."""

from __future__ import annotations

from typing import Any

from haybale.components.converters._html_text import BOILERPLATE_TAGS, NON_CONTENT_TAGS, node_to_text
from haybale.components.converters._text_decoding import decode_source
from haybale.components.converters.source_reading import convert_sources, require_text
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document, Source
from haybale.errors import optional_dependency

__all__ = ["MAIN_CONTENT_SELECTORS", "HTMLToDocument"]

#: Where the main content of a page usually lives, most specific first.
MAIN_CONTENT_SELECTORS: tuple[str, ...] = ("main", "[role=main]", "article", "#content", ".content", "body")


@component
class HTMLToDocument:
    """Convert HTML pages to plain-text Documents, one per page.

    Parsing uses selectolax (lexbor). ``script``, ``style`` and other non-content elements are always removed;
    with ``extract_main_content`` the page furniture (``nav``, ``header``, ``footer``, ``aside``, forms) is
    removed too and the text is taken from the first of ``main``, ``[role=main]``, ``article``, ``#content``,
    ``.content`` that holds text, else from ``body``. The page ``<title>`` is recorded as ``meta["title"]``.

    Args:
        encoding: encoding tried first; None means always detect.
        extract_main_content: drop page furniture and keep the main content only.
    """

    def __init__(self, encoding: str | None = "utf-8", extract_main_content: bool = True) -> None:
        self.encoding = encoding
        self.extract_main_content = extract_main_content

    @component.output_types(documents=list[Document], failures=list[dict[str, Any]])
    def run(
        self, sources: list[Source], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Convert ``sources`` (paths or byte streams).

        Args:
            sources: files to convert.
            meta: one dict for all sources, or one per source; merged into each document's meta.

        Returns:
            ``documents`` (one per converted page) and ``failures`` (``{"source", "error"}`` per
            skipped file).
        """
        return convert_sources(type(self).__name__, sources, meta, self._convert_one, "text/html")

    def _convert_one(self, source: Source, meta: dict[str, Any]) -> list[Document]:
        with optional_dependency("selectolax", extra="converters", feature="HTMLToDocument"):
            from selectolax.lexbor import LexborHTMLParser
        decoded = decode_source(source, self.encoding)
        tree = LexborHTMLParser(decoded.text)
        title_node = tree.css_first("title")
        title = title_node.text(deep=True).strip() if title_node is not None else ""
        removed = NON_CONTENT_TAGS + (BOILERPLATE_TAGS if self.extract_main_content else ())
        tree.strip_tags(list(removed), recursive=True)
        text = ""
        selectors = MAIN_CONTENT_SELECTORS if self.extract_main_content else ("body",)
        for selector in selectors:
            node = tree.css_first(selector)
            if node is not None:
                text = node_to_text(node)
                if text.strip():
                    break
        if not text.strip() and tree.root is not None:
            text = node_to_text(tree.root)
        require_text(text, source, "this HTML page")
        extra = {"title": title} if title and "title" not in meta else {}
        return [Document(content=text, meta={**extra, **meta})]

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self, encoding=self.encoding, extract_main_content=self.extract_main_content)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HTMLToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
