"""RTFToDocument: the text of Rich Text Format files."""

from __future__ import annotations

from typing import Any

from haybale.components.converters.file_types import RTF_MIME_TYPE
from haybale.components.converters.source_reading import (
    convert_sources,
    describe_source,
    read_source_bytes,
    require_text,
)
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document, Source
from haybale.errors import ConversionError, optional_dependency

__all__ = ["RTFToDocument"]


@component
class RTFToDocument:
    """Convert RTF files to Documents (one per file) with striprtf: text and table cells, formatting dropped.

    The file's declared code page decodes 8-bit characters; Unicode escapes are honoured. A file that does not
    start with ``{\\rtf`` or holds no text is reported in ``failures``.
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
        return convert_sources(type(self).__name__, sources, meta, self._convert_one, RTF_MIME_TYPE)

    def _convert_one(self, source: Source, meta: dict[str, Any]) -> list[Document]:
        with optional_dependency("striprtf", extra="converters", feature="RTFToDocument"):
            from striprtf.striprtf import rtf_to_text
        name = describe_source(source)
        data = read_source_bytes(source)
        if not data.lstrip().startswith(b"{\\rtf"):
            raise ConversionError(f"'{name}' is not an RTF file (it does not start with '{{\\rtf').")
        # RTF is 7-bit ASCII; 8-bit text is escaped and decoded by striprtf with the declared code page.
        raw = data.decode("latin-1")
        try:
            text = str(rtf_to_text(raw, errors="replace"))  # type: ignore[no-untyped-call]
        except (ValueError, LookupError, IndexError) as exc:
            raise ConversionError(f"'{name}' is a corrupt RTF file: {type(exc).__name__}: {exc}") from None
        text = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()
        require_text(text, source, "this RTF file")
        return [Document(content=text, meta=meta)]

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RTFToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
