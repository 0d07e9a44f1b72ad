"""DocumentCleaner: normalise text before splitting (whitespace, empty lines, headers/footers, regexes)."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from typing import Any

from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document
from haybale.errors import ComponentError

__all__ = ["EDGE_LINES", "PAGE_BREAK", "UNICODE_FORMS", "DocumentCleaner"]

logger = logging.getLogger(__name__)

UNICODE_FORMS = ("NFC", "NFKC", "NFD", "NFKD")
PAGE_BREAK = "\f"
#: How many lines at the top and bottom of each page are inspected for repeated headers and footers.
EDGE_LINES = 3
# Runs of horizontal whitespace (any whitespace but line and page breaks) that are not already a single
# space: replacing them with " " collapses every run, without rewriting the many single spaces of prose.
_HORIZONTAL_SPACE = re.compile(r" [^\S\n\f]+|[^\S \n\f][^\S\n\f]*")
_DIGITS = re.compile(r"\d+")


@component
class DocumentCleaner:
    """Clean the text of Documents. Pages (separated by ``"\\f"``) are kept, so page numbers survive.

    Arguments after the first three are keyword-only.

    Steps, in order: NUL bytes are always removed; unicode normalisation; ASCII folding; removal of the
    given substrings and of matches of ``remove_regex``; removal of headers and footers repeated across pages;
    whitespace collapsing; empty-line removal.

    Args:
        remove_empty_lines: drop lines that are empty or whitespace only. Note that this also removes the
            blank lines between paragraphs: keep it False when splitting by ``"passage"``.
        remove_extra_whitespaces: collapse runs of spaces and tabs to one space and trim every line.
        remove_repeated_substrings: remove header and footer lines that repeat on at least half of the pages
            (at least two) of a ``"\\f"``-paginated document; numbers are ignored when comparing, so
            "Page 3 of 10" matches "Page 4 of 10". Only the top and bottom 3 lines of each page are
            candidates.
        remove_substrings: exact substrings to delete.
        remove_regex: a regular expression whose matches are deleted.
        unicode_normalization: None or one of "NFC", "NFKC", "NFD", "NFKD".
        ascii_only: fold accented letters to ASCII (after NFKD) and drop other non-ASCII characters.
        keep_id: keep each document's id; by default the cleaned document gets the id of its new content.
        keep_layout_types: MIME types (``meta["mime_type"]``) whose documents keep their layout: source code,
            configuration, TSV, where indentation, tabs and blank lines carry meaning. For them whitespace
            collapsing and empty-line removal only trim trailing whitespace from lines and the text's ends;
            the other steps apply as configured.

    Raises:
        ComponentError: for an unknown normalisation form or an invalid regular expression.
    """

    def __init__(
        self,
        remove_empty_lines: bool = True,
        remove_extra_whitespaces: bool = True,
        remove_repeated_substrings: bool = False,
        *,
        remove_substrings: list[str] | None = None,
        remove_regex: str | None = None,
        unicode_normalization: str | None = None,
        ascii_only: bool = False,
        keep_id: bool = False,
        keep_layout_types: list[str] | None = None,
    ) -> None:
        if unicode_normalization is not None and unicode_normalization not in UNICODE_FORMS:
            raise ComponentError(
                f"DocumentCleaner: unicode_normalization must be None or one of {UNICODE_FORMS}, "
                f"got {unicode_normalization!r}."
            )
        try:
            self._regex = re.compile(remove_regex) if remove_regex else None
        except re.error as exc:
            raise ComponentError(
                f"DocumentCleaner: remove_regex {remove_regex!r} is not a valid regular expression: {exc}."
            ) from None
        self.remove_empty_lines = remove_empty_lines
        self.remove_extra_whitespaces = remove_extra_whitespaces
        self.remove_repeated_substrings = remove_repeated_substrings
        self.remove_substrings = list(remove_substrings) if remove_substrings else None
        self.remove_regex = remove_regex
        self.unicode_normalization = unicode_normalization
        self.ascii_only = ascii_only
        self.keep_id = keep_id
        self.keep_layout_types = sorted(set(keep_layout_types)) if keep_layout_types else None
        self._layout_types = frozenset(self.keep_layout_types or ())

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """Clean ``documents``.

        Documents without text (``content`` None) pass through unchanged; nothing is dropped.

        Args:
            documents: the documents to clean.

        Returns:
            ``documents``: new Document objects with cleaned content and a copy of the metadata.

        Raises:
            ComponentError: when ``documents`` is not a list of Documents.
        """
        if not isinstance(documents, list) or not all(isinstance(d, Document) for d in documents):
            raise ComponentError("DocumentCleaner expects `documents: list[Document]`.")
        cleaned = []
        for document in documents:
            if document.content is None:
                logger.debug("DocumentCleaner: document %s has no text; passed through.", document.id)
                cleaned.append(document)
                continue
            keep_layout = document.meta.get("mime_type") in self._layout_types
            text = self.clean_text(document.content, keep_layout=keep_layout)
            cleaned.append(
                Document(
                    content=text,
                    meta=dict(document.meta),
                    embedding=document.embedding,
                    sparse_embedding=document.sparse_embedding,
                    blob=document.blob,
                    score=document.score,
                    id=document.id if self.keep_id else "",
                )
            )
        return {"documents": cleaned}

    def clean_text(self, text: str, keep_layout: bool = False) -> str:
        """Apply every configured step to one text and return the result (``keep_layout``: see
        ``keep_layout_types``)."""
        if "\x00" in text:
            text = text.replace("\x00", "")
        if self.unicode_normalization:
            form: Any = self.unicode_normalization
            text = unicodedata.normalize(form, text)
        if self.ascii_only:
            text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
        for substring in self.remove_substrings or ():
            text = text.replace(substring, "")
        if self._regex is not None:
            text = self._regex.sub("", text)
        pages = text.split(PAGE_BREAK)
        if self.remove_repeated_substrings and len(pages) >= 2:
            pages = _remove_repeated_edges(pages)
        if keep_layout and (self.remove_extra_whitespaces or self.remove_empty_lines):
            pages = ["\n".join(line.rstrip() for line in page.split("\n")).strip("\n") for page in pages]
        elif self.remove_extra_whitespaces or self.remove_empty_lines:
            pages = [self._clean_lines(page) for page in pages]
        return PAGE_BREAK.join(pages)

    def _clean_lines(self, page: str) -> str:
        if self.remove_extra_whitespaces:
            # One pass over the page: the pattern never crosses a line or page break, so this equals
            # collapsing line by line; stripped lines are empty exactly when they were whitespace only.
            lines = [line.strip() for line in _HORIZONTAL_SPACE.sub(" ", page).split("\n")]
            if self.remove_empty_lines:
                lines = [line for line in lines if line]
            else:
                lines = _squeeze_blank_lines(lines)
        else:
            lines = page.split("\n")
            if self.remove_empty_lines:
                lines = [line for line in lines if line.strip()]
        text = "\n".join(lines)
        return text.strip() if self.remove_extra_whitespaces else text

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(
            self,
            remove_empty_lines=self.remove_empty_lines,
            remove_extra_whitespaces=self.remove_extra_whitespaces,
            remove_repeated_substrings=self.remove_repeated_substrings,
            remove_substrings=self.remove_substrings,
            remove_regex=self.remove_regex,
            unicode_normalization=self.unicode_normalization,
            ascii_only=self.ascii_only,
            keep_id=self.keep_id,
            keep_layout_types=self.keep_layout_types,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentCleaner:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)


def _squeeze_blank_lines(lines: list[str]) -> list[str]:
    """Keep at most one blank line in a row (paragraph breaks survive, runs of them do not)."""
    kept: list[str] = []
    for line in lines:
        if not line and kept and not kept[-1]:
            continue
        kept.append(line)
    return kept


def _line_key(line: str) -> str:
    return _DIGITS.sub("#", " ".join(line.split()))


def _edge_indexes(lines: list[str]) -> list[int]:
    """Indexes of the first and last EDGE_LINES non-empty lines of a page."""
    content = [i for i, line in enumerate(lines) if line.strip()]
    return sorted(set(content[:EDGE_LINES] + content[-EDGE_LINES:]))


def _remove_repeated_edges(pages: list[str]) -> list[str]:
    """Remove header/footer lines that repeat (numbers ignored) on at least half of the pages, minimum two."""
    split_pages = [page.split("\n") for page in pages]
    counts: Counter[str] = Counter()
    for lines in split_pages:
        counts.update({_line_key(lines[i]) for i in _edge_indexes(lines)})
    threshold = max(2, (len(pages) + 1) // 2)
    repeated = {key for key, count in counts.items() if count >= threshold}
    if not repeated:
        return pages
    cleaned = []
    for lines in split_pages:
        drop = {i for i in _edge_indexes(lines) if _line_key(lines[i]) in repeated}
        cleaned.append("\n".join(line for i, line in enumerate(lines) if i not in drop))
    return cleaned
