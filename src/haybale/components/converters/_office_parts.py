"""Reading single parts of an Office Open XML package without loading the whole package.

python-docx and python-pptx parse *every* XML part when they open a file; the templates most tools write
carry hundreds of kilobytes of styles, themes and layouts that text extraction never looks at (for a short
Word file, parsing ``styles.xml`` is over 90 % of the time). :class:`OfficePackageParts` resolves parts the
way those libraries do (``[Content_Types].xml`` for content types, ``_rels/*.rels`` for relationships) and
reads only the parts asked for. Converters use it as a fast path and fall back to the full library load
whenever the package looks in any way unusual, so errors and results stay those of the libraries.
"""

from __future__ import annotations

import posixpath
import zipfile
from typing import Any

__all__ = ["PACKAGE_URI", "OfficePackageParts"]

_CONTENT_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_RELATIONSHIPS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"

#: The package itself, as the source of the root relationships.
PACKAGE_URI = "/"


class OfficePackageParts:
    """Content types, relationships and bytes of the parts of an open OPC (ZIP) package.

    Args:
        archive: the package, opened for reading.

    Raises:
        KeyError, ValueError, lxml errors: when the package lacks ``[Content_Types].xml`` or it is malformed.
    """

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self._archive = archive
        types = _parse_plain_xml(archive.read("[Content_Types].xml"))
        self._defaults = {
            str(e.get("Extension")).lower(): str(e.get("ContentType"))
            for e in types.iter(f"{_CONTENT_TYPES_NS}Default")
        }
        self._overrides = {
            str(e.get("PartName")).lower(): str(e.get("ContentType"))
            for e in types.iter(f"{_CONTENT_TYPES_NS}Override")
        }

    def content_type(self, partname: str) -> str | None:
        """The content type of ``partname`` (e.g. ``/word/document.xml``): its override, else its default."""
        override = self._overrides.get(partname.lower())
        if override is not None:
            return override
        extension = posixpath.splitext(partname)[1][1:].lower()
        return self._defaults.get(extension)

    def relationships(self, source: str) -> dict[str, tuple[str, str]]:
        """The internal relationships of ``source`` (a partname, or :data:`PACKAGE_URI`).

        Returns:
            ``{rId: (relationship type, target partname)}``; external targets are left out. Empty when the
            part has no relationships file.
        """
        directory, name = posixpath.split(source)
        rels_name = posixpath.join(directory, "_rels", f"{name}.rels")[1:]
        try:
            data = self._archive.read(rels_name)
        except KeyError:
            return {}
        related: dict[str, tuple[str, str]] = {}
        for rel in _parse_plain_xml(data).iter(f"{_RELATIONSHIPS_NS}Relationship"):
            if rel.get("TargetMode") == "External":
                continue
            target = posixpath.normpath(posixpath.join(directory, str(rel.get("Target"))))
            related[str(rel.get("Id"))] = (str(rel.get("Type")), target)
        return related

    def related_part(self, source: str, relationship_type: str) -> str | None:
        """The partname of the first part ``source`` relates to with ``relationship_type``, or None."""
        for kind, target in self.relationships(source).values():
            if kind == relationship_type:
                return target
        return None

    def blob(self, partname: str) -> bytes:
        """The bytes of ``partname``.

        Raises:
            KeyError: when the package has no such part.
        """
        return self._archive.read(partname.lstrip("/"))


def _parse_plain_xml(data: bytes) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(data, parser)
