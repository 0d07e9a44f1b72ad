"""Reading a multipart upload with a hard size limit enforced while the body streams in.

Starlette's form parsing would spool an upload of any size to disk before the route sees it. Here the request
body is counted as it arrives: a declared ``Content-Length`` above the limit is refused before reading
anything, and a body that grows past it (chunked uploads, lying headers) is cut off at the limit. Either way
the client gets 413 and nothing was converted or stored.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from haybale.errors import UsageError

__all__ = ["UploadError", "UploadedFile", "read_upload"]

#: Room for multipart boundaries, headers and a ``metadata`` field on top of the file itself.
_MULTIPART_OVERHEAD = 1 << 20


class UploadError(UsageError):
    """The upload is unacceptable: ``status_code`` 413 (too large), 400 or 422 (malformed)."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


class _TooLarge(Exception):  # private control-flow signal, never leaves this module
    """The body grew past the limit while streaming in."""


@dataclass
class UploadedFile:
    """An uploaded file: its base name (no directories), its bytes, and the parsed ``metadata`` field."""

    file_name: str
    data: bytes
    metadata: dict[str, Any] = field(default_factory=dict)


def _base_name(raw: str | None) -> str:
    """The file's own name: clients may send a path (``C:\\docs\\a.pdf``); only the last part is kept."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name.strip()
    return name


def _too_large(limit: int) -> UploadError:
    return UploadError(
        413,
        f"The upload is larger than this service accepts ({limit} bytes). Split the file or ask the operator "
        "to raise HAYBALE_MAX_UPLOAD_BYTES.",
    )


def _parse_metadata(raw: Any) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, str):
        raise UploadError(422, "The 'metadata' form field must be a JSON string, not a file.")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UploadError(
            422,
            f"The 'metadata' form field is not valid JSON ({exc.msg} at line {exc.lineno}, column "
            f'{exc.colno}). Send a JSON object such as {{"author": "Ada"}}.',
        ) from None
    if not isinstance(value, dict):
        raise UploadError(
            422, f"The 'metadata' form field must be a JSON object, got a JSON {type(value).__name__}."
        )
    return value


async def read_upload(request: Any, max_bytes: int, with_metadata: bool = True) -> UploadedFile:
    """Parse a ``multipart/form-data`` request with a ``file`` part (and an optional ``metadata`` part).

    Args:
        request: the Starlette request.
        max_bytes: the largest file accepted.
        with_metadata: parse the ``metadata`` field (``/process``); ``/extract`` ignores it.

    Raises:
        UploadError: 413 for a body over the limit; 422 for a missing file, an empty file name, or metadata
            that is not a JSON object; 400 for a body that is not multipart.
    """
    from starlette.formparsers import MultiPartException, MultiPartParser

    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise UploadError(
            422,
            f"Expected a multipart/form-data upload with a 'file' field, got content type "
            f"{content_type or 'none'!r}.",
        )
    body_limit = max_bytes + _MULTIPART_OVERHEAD
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > body_limit:
        raise _too_large(max_bytes)

    async def limited_body() -> AsyncGenerator[bytes, None]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > body_limit:
                raise _TooLarge
            yield chunk

    parser = MultiPartParser(request.headers, limited_body(), max_files=1, max_fields=4)
    try:
        form = await parser.parse()
    except _TooLarge:
        raise _too_large(max_bytes) from None
    except MultiPartException as exc:
        raise UploadError(400, f"The multipart body could not be parsed: {exc.message}") from None
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise UploadError(422, "The upload has no 'file' part: send the file as form field 'file'.")
        if upload.size is not None and upload.size > max_bytes:
            raise _too_large(max_bytes)
        file_name = _base_name(upload.filename)
        if not file_name:
            raise UploadError(
                422, "The uploaded file has no name: send it with a file name (e.g. 'notes.md')."
            )
        await upload.seek(0)
        data = await upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise _too_large(max_bytes)
        metadata = _parse_metadata(form.get("metadata")) if with_metadata else {}
        return UploadedFile(file_name=file_name, data=data, metadata=metadata)
    finally:
        await form.close()
