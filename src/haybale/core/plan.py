"""The compiled execution plan of a pipeline: an immutable snapshot that every run reads and none mutates.

Compiling once (and again only after the graph changes) keeps the per-run hot path free of socket look-ups,
type checks and topological sorting, and lets many concurrent runs share one plan safely.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, get_origin

from haybale.core.isolation import Copier, copier_for_type
from haybale.core.sockets import InputSocket, OutputSocket
from haybale.core.types import value_checker

__all__ = [
    "GREEDY",
    "JOIN",
    "LAZY",
    "PLAIN",
    "Edge",
    "NodePlan",
    "PipelinePlan",
    "StaticRoute",
    "StaticSchedule",
    "StaticStep",
    "compile_plan",
]

#: How an input socket collects values: one value, lazy variadic, greedy variadic, or joined lists.
PLAIN: Final = 0
LAZY: Final = 1
GREEDY: Final = 2
JOIN: Final = 3


@dataclass(frozen=True)
class Edge:
    """One connection as stored by the pipeline graph."""

    sender: str
    output: str
    receiver: str
    input: str
    conversion: Callable[[Any], Any] | None = None


@dataclass(eq=False)
class NodePlan:
    """Everything the scheduler needs to know about one component, precomputed."""

    name: str
    instance: Any
    rank: int
    run: Callable[..., Any]
    run_async: Callable[..., Any] | None
    sockets: dict[str, InputSocket]
    defaults: dict[str, Any]
    mandatory: tuple[str, ...]
    kinds: dict[str, int]
    greedy: tuple[str, ...]
    waitable: tuple[str, ...]
    waitable_counts: tuple[tuple[str, int], ...]
    senders: dict[str, tuple[str, ...]]
    user_copiers: dict[str, Copier | None]
    #: output -> (receiver, input, input kind, conversion, number of senders of that input)
    targets: dict[str, tuple[tuple[str, str, int, Callable[[Any], Any] | None, int], ...]]
    out_copiers: dict[str, Copier | None]
    simple: bool
    successors: frozenset[str] = frozenset()
    reach: frozenset[str] = frozenset()
    #: socket -> shallow check of a caller-given value (None: anything goes); see ``value_checker``
    user_checks: dict[str, Callable[[Any], bool] | None] = field(default_factory=dict)
    #: ``list[...]`` inputs with a sender: a value the caller also gives them is prepended to the senders'
    connected_lists: frozenset[str] = frozenset()


#: Where one output goes in a static run: ``(receiver, input, lazy)`` (a lazy-variadic input when ``lazy``).
StaticRoute = tuple[str, str, bool]

#: One component of a static schedule: ``(name, plan, run, simple, mandatory inputs, hand-over, single routes,
#: fan-out routes)``. ``hand-over``: a simple component without defaults, whose waiting values can become its
#: kwargs as they are. The routes (output -> one route, output -> several) are given only when every
#: connection of the component goes to a plain or lazy-variadic input without conversion, else both are None.
StaticStep = tuple[
    str,
    NodePlan,
    Callable[..., Any],
    bool,
    tuple[str, ...],
    bool,
    dict[str, StaticRoute] | None,
    dict[str, tuple[StaticRoute, ...]] | None,
]


@dataclass(frozen=True)
class StaticSchedule:
    """The precompiled order of a graph without loops and without greedy inputs (see ``static_run``).

    In such a graph every component runs at most once per run and, as long as no component has to wait for a
    sender that will not deliver, in topological order: a plain run can walk this order instead of keeping a
    priority queue.
    """

    #: every component, by topological rank
    steps: tuple[StaticStep, ...]
    #: components without connected inputs (triggered on the first visit without any value)
    sources: frozenset[str]
    #: components with ``list[...]`` inputs that also have senders, and those inputs
    list_inputs: tuple[tuple[str, frozenset[str]], ...]


@dataclass(frozen=True)
class PipelinePlan:
    """All node plans plus the lookup tables used to validate run inputs."""

    nodes: dict[str, NodePlan]
    sources: tuple[str, ...]
    flat_inputs: dict[str, tuple[tuple[str, str], ...]]
    #: connected variadic inputs by name: where a flat input goes when no unconnected input has its name
    #: (the entry of a loop, as in Haystack)
    flat_variadic: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    #: the precompiled order plain runs follow; None when the graph has a loop or a greedy input
    static: StaticSchedule | None = None


def _ranks(names: list[str], successors: Mapping[str, set[str]]) -> dict[str, int]:
    """Topological ranks; cycles are broken at the node with the fewest unresolved senders, then by name."""
    indegree = dict.fromkeys(names, 0)
    for name in names:
        for succ in successors[name]:
            if succ != name:
                indegree[succ] += 1
    remaining = set(names)
    ranks: dict[str, int] = {}
    while remaining:
        ready = sorted(n for n in remaining if indegree[n] == 0)
        if not ready:
            ready = [min(remaining, key=lambda n: (indegree[n], n))]
        for name in ready:
            remaining.discard(name)
            ranks[name] = len(ranks)
            for succ in successors[name]:
                if succ in remaining and succ != name:
                    indegree[succ] -= 1
    return ranks


def _reachable(start: str, successors: Mapping[str, set[str]]) -> frozenset[str]:
    seen: set[str] = set()
    stack = list(successors[start])
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(successors[node])
    return frozenset(seen)


def _socket_kind(socket: InputSocket, n_senders: int) -> int:
    if socket.variadic == "greedy":
        return GREEDY
    if socket.variadic == "lazy":
        return LAZY
    return JOIN if n_senders > 1 else PLAIN


def compile_plan(
    components: Mapping[str, Any],
    inputs: Mapping[str, dict[str, InputSocket]],
    outputs: Mapping[str, dict[str, OutputSocket]],
    edges: list[Edge],
) -> PipelinePlan:
    """Compile the graph into a :class:`PipelinePlan`."""
    names = list(components)
    successors: dict[str, set[str]] = {n: set() for n in names}
    senders: dict[str, dict[str, list[str]]] = {n: {} for n in names}
    targets: dict[str, dict[str, list[tuple[str, str, Callable[[Any], Any] | None]]]] = {n: {} for n in names}
    for edge in edges:
        successors[edge.sender].add(edge.receiver)
        senders[edge.receiver].setdefault(edge.input, []).append(edge.sender)
        targets[edge.sender].setdefault(edge.output, []).append((edge.receiver, edge.input, edge.conversion))
    ranks = _ranks(names, successors)
    nodes: dict[str, NodePlan] = {}
    flat: dict[str, list[tuple[str, str]]] = {}
    flat_variadic: dict[str, list[tuple[str, str]]] = {}
    for name in names:
        sockets = inputs[name]
        node_senders = {s: tuple(v) for s, v in senders[name].items()}
        kinds = {s: _socket_kind(sock, len(node_senders.get(s, ()))) for s, sock in sockets.items()}
        for s, sock in sockets.items():
            if s not in node_senders:
                flat.setdefault(s, []).append((name, s))
            elif sock.is_variadic:
                flat_variadic.setdefault(s, []).append((name, s))
        waitable = tuple(
            s
            for s, sock in sockets.items()
            if s in node_senders
            and (kinds[s] in (LAZY, JOIN) or (kinds[s] == PLAIN and not sock.is_mandatory))
        )
        user_copiers = {s: copier_for_type(sock.type) for s, sock in sockets.items()}
        nodes[name] = NodePlan(
            name=name,
            instance=components[name],
            rank=ranks[name],
            run=components[name].run,
            run_async=getattr(components[name], "run_async", None),
            sockets=sockets,
            # A variadic input is always a list: a default it falls back to arrives as a one-element list.
            defaults={
                s: [sock.default] if sock.is_variadic and sock.default is not None else sock.default
                for s, sock in sockets.items()
                if not sock.is_mandatory
            },
            mandatory=tuple(s for s, sock in sockets.items() if sock.is_mandatory),
            kinds=kinds,
            greedy=tuple(s for s, k in kinds.items() if k == GREEDY),
            waitable=waitable,
            waitable_counts=tuple((s, 0 if kinds[s] == PLAIN else len(node_senders[s])) for s in waitable),
            senders=node_senders,
            user_copiers=user_copiers,
            targets={},
            out_copiers={o: copier_for_type(sock.type) for o, sock in outputs[name].items()},
            simple=all(k == PLAIN for k in kinds.values()) and not waitable,
            successors=frozenset(successors[name]),
            reach=_reachable(name, successors),
            user_checks={s: value_checker(sock.type) for s, sock in sockets.items()},
            connected_lists=frozenset(
                s
                for s, sock in sockets.items()
                if s in node_senders and kinds[s] in (PLAIN, JOIN) and get_origin(sock.type) is list
            ),
        )
    for name, node in nodes.items():
        node.targets = {
            out: tuple((r, s, nodes[r].kinds[s], conv, len(nodes[r].senders[s])) for r, s, conv in lst)
            for out, lst in targets[name].items()
        }
    sources = tuple(sorted((n for n in names if not senders[n]), key=lambda n: ranks[n]))
    return PipelinePlan(
        nodes=nodes,
        sources=sources,
        flat_inputs={k: tuple(v) for k, v in flat.items()},
        flat_variadic={k: tuple(v) for k, v in flat_variadic.items()},
        static=_static_schedule(nodes, sources),
    )


def _static_schedule(nodes: dict[str, NodePlan], sources: tuple[str, ...]) -> StaticSchedule | None:
    """The static schedule of an acyclic graph without greedy inputs; None for any other graph."""
    if any(node.greedy or name in node.reach for name, node in nodes.items()):
        return None
    steps = tuple(
        (
            node.name,
            node,
            node.run,
            node.simple,
            node.mandatory,
            node.simple and not node.defaults,
            *_static_routes(node),
        )
        for node in sorted(nodes.values(), key=lambda node: node.rank)
    )
    return StaticSchedule(
        steps=steps,
        sources=frozenset(sources),
        list_inputs=tuple(
            (name, node.connected_lists) for name, node in nodes.items() if node.connected_lists
        ),
    )


def _static_routes(
    node: NodePlan,
) -> tuple[dict[str, StaticRoute], dict[str, tuple[StaticRoute, ...]]] | tuple[None, None]:
    single: dict[str, StaticRoute] = {}
    several: dict[str, tuple[StaticRoute, ...]] = {}
    for output, receivers in node.targets.items():
        if any(
            kind not in (PLAIN, LAZY) or conversion is not None for _, _, kind, conversion, _ in receivers
        ):
            return None, None
        routes = tuple((receiver, socket, kind == LAZY) for receiver, socket, kind, _, _ in receivers)
        if len(routes) == 1:
            single[output] = routes[0]
        else:
            several[output] = routes
    return single, several
