"""ZIPToDocument: the files inside ZIP archives, each converted by the converter for its type, safely."""

from __future__ import annotations

from typing import Any

from haybale.components.converters._archive_expansion import (
    ExpansionLimits,
    current_budget,
    expansion_budget,
    read_zip_members,
)
from haybale.components.converters._container_members import convert_members
from haybale.components.converters.file_types import ZIP_MIME_TYPE
from haybale.components.converters.source_reading import (
    convert_sources,
    describe_source,
    read_source_bytes,
)
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document, Source
from haybale.errors import ComponentError, ConversionError

__all__ = ["ZIPToDocument"]

_MIB = 1024 * 1024


@component
class ZIPToDocument:
    """Expand ZIP archives in memory and convert every file inside with the converter for its type.

    Members keep the archive's metadata (its ``source`` among it) plus their own ``file_name`` and
    ``container_path`` (``archive.zip/folder/file.pdf``). Nested archives are opened up to ``max_depth``
    levels. Protections (see :mod:`~haybale.components.converters._archive_expansion`): decompressed bytes are
    counted as they come, and an archive that expands past ``max_total_mb`` or more than ``max_ratio`` times
    per member is refused as a whole, as a likely zip bomb; so is one with more than ``max_members`` files.
    Encrypted members, symbolic links and members whose path is absolute or climbs out with ``..`` are
    skipped and reported. Nothing is written to disk. Operating-system clutter (``__MACOSX/`` resource forks,
    ``.DS_Store``, ``Thumbs.db``) and empty members are left out without a failure: they hold no content.

    A member that fails to convert is reported in ``failures`` as ``<archive>/<member path>``; the others
    still convert. An archive from which nothing converts is itself a failure, with the reasons. (The
    :class:`~haybale.indexing.indexer.Indexer`, behind ``haybale index`` and the service, treats an archive
    as one source: a member failure fails the whole archive, and nothing of it is indexed.)

    Args:
        max_depth: archives opened inside one another (1: no nested archives).
        max_members: files extracted in total.
        max_member_mb: the largest member, decompressed, in MiB.
        max_total_mb: all members together, decompressed, in MiB.
        max_ratio: the largest decompressed/compressed ratio of a member over 1 MiB.
    """

    def __init__(
        self,
        max_depth: int = 3,
        max_members: int = 10_000,
        max_member_mb: int = 100,
        max_total_mb: int = 512,
        max_ratio: int = 200,
    ) -> None:
        values = {
            "max_depth": max_depth,
            "max_members": max_members,
            "max_member_mb": max_member_mb,
            "max_total_mb": max_total_mb,
            "max_ratio": max_ratio,
        }
        for name, value in values.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ComponentError(f"ZIPToDocument: {name} must be a positive integer, got {value!r}.")
        self.max_depth = max_depth
        self.max_members = max_members
        self.max_member_mb = max_member_mb
        self.max_total_mb = max_total_mb
        self.max_ratio = max_ratio
        self._limits = ExpansionLimits(
            max_depth=max_depth,
            max_members=max_members,
            max_member_bytes=max_member_mb * _MIB,
            max_total_bytes=max_total_mb * _MIB,
            max_ratio=max_ratio,
        )

    @component.output_types(documents=list[Document], failures=list[dict[str, Any]])
    def run(
        self, sources: list[Source], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Expand and convert ``sources`` (paths or byte streams of ZIP archives).

        Returns:
            ``documents`` (from every member that converted) and ``failures`` (``{"source", "error"}`` per
            archive or member that was skipped).
        """
        member_failures: list[dict[str, Any]] = []

        def convert_one(source: Source, merged: dict[str, Any]) -> list[Document]:
            documents, failures = self._expand(source, merged)
            member_failures.extend(failures)
            return documents

        result = convert_sources(type(self).__name__, sources, meta, convert_one, ZIP_MIME_TYPE)
        result["failures"].extend(member_failures)
        return result

    def _expand(self, source: Source, meta: dict[str, Any]) -> tuple[list[Document], list[dict[str, Any]]]:
        name = describe_source(source)
        data = read_source_bytes(source)
        with expansion_budget(name, self._limits):
            budget = current_budget()
            members, skipped = read_zip_members(data, name)
            content = [(m.path, m.data) for m in members if not _is_os_clutter(m.path)]
            documents, failures = convert_members(name, content, meta, meta.get("container_path"))
            if budget.refused is not None:  # a bomb met in a nested container refuses the whole file
                raise ConversionError(budget.refused)
        failures = [{"source": f"{name}/{path}", "error": reason} for path, reason in skipped] + failures
        if not documents:
            listed = "; ".join(f"{f['source']}: {f['error']}" for f in failures[:5])
            reasons = listed or "it holds no files with content"
            raise ConversionError(f"'{name}': no file in this archive could be converted ({reasons}).")
        return documents, failures

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(
            self,
            max_depth=self.max_depth,
            max_members=self.max_members,
            max_member_mb=self.max_member_mb,
            max_total_mb=self.max_total_mb,
            max_ratio=self.max_ratio,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ZIPToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)


#: Files that archivers of macOS and Windows add beside the content (Finder and Explorer metadata).
_OS_CLUTTER_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})


def _is_os_clutter(path: str) -> bool:
    """Whether a member is operating-system metadata rather than content (``__MACOSX/``, ``.DS_Store``)."""
    return path.startswith("__MACOSX/") or path.rsplit("/", 1)[-1].lower() in _OS_CLUTTER_NAMES
