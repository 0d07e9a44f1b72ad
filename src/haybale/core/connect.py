"""Resolving ``Pipeline.connect("a.out", "b.in")`` into one checked edge, with errors that show the fix."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, get_args, get_origin

from haybale.core.plan import Edge
from haybale.core.sockets import InputSocket, OutputSocket, describe_type
from haybale.core.types import find_conversion, is_union, types_compatible
from haybale.errors import PipelineConnectError

__all__ = ["accepts_many_senders", "parse_address", "resolve_connection"]


def parse_address(address: str, components: Mapping[str, Any], role: str) -> tuple[str, str | None]:
    """Split ``"component.socket"`` (or ``"component"``) and check the component exists."""
    if not isinstance(address, str) or not address:
        raise PipelineConnectError(f"The {role} of connect() must be 'component' or 'component.socket'.")
    name, _, socket = address.partition(".")
    if name not in components:
        raise PipelineConnectError(
            f"Cannot connect {role} '{address}': there is no component named '{name}'. Components: "
            f"{sorted(components)}. Add it first with add_component('{name}', ...)."
        )
    return name, (socket or None)


def accepts_many_senders(socket: InputSocket) -> bool:
    """Variadic inputs and ``list[...]`` inputs (which become lazy-variadic and join their lists)."""
    if socket.variadic is not None:
        return True
    tp = socket.type
    members = get_args(tp) if is_union(tp) else (tp,)
    return any(get_origin(m) is list for m in members if m is not type(None))


def _call(sender: str, output: str, receiver: str, socket: str) -> str:
    return f'connect("{sender}.{output}", "{receiver}.{socket}")'


def resolve_connection(
    *,
    sender: str,
    output: str | None,
    receiver: str,
    socket: str | None,
    outputs: Mapping[str, OutputSocket],
    inputs: Mapping[str, InputSocket],
    taken: Mapping[str, list[str]],
) -> Edge:
    """Pick the output/input pair a connect() call means and check it.

    Args:
        taken: for each input of ``receiver``, the senders ("comp.out") already connected to it.

    Raises:
        PipelineConnectError: unknown sockets, incompatible types, an ambiguous or impossible choice, or an
            input that already has a sender and cannot take another. The message lists the candidates and the
            exact connect(...) call that would work.
    """
    if output is not None and output not in outputs:
        listing = ", ".join(o.describe() for o in outputs.values()) or "none"
        raise PipelineConnectError(f"Component '{sender}' has no output '{output}'. Its outputs: {listing}.")
    if socket is not None and socket not in inputs:
        listing = ", ".join(i.describe() for i in inputs.values()) or "none"
        raise PipelineConnectError(f"Component '{receiver}' has no input '{socket}'. Its inputs: {listing}.")
    out_names = [output] if output is not None else list(outputs)
    in_names = [socket] if socket is not None else list(inputs)
    compatible: list[tuple[str, str, Callable[[Any], Any] | None]] = []
    for o in out_names:
        for i in in_names:
            if types_compatible(outputs[o].type, inputs[i].type):
                compatible.append((o, i, None))
            else:
                conversion = find_conversion(outputs[o].type, inputs[i].type)
                if conversion is not None:
                    compatible.append((o, i, conversion))
    explicit = output is not None and socket is not None
    free = [c for c in compatible if explicit or not taken.get(c[1]) or accepts_many_senders(inputs[c[1]])]
    if not free:
        raise _no_match(
            sender=sender,
            output=output,
            receiver=receiver,
            socket=socket,
            outputs=outputs,
            inputs=inputs,
            compatible=compatible,
        )
    pool = [c for c in free if c[2] is None] or free
    if len(pool) > 1:
        same_name = [c for c in pool if c[0] == c[1]]
        pool = same_name if len(same_name) == 1 else pool
    if len(pool) > 1:  # an unambiguous mandatory input wins over optional ones
        mandatory = [c for c in pool if inputs[c[1]].is_mandatory]
        pool = mandatory if len(mandatory) == 1 else pool
    if len(pool) > 1:
        calls = "; ".join(_call(sender, o, receiver, i) for o, i, _ in pool)
        raise PipelineConnectError(
            f"connect('{sender}', '{receiver}') is ambiguous: several output/input pairs fit. Name the "
            f"sockets with one of: {calls}."
        )
    o, i, conversion = pool[0]
    existing = taken.get(i, [])
    if existing and f"{sender}.{o}" not in existing and not accepts_many_senders(inputs[i]):
        raise PipelineConnectError(
            f"Cannot connect '{sender}.{o}' to '{receiver}.{i}': that input already receives from "
            f"{existing[0]!r} and its type {describe_type(inputs[i].type)} takes one sender. Declare it as "
            "Variadic[...] (or a list[...] input, which joins lists), or put a BranchJoiner in front of it."
        )
    return Edge(sender, o, receiver, i, conversion)


def _no_match(
    *,
    sender: str,
    output: str | None,
    receiver: str,
    socket: str | None,
    outputs: Mapping[str, OutputSocket],
    inputs: Mapping[str, InputSocket],
    compatible: list[tuple[str, str, Callable[[Any], Any] | None]],
) -> PipelineConnectError:
    if output is not None and socket is not None:
        head = (
            f"Cannot connect '{sender}.{output}' ({describe_type(outputs[output].type)}) to "
            f"'{receiver}.{socket}' ({describe_type(inputs[socket].type)}): the types are not compatible."
        )
    else:
        head = f"Cannot connect '{sender}' to '{receiver}': no free output/input pair has compatible types."
    works = [
        _call(sender, o, receiver, i)
        for o in outputs
        for i in inputs
        if types_compatible(outputs[o].type, inputs[i].type)
        or find_conversion(outputs[o].type, inputs[i].type)
    ]
    sender_list = ", ".join(o.describe() for o in outputs.values()) or "none"
    receiver_list = ", ".join(i.describe() for i in inputs.values()) or "none"
    hint = f" This would work: {'; '.join(works)}." if works else " No pair of these sockets is compatible."
    if compatible and not works:
        hint = " The compatible inputs already have a sender."
    return PipelineConnectError(
        f"{head} Outputs of '{sender}': {sender_list}. Inputs of '{receiver}': {receiver_list}.{hint}"
    )
