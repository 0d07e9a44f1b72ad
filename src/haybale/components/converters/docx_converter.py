"""DOCXToDocument: the paragraphs and tables of Word documents, in reading order."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from haybale.components.converters._office_package import corrupt_package_error, read_office_package
from haybale.components.converters._office_parts import PACKAGE_URI, OfficePackageParts
from haybale.components.converters.file_types import DOCX_MIME_TYPE
from haybale.components.converters.source_reading import convert_sources, require_text
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document, Source
from haybale.errors import optional_dependency

__all__ = ["DOCXToDocument"]


@component
class DOCXToDocument:
    """Convert Word (.docx) files to Documents with python-docx, one per file.

    Paragraphs (headings included) and tables are emitted in document order; paragraphs are separated by a
    blank line, each table row becomes one line with cells separated by `` | ``. The document's core
    properties ``title`` and ``author`` are recorded in meta when set (timestamps are not: they are volatile).
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
            ``documents`` (one per converted file) and ``failures`` (``{"source", "error"}`` per
            skipped file).
        """
        return convert_sources(type(self).__name__, sources, meta, self._convert_one, DOCX_MIME_TYPE)

    def _convert_one(self, source: Source, meta: dict[str, Any]) -> list[Document]:
        with optional_dependency("python-docx", extra="converters", feature="DOCXToDocument"):
            from docx.table import Table
        buffer = read_office_package(source, "Word document", ".docx")
        try:
            document, properties = _open_word_document(buffer)
            blocks: list[str] = []
            for block in document.iter_inner_content():
                if isinstance(block, Table):
                    blocks.append(_table_text(block))
                else:
                    blocks.append(block.text.strip())
            extra = {
                key: value
                for key, value in (("title", properties.title), ("author", properties.author))
                if value
            }
        except Exception as exc:
            raise corrupt_package_error(source, "Word document", exc) from None
        text = require_text("\n\n".join(b for b in blocks if b), source, "this Word document")
        return [Document(content=text, meta={**extra, **meta})]

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DOCXToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)


def _open_word_document(buffer: io.BytesIO) -> tuple[Any, Any]:
    """Return the python-docx ``Document`` and its core properties.

    A standard package is read part by part (only the main document and the core properties are parsed);
    anything unusual goes through ``docx.Document``, which loads the whole package and raises its own errors.
    """
    opened = _open_main_parts(buffer)
    if opened is not None:
        return opened
    import docx

    buffer.seek(0)
    document = docx.Document(buffer)
    return document, document.core_properties


def _open_main_parts(buffer: io.BytesIO) -> tuple[Any, Any] | None:
    from docx.document import Document as WordDocument
    from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
    from docx.opc.coreprops import CoreProperties
    from docx.oxml.parser import parse_xml

    try:
        with zipfile.ZipFile(buffer) as archive:
            parts = OfficePackageParts(archive)
            main = parts.related_part(PACKAGE_URI, RELATIONSHIP_TYPE.OFFICE_DOCUMENT)
            core = parts.related_part(PACKAGE_URI, RELATIONSHIP_TYPE.CORE_PROPERTIES)
            if (
                main is None
                or core is None
                or parts.content_type(main) != CONTENT_TYPE.WML_DOCUMENT_MAIN
                or parts.content_type(core) != CONTENT_TYPE.OPC_CORE_PROPERTIES
            ):
                return None
            body = parse_xml(parts.blob(main))
            core_properties = parse_xml(parts.blob(core))
    except Exception:  # the full load below reports what is wrong with the package
        return None
    # Text extraction never reaches the document part (only styles and images do), so none is attached.
    return WordDocument(body, None), CoreProperties(core_properties)  # type: ignore[arg-type]


def _table_text(table: Any) -> str:
    lines = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            # Merged cells appear once per grid column; emit each merged cell once.
            if previous is not None and cell._tc is previous:
                continue
            previous = cell._tc
            cells.append(" ".join(cell.text.split()))
        lines.append(" | ".join(cells))
    return "\n".join(line for line in lines if line.strip(" |"))
