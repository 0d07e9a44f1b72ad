"""XLSToDocument: legacy Excel 97-2003 workbooks (.xls), one Document per non-empty sheet as CSV text."""

from __future__ import annotations

import csv
import io
from typing import Any

from haybale.components.converters.file_types import XLS_MIME_TYPE
from haybale.components.converters.source_reading import (
    convert_sources,
    describe_source,
    read_source_bytes,
)
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document, Source
from haybale.errors import ConversionError, optional_dependency

__all__ = ["XLSToDocument"]


@component
class XLSToDocument:
    """Convert legacy Excel (.xls) workbooks with xlrd, one Document per non-empty sheet as CSV text.

    Like :class:`XLSXToDocument`: computed cell values (dates as ISO text, whole numbers without ``.0``),
    empty rows dropped, trailing empty cells trimmed; meta records ``sheet_name`` and ``page_number`` (the
    sheet's 1-based position). Encrypted, corrupt or empty workbooks are reported in ``failures``.
    """

    def __init__(self) -> None:
        pass

    @component.output_types(documents=list[Document], failures=list[dict[str, Any]])
    def run(
        self, sources: list[Source], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Convert ``sources`` (paths or byte streams).

        Returns:
            ``documents`` (one per non-empty sheet) and ``failures`` (``{"source", "error"}``
            per skipped file).
        """
        return convert_sources(type(self).__name__, sources, meta, self._convert_one, XLS_MIME_TYPE)

    def _convert_one(self, source: Source, meta: dict[str, Any]) -> list[Document]:
        with optional_dependency("xlrd", extra="converters", feature="XLSToDocument"):
            import xlrd
        name = describe_source(source)
        data = read_source_bytes(source)
        try:
            workbook = xlrd.open_workbook(file_contents=data, on_demand=True)
        except xlrd.XLRDError as exc:
            if "encrypt" in str(exc).lower():
                raise ConversionError(
                    f"'{name}' is an encrypted Excel workbook and needs a password. Save an unprotected copy."
                ) from None
            raise ConversionError(f"'{name}' is not a readable .xls workbook: {exc}") from None
        except Exception as exc:  # xlrd raises assorted errors on damaged files
            raise ConversionError(
                f"'{name}' is a corrupt .xls workbook: {type(exc).__name__}: {exc}"
            ) from None
        documents = []
        try:
            for index in range(workbook.nsheets):
                sheet = workbook.sheet_by_index(index)
                text = _sheet_to_csv(sheet, workbook.datemode, xlrd)
                if text.strip():
                    sheet_meta = {"sheet_name": sheet.name, "page_number": index + 1, **meta}
                    documents.append(Document(content=text, meta=sheet_meta))
                workbook.unload_sheet(index)
        except Exception as exc:
            raise ConversionError(
                f"'{name}' is a corrupt .xls workbook: {type(exc).__name__}: {exc}"
            ) from None
        finally:
            workbook.release_resources()
        if not documents:
            raise ConversionError(f"'{name}': every sheet of this workbook is empty.")
        return documents

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> XLSToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)


def _cell_text(cell: Any, datemode: int, xlrd: Any) -> str:
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return ""
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return str(xlrd.xldate.xldate_as_datetime(cell.value, datemode).isoformat())
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return str(cell.value)
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if cell.value else "FALSE"
    if isinstance(cell.value, float) and cell.value.is_integer():
        return str(int(cell.value))
    return str(cell.value)


def _sheet_to_csv(sheet: Any, datemode: int, xlrd: Any) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row_index in range(sheet.nrows):
        cells = [_cell_text(cell, datemode, xlrd) for cell in sheet.row(row_index)]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            writer.writerow(cells)
    return out.getvalue()
