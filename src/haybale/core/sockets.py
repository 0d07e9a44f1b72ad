"""Sockets: the typed inputs and outputs of a component, and the variadic input markers.

An input socket comes from a parameter of a component's ``run`` method (or ``component.set_input_types``);
an output socket from ``@component.output_types`` (or ``component.set_output_types``).

``Variadic[T]`` marks a lazy variadic input: it receives a ``list[T]`` of every value sent to it and runs once
all its senders have run or can no longer run. ``GreedyVariadic[T]`` runs as soon as one value arrives (the
usual entry point of a loop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final, TypeAlias, TypeVar, get_args, get_origin

__all__ = [
    "EMPTY",
    "GreedyVariadic",
    "InputSocket",
    "OutputSocket",
    "Variadic",
    "VariadicKind",
    "describe_type",
    "unwrap_variadic",
]

T = TypeVar("T")


class VariadicKind:
    """Marker stored in ``Annotated`` metadata to flag a variadic input; ``mode`` is "lazy" or "greedy"."""

    __slots__ = ("mode",)

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __repr__(self) -> str:
        return f"VariadicKind({self.mode!r})"


LAZY: Final = VariadicKind("lazy")
GREEDY: Final = VariadicKind("greedy")

#: A lazy variadic input: ``documents: Variadic[list[Document]]`` receives ``list[list[Document]]``.
Variadic: TypeAlias = Annotated[list[T], LAZY]
#: A greedy variadic input: runs as soon as any value arrives (used to enter loops).
GreedyVariadic: TypeAlias = Annotated[list[T], GREEDY]


class _Empty:
    """Sentinel type of :data:`EMPTY` (a socket without a default value)."""

    _instance: _Empty | None = None

    def __new__(cls) -> _Empty:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "EMPTY"

    def __reduce__(self) -> str:
        return "EMPTY"


#: The default of a mandatory socket (distinct from ``None``, which is a valid default).
EMPTY: Final = _Empty()


def unwrap_variadic(annotation: Any) -> tuple[Any, str | None]:
    """Split a socket annotation into (type each sender provides, variadic mode or None).

    ``Variadic[int]`` gives ``(int, "lazy")``; ``int`` gives ``(int, None)``.
    """
    if get_origin(annotation) is Annotated:
        args = get_args(annotation)
        for meta in args[1:]:
            if isinstance(meta, VariadicKind):
                inner = get_args(args[0])
                return (inner[0] if inner else Any), meta.mode
    return annotation, None


def describe_type(tp: Any) -> str:
    """A short human-readable name for a type annotation (``list[Document]``, ``int | None``, ``Any``)."""
    if tp is Any:
        return "Any"
    if isinstance(tp, type) and not get_args(tp):
        return tp.__name__
    text = repr(tp)
    return text.replace("typing.", "").replace("NoneType", "None")


@dataclass(frozen=True)
class InputSocket:
    """A component input.

    Attributes:
        name: the parameter name of ``run``.
        type: the type each sender provides (for variadic inputs the element type ``T`` of ``Variadic[T]``).
        default: the default value, or :data:`EMPTY` when the input is mandatory.
        variadic: None, "lazy" or "greedy".
    """

    name: str
    type: Any
    default: Any = EMPTY
    variadic: str | None = None

    @property
    def is_mandatory(self) -> bool:
        """True when the input has no default value."""
        return self.default is EMPTY

    @property
    def is_variadic(self) -> bool:
        """True for ``Variadic`` and ``GreedyVariadic`` inputs."""
        return self.variadic is not None

    @property
    def is_greedy(self) -> bool:
        """True for ``GreedyVariadic`` inputs."""
        return self.variadic == "greedy"

    def describe(self) -> str:
        """``name: type`` with variadic/optional marks, for messages and drawings."""
        text = describe_type(self.type)
        if self.variadic == "lazy":
            text = f"Variadic[{text}]"
        elif self.variadic == "greedy":
            text = f"GreedyVariadic[{text}]"
        suffix = "" if self.is_mandatory else " (optional)"
        return f"{self.name}: {text}{suffix}"


@dataclass(frozen=True)
class OutputSocket:
    """A component output: a key of the dict ``run`` returns, and its declared type."""

    name: str
    type: Any

    def describe(self) -> str:
        """``name: type``, for messages and drawings."""
        return f"{self.name}: {describe_type(self.type)}"
