"""ListJoiner: concatenate lists from several senders into one list."""

from __future__ import annotations

from typing import Any

from haybale.core.component import component
from haybale.core.serialization import default_to_dict
from haybale.core.sockets import Variadic
from haybale.core.type_names import type_from_string, type_to_string
from haybale.errors import ComponentError

__all__ = ["ListJoiner"]


@component
class ListJoiner:
    """Concatenate the lists produced by several components (e.g. chat histories) in arrival order.

    Args:
        list_type_: the list type (e.g. ``list[ChatMessage]``); types the input and the output ``values``.
            None accepts any list. Serialized as a string.
    """

    def __init__(self, list_type_: Any = None) -> None:
        self.list_type_ = list_type_
        if list_type_ is not None:
            component.set_input_types(self, values=Variadic[list_type_])
            component.set_output_types(self, values=list_type_)

    @component.output_types(values=list)
    def run(self, values: Variadic[list[Any]]) -> dict[str, Any]:
        """Return ``{"values": [...]}``: every received list joined, in arrival order.

        Raises:
            ComponentError: one of the received values is not a list.
        """
        joined: list[Any] = []
        for position, value in enumerate(values):
            if not isinstance(value, list):
                raise ComponentError(
                    f"ListJoiner: value {position} is a {type(value).__name__}, not a list. Connect senders "
                    "whose outputs are lists, or use BranchJoiner/StringJoiner for single values."
                )
            joined.extend(value)
        return {"values": joined}

    def to_dict(self) -> dict[str, Any]:
        """Serialize this component, with ``list_type_`` as a string (or None)."""
        return default_to_dict(
            self, list_type_=None if self.list_type_ is None else type_to_string(self.list_type_)
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ListJoiner:
        """Load from :meth:`to_dict` output; the type string is resolved without ``eval``."""
        raw = (data.get("init_parameters") or {}).get("list_type_")
        return cls(list_type_=None if raw is None else type_from_string(raw))
