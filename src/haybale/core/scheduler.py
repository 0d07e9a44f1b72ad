"""Readiness and ordering rules shared by ``Pipeline.run`` and ``Pipeline.run_async`` (DESIGN §3).

A :class:`RunState` holds everything one run owns (values waiting in sockets, visit counts, results); the
pipeline and its plan are never mutated, so one pipeline serves many concurrent runs.

Priorities: a component whose greedy variadic input holds a value runs first (0); then components that have
all they need (1, READY); then components that have their mandatory inputs but still wait for an optional or
lazy-variadic sender (2, DEFER). Ties are broken by topological rank, then name. A deferred component runs
when no READY component is left and none of the senders it waits for can still run (cycles are broken at the
lowest rank).
"""

from __future__ import annotations

import heapq
from typing import Any, Final

from haybale.core.isolation import ATOM_TYPES, copy_value
from haybale.core.plan import GREEDY, JOIN, PLAIN, NodePlan, PipelinePlan
from haybale.core.sockets import describe_type
from haybale.errors import PipelineComponentsBlockedError, PipelineMaxComponentRuns, PipelineRuntimeError

__all__ = [
    "BLOCKED",
    "DEFER",
    "GREEDY_READY",
    "READY",
    "RunState",
    "build_kwargs",
    "node_status",
    "route_outputs",
]

LOGGER_NAME: Final = "haybale.pipeline"

GREEDY_READY: Final = 0
READY: Final = 1
DEFER: Final = 2
BLOCKED: Final = 3


class RunState:
    """The mutable state of one pipeline run."""

    __slots__ = (
        "arrived",
        "deferred",
        "full",
        "heap",
        "include",
        "leaf",
        "max_runs",
        "nodes",
        "pending",
        "plan",
        "prepend",
        "queued",
        "received",
        "user",
        "visits",
    )

    def __init__(
        self,
        plan: PipelinePlan,
        user_inputs: dict[str, dict[str, Any]],
        include_outputs_from: frozenset[str],
        max_runs: int,
    ) -> None:
        self.plan = plan
        self.nodes = plan.nodes
        self.user = user_inputs
        self.include = include_outputs_from
        self.max_runs = max_runs
        self.received: dict[str, dict[str, Any]] = {}
        self.arrived: dict[str, dict[str, set[str]]] = {}
        self.visits: dict[str, int] = {}
        self.pending: set[str] = set()
        self.heap: list[tuple[int, int, str]] = []
        self.queued: dict[str, int] = {}
        self.deferred: set[str] = set()
        self.leaf: dict[str, dict[str, Any]] = {}
        self.full: dict[str, dict[str, Any]] = {}
        self.prepend = self._split_list_inputs()

    def _split_list_inputs(self) -> dict[str, dict[str, Any]]:
        """Take out user values given to ``list[...]`` inputs that also have senders: such an input gets the
        user's items first, then the senders' (Haystack 2.x), and waits for its senders as usual."""
        prepend: dict[str, dict[str, Any]] = {}
        for name, values in self.user.items():
            lists = self.nodes[name].connected_lists
            if not lists:
                continue
            moved = {socket: values[socket] for socket in lists if socket in values}
            if moved:
                prepend[name] = moved
                self.user[name] = {k: v for k, v in values.items() if k not in moved}
        return prepend

    # ---------------------------------------------------------------- snapshots
    def export(self) -> dict[str, Any]:
        """This run's state as plain containers (values are not copied; the run must be over or stopped)."""
        return {
            "user": self.user,
            "prepend": self.prepend,
            "received": self.received,
            "arrived": {n: {s: sorted(got) for s, got in per.items()} for n, per in self.arrived.items()},
            "visits": dict(self.visits),
            "pending": sorted(self.pending),
            "queued": {n: status for n, status in self.queued.items()},
            "deferred": sorted(self.deferred),
            "leaf": self.leaf,
            "full": self.full,
            "include": sorted(self.include),
        }

    @classmethod
    def restore(cls, plan: PipelinePlan, exported: dict[str, Any], max_runs: int) -> RunState:
        """A run state continuing where :meth:`export` left it (``exported`` is taken over, not copied)."""
        state = cls(plan, {}, frozenset(exported["include"]), max_runs)
        state.user = exported["user"]
        state.prepend = exported["prepend"]
        state.received = exported["received"]
        state.arrived = {n: {s: set(got) for s, got in per.items()} for n, per in exported["arrived"].items()}
        state.visits = dict(exported["visits"])
        state.pending = set(exported["pending"])
        state.queued = dict(exported["queued"])
        state.heap = [(status, plan.nodes[n].rank, n) for n, status in state.queued.items()]
        heapq.heapify(state.heap)
        state.deferred = set(exported["deferred"])
        state.leaf = exported["leaf"]
        state.full = exported["full"]
        return state

    @classmethod
    def after_static_prefix(
        cls,
        plan: PipelinePlan,
        user_inputs: dict[str, dict[str, Any]],
        include_outputs_from: frozenset[str],
        max_runs: int,
        *,
        received: dict[str, dict[str, Any]],
        arrived: dict[str, dict[str, set[str]]],
        visited: list[str],
        leaf: dict[str, dict[str, Any]],
        full: dict[str, dict[str, Any]],
    ) -> RunState:
        """The state this scheduler holds after the components in ``visited`` ran once each in rank order.

        A static run (``haybale.core.static_run``) follows exactly this scheduler's choices up to that point
        without keeping a queue; this rebuilds the queue from the values waiting for each component, so the
        run can continue here (or be snapshot on a failure). The containers are taken over, not copied.
        """
        state = cls(plan, user_inputs, include_outputs_from, max_runs)
        state.received = received
        state.arrived = arrived
        state.visits = dict.fromkeys(visited, 1)
        state.leaf = leaf
        state.full = full
        nodes = plan.nodes
        pending = {n for n in (*plan.sources, *user_inputs) if n not in state.visits}
        pending.update(received)
        state.pending = pending
        # a component's readiness depends only on its own slots, so evaluating it now gives what the scheduler
        # computed when its last value arrived
        for name in sorted(pending, key=lambda n: nodes[n].rank):
            state._evaluate(nodes[name])
        return state

    def node(self, name: str) -> NodePlan:
        """The plan of component ``name``."""
        return self.nodes[name]

    # ---------------------------------------------------------------- readiness
    def start(self) -> None:
        """Trigger the components that have user input or no connected inputs.

        Raises:
            PipelineComponentsBlockedError: when none of them can run (nothing has run yet).
        """
        nodes = self.nodes
        first = self.plan.sources
        if self.user:
            extra = [n for n in self.user if n not in first]
            if extra:
                first = tuple(sorted((*first, *extra), key=lambda n: nodes[n].rank))
        for name in first:
            self.pending.add(name)
            self._evaluate(nodes[name])
        if not self.heap and not self.deferred:
            raise PipelineComponentsBlockedError(self._blocked_message())

    def _status(self, node: NodePlan) -> int:
        name = node.name
        return node_status(node, self.received.get(name), self.user.get(name), self.arrived.get(name))

    def _evaluate(self, node: NodePlan) -> None:
        status = self._status(node)
        name = node.name
        if status == BLOCKED:
            return
        if status == DEFER:
            self.deferred.add(name)
            return
        self.deferred.discard(name)
        if self.queued.get(name) != status:
            self.queued[name] = status
            heapq.heappush(self.heap, (status, node.rank, name))

    def next_component(self) -> NodePlan | None:
        """The component that runs next, or None when nothing can run any more."""
        heap = self.heap
        while heap:
            status, _, name = heapq.heappop(heap)
            if self.queued.get(name) == status:
                del self.queued[name]
                return self.nodes[name]
        if self.deferred:
            name = self._resolve_deferred()
            self.deferred.discard(name)
            return self.nodes[name]
        return None

    def ready_names(self) -> list[str]:
        """Names currently queued as ready, in the order they would run."""
        return [name for status, _, name in sorted(self.heap) if self.queued.get(name) == status]

    def _waiting_on(self, node: NodePlan) -> set[str]:
        received = self.received.get(node.name) or {}
        arrived = self.arrived.get(node.name) or {}
        waiting: set[str] = set()
        for socket in node.waitable:
            if node.kinds[socket] == PLAIN:
                if socket not in received:
                    waiting.update(node.senders[socket])
            else:
                waiting.update(set(node.senders[socket]) - arrived.get(socket, set()))
        return waiting

    def _resolve_deferred(self) -> str:
        nodes = self.nodes
        ordered = sorted(self.deferred, key=lambda n: (nodes[n].rank, n))
        for name in ordered:
            waiting = self._waiting_on(nodes[name])
            alive: set[str] = set()
            stack = [n for n in self.deferred if n != name]
            while stack:
                current = stack.pop()
                if current in alive or current == name:
                    continue
                alive.add(current)
                stack.extend(nodes[current].successors)
            if not waiting & alive:
                return name
        return ordered[0]

    # ---------------------------------------------------------------- inputs and outputs
    def take_inputs(self, node: NodePlan) -> tuple[dict[str, Any], int]:
        """Consume the values waiting for ``node`` and build its ``run`` kwargs (defaults filled in).

        Raises:
            PipelineMaxComponentRuns: when this visit would exceed ``max_runs_per_component``.
        """
        name = node.name
        visit = self.visits.get(name, 0) + 1
        if visit > self.max_runs:
            raise PipelineMaxComponentRuns(
                f"Component '{name}' was about to run for the {_ordinal(visit)} time, more than "
                f"max_runs_per_component={self.max_runs}. The pipeline probably loops without an exit: check "
                "the loop's exit condition, or raise Pipeline(max_runs_per_component=...) if the loop is "
                "meant to run longer."
            )
        self.visits[name] = visit
        self.pending.discard(name)
        received = self.received.pop(name, None)
        user = self.user.get(name)
        prepend = self.prepend.get(name) if self.prepend else None
        if prepend is not None and received is not None:
            received = {**received}
            copiers = node.user_copiers
            for socket, value in prepend.items():
                if socket in received:
                    copier = copiers[socket]
                    mine = value if copier is None else copier(value)
                    received[socket] = [*mine, *received[socket]]
        if node.simple:
            if user is None and received is not None and not node.defaults:
                return received, visit  # the slots dict is this run's own: hand it over as the kwargs
        else:
            self.arrived.pop(name, None)
        return build_kwargs(node, user, received), visit

    def deliver(self, node: NodePlan, outputs: dict[str, Any]) -> None:
        """Route one run's outputs to receivers and results (see :func:`route_outputs`) and queue the
        receivers that became ready."""
        touched = route_outputs(
            node, outputs, node.name in self.include, self.received, self.arrived, self.leaf, self.full
        )
        if not touched:
            return
        nodes = self.nodes
        pending = self.pending
        queued = self.queued
        users = self.user
        deferred = self.deferred
        received = self.received
        for receiver, still_waiting in touched.items():
            pending.add(receiver)
            target = nodes[receiver]
            if not target.simple:
                # a deferred node that only got more values for an incomplete lazy input stays deferred
                if not (still_waiting and receiver in deferred):
                    self._evaluate(target)
                continue
            # inlined readiness of a simple node (only plain inputs, nothing optional to wait for)
            slots = received[receiver]
            user = users.get(receiver)
            for socket in target.mandatory:
                if socket not in slots and (user is None or socket not in user):
                    break
            else:
                if queued.get(receiver) != READY:
                    queued[receiver] = READY
                    heapq.heappush(self.heap, (READY, target.rank, receiver))

    def result(self) -> dict[str, dict[str, Any]]:
        """The result: leaf outputs plus full outputs of ``include_outputs_from`` (last visit wins)."""
        return merge_result(self.leaf, self.full)

    # ---------------------------------------------------------------- diagnostics
    def _missing(self, node: NodePlan) -> list[str]:
        received = self.received.get(node.name) or {}
        user = self.user.get(node.name) or {}
        missing = []
        for socket in node.mandatory:
            if socket in user:
                continue
            if socket in received and (node.kinds[socket] == PLAIN or received[socket]):
                continue
            sock = node.sockets[socket]
            senders = node.senders.get(socket)
            origin = f"from {', '.join(repr(s) for s in senders)}" if senders else "not connected, not given"
            missing.append(f"'{node.name}.{socket}' ({describe_type(sock.type)}; {origin})")
        return missing

    def _blocked_message(self) -> str:
        nodes = self.nodes
        if not nodes:
            return (
                "Nothing in the pipeline can run: it has no components. Add some with "
                "add_component('name', instance) and connect them before calling run()."
            )
        candidates = sorted(self.pending or nodes, key=lambda n: nodes[n].rank)
        never: list[str] = []
        waiting: list[str] = []
        for name in candidates:
            for item in self._missing(nodes[name]):
                (waiting if "from '" in item else never).append(item)
        parts = ["Nothing in the pipeline can run: no component has all of its mandatory inputs."]
        if never:
            parts.append(f"These inputs can never arrive unless you pass them: {', '.join(never)}.")
        if waiting:
            parts.append(f"These wait for components that cannot run either: {', '.join(waiting)}.")
        example = self._example_input(candidates)
        if waiting and not never:
            parts.append(
                "They form a loop (or depend on one) with no entry point: give one of them a value in run() "
                f"to start it, e.g. {example}."
            )
        else:
            parts.append(f"Pass the missing values in run(), e.g. {example}.")
        return " ".join(parts)

    def _example_input(self, candidates: list[str]) -> str:
        """A concrete ``run(...)`` call that gives the first missing mandatory input a value."""
        for name in candidates:
            node = self.nodes[name]
            user = self.user.get(name) or {}
            for socket in node.mandatory:
                if socket not in user:
                    return f"run({{'{name}': {{'{socket}': ...}}}})"
        return "run({'component': {'input': value}})"

    def log_stuck(self) -> None:
        """Log components that received values but could never run (the run ended partially)."""
        if not self.pending:
            return
        import logging

        logger = logging.getLogger(LOGGER_NAME)
        for name in sorted(self.pending, key=lambda n: self.nodes[n].rank):
            if name not in self.received:
                continue
            missing = self._missing(self.nodes[name])
            if missing:
                logger.warning(
                    "Pipeline finished without running component '%s': it received some inputs but was still "
                    "waiting for %s.",
                    name,
                    ", ".join(missing),
                )


def route_outputs(  # noqa: PLR0912, PLR0915, PLR0917 - hot path, inlined
    node: NodePlan,
    outputs: dict[str, Any],
    keep_full: bool,
    received: dict[str, dict[str, Any]],
    arrived: dict[str, dict[str, set[str]]],
    leaf: dict[str, dict[str, Any]],
    full: dict[str, dict[str, Any]],
) -> dict[str, bool]:
    """Route one visit's outputs into the run's containers, copying only values that are shared.

    Connected outputs go to their receivers' slots in ``received`` (variadic and joined inputs collect them
    in arrival order, and ``arrived`` records which senders delivered); unconnected keys go to ``leaf``; with
    ``keep_full`` the whole ``outputs`` dict is kept in ``full`` (for ``include_outputs_from``). A value with
    several receivers is copied for all but the last, which takes the original unless the caller also gets
    it back (then every receiver gets a copy).

    Returns:
        receiver -> True while every delivery to it only added to a lazy input that still waits for senders.
    """
    name = node.name
    targets = node.targets
    touched: dict[str, bool] = {}
    own_leaf: dict[str, Any] | None = None
    for key, value in outputs.items():
        receivers = targets.get(key)
        if receivers is None:
            if own_leaf is None:
                own_leaf = {}
            own_leaf[key] = value
            continue
        # the last receiver takes the original unless the caller also gets it back
        last = len(receivers) if keep_full else len(receivers) - 1
        copier = None if type(value) in ATOM_TYPES else node.out_copiers.get(key, copy_value)
        for index, (receiver, socket, kind, conversion, n_senders) in enumerate(receivers):
            item = value if copier is None or index == last else copier(value)
            if conversion is not None:
                item = conversion(item)
            slots = received.get(receiver)
            if slots is None:
                slots = received[receiver] = {}
            still_waiting = False
            if kind == PLAIN:
                slots[socket] = item
            else:
                values = slots.get(socket)
                if values is None:
                    values = slots[socket] = []
                if kind == JOIN:
                    values.extend(item)
                else:
                    values.append(item)
                if kind != GREEDY:
                    per_node = arrived.get(receiver)
                    if per_node is None:
                        arrived[receiver] = {socket: {name}}
                        still_waiting = n_senders > 1
                    else:
                        got = per_node.get(socket)
                        if got is None:
                            per_node[socket] = {name}
                            still_waiting = n_senders > 1
                        else:
                            got.add(name)
                            still_waiting = len(got) < n_senders
            previous = touched.get(receiver)
            touched[receiver] = still_waiting if previous is None else previous and still_waiting
    if keep_full and outputs:
        full[name] = outputs
    if own_leaf is not None:
        existing = leaf.get(name)
        if existing is None:
            leaf[name] = own_leaf
        else:
            existing.update(own_leaf)
    return touched


def merge_result(
    leaf: dict[str, dict[str, Any]], full: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The run's result: ``leaf`` outputs plus the ``full`` outputs of ``include_outputs_from`` (last visit
    wins); ``leaf`` is taken over, not copied."""
    result = leaf
    for name, outputs in full.items():
        result[name] = {**result.get(name, {}), **outputs}
    return result


def build_kwargs(
    node: NodePlan, user: dict[str, Any] | None, received: dict[str, Any] | None
) -> dict[str, Any]:
    """The ``run`` kwargs of one visit of ``node``: its defaults, then copies of the caller's values (wrapped
    in a list for variadic inputs), then the senders' values (appended to the caller's on variadic inputs).

    ``received`` is the visit's own (already taken from the run state); values on greedy inputs are removed
    from ``user``, which the caller gives only once.
    """
    if node.simple and user is None and received is not None and not node.defaults:
        return received  # the slots dict is this visit's own: hand it over as the kwargs
    kwargs = node.defaults.copy() if node.defaults else {}
    if node.simple:
        if user is not None:
            copiers = node.user_copiers
            for socket, value in user.items():
                copier = copiers[socket]
                kwargs[socket] = value if copier is None else copier(value)
        if received is not None:
            kwargs.update(received)
        return kwargs
    kinds = node.kinds
    from_user: set[str] = set()
    if user is not None:
        copiers = node.user_copiers
        for socket, value in user.items():
            copier = copiers[socket]
            copied = value if copier is None else copier(value)
            kind = kinds[socket]
            kwargs[socket] = copied if kind in (PLAIN, JOIN) else [copied]
            from_user.add(socket)
        for socket in node.greedy:
            user.pop(socket, None)
    if received is not None:
        for socket, value in received.items():
            if kinds[socket] != PLAIN and socket in from_user:
                combined = list(kwargs[socket])
                combined.extend(value)
                kwargs[socket] = combined
            else:
                kwargs[socket] = value
    return kwargs


def node_status(  # noqa: PLR0911, PLR0912 - hot path, kept flat on purpose
    node: NodePlan,
    received: dict[str, Any] | None,
    user: dict[str, Any] | None,
    arrived: dict[str, set[str]] | None,
) -> int:
    """How ready ``node`` is, given the values waiting for it (``received``), the caller's inputs for it
    (``user``) and which senders already delivered to its variadic and joined inputs (``arrived``).

    Returns one of the priorities of the module docstring, or ``BLOCKED`` when a mandatory input is missing.
    """
    if node.simple:
        for socket in node.mandatory:
            if (received is None or socket not in received) and (user is None or socket not in user):
                return BLOCKED
        return READY
    kinds = node.kinds
    for socket in node.mandatory:
        if (
            received is not None
            and socket in received
            and (kinds[socket] in (PLAIN, JOIN) or received[socket])
        ):
            continue
        if user is not None and socket in user:
            continue
        return BLOCKED
    if received is not None:
        for socket in node.greedy:
            if received.get(socket):
                return GREEDY_READY
    for socket, n_senders in node.waitable_counts:
        if n_senders == 0:  # a plain optional input: waits for its one sender's value
            if received is None or socket not in received:
                return DEFER
        else:
            got = arrived.get(socket) if arrived is not None else None
            if got is None or len(got) < n_senders:
                return DEFER
    return READY


def _ordinal(number: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ``11th``, ``101st``."""
    if number % 100 in range(10, 21):  # the English teens all take "th"
        return f"{number}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def runtime_error(name: str, visit: int, exc: BaseException) -> PipelineRuntimeError:
    """The error raised when component ``name`` fails on ``visit``."""
    return PipelineRuntimeError(
        f"Component '{name}' failed on visit {visit}: {type(exc).__name__}: {exc}",
        component_name=name,
        visit=visit,
    )


def not_a_dict_error(name: str, visit: int, value: Any) -> PipelineRuntimeError:
    """The error raised when component ``name`` returns something other than a dict."""
    return PipelineRuntimeError(
        f"Component '{name}' returned a {type(value).__name__} on visit {visit}; run() must return a dict "
        "mapping output names to values, e.g. {'result': value}.",
        component_name=name,
        visit=visit,
    )
