"""StringJoiner: collect strings from several senders into one list."""

from __future__ import annotations

from typing import Any

from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.core.sockets import Variadic

__all__ = ["StringJoiner"]


@component
class StringJoiner:
    """Collect the strings produced by several components into one list, in arrival order."""

    @component.output_types(strings=list[str])
    def run(self, strings: Variadic[str]) -> dict[str, Any]:
        """Return ``{"strings": [...]}`` with every received string."""
        return {"strings": list(strings)}

    def to_dict(self) -> dict[str, Any]:
        """Serialize this component."""
        return default_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StringJoiner:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
