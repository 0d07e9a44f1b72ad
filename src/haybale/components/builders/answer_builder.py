"""AnswerBuilder: turn generator replies into GeneratedAnswer objects with their cited documents."""

from __future__ import annotations

import re
from typing import Any

from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import ChatMessage, Document, GeneratedAnswer
from haybale.errors import ComponentError

__all__ = ["DEFAULT_REFERENCE_PATTERN", "AnswerBuilder"]

DEFAULT_REFERENCE_PATTERN = r"\[(\d+)\]"


def _compile(pattern: str | None, name: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise ComponentError(
            f"AnswerBuilder: {name} {pattern!r} is not a valid regular expression: {error}."
        ) from error
    if compiled.groups > 1:
        raise ComponentError(
            f"AnswerBuilder: {name} {pattern!r} has {compiled.groups} capture groups; use at most one (the "
            "part to extract), e.g. r'Answer: (.*)'."
        )
    return compiled


@component
class AnswerBuilder:
    """Build :class:`GeneratedAnswer` objects from replies and attach the documents they cite.

    References are 1-based indices into ``documents`` written as ``[n]`` (the default ``reference_pattern``;
    ``[1][3]`` cites two). When a reply cites valid references, the answer's ``documents`` are exactly the
    cited documents, in order of first citation; when it cites none, the answer carries all ``documents``.
    ``answer.meta["referenced_documents"]`` lists the cited 1-based indices ([] when none); indices outside
    ``1..len(documents)`` are ignored and listed in ``meta["invalid_references"]``. Reply metadata (model,
    usage, ...) and the ``meta`` input are merged into ``answer.meta``.

    Args:
        pattern: regex extracting the answer from the reply (its one group, or the whole match); None keeps
            the whole reply.
        reference_pattern: regex whose one group captures a 1-based document index.
        last_message_only: build an answer from the last reply only (for chat histories).
    """

    def __init__(
        self,
        pattern: str | None = None,
        reference_pattern: str | None = None,
        last_message_only: bool = False,
    ) -> None:
        _compile(pattern, "pattern")
        _compile(reference_pattern, "reference_pattern")
        self.pattern = pattern
        self.reference_pattern = reference_pattern
        self.last_message_only = last_message_only

    @component.output_types(answers=list[GeneratedAnswer])
    def run(
        self,
        query: str,
        replies: list[str] | list[ChatMessage],
        *,
        meta: list[dict[str, Any]] | None = None,
        documents: list[Document] | None = None,
        pattern: str | None = None,
        reference_pattern: str | None = None,
    ) -> dict[str, Any]:
        """Build one answer per reply.

        Args:
            query: the question.
            replies: generator replies (strings or chat messages).
            meta: one metadata dict per reply (merged into the answer's meta).
            documents: the documents the prompt listed, in prompt order (``[1]`` is the first).
            pattern: overrides the init pattern.
            reference_pattern: overrides the init reference pattern.

        Returns:
            ``{"answers": list[GeneratedAnswer]}``.

        Raises:
            ComponentError: ``meta`` has a different length than ``replies``, or a pattern is invalid.
        """
        reply_list: list[Any] = list(replies)
        metas = list(meta) if meta is not None else [{} for _ in reply_list]
        if len(metas) != len(reply_list):
            raise ComponentError(
                f"AnswerBuilder: got {len(reply_list)} replies but {len(metas)} meta dicts; pass one meta "
                "dict per reply or none."
            )
        if self.last_message_only and reply_list:
            reply_list, metas = reply_list[-1:], metas[-1:]
        answer_re = _compile(pattern if pattern is not None else self.pattern, "pattern")
        ref_source = reference_pattern or self.reference_pattern or DEFAULT_REFERENCE_PATTERN
        reference_re = _compile(ref_source, "reference_pattern")
        docs = list(documents or [])
        answers = []
        for reply, extra in zip(reply_list, metas, strict=True):
            if isinstance(reply, ChatMessage):
                text = "\n".join(reply.texts)
                answer_meta = {**reply.meta, **extra}
            elif isinstance(reply, str):
                text, answer_meta = reply, dict(extra)
            else:
                raise ComponentError(
                    "AnswerBuilder: replies must be strings or ChatMessage objects, got "
                    f"{type(reply).__name__}."
                )
            answers.append(
                self._build(
                    query=query,
                    text=text,
                    meta=answer_meta,
                    docs=docs,
                    answer_re=answer_re,
                    reference_re=reference_re,
                )
            )
        return {"answers": answers}

    @staticmethod
    def _build(
        *,
        query: str,
        text: str,
        meta: dict[str, Any],
        docs: list[Document],
        answer_re: re.Pattern[str] | None,
        reference_re: re.Pattern[str] | None,
    ) -> GeneratedAnswer:
        answer_text = text
        if answer_re is not None:
            match = answer_re.search(text)
            answer_text = "" if match is None else (match.group(1) if answer_re.groups else match.group(0))
        cited: list[int] = []
        invalid: list[int] = []
        if reference_re is not None:
            for match in reference_re.finditer(text):
                raw = match.group(1) if reference_re.groups else match.group(0)
                try:
                    index = int(raw)
                except ValueError:
                    continue
                target = cited if 1 <= index <= len(docs) else invalid
                if index not in target:
                    target.append(index)
        meta = {**meta, "referenced_documents": sorted(cited)}
        if invalid:
            meta["invalid_references"] = sorted(invalid)
        attached = [docs[i - 1] for i in cited] if cited else list(docs)
        return GeneratedAnswer(data=answer_text.strip(), query=query, documents=attached, meta=meta)

    def to_dict(self) -> dict[str, Any]:
        """Serialize this component."""
        return default_to_dict(
            self,
            pattern=self.pattern,
            reference_pattern=self.reference_pattern,
            last_message_only=self.last_message_only,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnswerBuilder:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
