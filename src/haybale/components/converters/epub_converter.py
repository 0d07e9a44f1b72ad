"""EPUBToDocument: the text of EPUB e-books, chapters in reading order."""

from __future__ import annotations

import io
import posixpath
import zipfile
from typing import Any

from haybale.components.converters._html_text import html_to_text
from haybale.components.converters.file_types import EPUB_MIME_TYPE
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

__all__ = ["EPUBToDocument"]

_CONTAINER = "urn:oasis:names:tc:opendocument:xmlns:container"
_OPF = "http://www.idpf.org/2007/opf"
_DC = "http://purl.org/dc/elements/1.1/"
#: All chapters together, decompressed: a bigger book is refused as a likely bomb.
_MAX_TOTAL_BYTES = 512 * 1024 * 1024


class _Book:
    """An open EPUB package with a decompression budget."""

    def __init__(self, data: bytes, name: str) -> None:
        self.name = name
        self.used = 0
        try:
            self.package = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise ConversionError(
                f"'{name}' is not a valid EPUB (a ZIP package is expected): {exc}"
            ) from None

    def read(self, member: str) -> bytes:
        try:
            info = self.package.getinfo(member)
            with self.package.open(info) as stream:
                data = stream.read(_MAX_TOTAL_BYTES - self.used + 1)
        except KeyError:
            raise ConversionError(f"'{self.name}' is a corrupt EPUB: '{member}' is missing.") from None
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
            raise ConversionError(f"'{self.name}' is a corrupt EPUB ('{member}': {exc}).") from None
        self.used += len(data)
        if self.used > _MAX_TOTAL_BYTES:
            raise ConversionError(f"'{self.name}' expands past 512 MiB; it was refused as a likely zip bomb.")
        return data

    def xml(self, member: str) -> Any:
        from lxml import etree

        try:
            parser = etree.XMLParser(resolve_entities=False, no_network=True)
            return etree.fromstring(self.read(member), parser)
        except etree.XMLSyntaxError as exc:
            raise ConversionError(
                f"'{self.name}' is a corrupt EPUB: '{member}' is not valid XML ({exc})."
            ) from None


@component
class EPUBToDocument:
    """Convert EPUB e-books to Documents, one per book: the chapters of the spine in reading order, each as
    text, separated by blank lines. Meta records ``title`` and ``author`` when the book names them.

    DRM-protected (encrypted) books, corrupt packages and books without text are reported in ``failures``.
    """

    def __init__(self) -> None:
        pass

    @component.output_types(documents=list[Document], failures=list[dict[str, Any]])
    def run(
        self, sources: list[Source], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Convert ``sources`` (paths or byte streams).

        Returns:
            ``documents`` (one per book) and ``failures`` (``{"source", "error"}``
            per skipped file).
        """
        return convert_sources(type(self).__name__, sources, meta, self._convert_one, EPUB_MIME_TYPE)

    def _convert_one(self, source: Source, meta: dict[str, Any]) -> list[Document]:
        name = describe_source(source)
        book = _Book(read_source_bytes(source), name)
        with book.package:
            if "META-INF/encryption.xml" in book.package.namelist():
                raise ConversionError(
                    f"'{name}' is a DRM-protected (encrypted) EPUB; its text cannot be read. Use a DRM-free "
                    "copy."
                )
            rootfile = book.xml("META-INF/container.xml").find(f".//{{{_CONTAINER}}}rootfile")
            if rootfile is None or not rootfile.get("full-path"):
                raise ConversionError(
                    f"'{name}' is a corrupt EPUB: META-INF/container.xml names no package file."
                )
            opf_path = str(rootfile.get("full-path"))
            opf = book.xml(opf_path)
            base = posixpath.dirname(opf_path)
            manifest = {
                item.get("id"): item.get("href")
                for item in opf.iter(f"{{{_OPF}}}item")
                if item.get("id") and item.get("href")
            }
            chapters = []
            for itemref in opf.iter(f"{{{_OPF}}}itemref"):
                href = manifest.get(itemref.get("idref"))
                if href:
                    path = posixpath.normpath(posixpath.join(base, href.split("#", 1)[0]))
                    chapters.append(html_to_text(book.read(path).decode("utf-8", "replace")).strip())
        text = "\n\n".join(chapter for chapter in chapters if chapter)
        require_text(text, source, "this EPUB")
        extra: dict[str, Any] = {}
        for key, tag in (("title", "title"), ("author", "creator")):
            node = opf.find(f".//{{{_DC}}}{tag}")
            if node is not None and (node.text or "").strip() and key not in meta:
                extra[key] = node.text.strip()
        return [Document(content=text, meta={**extra, **meta})]

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EPUBToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
