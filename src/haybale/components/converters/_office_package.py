"""Opening Office Open XML packages (DOCX, PPTX, XLSX) from converter sources, with clear errors."""

from __future__ import annotations

import io
import zipfile

from haybale.components.converters.source_reading import describe_source, read_source_bytes
from haybale.dataclasses import Source
from haybale.errors import ConversionError

__all__ = ["corrupt_package_error", "read_office_package"]


def read_office_package(source: Source, kind: str, extension: str) -> io.BytesIO:
    """Return the bytes of an Office package, checked to be a ZIP archive.

    Args:
        source: path or byte stream.
        kind: human name of the format, e.g. "Word document".
        extension: the format's extension, e.g. ".docx".

    Raises:
        ConversionError: when the source is unreadable, empty, or not a ZIP-based Office file.
    """
    data = read_source_bytes(source)
    buffer = io.BytesIO(data)
    if not zipfile.is_zipfile(buffer):
        raise ConversionError(
            f"'{describe_source(source)}' is not a valid {kind} ({extension}): it is not a ZIP-based Office "
            "file. Legacy binary formats (.doc, .ppt, .xls) must be saved as the modern format first."
        )
    buffer.seek(0)
    return buffer


def corrupt_package_error(source: Source, kind: str, exc: Exception) -> ConversionError:
    """Return the error for an Office package that could not be parsed."""
    return ConversionError(
        f"'{describe_source(source)}' is a corrupt or unsupported {kind}: {type(exc).__name__}: {exc}"
    )
