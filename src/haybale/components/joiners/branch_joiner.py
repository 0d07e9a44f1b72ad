"""BranchJoiner: forward the one value that arrives from any of several branches (loop entries, routers)."""

from __future__ import annotations

from typing import Any

from haybale.core.component import component
from haybale.core.serialization import default_to_dict
from haybale.core.sockets import GreedyVariadic
from haybale.core.type_names import type_from_string, type_to_string
from haybale.errors import ComponentError, DeserializationError

__all__ = ["BranchJoiner"]


@component
class BranchJoiner:
    """Join branches of which only one produces a value per visit, and pass that value on.

    Its input is greedy: it runs as soon as a value arrives, which makes it the usual entry point of a loop
    (first visit from the user, later visits from a validator/router feedback edge) or the merge point of a
    router's mutually exclusive outputs.

    Args:
        type_: the type of the value (e.g. ``list[ChatMessage]``); it types both the input ``value`` and the
            output ``value``. Serialized as a string such as
            ``"list[haybale.dataclasses.chat_message.ChatMessage]"``.
    """

    def __init__(self, type_: Any) -> None:
        self.type_ = type_
        component.set_input_types(self, value=GreedyVariadic[type_])
        component.set_output_types(self, value=type_)

    def run(self, **kwargs: Any) -> dict[str, Any]:
        """Return ``{"value": v}`` for the single value received.

        Raises:
            ComponentError: when more than one value arrived in the same visit (the branches were not
                mutually exclusive).
        """
        values = list(kwargs.get("value") or [])
        if len(values) != 1:
            raise ComponentError(
                f"BranchJoiner expects exactly one value per run, got {len(values)}. Connect it to branches "
                "of which only one produces a value at a time (e.g. a router's outputs); use a joiner such "
                "as ListJoiner or DocumentJoiner to combine several values."
            )
        return {"value": values[0]}

    def to_dict(self) -> dict[str, Any]:
        """Serialize this component, with ``type_`` as a string."""
        return default_to_dict(self, type_=type_to_string(self.type_))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BranchJoiner:
        """Load from :meth:`to_dict` output; the type string is resolved without ``eval``."""
        params = dict(data.get("init_parameters") or {})
        if "type_" not in params:
            raise DeserializationError("BranchJoiner: init_parameters needs 'type_' (e.g. 'list[str]').")
        return cls(type_=type_from_string(params["type_"]))
