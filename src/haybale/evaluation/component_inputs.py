"""What a component received in one evaluated run, rebuilt from the pipeline's connections.

Generator rubrics are scored against the *rendered prompt* the model was given, and the prompt builder's
rubric against the documents it was handed. Those are inputs, not outputs: this module finds each input's
sender and reads the sender's kept output, or, for an input nothing is connected to, the run data the caller
gave (nested ``{"component": {"socket": ...}}`` or flat ``{"socket": ...}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["MISSING", "component_input", "senders_of"]

#: returned when an input cannot be rebuilt
MISSING: Any = object()


def senders_of(pipeline: Any, component: str, socket: str) -> list[tuple[str, str]]:
    """``[(sender component, sender output)]`` connected to ``component.socket``, in connection order."""
    target = f"{component}.{socket}"
    found = []
    for sender, receiver in pipeline.connections():
        if receiver == target:
            name, _, output = sender.partition(".")
            found.append((name, output))
    return found


def component_input(
    pipeline: Any,
    outputs: Mapping[str, Mapping[str, Any]],
    run_data: Mapping[str, Any],
    component: str,
    socket: str,
) -> Any:
    """The value ``component.socket`` received in a run whose kept outputs are ``outputs``, or
    :data:`MISSING`. An input fed by several senders (a variadic) gets the list of their values."""
    senders = senders_of(pipeline, component, socket)
    if senders:
        values = [outputs[name][output] for name, output in senders if output in outputs.get(name, {})]
        if not values:
            return MISSING
        return values[0] if len(values) == 1 else values
    nested = run_data.get(component)
    if isinstance(nested, Mapping) and socket in nested:
        return nested[socket]
    if socket in run_data and socket not in {name for name, _ in pipeline.walk()}:
        return run_data[socket]
    return MISSING
