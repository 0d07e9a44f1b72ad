"""MultiFileConverter: convert a mixed batch of files, each with the converter for its type."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from haybale.components.converters._text_types import SOURCE_EXTENSIONS, looks_like_text
from haybale.components.converters.csv_converter import CSVToDocument
from haybale.components.converters.docx_converter import DOCXToDocument
from haybale.components.converters.email_converter import EMLToDocument
from haybale.components.converters.epub_converter import EPUBToDocument
from haybale.components.converters.file_types import (
    DOCX_MIME_TYPE,
    EML_MIME_TYPE,
    EPUB_MIME_TYPE,
    KNOWN_EXTENSIONS,
    MSG_MIME_TYPE,
    ODS_MIME_TYPE,
    ODT_MIME_TYPE,
    PPTX_MIME_TYPE,
    RTF_MIME_TYPE,
    XLS_MIME_TYPE,
    XLSX_MIME_TYPE,
    ZIP_MIME_TYPE,
    detect_mime_type,
)
from haybale.components.converters.html_converter import HTMLToDocument
from haybale.components.converters.image_converter import ImageToDocument
from haybale.components.converters.json_converter import JSONToDocument
from haybale.components.converters.markdown_converter import MarkdownToDocument
from haybale.components.converters.msg_converter import MSGToDocument
from haybale.components.converters.odf_converter import ODSToDocument, ODTToDocument
from haybale.components.converters.pdf_converter import PDFToDocument
from haybale.components.converters.pptx_converter import PPTXToDocument
from haybale.components.converters.rtf_converter import RTFToDocument
from haybale.components.converters.source_reading import (
    check_readable_file,
    describe_source,
    expand_meta,
)
from haybale.components.converters.text_converter import TextFileToDocument
from haybale.components.converters.xls_converter import XLSToDocument
from haybale.components.converters.xlsx_converter import XLSXToDocument
from haybale.components.converters.zip_converter import ZIPToDocument
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import ByteStream, Document, Source
from haybale.dataclasses.image_content import IMAGE_MIME_TYPES
from haybale.errors import ConversionError

__all__ = ["MultiFileConverter"]

logger = logging.getLogger(__name__)


@component
class MultiFileConverter:
    """Convert files of mixed types: each source goes to the converter for its detected MIME type.

    Types are detected like :class:`~haybale.components.routers.FileTypeRouter` does (content signatures,
    then extension). Supported: plain text and other ``text/*`` types, Markdown, HTML, PDF (scanned pages
    OCR'd), DOCX, PPTX, XLSX, XLS, ODT, ODS, RTF, EPUB, CSV, JSON and JSON Lines, images (OCR'd: PNG, JPEG,
    TIFF, WebP, BMP, GIF), e-mails (.eml, Outlook .msg, with their attachments) and ZIP archives (expanded
    safely, members converted by type). A byte stream's declared type is used when a converter handles it;
    otherwise the type is detected from the content and name. Sources of unknown type, unreadable paths
    (missing, directories, link loops, FIFOs) and files their converter rejects are reported in
    ``failures``; the rest of the batch still converts. Documents come out in the order of their sources.

    Args:
        encoding: encoding tried first for text-based formats; None means always detect.
        json_content_key: the field holding the text in JSON records (see :class:`JSONToDocument`).
    """

    def __init__(self, encoding: str | None = "utf-8", json_content_key: str | None = "content") -> None:
        self.encoding = encoding
        self.json_content_key = json_content_key
        text = TextFileToDocument(encoding=encoding)
        json_converter = JSONToDocument(content_key=json_content_key, encoding=encoding)
        self._converters: dict[str, Any] = {
            "text/plain": text,
            "text/markdown": MarkdownToDocument(encoding=encoding),
            "text/html": HTMLToDocument(encoding=encoding),
            "text/csv": CSVToDocument(encoding=encoding),
            "application/json": json_converter,
            "application/jsonl": json_converter,
            "application/pdf": PDFToDocument(),
            DOCX_MIME_TYPE: DOCXToDocument(),
            PPTX_MIME_TYPE: PPTXToDocument(),
            XLSX_MIME_TYPE: XLSXToDocument(),
            XLS_MIME_TYPE: XLSToDocument(),
            ODT_MIME_TYPE: ODTToDocument(),
            ODS_MIME_TYPE: ODSToDocument(),
            RTF_MIME_TYPE: RTFToDocument(),
            EPUB_MIME_TYPE: EPUBToDocument(),
            EML_MIME_TYPE: EMLToDocument(),
            MSG_MIME_TYPE: MSGToDocument(),
            ZIP_MIME_TYPE: ZIPToDocument(),
        }
        images = ImageToDocument()
        self._converters.update(dict.fromkeys(IMAGE_MIME_TYPES, images))
        self._text = text

    @component.output_types(documents=list[Document], failures=list[dict[str, Any]])
    def run(
        self, sources: list[Source], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Convert ``sources`` (paths or byte streams) of any supported type.

        Args:
            sources: files to convert.
            meta: one dict for all sources, or one per source; merged into each document's meta.

        Returns:
            ``documents`` and ``failures`` (``{"source", "error"}`` per file that was skipped).
        """
        documents: list[Document] = []
        failures: list[dict[str, Any]] = []
        for source, user_meta in zip(
            sources, expand_meta(meta, len(sources), type(self).__name__), strict=True
        ):
            try:
                converter, extra = self._converter_for(source, user_meta)
            except ConversionError as exc:
                logger.warning("MultiFileConverter skipped '%s': %s", describe_source(source), exc)
                failures.append({"source": describe_source(source), "error": str(exc)})
                continue
            result = converter.run(sources=[source], meta=[extra])
            documents.extend(result["documents"])
            failures.extend(result["failures"])
        return {"documents": documents, "failures": failures}

    def _converter_for(self, source: Source, extra: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        if not isinstance(source, ByteStream):
            check_readable_file(Path(source))
        try:
            mime = detect_mime_type(source)
            if mime not in self._converters and isinstance(source, ByteStream) and source.mime_type:
                mime = detect_mime_type(source, trust_declared=False)  # a declared type no converter handles
        except OSError as exc:
            raise ConversionError(f"'{describe_source(source)}' cannot be read: {exc}") from None
        if mime in self._converters:
            return self._converters[mime], extra
        try:
            if mime is None and looks_like_text(_head(source)):  # no telling name, but the bytes are text
                mime = "text/plain"
        except OSError as exc:
            raise ConversionError(f"'{describe_source(source)}' cannot be read: {exc}") from None
        if mime is not None and mime.startswith("text/"):
            return self._text, {"mime_type": mime, **extra}
        documents = ", ".join(sorted(set(KNOWN_EXTENSIONS) - set(SOURCE_EXTENSIONS)))
        found = f"type '{mime}'" if mime else "an unknown type"
        raise ConversionError(
            f"'{describe_source(source)}' has {found} and is not text, so no converter handles it. "
            f"Supported: {documents}; source code and configuration files ({len(SOURCE_EXTENSIONS)} "
            "extensions, such as .py, .go, .java, .yaml, .xml, .sql); and text under any other name. Rename "
            "the file if its extension is wrong, or leave it out."
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self, encoding=self.encoding, json_content_key=self.json_content_key)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MultiFileConverter:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)


_TEXT_SNIFF_BYTES = 65_536


def _head(source: Source) -> bytes:
    """The first bytes of a source (a byte stream's, or a file's)."""
    if isinstance(source, ByteStream):
        return source.data[:_TEXT_SNIFF_BYTES]
    with Path(source).open("rb") as handle:
        return handle.read(_TEXT_SNIFF_BYTES)
