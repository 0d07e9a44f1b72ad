"""EMLToDocument: e-mail messages (.eml, RFC 822): headers, body, and every attachment converted."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

from haybale.components.converters._archive_expansion import ExpansionLimits, current_budget, expansion_budget
from haybale.components.converters._container_members import convert_members
from haybale.components.converters._html_text import html_to_text
from haybale.components.converters.file_types import EML_MIME_TYPE
from haybale.components.converters.source_reading import (
    convert_sources,
    describe_source,
    read_source_bytes,
)
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document, Source
from haybale.errors import ConversionError

__all__ = ["EMLToDocument", "mail_document"]

#: Headers put at the top of the body's text (and into meta, lower-cased).
_HEADERS = ("subject", "from", "to", "cc", "date")


def mail_document(
    headers: dict[str, str], body: str, attachments: list[str], meta: dict[str, Any]
) -> Document:
    """The Document of a mail's body: header lines, a blank line, the body; headers also in meta."""
    lines = [f"{key.capitalize()}: {value}" for key, value in headers.items() if value]
    if attachments:
        lines.append("Attachments: " + ", ".join(attachments))
    text = "\n".join(lines) + ("\n\n" + body.strip() if body.strip() else "")
    mail_meta: dict[str, Any] = {f"email_{key}": value for key, value in headers.items() if value}
    mail_meta["attachments"] = attachments
    return Document(content=text, meta={**mail_meta, **meta})


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # unknown charset, broken transfer encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
    if not isinstance(content, str):
        return ""
    return html_to_text(content) if part.get_content_type() == "text/html" else content


def _attachments(message: EmailMessage) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for index, part in enumerate(message.iter_attachments(), start=1):
        name = part.get_filename() or ""
        if part.get_content_type() == "message/rfc822":
            inner: Any = part.get_payload()
            data = inner[0].as_bytes() if isinstance(inner, list) and inner else part.as_bytes()
            name = name or f"attached-message-{index}.eml"
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            name = name or f"attachment-{index}"
        if data:
            found.append((name.replace("/", "_").replace("\\", "_"), data))
    return found


@component
class EMLToDocument:
    """Convert e-mail messages (.eml) to Documents: one for the message, plus those of its attachments.

    The message's Document starts with its Subject, From, To, Cc and Date lines, then the body (the plain
    text part, else the HTML part as text); meta holds ``email_subject``, ``email_from``, ... and the
    ``attachments`` file names. Each attachment is converted by the converter for its type (PDF, DOCX,
    images with OCR, ZIP, attached mails, ...), keeping the message's metadata plus its own ``file_name`` and
    ``container_path``; containers nest at most ``max_depth`` levels, within the same limits as ZIP archives.
    An attachment that fails is reported in ``failures`` as ``<message>/<attachment>``.

    Args:
        max_depth: containers (mails, archives) opened inside one another.
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

        result = convert_sources(type(self).__name__, sources, meta, convert_one, EML_MIME_TYPE)
        result["failures"].extend(attachment_failures)
        return result

    def _convert_one(
        self, source: Source, meta: dict[str, Any]
    ) -> tuple[list[Document], list[dict[str, Any]]]:
        name = describe_source(source)
        data = read_source_bytes(source)
        message = email.message_from_bytes(data, policy=email.policy.default)
        if not isinstance(message, EmailMessage) or not any(
            message.get(h) for h in ("from", "subject", "date")
        ):
            raise ConversionError(
                f"'{name}' is not an e-mail message: it has no From, Subject or Date header."
            )
        headers = {key: str(message.get(key) or "").strip() for key in _HEADERS}
        with expansion_budget(name, self._limits):
            attachments = _attachments(message)
            documents, failures = convert_members(name, attachments, meta, meta.get("container_path"))
            refused = current_budget().refused
        if refused is not None:
            raise ConversionError(refused)
        body = mail_document(headers, _body_text(message), [n for n, _ in attachments], meta)
        return [body, *documents], failures

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(self, max_depth=self.max_depth)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EMLToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
