"""MetadataRouter: send documents (or byte streams) to outputs by metadata filters."""

from __future__ import annotations

from typing import Any

from haybale.core.component import component
from haybale.core.serialization import default_to_dict
from haybale.core.type_names import type_from_string, type_to_string
from haybale.dataclasses import Document
from haybale.errors import ComponentError, FilterError
from haybale.filters import compile_predicate

__all__ = ["UNMATCHED", "MetadataRouter"]

_WHERE = "MetadataRouter"
UNMATCHED = "unmatched"


@component
class MetadataRouter:
    """Route each item to every rule whose filter it matches; items matching no rule go to ``unmatched``.

    Rules use the one filter language of :mod:`haybale.filters` (e.g.
    ``{"field": "meta.lang", "operator": "==", "value": "en"}`` or the shorthand ``{"lang": "en"}``). Items
    are :class:`Document` objects, or anything with a ``meta`` dict (such as ``ByteStream``; filters then
    see only its metadata). Only outputs that receive at least one item are emitted, so branches with nothing
    to do do not run.

    Args:
        rules: output name -> filters.
        output_type: the type of the input ``documents`` and of every output (``list[Document]`` by default,
            or e.g. ``list[ByteStream]``). Serialized as a string.

    Raises:
        FilterError: a rule's filter is malformed (the message names the rule).
        ComponentError: no rules, or a rule named ``unmatched`` or not an identifier.
    """

    def __init__(self, rules: dict[str, dict[str, Any]], output_type: Any = list[Document]) -> None:
        if isinstance(output_type, str):
            output_type = type_from_string(output_type)
        if not isinstance(rules, dict) or not rules:
            raise ComponentError(f"{_WHERE}: rules must be a non-empty dict of output name -> filters.")
        self._predicates = {}
        for name, filters in rules.items():
            if not isinstance(name, str) or not name.isidentifier() or name == UNMATCHED:
                raise ComponentError(
                    f"{_WHERE}: rule name {name!r} must be an identifier other than {UNMATCHED!r} (it "
                    "becomes an output socket)."
                )
            try:
                self._predicates[name] = compile_predicate(filters)
            except FilterError as error:
                raise FilterError(f"{_WHERE}: rule {name!r} has an invalid filter: {error}") from error
        self.rules = rules
        self.output_type = output_type
        component.set_input_types(self, documents=output_type)
        component.set_output_types(self, **{name: output_type for name in rules}, **{UNMATCHED: output_type})

    def run(self, documents: list[Any]) -> dict[str, Any]:
        """Route ``documents``.

        Returns:
            ``{rule_name: [...], ..., "unmatched": [...]}`` with only the non-empty outputs.

        Raises:
            ComponentError: an item is neither a Document nor has a ``meta`` dict.
        """
        routed: dict[str, list[Any]] = {}
        for position, item in enumerate(documents):
            if isinstance(item, Document):
                probe = item
            elif isinstance(getattr(item, "meta", None), dict):
                probe = Document(meta=item.meta)
            else:
                raise ComponentError(
                    f"{_WHERE}: item {position} is a {type(item).__name__}; route Documents or objects with "
                    "a 'meta' dict (such as ByteStream)."
                )
            matched = [name for name, predicate in self._predicates.items() if predicate(probe)]
            targets = matched or [UNMATCHED]
            for name in targets:
                routed.setdefault(name, []).append(item)
        return routed

    def to_dict(self) -> dict[str, Any]:
        """Serialize this component, with ``output_type`` as a string."""
        return default_to_dict(self, rules=self.rules, output_type=type_to_string(self.output_type))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetadataRouter:
        """Load from :meth:`to_dict` output."""
        return cls(**dict(data.get("init_parameters") or {}))
