"""MSGToDocument: Outlook messages (.msg): headers, body, and every attachment converted.

A ``.msg`` file is an OLE compound file holding MAPI properties as streams named ``__substg1.0_<id><type>``
(subject ``0037``, sender ``0C1A``, recipients ``0E04``/``0E03``, plain body ``1000``, HTML body ``1013``) and
one storage per attachment (``__attach_version1.0_#n`` with its file name ``3707``/``3704`` and data
``3701``; an attached Outlook message is a nested storage ``3701000D``). They are read with olefile.
"""

from __future__ import annotations

import io
from typing import Any

from haybale.components.converters._archive_expansion import ExpansionLimits, current_budget, expansion_budget
from haybale.components.converters._container_members import convert_members
from haybale.components.converters._html_text import html_to_text
from haybale.components.converters.email_converter import mail_document
from haybale.components.converters.file_types import MSG_MIME_TYPE
from haybale.components.converters.source_reading import (
    convert_sources,
    describe_source,
    read_source_bytes,
)
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document, Source
from haybale.errors import ConversionError, optional_dependency

__all__ = ["MSGToDocument"]

_HEADERS = {"subject": "0037", "from": "0C1A", "to": "0E04", "cc": "0E03"}
_ATTACHMENT_PREFIX = "__attach_version1.0_#"


class _Message:
    """The MAPI properties of one message (the file's root, or an attached message's storage)."""

    def __init__(self, ole: Any, prefix: str) -> None:
        self.ole = ole
        self.prefix = prefix

    def _stream(self, name: str) -> bytes | None:
        path = self.prefix + name
        return self.ole.openstream(path).read() if self.ole.exists(path) else None

    def text(self, property_id: str) -> str:
        unicode = self._stream(f"__substg1.0_{property_id}001F")
        if unicode is not None:
            return unicode.decode("utf-16-le", "replace").rstrip("\x00")
        legacy = self._stream(f"__substg1.0_{property_id}001E")
        return legacy.decode("cp1252", "replace").rstrip("\x00") if legacy is not None else ""

    def body(self) -> str:
        plain = self.text("1000")
        if plain.strip():
            return plain
        html = self._stream("__substg1.0_10130102")
        if html is not None:
            return html_to_text(html.decode("utf-8", "replace"))
        html_text = self.text("1013")
        return html_to_text(html_text) if html_text else ""

    def attachments(self) -> list[tuple[str, Any]]:
        """(file name, bytes or an attached _Message) per attachment, in order."""
        base = [part for part in self.prefix.split("/") if part]
        depth = len(base)
        folders = sorted(
            {
                entry[depth]
                for entry in self.ole.listdir(streams=False, storages=True)
                if entry[:depth] == base
                and len(entry) > depth
                and entry[depth].startswith(_ATTACHMENT_PREFIX)
            }
        )
        found: list[tuple[str, Any]] = []
        for number, folder in enumerate(folders, start=1):
            inner = _Message(self.ole, f"{self.prefix}{folder}/")
            name = inner.text("3707") or inner.text("3704") or f"attachment-{number}"
            name = name.replace("/", "_").replace("\\", "_")
            embedded = f"{self.prefix}{folder}/__substg1.0_3701000D/"
            if self.ole.exists(embedded.rstrip("/")):
                found.append(
                    (name if name.lower().endswith(".msg") else f"{name}.msg", _Message(self.ole, embedded))
                )
                continue
            data = inner._stream("__substg1.0_37010102")
            if data:
                found.append((name, data))
        return found


@component
class MSGToDocument:
    """Convert Outlook messages (.msg) to Documents: one for the message, plus those of its attachments.

    Like :class:`EMLToDocument`: the message's Document starts with its Subject, From, To and Cc lines, then
    the body (plain text, else the HTML body as text); meta holds ``email_subject``, ``email_from``, ... and
    ``attachments``. Attachments are converted by type (attached Outlook messages too), keeping the message's
    metadata plus their own ``file_name`` and ``container_path``, within the container limits of ZIP archives.
    Files that are not Outlook messages, or are corrupt, are reported in ``failures``.

    Args:
        max_depth: containers (messages, archives) opened inside one another.
    """

    def __init__(self, max_depth: int = 3) -> None:
        self.max_depth = max_depth
        self._limits = ExpansionLimits(max_depth=max_depth)

    @component.output_types(documents=list[Document], failures=list[dict[str, Any]])
    def run(
        self, sources: list[Source], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Convert ``sources`` (paths or byte streams).

        Returns:
            ``documents`` and ``failures`` (``{"source", "error"}`` per skipped message or attachment).
        """
        attachment_failures: list[dict[str, Any]] = []

        def convert_one(source: Source, merged: dict[str, Any]) -> list[Document]:
            documents, failures = self._convert_one(source, merged)
            attachment_failures.extend(failures)
            return documents

        result = convert_sources(type(self).__name__, sources, meta, convert_one, MSG_MIME_TYPE)
        result["failures"].extend(attachment_failures)
        return result

    def _convert_one(
        self, source: Source, meta: dict[str, Any]
    ) -> tuple[list[Document], list[dict[str, Any]]]:
        with optional_dependency("olefile", extra="converters", feature="MSGToDocument"):
            import olefile
        name = describe_source(source)
        data = read_source_bytes(source)
        try:
            ole = olefile.OleFileIO(io.BytesIO(data))
        except (OSError, ValueError, IndexError) as exc:
            raise ConversionError(f"'{name}' is not a readable Outlook message (.msg): {exc}") from None
        with ole:
            message = _Message(ole, "")
            if not any(message.text(pid) for pid in ("0037", "1000", "0C1A")):
                raise ConversionError(
                    f"'{name}' is an OLE file but not an Outlook message: it has no subject, sender or body."
                )
            with expansion_budget(name, self._limits):
                documents, failures = self._message_documents(name, message, meta, None)
                refused = current_budget().refused
        if refused is not None:
            raise ConversionError(refused)
        return documents, failures

    def _message_documents(
        self, name: str, message: _Message, meta: dict[str, Any], container_path: str | None
    ) -> tuple[list[Document], list[dict[str, Any]]]:
        headers = {key: message.text(pid) for key, pid in _HEADERS.items()}
        attachments = message.attachments()
        files = [(n, a) for n, a in attachments if isinstance(a, bytes)]
        documents, failures = convert_members(name, files, meta, container_path or meta.get("container_path"))
        prefix = container_path or meta.get("container_path") or str(meta.get("file_name") or name)
        for attached_name, attached in attachments:
            if isinstance(attached, _Message):
                inner_meta = {
                    **meta,
                    "file_name": attached_name,
                    "container_path": f"{prefix}/{attached_name}",
                }
                with expansion_budget(f"{name}/{attached_name}", self._limits):
                    inner_docs, inner_failures = self._message_documents(
                        f"{name}/{attached_name}", attached, inner_meta, inner_meta["container_path"]
                    )
                documents.extend(inner_docs)
                failures.extend(inner_failures)
        body = mail_document(headers, message.body(), [n for n, _ in attachments], meta)
        return [body, *documents], failures

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self, max_depth=self.max_depth)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MSGToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
