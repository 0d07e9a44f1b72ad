"""Breakpoints, and how a running component learns about them or pauses itself.

A :class:`Breakpoint` names a component (and a visit) a run stops before. Components that run loops of their
own (the Agent) declare ``breakpoint_kinds`` such as ``("step", "tool")``; a breakpoint with ``step=`` or
``tool=`` stops inside them instead. Such a component reads :func:`current_controls` while it runs, and
raises :class:`ComponentPaused` with its own state to stop; when the run resumes from the snapshot, it finds
that state (and the answer to any question it asked) in :func:`current_controls` again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from haybale.errors import HaybaleError, PipelineValidationError

__all__ = ["Breakpoint", "ComponentControls", "ComponentPaused", "controls_scope", "current_controls"]


@dataclass(frozen=True)
class Breakpoint:
    """Stop a run before a component runs (or, with ``step``/``tool``, inside a component that loops).

    Args:
        component: the component's name in the pipeline.
        visit: which visit to stop before, counting from 1; None stops before every visit.
        step: for components with ``breakpoint_kinds`` containing ``"step"`` (the Agent): stop before their
            ``step``-th generation.
        tool: for components with ``"tool"`` in ``breakpoint_kinds`` (the Agent): stop before they invoke a
            tool of this name.
        save_to: also write the snapshot (JSON) to this file when the breakpoint is reached.

    Raises:
        PipelineValidationError: an empty name, a visit or step below 1, or both ``step`` and ``tool``.
    """

    component: str
    visit: int | None = 1
    step: int | None = None
    tool: str | None = None
    save_to: str | Path | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.component, str) or not self.component:
            raise PipelineValidationError(
                f"Breakpoint needs the name of a component, got {self.component!r}."
            )
        for field_name in ("visit", "step"):
            value = getattr(self, field_name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise PipelineValidationError(
                    f"Breakpoint({self.component!r}): {field_name} counts from 1, got {value!r}."
                )
        if self.step is not None and self.tool is not None:
            raise PipelineValidationError(
                f"Breakpoint({self.component!r}): give step= or tool=, not both (use two breakpoints)."
            )
        if self.tool is not None and (not isinstance(self.tool, str) or not self.tool):
            raise PipelineValidationError(
                f"Breakpoint({self.component!r}): tool must be a tool name, got {self.tool!r}."
            )

    @property
    def inner(self) -> bool:
        """True when the breakpoint stops inside the component (``step`` or ``tool``), not before it."""
        return self.step is not None or self.tool is not None

    def matches_visit(self, visit: int) -> bool:
        """Whether this breakpoint applies to ``visit`` of its component."""
        return self.visit is None or self.visit == visit

    def to_dict(self) -> dict[str, Any]:
        """Plain data (the snapshot records which breakpoint stopped the run)."""
        return {
            "component": self.component,
            "visit": self.visit,
            "step": self.step,
            "tool": self.tool,
            "save_to": None if self.save_to is None else str(self.save_to),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Breakpoint:
        """Build from :meth:`to_dict` output."""
        return cls(
            component=data["component"],
            visit=data.get("visit"),
            step=data.get("step"),
            tool=data.get("tool"),
            save_to=data.get("save_to"),
        )


@dataclass(frozen=True)
class ComponentControls:
    """What a running component may read about breakpoints and resuming.

    Attributes:
        name: the component's name in the pipeline.
        visit: this visit's number (from 1).
        breakpoints: the ``step``/``tool`` breakpoints aimed at this visit of the component.
        resume: the state the component paused with, when this run resumes it; None otherwise.
        answer: what the caller answered to the question the component paused with (see
            ``PipelineSnapshot.answer``); None when there is none.
    """

    name: str
    visit: int
    breakpoints: tuple[Breakpoint, ...] = ()
    resume: Any = None
    answer: Any = None


class ComponentPaused(HaybaleError):
    """Raised by a component to pause the run (at an inner breakpoint, or to ask the caller something).

    The pipeline turns it into :class:`~haybale.errors.BreakpointReached` with a snapshot that holds
    ``state``; resuming gives the component that state back through :func:`current_controls`.

    Args:
        message: why the component paused (shown to the caller).
        state: everything the component needs to continue (encodable: plain data, haybale dataclasses).
        question: what the component asks the caller (None when it only stopped at a breakpoint).
        breakpoint: the breakpoint that stopped it, when one did.
    """

    def __init__(
        self, message: str, *, state: Any, question: Any = None, breakpoint: Breakpoint | None = None
    ) -> None:
        super().__init__(message)
        self.state = state
        self.question = question
        self.breakpoint = breakpoint


_controls: ContextVar[ComponentControls | None] = ContextVar("haybale_component_controls", default=None)


def current_controls() -> ComponentControls | None:
    """The controls of the component running in this context, or None outside a controlled pipeline run."""
    return _controls.get()


@contextmanager
def controls_scope(controls: ComponentControls | None) -> Iterator[None]:
    """Make ``controls`` what :func:`current_controls` returns for the duration of a ``with`` block."""
    token = _controls.set(controls)
    try:
        yield
    finally:
        _controls.reset(token)
