"""OpenDocument text (.odt) and spreadsheets (.ods): their text, read from the package's ``content.xml``."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

from haybale.components.converters.file_types import ODS_MIME_TYPE, ODT_MIME_TYPE
from haybale.components.converters.source_reading import (
    convert_sources,
    describe_source,
    read_source_bytes,
    require_text,
)
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document, Source
from haybale.errors import ConversionError

__all__ = ["ODSToDocument", "ODTToDocument", "read_odf_content"]

_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
#: content.xml larger than this (decompressed) is refused: it would be a bomb, not a document.
_MAX_CONTENT_BYTES = 256 * 1024 * 1024
#: Repeated cells and rows (``number-columns-repeated``) are expanded at most this many times.
_MAX_REPEAT = 1024


def read_odf_content(source: Source, kind: str) -> Any:
    """The parsed ``content.xml`` of an OpenDocument package (lxml root; entities and network off).

    Raises:
        ConversionError: not a ZIP package, encrypted, corrupt, or ``content.xml`` missing or too large.
    """
    from lxml import etree

    name = describe_source(source)
    data = read_source_bytes(source)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            try:
                manifest = package.read("META-INF/manifest.xml")
            except KeyError:
                manifest = b""
            if b"encryption-data" in manifest:
                raise ConversionError(
                    f"'{name}' is a password-protected {kind}. Save an unprotected copy and upload that."
                )
            info = package.getinfo("content.xml")
            if info.file_size > _MAX_CONTENT_BYTES:
                raise ConversionError(f"'{name}': its content.xml is larger than 256 MiB; it was refused.")
            with package.open(info) as stream:
                content = stream.read(_MAX_CONTENT_BYTES + 1)
            if len(content) > _MAX_CONTENT_BYTES:
                raise ConversionError(f"'{name}': its content.xml is larger than 256 MiB; it was refused.")
    except ConversionError:
        raise
    except KeyError:
        raise ConversionError(f"'{name}' is not a valid {kind}: it has no content.xml.") from None
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError) as exc:
        raise ConversionError(f"'{name}' is not a valid {kind} (a ZIP package is expected): {exc}") from None
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        return etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        raise ConversionError(
            f"'{name}' is a corrupt {kind}: content.xml is not valid XML ({exc})."
        ) from None


def _inline_text(element: Any) -> str:
    """The text of a paragraph or heading: spaces (``text:s``), tabs and line breaks kept, notes left out."""
    parts: list[str] = []
    stack: list[tuple[Any, bool]] = [(element, False)]
    while stack:
        node, tail_only = stack.pop()
        if tail_only:
            if node.tail:
                parts.append(node.tail)
            continue
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag == f"{{{_TEXT}}}s":
            parts.append(" " * int(node.get(f"{{{_TEXT}}}c", "1") or 1))
        elif tag == f"{{{_TEXT}}}tab":
            parts.append("\t")
        elif tag == f"{{{_TEXT}}}line-break":
            parts.append("\n")
        elif tag != f"{{{_TEXT}}}note" and node.text:
            parts.append(node.text)
        if node is not element:
            stack.append((node, True))
        if tag != f"{{{_TEXT}}}note":
            stack.extend((child, False) for child in reversed(node))
    return "".join(parts)


def _repeat(element: Any, attribute: str) -> int:
    try:
        return max(1, int(element.get(f"{{{_TABLE}}}{attribute}", "1")))
    except ValueError:
        return 1


def _cell_text(cell: Any) -> str:
    paragraphs = cell.findall(f"{{{_TEXT}}}p")
    if paragraphs:
        return "\n".join(_inline_text(p) for p in paragraphs)
    return str(cell.get(f"{{{_OFFICE}}}value") or "")


def _table_rows(table: Any) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in table.iter(f"{{{_TABLE}}}table-row"):
        cells: list[str] = []
        for cell in row:
            if cell.tag not in (f"{{{_TABLE}}}table-cell", f"{{{_TABLE}}}covered-table-cell"):
                continue
            text = _cell_text(cell)
            count = _repeat(cell, "number-columns-repeated")
            cells.extend([text] * min(count, _MAX_REPEAT))
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            rows.extend([cells] * min(_repeat(row, "number-rows-repeated"), _MAX_REPEAT))
    return rows


def _rows_as_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue()


@component
class ODTToDocument:
    """Convert OpenDocument text files (.odt) to Documents, one per file.

    Headings and paragraphs become lines separated by blank lines; list items keep their own lines; tables
    become rows of cells separated by `` | ``. Password-protected, corrupt or empty files are reported in
    ``failures``.
    """

    def __init__(self) -> None:
        pass

    @component.output_types(documents=list[Document], failures=list[dict[str, Any]])
    def run(
        self, sources: list[Source], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Convert ``sources`` (paths or byte streams).

        Returns:
            ``documents`` (one per converted file) and ``failures`` (``{"source", "error"}``
            per skipped file).
        """
        return convert_sources(type(self).__name__, sources, meta, self._convert_one, ODT_MIME_TYPE)

    def _convert_one(self, source: Source, meta: dict[str, Any]) -> list[Document]:
        root = read_odf_content(source, "OpenDocument text (.odt)")
        body = root.find(f"{{{_OFFICE}}}body")
        blocks: list[str] = []
        if body is not None:
            for element in body.iter(f"{{{_TEXT}}}h", f"{{{_TEXT}}}p", f"{{{_TABLE}}}table"):
                if element.tag == f"{{{_TABLE}}}table":
                    blocks.extend(" | ".join(row) for row in _table_rows(element))
                elif not _inside_table(element):
                    blocks.append(_inline_text(element).strip())
        text = "\n\n".join(block for block in blocks if block)
        require_text(text, source, "this OpenDocument text file")
        return [Document(content=text, meta=meta)]

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ODTToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)


def _inside_table(element: Any) -> bool:
    parent = element.getparent()
    while parent is not None:
        if parent.tag == f"{{{_TABLE}}}table-cell":
            return True
        parent = parent.getparent()
    return False


@component
class ODSToDocument:
    """Convert OpenDocument spreadsheets (.ods) to Documents, one per non-empty sheet as CSV text.

    Meta records ``sheet_name`` and ``page_number`` (the sheet's 1-based position). Repeated rows and cells
    are expanded at most 1024 times (files declare a million empty columns routinely); trailing empty cells
    and empty rows are dropped.
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
        return convert_sources(type(self).__name__, sources, meta, self._convert_one, ODS_MIME_TYPE)

    def _convert_one(self, source: Source, meta: dict[str, Any]) -> list[Document]:
        root = read_odf_content(source, "OpenDocument spreadsheet (.ods)")
        documents = []
        for index, table in enumerate(root.iter(f"{{{_TABLE}}}table"), start=1):
            text = _rows_as_csv(_table_rows(table))
            if text.strip():
                sheet_meta = {"sheet_name": table.get(f"{{{_TABLE}}}name", ""), "page_number": index, **meta}
                documents.append(Document(content=text, meta=sheet_meta))
        if not documents:
            raise ConversionError(f"'{describe_source(source)}': every sheet of this spreadsheet is empty.")
        return documents

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ODSToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
