"""How the inputs of a job travel through the broker: JSON, with file bytes in base64.

Uploaded files (``/process``) and files given to a pipeline job go inside the job, so a worker on another
machine needs nothing but the broker and the store. Files indexed from disk (``haybale index --workers``)
travel as paths: the workers read them from the same path (the same machine, or a shared mount).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from haybale.dataclasses import ByteStream
from haybale.jobs.options import JobPayloadError

__all__ = ["decode_streams", "decode_uploads", "encode_streams", "encode_uploads"]


def _bytes_of(entry: dict[str, Any], where: str) -> bytes:
    try:
        return base64.b64decode(str(entry["data"]), validate=True)
    except (KeyError, binascii.Error, ValueError) as exc:
        raise JobPayloadError(f"{where}: the file's bytes are missing or not base64 ({exc}).") from None


def encode_uploads(uploads: list[Any]) -> list[dict[str, Any]]:
    """:class:`~haybale.service.uploads.UploadedFile` objects as JSON-ready dicts."""
    return [
        {
            "file_name": u.file_name,
            "original_name": u.original_name,
            "content_type": u.content_type,
            "metadata": u.metadata,
            "data": base64.b64encode(u.data).decode("ascii"),
        }
        for u in uploads
    ]


def decode_uploads(entries: Any) -> list[Any]:
    """The uploads of a job, as :class:`~haybale.service.uploads.UploadedFile` objects.

    Raises:
        JobPayloadError: the list or an entry is malformed.
    """
    from haybale.service.uploads import UploadedFile

    if not isinstance(entries, list) or not entries:
        raise JobPayloadError("A process job must carry a non-empty list of uploads.")
    uploads = []
    for index, entry in enumerate(entries):
        where = f"upload {index}"
        if not isinstance(entry, dict) or not isinstance(entry.get("file_name"), str):
            raise JobPayloadError(f"{where}: expected an object with a file_name.")
        metadata = entry.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise JobPayloadError(f"{where}: metadata must be an object.")
        uploads.append(
            UploadedFile(
                file_name=entry["file_name"],
                data=_bytes_of(entry, where),
                original_name=str(entry.get("original_name") or entry["file_name"]),
                content_type=entry.get("content_type"),
                metadata=dict(metadata),
            )
        )
    return uploads


def encode_streams(files: dict[str, list[ByteStream]]) -> dict[str, list[dict[str, Any]]]:
    """Files for pipeline inputs (input name -> byte streams) as JSON-ready dicts."""
    return {
        key: [
            {
                "data": base64.b64encode(s.data).decode("ascii"),
                "meta": dict(s.meta),
                "mime_type": s.mime_type,
            }
            for s in streams
        ]
        for key, streams in files.items()
    }


def decode_streams(files: Any) -> dict[str, list[ByteStream]]:
    """The files of a pipeline job, as byte streams per input name.

    Raises:
        JobPayloadError: the mapping or an entry is malformed.
    """
    if not isinstance(files, dict):
        raise JobPayloadError("A pipeline job's files must be an object of input name -> list of files.")
    decoded: dict[str, list[ByteStream]] = {}
    for key, entries in files.items():
        if not isinstance(entries, list):
            raise JobPayloadError(f"files[{key!r}] must be a list.")
        decoded[str(key)] = [
            ByteStream(
                _bytes_of(entry, f"files[{key!r}][{i}]"),
                dict(entry.get("meta") or {}),
                entry.get("mime_type"),
            )
            for i, entry in enumerate(entries)
            if isinstance(entry, dict)
        ]
    return decoded
