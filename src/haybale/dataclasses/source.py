"""What converters, routers and the indexer accept as one input file: a path or the bytes themselves."""

from __future__ import annotations

from pathlib import Path
from typing import TypeAlias

from haybale.dataclasses.byte_stream import ByteStream

__all__ = ["Source"]

#: One input file: a path (``str`` or ``Path``) or a :class:`ByteStream` (an upload, a fetched page).
Source: TypeAlias = str | Path | ByteStream
