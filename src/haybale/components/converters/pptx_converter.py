"""PPTXToDocument: the text of PowerPoint slides, one Document per file, slides separated by form feeds."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from haybale.components.converters._office_package import corrupt_package_error, read_office_package
from haybale.components.converters._office_parts import PACKAGE_URI, OfficePackageParts
from haybale.components.converters.file_types import PPTX_MIME_TYPE
from haybale.components.converters.source_reading import convert_sources, require_text
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document, Source
from haybale.errors import optional_dependency

__all__ = ["SLIDE_BREAK", "PPTXToDocument"]

#: Separates slides; DocumentSplitter counts it to record ``page_number`` (the slide number).
SLIDE_BREAK = "\f"


@component
class PPTXToDocument:
    """Convert PowerPoint (.pptx) files to Documents with python-pptx, one per file.

    Each slide's text (text boxes, placeholders, tables and grouped shapes, in shape order) forms one page;
    slides are separated by ``"\\f"`` so :class:`DocumentSplitter` records the slide as ``page_number``.
    ``meta["page_count"]`` holds the number of slides.

    Args:
        include_notes: also include each slide's speaker notes after its text.
    """

    def __init__(self, include_notes: bool = False) -> None:
        self.include_notes = include_notes

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
        return convert_sources(type(self).__name__, sources, meta, self._convert_one, PPTX_MIME_TYPE)

    def _convert_one(self, source: Source, meta: dict[str, Any]) -> list[Document]:
        with optional_dependency("python-pptx", extra="converters", feature="PPTXToDocument"):
            from pptx import Presentation
        buffer = read_office_package(source, "PowerPoint presentation", ".pptx")
        try:
            found = None if self.include_notes else _read_slides(buffer)
            if found is None:  # notes, or an unusual package: python-pptx loads all of it
                buffer.seek(0)
                found = list(Presentation(buffer).slides)
            slides = []
            for slide in found:
                texts = _shapes_text(slide.shapes)
                if self.include_notes and slide.has_notes_slide:
                    notes = slide.notes_slide.notes_text_frame
                    if notes is not None and notes.text.strip():
                        texts.append(notes.text.strip())
                slides.append("\n\n".join(texts).replace(SLIDE_BREAK, "\n"))
        except Exception as exc:
            raise corrupt_package_error(source, "PowerPoint presentation", exc) from None
        text = require_text(SLIDE_BREAK.join(slides), source, "this presentation")
        return [Document(content=text, meta={"page_count": len(slides), **meta})]

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self, include_notes=self.include_notes)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PPTXToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)


def _read_slides(buffer: io.BytesIO) -> list[Any] | None:
    """The python-pptx slides of a standard package, reading only the presentation and slide parts.

    Returns None when anything is unusual; the caller then loads the package with python-pptx, which raises
    its own errors. The slides have no part attached: shape text never needs one (notes and images do).
    """
    from pptx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
    from pptx.oxml import parse_xml
    from pptx.slide import Slide

    try:
        with zipfile.ZipFile(buffer) as archive:
            parts = OfficePackageParts(archive)
            main = parts.related_part(PACKAGE_URI, RELATIONSHIP_TYPE.OFFICE_DOCUMENT)
            if main is None or parts.content_type(main) != CONTENT_TYPE.PML_PRESENTATION_MAIN:
                return None
            presentation = parse_xml(parts.blob(main))
            related = parts.relationships(main)
            slide_ids = presentation.sldIdLst
            slides = []
            for slide_id in slide_ids.sldId_lst if slide_ids is not None else []:
                kind, target = related[slide_id.rId]
                if kind != RELATIONSHIP_TYPE.SLIDE or parts.content_type(target) != CONTENT_TYPE.PML_SLIDE:
                    return None
                slides.append(Slide(parse_xml(parts.blob(target)), None))  # type: ignore[arg-type]
    except Exception:  # the full load reports what is wrong with the package
        return None
    return slides


def _shapes_text(shapes: Any) -> list[str]:
    texts: list[str] = []
    pending = list(shapes)
    pending.reverse()
    while pending:  # explicit stack: group shapes nest
        shape = pending.pop()
        if getattr(shape, "shape_type", None) is not None and hasattr(shape, "shapes"):
            group = list(shape.shapes)
            group.reverse()
            pending.extend(group)
            continue
        if getattr(shape, "has_text_frame", False) and shape.text_frame.text.strip():
            texts.append(shape.text_frame.text.strip())
        elif getattr(shape, "has_table", False):
            rows = [" | ".join(" ".join(c.text.split()) for c in row.cells) for row in shape.table.rows]
            texts.append("\n".join(rows))
    return texts
