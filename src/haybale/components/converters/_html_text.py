"""Turning parsed HTML into readable plain text (shared by the HTML and Markdown converters).

Block elements (paragraphs, headings, list items, table rows, ...) become separate lines, with a blank line
between paragraphs and headings, so that downstream splitting by passage or sentence sees the structure.
Inline elements keep their text on the same line. Table cells are separated by `` | ``. Preformatted blocks
(``<pre>``: code blocks, also those of Markdown) keep their text verbatim, indentation and line breaks
included; only their trailing spaces and surrounding blank lines go.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["BOILERPLATE_TAGS", "NON_CONTENT_TAGS", "html_to_text", "node_to_text", "normalize_text_layout"]

#: Elements whose text is never content.
NON_CONTENT_TAGS: tuple[str, ...] = tuple(
    ["script", "style", "noscript", "template", "svg", "canvas", "iframe", "head"]
)
#: Page furniture removed from HTML pages before extracting their main content.
BOILERPLATE_TAGS: tuple[str, ...] = ("nav", "footer", "header", "aside", "form", "button", "dialog")

_PARAGRAPH_TAGS = frozenset(
    {
        *("p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "dl"),
        *("figure", "article", "section", "main", "hr", "address", "details", "summary"),
    }
)
_LINE_TAGS = frozenset({"div", "li", "tr", "dt", "dd", "caption", "figcaption", "body", "br"})
_CELL_TAGS = frozenset({"td", "th"})
_PARAGRAPH = "\x1e"  # placeholder for a paragraph break, resolved once the whole text is assembled
_LINE = "\x1f"  # placeholder for a line break
_BREAK_RUN = re.compile(r"[\s\x1e\x1f]*[\x1e\x1f][\s\x1e\x1f]*")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
#: Stands for the n-th preformatted block while the rest of the text is normalized (private-use characters).
_PRE_OPEN, _PRE_CLOSE = "\ue000", "\ue001"
_PRE_PLACEHOLDER = re.compile(f"{_PRE_OPEN}(\\d+){_PRE_CLOSE}")


def html_to_text(html: str) -> str:
    """The readable text of an HTML fragment or page (scripts, styles and the head left out)."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    tree.strip_tags(list(NON_CONTENT_TAGS), recursive=True)
    node = tree.css_first("body") or tree.root
    return node_to_text(node) if node is not None else ""


def node_to_text(root: Any) -> str:
    """Return the readable text below a selectolax node.

    The tree is walked with an explicit stack (no recursion), so deeply nested markup cannot overflow the
    Python stack.
    """
    parts: list[str] = []
    preformatted: list[str] = []
    # Each stack entry: (node, closing-marker). A closing marker is emitted after the node's children.
    stack: list[tuple[Any, str | None]] = [(root, None)]
    while stack:
        node, closing = stack.pop()
        if node is None:
            if closing:
                parts.append(closing)
            continue
        tag = node.tag
        if tag == "-text":
            # In HTML a newline in the source is ordinary whitespace; line breaks come from block elements.
            parts.append((node.text_content or "").replace("\n", " "))
            continue
        if tag in NON_CONTENT_TAGS or tag in ("-comment", "!doctype"):
            continue
        opening, ending = _separators(tag)
        if tag == "pre":
            parts.append(f"{opening}{_PRE_OPEN}{len(preformatted)}{_PRE_CLOSE}{ending}")
            preformatted.append(_verbatim(node.text(deep=True) or ""))
            continue
        parts.append(opening)
        children = []
        child = node.child
        while child is not None:
            children.append(child)
            child = child.next
        stack.append((None, ending))
        stack.extend((c, None) for c in reversed(children))
    text = _BREAK_RUN.sub(lambda m: "\n\n" if _PARAGRAPH in m.group() else "\n", "".join(parts))
    text = normalize_text_layout(text)
    if not preformatted:
        return text
    return _PRE_PLACEHOLDER.sub(lambda m: preformatted[int(m.group(1))], text)


def _verbatim(block: str) -> str:
    """A preformatted block as kept: its lines without trailing spaces, without blank lines around it."""
    lines = [line.rstrip() for line in block.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def _separators(tag: str) -> tuple[str, str]:
    if tag in _PARAGRAPH_TAGS:
        return _PARAGRAPH, _PARAGRAPH
    if tag in _LINE_TAGS:
        return _LINE, _LINE
    if tag in _CELL_TAGS:
        return "", " | "
    return "", ""


def normalize_text_layout(text: str) -> str:
    """Collapse horizontal whitespace, trim lines, and keep at most one blank line between blocks."""
    lines = [_HORIZONTAL_SPACE.sub(" ", line).strip().removesuffix(" |").strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()
