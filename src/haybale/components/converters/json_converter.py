"""JSONToDocument: JSON and JSON Lines files, one Document per record, without jq."""

from __future__ import annotations

import json
from typing import Any

from haybale.components.converters._text_decoding import decode_source
from haybale.components.converters.source_reading import convert_sources, describe_source
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import Document, Source
from haybale.errors import ConversionError

__all__ = ["JSONToDocument"]

_SCALARS = (str, int, float, bool, type(None))


@component
class JSONToDocument:
    """Convert JSON / JSON Lines files to Documents, one per record.

    How records are found:

    1. The file is parsed as JSON; when that fails because there are several top-level values, it is parsed
       as JSON Lines (one value per non-empty line).
    2. ``records_path`` (dotted, e.g. ``"data.items"``; integer segments index lists) selects a value inside
       it; None selects the whole file.
    3. A list yields one record per item, anything else is one record.

    For each record: a string is the content; for an object, ``content_key`` names the field holding the
    content (records without it are skipped and counted in a warning), or, when ``content_key`` is None,
    the whole object serialized as indented JSON is the content. ``meta_fields`` lists the fields copied
    into meta; None copies every scalar field except the content. ``meta["record_index"]`` is the record's
    position.

    Args:
        content_key: field holding the text, or None to embed the whole record as JSON.
        records_path: dotted path to the records inside the file, or None.
        meta_fields: fields copied into meta; None means every scalar field; [] means none.
        encoding: encoding tried first; None means always detect.
    """

    def __init__(
        self,
        content_key: str | None = "content",
        records_path: str | None = None,
        meta_fields: list[str] | None = None,
        encoding: str | None = "utf-8",
    ) -> None:
        self.content_key = content_key
        self.records_path = records_path
        self.meta_fields = meta_fields
        self.encoding = encoding

    @component.output_types(documents=list[Document], failures=list[dict[str, Any]])
    def run(
        self, sources: list[Source], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Convert ``sources`` (paths or byte streams).

        Args:
            sources: files to convert.
            meta: one dict for all sources, or one per source; merged into each document's meta.

        Returns:
            ``documents`` (one per record) and ``failures`` (``{"source", "error"}``
            per skipped file).
        """
        return convert_sources(type(self).__name__, sources, meta, self._convert_one, "application/json")

    def _convert_one(self, source: Source, meta: dict[str, Any]) -> list[Document]:
        name = describe_source(source)
        value = _select(_parse(decode_source(source, self.encoding).text, name), self.records_path, name)
        records = value if isinstance(value, list) else [value]
        documents = []
        for index, record in enumerate(records):
            content, record_meta = self._record_content(record)
            if content is not None and content.strip():
                documents.append(
                    Document(content=content, meta={**record_meta, **meta, "record_index": index})
                )
        if not documents:
            raise ConversionError(
                f"'{name}': none of its {len(records)} record(s) has text under content_key "
                f"{self.content_key!r}. Set content_key to the field that holds the text, records_path to "
                "where the records are, or content_key=None to index whole records as JSON."
            )
        return documents

    def _record_content(self, record: Any) -> tuple[str | None, dict[str, Any]]:
        if isinstance(record, str):
            return record, {}
        if not isinstance(record, dict):
            return (json.dumps(record, ensure_ascii=False) if self.content_key is None else None), {}
        if self.content_key is None:
            content: Any = json.dumps(record, ensure_ascii=False, indent=2)
        else:
            content = record.get(self.content_key)
            if content is not None and not isinstance(content, str):
                content = json.dumps(content, ensure_ascii=False)
        wanted = self.meta_fields
        fields = {
            key: value
            for key, value in record.items()
            if key != self.content_key
            and (key in wanted if wanted is not None else isinstance(value, _SCALARS))
        }
        return content, fields

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"type", "init_parameters"}``."""
        return default_to_dict(
            self,
            content_key=self.content_key,
            records_path=self.records_path,
            meta_fields=self.meta_fields,
            encoding=self.encoding,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JSONToDocument:
        """Build from :meth:`to_dict` output."""
        return default_from_dict(cls, data)


def _parse(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise ConversionError(f"'{name}' is not valid JSON: {exc}") from None
    values = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                values.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConversionError(f"'{name}' is not valid JSON Lines: line {number}: {exc}") from None
    return values


def _select(value: Any, path: str | None, name: str) -> Any:
    if not path:
        return value
    current = value
    for segment in path.split("."):
        if isinstance(current, dict) and segment in current:
            current = current[segment]
        elif (
            isinstance(current, list)
            and segment.lstrip("-").isdigit()
            and -len(current) <= int(segment) < len(current)
        ):
            current = current[int(segment)]
        else:
            raise ConversionError(
                f"'{name}': records_path {path!r} not found (no {segment!r} at that level). Check the "
                "file's structure or set records_path=None."
            )
    return current
