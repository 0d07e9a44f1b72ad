"""Raw bytes with a MIME type and metadata: what converters read and fetchers return."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ByteStream"]


@dataclass
class ByteStream:
    """Binary content plus its metadata and optional MIME type."""

    data: bytes
    meta: dict[str, Any] = field(default_factory=dict)
    mime_type: str | None = None

    @classmethod
    def from_file_path(
        cls, filepath: str | Path, mime_type: str | None = None, meta: dict[str, Any] | None = None
    ) -> ByteStream:
        """Read a whole file into a ByteStream.

        Raises:
            OSError: when the file cannot be read.
        """
        return cls(data=Path(filepath).read_bytes(), mime_type=mime_type, meta=dict(meta or {}))

    @classmethod
    def from_string(
        cls,
        text: str,
        encoding: str = "utf-8",
        mime_type: str | None = "text/plain",
        meta: dict[str, Any] | None = None,
    ) -> ByteStream:
        """Encode ``text`` into a ByteStream."""
        return cls(data=text.encode(encoding), mime_type=mime_type, meta=dict(meta or {}))

    def to_string(self, encoding: str = "utf-8") -> str:
        """Decode the bytes as text.

        Raises:
            UnicodeDecodeError: when the bytes are not valid in ``encoding``.
        """
        return self.data.decode(encoding)

    def to_file(self, destination: str | Path) -> None:
        """Write the bytes to ``destination``."""
        Path(destination).write_bytes(self.data)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict; the bytes are base64-encoded."""
        return {
            "data": base64.b64encode(self.data).decode("ascii"),
            "meta": dict(self.meta),
            "mime_type": self.mime_type,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ByteStream:
        """Build from :meth:`to_dict` output (also accepts a list of byte values)."""
        raw = data["data"]
        payload = bytes(raw) if isinstance(raw, list) else base64.b64decode(raw)
        return cls(data=payload, meta=dict(data.get("meta") or {}), mime_type=data.get("mime_type"))
