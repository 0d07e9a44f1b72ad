"""FileTypeRouter: route files and byte streams to one output per MIME type, detected by content and name."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from haybale.components.converters.file_types import detect_mime_type
from haybale.components.converters.source_reading import expand_meta
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import ByteStream, Source
from haybale.errors import ComponentError

__all__ = ["FileTypeRouter"]

logger = logging.getLogger(__name__)


@component
class FileTypeRouter:
    """Route sources (paths or byte streams) to one output per MIME type.

    The type is detected from content first (PDF signature; DOCX/PPTX/XLSX by the main part declared inside
    the ZIP package; HTML markup) and from the file extension otherwise, so a PDF named ``.txt`` goes to the
    PDF output. ``mime_types`` entries are regular expressions matched against the whole MIME type
    (``"text/.*"``); each source goes to the first entry that matches, and the output socket carries the entry
    as its name. Sources that match nothing — or cannot be read — go to ``unclassified``.

    Args:
        mime_types: the MIME types (or patterns) to route, in priority order.
        additional_mimetypes: extra extension → MIME type mappings, e.g. ``{".adoc": "text/asciidoc"}``.
        raise_on_failure: raise instead of routing to ``unclassified`` when a path cannot be read.

    Raises:
        ComponentError: when ``mime_types`` is empty or holds an invalid regular expression.
    """

    def __init__(
        self,
        mime_types: list[str],
        additional_mimetypes: dict[str, str] | None = None,
        raise_on_failure: bool = False,
    ) -> None:
        if not mime_types:
            raise ComponentError(
                "FileTypeRouter needs at least one MIME type, e.g. FileTypeRouter(mime_types=['text/plain'])."
            )
        self._patterns: list[re.Pattern[str]] = []
        for mime in mime_types:
            try:
                self._patterns.append(re.compile(mime))
            except re.error as exc:
                raise ComponentError(
                    f"FileTypeRouter: mime_types entry {mime!r} is not a valid regular expression: {exc}."
                ) from None
        self.mime_types = list(mime_types)
        self.additional_mimetypes = {
            (ext if ext.startswith(".") else f".{ext}").lower(): mime
            for ext, mime in (additional_mimetypes or {}).items()
        }
        self.raise_on_failure = raise_on_failure
        outputs: dict[str, Any] = {mime: list[Source] for mime in self.mime_types}
        outputs["unclassified"] = list[Source]
        component.set_output_types(self, **outputs)

    def run(
        self, sources: list[Source], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Group ``sources`` by MIME type.

        Args:
            sources: paths or byte streams.
            meta: optional metadata (one dict, or one per source). When given, path sources are read into
                byte streams carrying that metadata plus ``source``/``file_name``/``file_path``.

        Returns:
            One key per MIME type that received sources (the source objects, in input order), plus
            ``unclassified``.

        Raises:
            ComponentError: with ``raise_on_failure=True``, when a source cannot be read.
        """
        # Without meta, sources pass through as given; with it, each one carries its own copy.
        metas: list[dict[str, Any] | None] = (
            [None] * len(sources) if meta is None else [*expand_meta(meta, len(sources), type(self).__name__)]
        )
        routed: dict[str, list[Source]] = {}
        for source, extra in zip(sources, metas, strict=True):
            try:
                mime = detect_mime_type(source, self.additional_mimetypes)
            except OSError as exc:
                if self.raise_on_failure:
                    raise ComponentError(f"FileTypeRouter cannot read '{source}': {exc}") from exc
                logger.warning(
                    "FileTypeRouter: cannot read '%s' (%s); routed to 'unclassified'.", source, exc
                )
                mime = None
            item = source if extra is None else _with_meta(source, extra)
            target = self._match(mime)
            routed.setdefault(target, []).append(item)
        return routed

    def _match(self, mime: str | None) -> str:
        if mime is not None:
            for name, pattern in zip(self.mime_types, self._patterns, strict=True):
                if pattern.fullmatch(mime):
                    return name
        return "unclassified"

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(
            self,
            mime_types=self.mime_types,
            additional_mimetypes=self.additional_mimetypes or None,
            raise_on_failure=self.raise_on_failure,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileTypeRouter:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)


def _with_meta(source: Source, extra: dict[str, Any]) -> Source:
    if isinstance(source, ByteStream):
        return ByteStream(data=source.data, meta={**source.meta, **extra}, mime_type=source.mime_type)
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError:
        return source  # left as a path: the converter reports the read error per file
    base = {"source": str(source), "file_name": path.name, "file_path": str(path.absolute())}
    return ByteStream(data=data, meta={**base, **extra})
