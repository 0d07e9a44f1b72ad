"""XLSXToDocument: Excel workbooks, one Document per non-empty sheet as CSV text."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from haybale.components.converters._office_package import corrupt_package_error, read_office_package
from haybale.components.converters.file_types import XLSX_MIME_TYPE
from haybale.components.converters.source_reading import convert_sources, describe_source
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document, Source
from haybale.errors import ConversionError, optional_dependency

__all__ = ["XLSXToDocument"]


@component
class XLSXToDocument:
    """Convert Excel (.xlsx) workbooks to Documents with openpyxl (read-only, streaming), one per sheet.

    Each non-empty sheet becomes CSV text (computed cell values, not formulas; empty rows dropped, trailing
    empty cells trimmed). Meta records ``sheet_name`` and ``page_number`` (the sheet's 1-based position).
    """

    def __init__(self) -> None:
        pass

    @component.output_types(documents=list[Document], failures=list[dict[str, Any]])
    def run(
        self, sources: list[Source], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Convert ``sources`` (paths or byte streams).

        Args:
            sources: files to convert.
            meta: one dict for all sources, or one per source; merged into each document's meta.

        Returns:
            ``documents`` (one per non-empty sheet) and ``failures`` (``{"source", "error"}`` per
            skipped file).
        """
        return convert_sources(type(self).__name__, sources, meta, self._convert_one, XLSX_MIME_TYPE)

    def _convert_one(self, source: Source, meta: dict[str, Any]) -> list[Document]:
        with optional_dependency("openpyxl", extra="converters", feature="XLSXToDocument"):
            from openpyxl import load_workbook
        buffer = read_office_package(source, "Excel workbook", ".xlsx")
        documents = []
        try:
            workbook = load_workbook(buffer, read_only=True, data_only=True)
            try:
                for index, sheet in enumerate(workbook.worksheets, start=1):
                    text = _sheet_to_csv(sheet.iter_rows(values_only=True))
                    if text.strip():
                        sheet_meta = {"sheet_name": sheet.title, "page_number": index, **meta}
                        documents.append(Document(content=text, meta=sheet_meta))
            finally:
                workbook.close()
        except Exception as exc:
            raise corrupt_package_error(source, "Excel workbook", exc) from None
        if not documents:
            raise ConversionError(f"'{describe_source(source)}': every sheet of this workbook is empty.")
        return documents

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> XLSXToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sheet_to_csv(rows: Any) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        cells = [_cell_text(v) for v in row]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            writer.writerow(cells)
    return out.getvalue()
