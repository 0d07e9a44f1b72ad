"""Reading multipart uploads with hard limits enforced while the body streams in, and checking their metadata.

Starlette's form parsing would spool an upload of any size to disk before the route sees it. Here the request
body is counted as it arrives: a declared ``Content-Length`` above the limit is refused before reading
anything (the response closes the connection, so a client still sending the body cannot desynchronise the
next request), and a body that grows past it (chunked uploads, lying headers) is cut off at the limit. Either
way the client gets 413 and nothing was converted or stored.

The ``metadata`` form field is a JSON object (or, with several files, a list of one object per file). It is
parsed strictly: ``NaN`` / ``Infinity``, NUL characters, keys that are not strings, nesting deeper than 16
levels and documents over 64 KiB are refused with 422 naming the offending key path.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from haybale.service.errors import ServiceError

__all__ = [
    "MULTIPART_OVERHEAD",
    "UploadError",
    "UploadedFile",
    "check_json_value",
    "parse_form",
    "parse_metadata",
    "read_uploads",
    "too_large",
    "unreadable_json",
]

#: Room for multipart boundaries, headers and form fields on top of the files themselves.
MULTIPART_OVERHEAD = 1 << 20
#: The most files one request may carry.
MAX_FILES = 64
_MAX_METADATA_BYTES = 64 * 1024
_MAX_DEPTH = 16
#: Form field names that carry files.
FILE_FIELDS = ("file", "files")


class UploadError(ServiceError):
    """The upload is unacceptable: ``status_code`` 413 (too large), 400 or 422 (malformed)."""


class _TooLarge(Exception):  # private control-flow signal, never leaves this module
    """The body grew past the limit while streaming in."""


@dataclass
class UploadedFile:
    """An uploaded file: its base name, the name as sent (clients may send a path), its bytes, its MIME type
    as declared by the client, and its metadata (from the ``metadata`` field)."""

    file_name: str
    data: bytes
    original_name: str = ""
    content_type: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _base_name(raw: str | None) -> str:
    """The file's own name: clients may send a path (``C:\\docs\\a.pdf``); only the last part is kept."""
    return PureWindowsPath(PurePosixPath(raw or "").name).name.strip()


def too_large(limit: int) -> UploadError:
    """The 413 answered for a request body over ``limit`` bytes (it closes the connection)."""
    return UploadError(
        413,
        f"The upload is larger than this service accepts ({limit} bytes). Split the file or ask the operator "
        "to raise HAYBALE_MAX_UPLOAD_BYTES.",
        headers={"Connection": "close"},
    )


def unreadable_json(error: BaseException) -> str | None:
    """Why ``json.loads`` could not read a text, from the error it raised (None for an error of another
    kind): bad syntax (where), bytes that are not UTF-8, or nesting deeper than the parser can follow."""
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno}, column {error.colno}"
    if isinstance(error, UnicodeDecodeError):
        return (
            f"it is not UTF-8 text: byte {error.start} cannot be decoded ({error.reason}); send it as UTF-8"
        )
    if isinstance(error, RecursionError):
        return (
            "it nests too deeply to be read (arrays or objects inside each other about a thousand levels or "
            "more); send flatter JSON"
        )
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _check_unicode(text: str, where: str) -> None:
    """Refuse a string holding an unpaired surrogate (a JSON escape such as ``\\ud800`` alone): it is not
    text, no store can keep it, and no response could carry it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        found = text[error.start : error.end][:8].encode("unicode_escape").decode("ascii")
        raise UploadError(
            422,
            f"{where}: the text contains an unpaired surrogate ({found}), which is not Unicode text. Send "
            "UTF-8 text; characters outside the basic plane are escaped as a pair (\\ud83d\\ude00).",
        ) from None


def check_json_value(value: Any, where: str, depth: int = 0, what: str = "metadata") -> None:
    """Refuse what stores cannot keep faithfully: non-finite numbers, NUL characters, unpaired surrogates,
    odd keys, deep nesting.

    Raises:
        UploadError: 422 naming the key path (``where``) and the problem.
    """
    if depth > _MAX_DEPTH:
        raise UploadError(422, f"{where}: the {what} nests deeper than {_MAX_DEPTH} levels; flatten it.")
    if isinstance(value, float) and not math.isfinite(value):
        raise UploadError(422, f"{where}: {value!r} is not a finite number; JSON has no NaN or Infinity.")
    if isinstance(value, str):
        if "\x00" in value:
            raise UploadError(422, f"{where}: the text contains a NUL character (\\u0000); remove it.")
        _check_unicode(value, where)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or "\x00" in key:
                raise UploadError(422, f"{where}: the key {key!r} must be a string without NUL characters.")
            _check_unicode(key, f"{where} (a key)")
            check_json_value(item, f"{where}.{key}", depth + 1, what)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_json_value(item, f"{where}[{index}]", depth + 1, what)


def parse_metadata(raw: Any, files: int) -> list[dict[str, Any]]:
    """One metadata dict per file from the ``metadata`` form field.

    Accepts nothing (empty metadata), a JSON object (applies to every file) or, with several files, a JSON
    list of one object per file.

    Raises:
        UploadError: 422 for anything else, saying what was found and what is accepted.
    """
    if raw is None or raw == "":
        return [{} for _ in range(files)]
    if not isinstance(raw, str):
        raise UploadError(422, "The 'metadata' form field must be a JSON string, not a file.")
    if len(raw.encode()) > _MAX_METADATA_BYTES:
        raise UploadError(422, f"The 'metadata' form field is larger than {_MAX_METADATA_BYTES} bytes.")
    example = '{"data_entity_id": "kb-1", "document_id": "doc-1", "tags": ["a"]}'
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:  # 400 with the Helix Haystack service's words
        raise UploadError(
            400,
            f"Invalid metadata JSON: the 'metadata' form field is not JSON ({unreadable_json(exc)}). Send a "
            f"JSON object such as {example}.",
        ) from None
    except RecursionError as exc:
        raise UploadError(422, f"The 'metadata' form field cannot be read: {unreadable_json(exc)}.") from None
    except ValueError as exc:  # valid syntax, refused values (NaN, Infinity)
        raise UploadError(
            422, f"The 'metadata' form field is not valid JSON ({exc}). Send a JSON object such as {example}."
        ) from None
    check_json_value(value, "metadata")
    if isinstance(value, dict):
        return [dict(value) for _ in range(files)]
    if isinstance(value, list) and len(value) == files and all(isinstance(v, dict) for v in value):
        return [dict(v) for v in value]
    expected = (
        "a JSON object" if files == 1 else f"a JSON object, or a list of {files} objects (one per file)"
    )
    raise UploadError(422, f"The 'metadata' form field must be {expected}; got {type(value).__name__}.")


async def parse_form(request: Any, max_bytes: int) -> Any:
    """Parse a multipart/form-data body with the size limit enforced while it streams in.

    Raises:
        UploadError: 413 over the limit, 422 for another content type, 400 for a malformed body.
    """
    from starlette.formparsers import MultiPartException, MultiPartParser

    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise UploadError(
            422,
            f"Expected a multipart/form-data upload with a 'file' field, got content type "
            f"{content_type or 'none'!r}.",
        )
    body_limit = max_bytes + MULTIPART_OVERHEAD
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > body_limit:
        raise too_large(max_bytes)

    async def limited_body() -> AsyncGenerator[bytes, None]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > body_limit:
                raise _TooLarge
            yield chunk

    parser = MultiPartParser(request.headers, limited_body(), max_files=MAX_FILES, max_fields=16)
    try:
        form = await parser.parse()
    except _TooLarge:
        raise too_large(max_bytes) from None
    except MultiPartException as exc:
        raise UploadError(400, f"The multipart body could not be parsed: {exc.message}") from None
    # A body cut off inside a file part leaves that part's spool file out of the form: close it, and say so.
    kept = {id(part.file) for _, part in form.multi_items() if not isinstance(part, str)}
    cut_off = [spool for spool in getattr(parser, "_files_to_close_on_error", ()) if id(spool) not in kept]
    for spool in cut_off:
        spool.close()
    if cut_off:
        await form.close()
        raise UploadError(
            400,
            "The multipart body ends inside a file part (its closing boundary never came): the upload was "
            "cut off or is malformed. Nothing was stored; send the whole body again.",
        )
    return form


def _form_data_entity_id(value: Any) -> str | None:
    """The ``data_entity_id`` form field Helix's Go client sends beside ``metadata`` (None when absent or
    empty).

    Raises:
        UploadError: 422 when it arrives as a file.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise UploadError(422, "The 'data_entity_id' form field must be text, not a file.")
    return value


def _with_data_entity_id(meta: dict[str, Any], entity: str | None) -> dict[str, Any]:
    """``meta`` with the form's ``data_entity_id`` where the metadata has none.

    Raises:
        UploadError: 422 when the metadata names another data entity.
    """
    if entity is None:
        return meta
    if meta.get("data_entity_id") in (None, ""):
        return {**meta, "data_entity_id": entity}
    if meta["data_entity_id"] != entity:
        raise UploadError(
            422,
            f"The 'data_entity_id' form field ({entity!r}) and metadata.data_entity_id "
            f"({meta['data_entity_id']!r}) differ: a file belongs to one data entity. Send the same value in "
            "both, or only one of them.",
        )
    return meta


async def read_uploads(
    request: Any, max_bytes: int, *, with_metadata: bool = True, single: bool = False
) -> list[UploadedFile]:
    """Parse a ``multipart/form-data`` request: files in ``file`` (or ``files``) parts, optional ``metadata``
    and an optional ``data_entity_id`` field (what Helix's Go client sends beside the metadata; it applies to
    every file whose metadata has none).

    Args:
        request: the Starlette request.
        max_bytes: the largest total size of the files accepted.
        with_metadata: parse the ``metadata`` field (``/process``); ``/extract`` ignores it.
        single: exactly one file is expected.

    Raises:
        UploadError: 413 for a body over the limit; 422 for a missing file, an unnamed file, too many files,
            or metadata that is not acceptable; 400 for a body that is not multipart.
    """
    form = await parse_form(request, max_bytes)
    try:
        parts = [part for name in FILE_FIELDS for part in form.getlist(name) if not isinstance(part, str)]
        if not parts:
            if any(isinstance(value, str) for name in FILE_FIELDS for value in form.getlist(name)):
                raise UploadError(
                    422,
                    "The 'file' field arrived as text, not a file: send it as a file part with a file name "
                    "(curl: -F file=@notes.txt; in a multipart body: Content-Disposition: form-data; "
                    'name="file"; filename="notes.txt").',
                )
            if isinstance(form.get("url"), str):  # the Helix Haystack service's /extract also fetched URLs
                raise UploadError(
                    422,
                    "This service does not fetch URLs (the 'url' form field): a server that downloads what "
                    "callers name can be steered at internal addresses. Download the document and send its "
                    "bytes as the 'file' part.",
                )
            raise UploadError(422, "The upload has no 'file' part: send the file as form field 'file'.")
        if single and len(parts) > 1:
            raise UploadError(422, f"This route takes one file; the upload has {len(parts)}.")
        files: list[UploadedFile] = []
        total = 0
        for part in parts:
            file_name = _base_name(part.filename)
            if "\x00" in (part.filename or ""):  # stored as metadata, where no store can keep it faithfully
                raise UploadError(
                    422,
                    f"The file name {part.filename!r} contains a NUL character (\\u0000); send the file "
                    "under a name without it.",
                )
            if not file_name:
                raise UploadError(
                    422, "An uploaded file has no name: send it with a file name (e.g. 'notes.md')."
                )
            await part.seek(0)
            data = await part.read(max_bytes + 1)
            total += len(data)
            if total > max_bytes:
                raise too_large(max_bytes)
            content_type = part.content_type if part.content_type != "application/octet-stream" else None
            files.append(UploadedFile(file_name, data, str(part.filename or file_name), content_type))
        if with_metadata:
            entity = _form_data_entity_id(form.get("data_entity_id"))
            for upload, meta in zip(files, parse_metadata(form.get("metadata"), len(files)), strict=True):
                upload.metadata = _with_data_entity_id(meta, entity)
        return files
    finally:
        await form.close()
