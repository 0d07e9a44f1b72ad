"""CSVToDocument: CSV files as text, whole or one Document per row."""

from __future__ import annotations

import csv
import io
from typing import Any

from haybale.components.converters._text_decoding import decode_source
from haybale.components.converters.source_reading import convert_sources, require_text
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document, Source
from haybale.errors import ComponentError, ConversionError

__all__ = ["CONVERSION_MODES", "CSVToDocument"]

CONVERSION_MODES = ("file", "row")


@component
class CSVToDocument:
    """Convert CSV files to Documents.

    In ``"file"`` mode (default) the whole file is one Document whose content is the CSV text. In ``"row"``
    mode every data row becomes one Document whose content is ``"column: value"`` lines built from the header
    row, with ``meta["row_number"]`` (1-based, header excluded). The encoding is handled as in
    :class:`TextFileToDocument`.

    Args:
        encoding: encoding tried first; None means always detect.
        conversion_mode: ``"file"`` or ``"row"``.
        delimiter: the field delimiter used in ``"row"`` mode.
    """

    def __init__(
        self, encoding: str | None = "utf-8", conversion_mode: str = "file", delimiter: str = ","
    ) -> None:
        if conversion_mode not in CONVERSION_MODES:
            raise ComponentError(
                f"CSVToDocument: conversion_mode must be one of {CONVERSION_MODES}, got {conversion_mode!r}."
            )
        if len(delimiter) != 1:
            raise ComponentError(f"CSVToDocument: delimiter must be one character, got {delimiter!r}.")
        self.encoding = encoding
        self.conversion_mode = conversion_mode
        self.delimiter = delimiter

    @component.output_types(documents=list[Document], failures=list[dict[str, Any]])
    def run(
        self, sources: list[Source], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Convert ``sources`` (paths or byte streams).

        Args:
            sources: files to convert.
            meta: one dict for all sources, or one per source; merged into each document's meta.

        Returns:
            ``documents`` and ``failures`` (``{"source", "error"}``
            per skipped file).
        """
        return convert_sources(type(self).__name__, sources, meta, self._convert_one, "text/csv")

    def _convert_one(self, source: Source, meta: dict[str, Any]) -> list[Document]:
        text = require_text(decode_source(source, self.encoding).text, source, "this CSV file")
        if self.conversion_mode == "file":
            return [Document(content=text, meta=meta)]
        try:
            reader = csv.reader(io.StringIO(text), delimiter=self.delimiter)
            header = next(reader)
            documents = []
            for number, row in enumerate(reader, start=1):
                if not any(cell.strip() for cell in row):
                    continue
                lines = [
                    f"{name}: {value}" for name, value in zip(header, row, strict=False) if value.strip()
                ]
                documents.append(Document(content="\n".join(lines), meta={**meta, "row_number": number}))
        except csv.Error as exc:
            raise ConversionError(f"'{meta.get('source')}' is not valid CSV: {exc}") from None
        if not documents:
            raise ConversionError(f"'{meta.get('source')}' has a header row but no data rows.")
        return documents

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(
            self, encoding=self.encoding, conversion_mode=self.conversion_mode, delimiter=self.delimiter
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CSVToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
