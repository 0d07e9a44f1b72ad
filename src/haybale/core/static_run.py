"""The plain run of a static graph: the precompiled order instead of the priority queue.

``RunState`` (``haybale.core.scheduler``) decides, after every visit, which component runs next: a heap of
ready components ordered by topological rank, a set of components that wait for optional or variadic
senders, visit counts, pending sets. In a graph without loops and without greedy inputs
(:class:`~haybale.core.plan.StaticSchedule`) most of that work has a foregone answer:

- every component is ready at most once, so the heap only ever yields components in rank order (a component
  that becomes ready is a successor of the one that just ran, hence of higher rank, and ranks are unique);
- a component whose senders all have lower ranks has, by its turn, received everything it will ever receive.

So this loop walks the components in rank order and, at each one, asks the same readiness question as the
scheduler (:func:`~haybale.core.scheduler.node_status`) on the values that wait for it: ready components run,
blocked ones are skipped. The one answer it does not handle is "waiting": a component whose optional or
variadic input still misses a sender that will not deliver (a router took another branch). The scheduler
holds such a component back until nothing else is ready, which is no longer rank order; at that point the
loop rebuilds the scheduler's exact state (:meth:`RunState.after_static_prefix`) and the general loop
finishes the run. Inputs, copies, outputs, results, errors and failure snapshots go through the scheduler's
own functions, so both loops give the same result, the same calls in the same order, and the same errors.

Plain runs only: tracing, breakpoints, snapshots, checkpoints and ``run_async`` use the general loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from haybale.core.isolation import ATOM_TYPES, copy_value
from haybale.core.scheduler import (
    BLOCKED,
    READY,
    RunState,
    build_kwargs,
    merge_result,
    node_status,
    route_outputs,
)

if TYPE_CHECKING:
    from haybale.core.pipeline import Pipeline
    from haybale.core.plan import NodePlan, PipelinePlan, StaticSchedule

__all__ = ["run_static"]


def run_static(  # noqa: PLR0912, PLR0915 - the hot loop, kept flat on purpose
    pipeline: Pipeline,
    plan: PipelinePlan,
    schedule: StaticSchedule,
    user: dict[str, dict[str, Any]],
    include: frozenset[str],
) -> dict[str, dict[str, Any]] | RunState:
    """Run ``plan`` in its static order with the caller's normalized inputs ``user``.

    Returns:
        The run's result, or a started :class:`RunState` holding exactly what the general scheduler would
        hold at this point, for the general loop to finish the run.

    Raises:
        PipelineRuntimeError: a component raised or returned a non-dict (with the scheduler's snapshot).
        BreakpointReached: a component paused the run.
    """
    max_runs = pipeline.max_runs_per_component
    for name, lists in schedule.list_inputs:
        given = user.get(name)
        if given is not None and not lists.isdisjoint(given):
            # the caller's items go first on these inputs: the general scheduler keeps them apart
            return _general(plan, user, include, max_runs)
    received: dict[str, dict[str, Any]] = {}
    arrived: dict[str, dict[str, set[str]]] = {}
    leaf: dict[str, dict[str, Any]] = {}
    full: dict[str, dict[str, Any]] = {}
    visited: list[str] = []
    sources = schedule.sources
    for name, node, run, simple, mandatory, hand_over, single, several in schedule.steps:
        slots = received.get(name)
        given = user.get(name)
        if slots is None and given is None and name not in sources:
            continue  # nothing triggered it
        if simple:
            status = READY
            for socket in mandatory:
                if (slots is None or socket not in slots) and (given is None or socket not in given):
                    status = BLOCKED
                    break
        else:
            status = node_status(node, slots, given, arrived.get(name))
        if status != READY:
            if status == BLOCKED:
                continue  # all its senders have had their turn: it never runs (stuck if it got values)
            # it waits for a sender that will not deliver: the scheduler takes over from here
            return _state(plan, user, include, max_runs, received, arrived, visited, leaf, full)
        if slots is not None:
            del received[name]
        if hand_over and given is None and slots is not None:
            kwargs = slots  # the slots dict is this visit's own: hand it over as the kwargs
        else:
            if not simple:
                arrived.pop(name, None)
            kwargs = build_kwargs(node, given, slots)
        visited.append(name)
        try:
            outputs = run(**kwargs)
        except Exception as exc:
            state = _state(plan, user, include, max_runs, received, arrived, visited, leaf, full)
            raise _failure(pipeline, state, node, kwargs, exc) from exc
        if type(outputs) is not dict and not isinstance(outputs, dict):
            state = _state(plan, user, include, max_runs, received, arrived, visited, leaf, full)
            raise _not_a_dict(pipeline, state, node, kwargs, outputs)
        if single is None or several is None or (include and name in include):
            route_outputs(node, outputs, name in include, received, arrived, leaf, full)
            continue
        # route_outputs for plain and lazy-variadic receivers without conversion, of a component that runs
        # once and whose outputs are not returned in full: the same slots and copies, no readiness bookkeeping
        own_leaf: dict[str, Any] | None = None
        for key, value in outputs.items():
            route = single.get(key)
            if route is not None:  # one receiver: it takes the original
                receiver, socket, lazy = route
                if lazy:
                    _append_lazy(received, arrived, name, receiver, socket, value)
                    continue
                target = received.get(receiver)
                if target is None:
                    received[receiver] = {socket: value}
                else:
                    target[socket] = value
                continue
            routes = several.get(key)
            if routes is None:  # connected to nothing: part of the result
                if own_leaf is None:
                    own_leaf = leaf[name] = {}
                own_leaf[key] = value
                continue
            last = len(routes) - 1  # the last receiver takes the original, the others a copy
            copier = None if type(value) in ATOM_TYPES else node.out_copiers.get(key, copy_value)
            for index, (receiver, socket, lazy) in enumerate(routes):
                item = value if copier is None or index == last else copier(value)
                if lazy:
                    _append_lazy(received, arrived, name, receiver, socket, item)
                    continue
                target = received.get(receiver)
                if target is None:
                    received[receiver] = {socket: item}
                else:
                    target[socket] = item
    if not visited:  # nothing could start: the scheduler raises the error that names what is missing
        return _general(plan, user, include, max_runs)
    if received:  # components that got values but never ran: the scheduler logs what they waited for
        _state(plan, user, include, max_runs, received, arrived, visited, leaf, full).log_stuck()
    return merge_result(leaf, full)


def _append_lazy(  # noqa: PLR0917 - called per delivery, positional on purpose
    received: dict[str, dict[str, Any]],
    arrived: dict[str, dict[str, set[str]]],
    sender: str,
    receiver: str,
    socket: str,
    item: Any,
) -> None:
    """Add ``item`` to a lazy-variadic input and record that ``sender`` delivered to it."""
    target = received.get(receiver)
    if target is None:
        received[receiver] = {socket: [item]}
    else:
        values = target.get(socket)
        if values is None:
            target[socket] = [item]
        else:
            values.append(item)
    per_node = arrived.get(receiver)
    if per_node is None:
        arrived[receiver] = {socket: {sender}}
    elif socket in per_node:
        per_node[socket].add(sender)
    else:
        per_node[socket] = {sender}


def _general(
    plan: PipelinePlan, user: dict[str, dict[str, Any]], include: frozenset[str], max_runs: int
) -> RunState:
    """A started general run (nothing has run yet)."""
    state = RunState(plan, user, include, max_runs)
    state.start()
    return state


def _state(  # noqa: PLR0917 - the run's containers, handed over as they are
    plan: PipelinePlan,
    user: dict[str, dict[str, Any]],
    include: frozenset[str],
    max_runs: int,
    received: dict[str, dict[str, Any]],
    arrived: dict[str, dict[str, set[str]]],
    visited: list[str],
    leaf: dict[str, dict[str, Any]],
    full: dict[str, dict[str, Any]],
) -> RunState:
    return RunState.after_static_prefix(
        plan,
        user,
        include,
        max_runs,
        received=received,
        arrived=arrived,
        visited=visited,
        leaf=leaf,
        full=full,
    )


def _failure(
    pipeline: Pipeline, state: RunState, node: NodePlan, kwargs: dict[str, Any], exc: Exception
) -> Exception:
    from haybale.core.resumable import failure_error
    from haybale.core.snapshot import StartedVisit

    return failure_error(None, pipeline, state, node, StartedVisit(1, kwargs), exc=exc)


def _not_a_dict(
    pipeline: Pipeline, state: RunState, node: NodePlan, kwargs: dict[str, Any], value: Any
) -> Exception:
    from haybale.core.resumable import not_a_dict_failure
    from haybale.core.snapshot import StartedVisit

    return not_a_dict_failure(None, pipeline, state, node, StartedVisit(1, kwargs), value=value)
