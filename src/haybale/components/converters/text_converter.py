"""TextFileToDocument: plain text files of any encoding, in bounded memory."""

from __future__ import annotations

from typing import Any

from haybale.components.converters._text_decoding import decode_source
from haybale.components.converters.source_reading import convert_sources, require_text
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document, Source

__all__ = ["TextFileToDocument"]


@component
class TextFileToDocument:
    """Convert text files to Documents, one per file.

    The encoding is detected (byte-order mark, then ``encoding`` when it fits, then charset-normalizer);
    undecodable bytes become U+FFFD and NUL bytes are dropped. Large files are decoded in 1 MiB chunks, so a
    file costs about twice its size in memory. Binary data (for example a PDF named ``.txt``) is reported as
    a per-file failure instead of producing garbage text.

    Args:
        encoding: encoding tried first; None means always detect. A byte stream's ``meta["encoding"]`` wins.
    """

    def __init__(self, encoding: str | None = "utf-8") -> None:
        self.encoding = encoding

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
        return convert_sources(type(self).__name__, sources, meta, self._convert_one, "text/plain")

    def _convert_one(self, source: Source, meta: dict[str, Any]) -> list[Document]:
        decoded = decode_source(source, self.encoding)
        require_text(decoded.text, source, "this file")
        return [Document(content=decoded.text, meta={**meta, "encoding": decoded.encoding})]

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self, encoding=self.encoding)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextFileToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
