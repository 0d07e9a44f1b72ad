"""``Pipeline``: a graph of components with typed connections, run synchronously or with asyncio.

See DESIGN §2-§3 for the contract. The graph is compiled into an immutable plan (``haybale.core.plan``) on the
first run after a change; each run keeps its own state (``haybale.core.scheduler.RunState``), so one pipeline
instance serves many concurrent ``run``/``run_async`` calls.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from haybale.core import tracing
from haybale.core.component import get_input_sockets, get_output_sockets, is_component
from haybale.core.connect import parse_address, resolve_connection
from haybale.core.plan import Edge, NodePlan, PipelinePlan, compile_plan
from haybale.core.scheduler import LOGGER_NAME, RunState
from haybale.core.sockets import describe_type
from haybale.core.static_run import run_static
from haybale.errors import HaybaleError, PipelineValidationError, SerializationError

if TYPE_CHECKING:
    import asyncio
    from pathlib import Path

    from haybale.core.breakpoints import Breakpoint
    from haybale.core.resumable import RunControls
    from haybale.core.snapshot import PipelineSnapshot
    from haybale.core.streaming import PipelineStream

__all__ = ["Pipeline"]

_NOTHING: frozenset[str] = frozenset()


class Pipeline:
    """A directed graph of components; loops are allowed.

    Args:
        metadata: free-form data stored with the pipeline (serialized as-is).
        max_runs_per_component: how often one component may run within a single ``run()``.
    """

    #: plain runs of static graphs follow the precompiled order (``haybale.core.static_run``); the tests set
    #: this to False on an instance to compare with the general scheduler
    _use_static_schedule: bool = True

    def __init__(self, metadata: dict[str, Any] | None = None, max_runs_per_component: int = 100) -> None:
        if not isinstance(max_runs_per_component, int) or max_runs_per_component < 1:
            raise PipelineValidationError(
                f"max_runs_per_component must be a positive int, got {max_runs_per_component!r}."
            )
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.max_runs_per_component = max_runs_per_component
        self._components: dict[str, Any] = {}
        self._edges: list[Edge] = []
        self._plan: PipelinePlan | None = None
        self._lock = threading.RLock()
        self._warmed = False

    def __repr__(self) -> str:
        return f"Pipeline(components={list(self._components)}, connections={len(self._edges)})"

    def __eq__(self, other: object) -> bool:
        """Two pipelines are equal when they serialize to the same dict (components, connections, settings).

        Pipelines holding something that cannot be serialized (a ``Secret.from_token``) are only equal to
        themselves.
        """
        if not isinstance(other, Pipeline):
            return NotImplemented
        if other is self:
            return True
        try:
            return self.to_dict() == other.to_dict()
        except SerializationError:
            return False

    #: pipelines are mutable and compare by value, so they are not hashable (like lists)
    __hash__ = None  # type: ignore[assignment]

    def __getstate__(self) -> dict[str, Any]:
        """Pickle support: the lock and the compiled plan are rebuilt rather than pickled."""
        state = self.__dict__.copy()
        del state["_lock"]
        state["_plan"] = None
        state["_warmed"] = False
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ graph
    def add_component(self, name: str, instance: Any) -> None:
        """Add a component instance under ``name``.

        Raises:
            PipelineValidationError: the name is taken or malformed, or ``instance`` is not a component.
        """
        if not isinstance(name, str) or not name or "." in name:
            raise PipelineValidationError(
                f"Invalid component name {name!r}: use a non-empty string without dots (dots separate the "
                "component from the socket in connect('a.out', 'b.in'))."
            )
        if name in self._components:
            raise PipelineValidationError(
                f"A component named '{name}' already exists. Pick another name or remove_component('{name}')."
            )
        if isinstance(instance, type) or not is_component(instance):
            hint = " Pass an instance, not the class." if isinstance(instance, type) else ""
            raise PipelineValidationError(
                f"Cannot add '{name}': {instance!r} is not a component. Decorate its class with @component "
                f"and give it a run() method returning a dict.{hint}"
            )
        get_input_sockets(instance)  # discovers (and checks) the sockets now, not at the first run
        if name.startswith("_"):
            raise PipelineValidationError(
                f"Invalid component name {name!r}: names starting with '_' are reserved for haybale (such as "
                "'_debug'). Pick a name without the leading underscore."
            )
        _claim(instance, self, name)
        with self._lock:
            self._components[name] = instance
            self._invalidate()

    def remove_component(self, name: str) -> Any:
        """Remove a component and its connections; return the instance (it may then join another pipeline)."""
        instance = self.get_component(name)
        _OWNERS.pop(id(instance), None)
        with self._lock:
            del self._components[name]
            self._edges = [e for e in self._edges if name not in (e.sender, e.receiver)]
            self._invalidate()
        return instance

    def get_component(self, name: str) -> Any:
        """Return the component instance called ``name``.

        Raises:
            PipelineValidationError: no such component (the message lists the names).
        """
        try:
            return self._components[name]
        except KeyError:
            raise PipelineValidationError(
                f"No component named '{name}'. Components: {sorted(self._components)}."
            ) from None

    def connect(self, sender: str, receiver: str) -> Pipeline:
        """Connect ``"a.out"`` (or ``"a"``) to ``"b.in"`` (or ``"b"``); sockets may be omitted if unambiguous.

        Returns:
            The pipeline, so calls can be chained.

        Raises:
            PipelineConnectError: see :func:`haybale.core.connect.resolve_connection`.
        """
        s_name, s_socket = parse_address(sender, self._components, "sender")
        r_name, r_socket = parse_address(receiver, self._components, "receiver")
        with self._lock:
            taken: dict[str, list[str]] = {}
            for edge in self._edges:
                if edge.receiver == r_name:
                    taken.setdefault(edge.input, []).append(f"{edge.sender}.{edge.output}")
            edge = resolve_connection(
                sender=s_name,
                output=s_socket,
                receiver=r_name,
                socket=r_socket,
                outputs=get_output_sockets(self._components[s_name]),
                inputs=get_input_sockets(self._components[r_name]),
                taken=taken,
            )
            if any(
                (e.sender, e.output, e.receiver, e.input)
                == (edge.sender, edge.output, edge.receiver, edge.input)
                for e in self._edges
            ):
                return self
            self._edges.append(edge)
            self._invalidate()
        return self

    def connections(self) -> list[tuple[str, str]]:
        """All connections as ``("sender.output", "receiver.input")`` pairs, in the order they were made."""
        return [(f"{e.sender}.{e.output}", f"{e.receiver}.{e.input}") for e in self._edges]

    def walk(self) -> Iterator[tuple[str, Any]]:
        """Iterate over ``(name, instance)`` pairs in insertion order."""
        yield from list(self._components.items())

    def inputs(self, include_connected: bool = False) -> dict[str, dict[str, dict[str, Any]]]:
        """The inputs a caller can give: ``{component: {socket: {"type", "is_mandatory", "default"?}}}``.

        Args:
            include_connected: also list inputs that already have a sender (e.g. to seed a loop).
        """
        connected = {(e.receiver, e.input) for e in self._edges}
        result: dict[str, dict[str, dict[str, Any]]] = {}
        for name, instance in self._components.items():
            for socket in get_input_sockets(instance).values():
                if not include_connected and (name, socket.name) in connected:
                    continue
                entry: dict[str, Any] = {"type": socket.type, "is_mandatory": socket.is_mandatory}
                if not socket.is_mandatory:
                    entry["default"] = socket.default
                result.setdefault(name, {})[socket.name] = entry
        return result

    def outputs(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The declared outputs connected to nothing: ``{component: {socket: {"type": ...}}}``."""
        connected = {(e.sender, e.output) for e in self._edges}
        result: dict[str, dict[str, dict[str, Any]]] = {}
        for name, instance in self._components.items():
            for socket in get_output_sockets(instance).values():
                if (name, socket.name) not in connected:
                    result.setdefault(name, {})[socket.name] = {"type": socket.type}
        return result

    def warm_up(self) -> None:
        """Call ``warm_up()`` on every component that has one (each is expected to be idempotent)."""
        with self._lock:
            for instance in list(self._components.values()):
                warm = getattr(instance, "warm_up", None)
                if callable(warm):
                    warm()
            self._warmed = True

    def _invalidate(self) -> None:
        self._plan = None
        self._warmed = False

    def _compiled_plan(self) -> PipelinePlan:
        """The plan of the current graph, compiled on first use after a change (components not warmed)."""
        plan = self._plan
        if plan is None:
            with self._lock:
                plan = self._plan
                if plan is None:
                    plan = compile_plan(
                        self._components,
                        {n: get_input_sockets(c) for n, c in self._components.items()},
                        {n: get_output_sockets(c) for n, c in self._components.items()},
                        list(self._edges),
                    )
                    self._plan = plan
        return plan

    def _get_plan(self) -> PipelinePlan:
        plan = self._compiled_plan()
        if not self._warmed:
            self.warm_up()
        return plan

    def route_inputs(self, data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """Route run inputs exactly as :meth:`run` does, without running anything.

        Args:
            data: nested (``{"component": {"input": value}}``) or flat (``{"input": value}``: every
                unconnected socket of that name gets the value) run inputs.

        Returns:
            Fresh ``{component: {socket: value}}`` dicts (the values themselves are not copied).

        Raises:
            PipelineValidationError: an unknown component or input, a mix of both forms, or a value of the
                wrong type; the message names it and what is accepted.
        """
        return _normalize_inputs(self._compiled_plan(), data)

    # ------------------------------------------------------------------ running
    def _checked_inputs(
        self, data: Mapping[str, Any], include_outputs_from: Iterable[str] | None
    ) -> tuple[PipelinePlan, dict[str, dict[str, Any]], frozenset[str]] | None:
        """The plan, the normalized run inputs and ``include_outputs_from`` as a set; None for a pipeline
        without components (it has nothing to run)."""
        plan = self._plan if self._warmed and self._plan is not None else self._get_plan()
        if not plan.nodes:
            logging.getLogger(LOGGER_NAME).warning(
                "Running a pipeline without components returns {}: add components with add_component()."
            )
            return None
        if isinstance(include_outputs_from, str):  # a single name is a common slip for {"name"}
            include_outputs_from = (include_outputs_from,)
        include = frozenset(include_outputs_from) if include_outputs_from else _NOTHING
        unknown = include - plan.nodes.keys() if include else None
        if unknown:
            raise PipelineValidationError(
                f"include_outputs_from names unknown components {sorted(unknown)}. Components: "
                f"{sorted(plan.nodes)}."
            )
        return plan, _normalize_inputs(plan, data), include

    def _prepare(
        self, data: Mapping[str, Any], include_outputs_from: Iterable[str] | None
    ) -> RunState | None:
        """The run's state, or None for a pipeline without components (it has nothing to run)."""
        checked = self._checked_inputs(data, include_outputs_from)
        if checked is None:
            return None
        plan, user, include = checked
        state = RunState(plan, user, include, self.max_runs_per_component)
        state.start()
        return state

    def run(
        self,
        data: Mapping[str, Any],
        include_outputs_from: Iterable[str] | None = None,
        *,
        breakpoints: Iterable[Breakpoint] | Breakpoint | None = None,
        snapshot: PipelineSnapshot | None = None,
        checkpoint: str | Path | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Run the pipeline and return the outputs connected to nothing, by component.

        Args:
            data: ``{"component": {"input": value}}`` or the flat ``{"input": value}`` (given to every
                unconnected input of that name; when there is none, to the connected variadic inputs of that
                name, such as the entry of a loop). ``{}`` when resuming from a snapshot.
            include_outputs_from: components whose full outputs are returned too (their last visit).
            breakpoints: stop before these components (or inside an Agent, with ``step=``/``tool=``): the run
                raises :class:`~haybale.errors.BreakpointReached` carrying a snapshot to resume from.
            snapshot: continue a stopped run (from a breakpoint, a failure or a checkpoint file); the result
                is what the uninterrupted run returns.
            checkpoint: a file the run's snapshot is written to after every component (atomically), and
                removed when the run completes; after a crash, ``PipelineSnapshot.load(checkpoint)`` resumes
                from the last finished component.

        Raises:
            PipelineValidationError: unknown components or inputs in ``data``; a snapshot from another
                pipeline; breakpoints naming unknown components.
            PipelineComponentsBlockedError: nothing can run with the given inputs (nothing ran).
            PipelineRuntimeError: a component raised or returned a non-dict (original as ``__cause__``; a
                snapshot taken before the failing visit as ``snapshot``).
            PipelineMaxComponentRuns: a component exceeded ``max_runs_per_component``.
            BreakpointReached: a breakpoint stopped the run, or a component paused to ask the caller.
        """
        controlled = breakpoints is not None or snapshot is not None or checkpoint is not None
        traced = tracing.tracer.actual_tracer is not None
        if not traced:
            if controlled:
                return self._run_controlled(
                    data,
                    include_outputs_from,
                    breakpoints=breakpoints,
                    snapshot=snapshot,
                    checkpoint=checkpoint,
                )
            return self._run(data, include_outputs_from, False)
        with tracing.pipeline_span("sync", self.metadata, self.max_runs_per_component, data) as span:
            if controlled:
                result = self._run_controlled(
                    data,
                    include_outputs_from,
                    breakpoints=breakpoints,
                    snapshot=snapshot,
                    checkpoint=checkpoint,
                    traced=True,
                )
            else:
                result = self._run(data, include_outputs_from, True)
            span.set_content_tag("haybale.pipeline.output_data", result)
        return result

    def _controlled_state(
        self,
        data: Mapping[str, Any],
        include_outputs_from: Iterable[str] | None,
        *,
        breakpoints: Iterable[Breakpoint] | Breakpoint | None,
        snapshot: PipelineSnapshot | None,
        checkpoint: str | Path | None,
    ) -> tuple[RunState, RunControls] | None:
        from haybale.core.resumable import RunControls, resume_state

        state: RunState | None
        if snapshot is None:
            state = self._prepare(data, include_outputs_from)
            if state is None:
                return None
            plan = state.plan
        else:
            plan = self._plan if self._warmed and self._plan is not None else self._get_plan()
        controls = RunControls.build(self, plan, breakpoints, checkpoint)
        if snapshot is not None:
            state = resume_state(
                self, plan, snapshot, data, include_outputs_from=include_outputs_from, controls=controls
            )
        assert state is not None
        return state, controls

    def _run_controlled(
        self,
        data: Mapping[str, Any],
        include_outputs_from: Iterable[str] | None,
        *,
        breakpoints: Iterable[Breakpoint] | Breakpoint | None,
        snapshot: PipelineSnapshot | None,
        checkpoint: str | Path | None,
        traced: bool = False,
    ) -> dict[str, dict[str, Any]]:
        from haybale.core.resumable import run_controlled

        prepared = self._controlled_state(
            data, include_outputs_from, breakpoints=breakpoints, snapshot=snapshot, checkpoint=checkpoint
        )
        if prepared is None:
            return {}
        return run_controlled(self, *prepared, traced)

    def _run(
        self, data: Mapping[str, Any], include_outputs_from: Iterable[str] | None, traced: bool
    ) -> dict[str, dict[str, Any]]:
        checked = self._checked_inputs(data, include_outputs_from)
        if checked is None:
            return {}
        plan, user, include = checked
        if plan.static is not None and not traced and self._use_static_schedule:
            outcome = run_static(self, plan, plan.static, user, include)
            if not isinstance(outcome, RunState):
                return outcome
            state = outcome  # the static order ends here: the scheduler continues from the same state
        else:
            state = RunState(plan, user, include, self.max_runs_per_component)
            state.start()
        return self._drive(state, traced)

    def _drive(self, state: RunState, traced: bool) -> dict[str, dict[str, Any]]:
        """The general run loop: run what the scheduler says until nothing can run; return the result."""
        next_component = state.next_component
        take_inputs = state.take_inputs
        deliver = state.deliver
        node = next_component()
        while node is not None:
            kwargs, visit = take_inputs(node)
            try:
                outputs = tracing.run_component_traced(node, kwargs, visit) if traced else node.run(**kwargs)
            except Exception as exc:
                raise _failure(self, state, node, (visit, kwargs), exc) from exc
            if type(outputs) is not dict and not isinstance(outputs, dict):
                raise _not_a_dict(self, state, node, (visit, kwargs), outputs)
            deliver(node, outputs)
            node = next_component()
        state.log_stuck()
        return state.result()

    async def run_async(
        self,
        data: Mapping[str, Any],
        include_outputs_from: Iterable[str] | None = None,
        concurrency_limit: int = 4,
        *,
        breakpoints: Iterable[Breakpoint] | Breakpoint | None = None,
        snapshot: PipelineSnapshot | None = None,
        checkpoint: str | Path | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Like :meth:`run`, but independent branches run concurrently (``concurrency_limit`` at most).

        Components with ``run_async`` are awaited; sync-only components run in a worker thread. Results are
        applied in the same order :meth:`run` would use, so both return the same outputs. ``breakpoints``,
        ``snapshot`` and ``checkpoint`` work as in :meth:`run` (with a checkpoint, components run one at a
        time so that every checkpoint is a consistent cut).
        """

        if not isinstance(concurrency_limit, int) or concurrency_limit < 1:
            raise PipelineValidationError(
                f"concurrency_limit must be a positive int, got {concurrency_limit!r}."
            )
        controlled = breakpoints is not None or snapshot is not None or checkpoint is not None
        if tracing.tracer.actual_tracer is None:
            if controlled:
                return await self._run_controlled_async(
                    data, include_outputs_from, concurrency_limit, (breakpoints, snapshot, checkpoint)
                )
            return await self._run_async(data, include_outputs_from, concurrency_limit)
        with tracing.pipeline_span("async", self.metadata, self.max_runs_per_component, data) as span:
            if controlled:
                result = await self._run_controlled_async(
                    data, include_outputs_from, concurrency_limit, (breakpoints, snapshot, checkpoint)
                )
            else:
                result = await self._run_async(data, include_outputs_from, concurrency_limit)
            span.set_content_tag("haybale.pipeline.output_data", result)
        return result

    async def _run_controlled_async(
        self,
        data: Mapping[str, Any],
        include_outputs_from: Iterable[str] | None,
        concurrency_limit: int,
        control: tuple[Iterable[Breakpoint] | Breakpoint | None, PipelineSnapshot | None, str | Path | None],
    ) -> dict[str, dict[str, Any]]:
        from haybale.core.resumable import run_controlled_async

        breakpoints, snapshot, checkpoint = control
        prepared = self._controlled_state(
            data, include_outputs_from, breakpoints=breakpoints, snapshot=snapshot, checkpoint=checkpoint
        )
        if prepared is None:
            return {}
        return await run_controlled_async(self, *prepared, concurrency_limit)

    async def _run_async(
        self, data: Mapping[str, Any], include_outputs_from: Iterable[str] | None, concurrency_limit: int
    ) -> dict[str, dict[str, Any]]:
        import asyncio

        state = self._prepare(data, include_outputs_from)
        if state is None:
            return {}
        started: dict[str, tuple[asyncio.Task[Any], int, dict[str, Any]]] = {}
        try:
            node = state.next_component()
            while node is not None:
                entry = started.pop(node.name, None)
                if entry is None:
                    kwargs, visit = state.take_inputs(node)
                    entry = (asyncio.ensure_future(_invoke(node, kwargs, visit)), visit, kwargs)
                _start_independent(state, node, started, concurrency_limit - 1)
                task, visit, kwargs = entry
                try:
                    outputs = await task
                except Exception as exc:
                    for other, _, _ in started.values():
                        other.cancel()
                    await asyncio.gather(*(t for t, _, _ in started.values()), return_exceptions=True)
                    ahead = {name: (v, k) for name, (_, v, k) in started.items()}
                    started.clear()
                    raise _failure(self, state, node, (visit, kwargs), exc, ahead=ahead) from exc
                if not isinstance(outputs, dict):
                    raise _not_a_dict(self, state, node, (visit, kwargs), outputs)
                state.deliver(node, outputs)
                node = state.next_component()
        finally:
            if started:
                for task, _, _ in started.values():
                    task.cancel()
                await asyncio.gather(*(t for t, _, _ in started.values()), return_exceptions=True)
        state.log_stuck()
        return state.result()

    def stream(
        self,
        data: Mapping[str, Any],
        include_outputs_from: Iterable[str] | None = None,
        concurrency_limit: int = 4,
        components: Iterable[str] | None = None,
    ) -> PipelineStream:
        """Run with :meth:`run_async` and stream the chunks of streaming-capable components.

        Returns an async iterator of ``StreamingChunk`` whose ``result`` holds the pipeline result at the end;
        see :func:`haybale.core.streaming.stream_pipeline`.
        """
        from haybale.core.streaming import stream_pipeline

        return stream_pipeline(self, data, include_outputs_from, concurrency_limit, components)

    # ------------------------------------------------------------------ serialization and drawing
    def to_dict(self) -> dict[str, Any]:
        """Serialize (DESIGN §4). Raises SerializationError naming the component that cannot be serialized."""
        from haybale.core.pipeline_io import pipeline_to_dict

        return pipeline_to_dict(self)

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        allowed_modules: Iterable[str] | None = None,
        *,
        allow_unsafe_templates: bool = False,
    ) -> Pipeline:
        """Build a pipeline from :meth:`to_dict` output, importing only allow-listed component types.

        Templates stay sandboxed: a component saved with its sandbox off (``ConditionalRouter(unsafe=True)``)
        is refused unless ``allow_unsafe_templates=True`` -- only for a file you wrote yourself, since an
        unsandboxed template can run any code on this machine.
        """
        from haybale.core.pipeline_io import pipeline_from_dict

        return pipeline_from_dict(cls, data, allowed_modules, allow_unsafe_templates)

    def dumps(self, fmt: str = "yaml") -> str:
        """Serialize to a YAML (default) or JSON (``fmt="json"``) string."""
        from haybale.core.pipeline_io import dump_text

        return dump_text(self.to_dict(), fmt)

    @classmethod
    def loads(
        cls,
        text: str | bytes,
        allowed_modules: Iterable[str] | None = None,
        *,
        allow_unsafe_templates: bool = False,
    ) -> Pipeline:
        """Load from a YAML or JSON string (safe loader; allow-listed types only; see :meth:`from_dict`)."""
        from haybale.core.pipeline_io import parse_text

        return cls.from_dict(parse_text(text), allowed_modules, allow_unsafe_templates=allow_unsafe_templates)

    def dump(self, path: str | Path) -> None:
        """Write to ``path``: JSON when it ends in ``.json``, YAML otherwise."""
        from pathlib import Path

        target = Path(path)
        fmt = "json" if target.suffix.lower() == ".json" else "yaml"
        target.write_text(self.dumps(fmt), encoding="utf-8")

    @classmethod
    def load(
        cls,
        path: str | Path,
        allowed_modules: Iterable[str] | None = None,
        *,
        allow_unsafe_templates: bool = False,
    ) -> Pipeline:
        """Load from a YAML or JSON file (see :meth:`from_dict`)."""
        from pathlib import Path

        return cls.loads(
            Path(path).read_text(encoding="utf-8"),
            allowed_modules,
            allow_unsafe_templates=allow_unsafe_templates,
        )

    def to_mermaid(self) -> str:
        """Mermaid flowchart text of the pipeline (offline; paste into any Mermaid renderer)."""
        from haybale.core.draw import pipeline_to_mermaid

        return pipeline_to_mermaid(self)

    def draw(self, path: str | Path) -> Path:
        """Render the pipeline to ``path`` (``.svg`` or ``.png``) with Graphviz ``dot``; return the path."""
        from pathlib import Path

        from haybale.core.draw import draw_pipeline

        return draw_pipeline(self, Path(path))


#: id(component) -> (the component, the pipeline holding it), both weakly: one instance serves one pipeline.
_OWNERS: dict[int, tuple[weakref.ref[Any], weakref.ref[Pipeline]]] = {}


def _claim(instance: Any, pipeline: Pipeline, name: str) -> None:
    """Record that ``pipeline`` holds ``instance``; refuse an instance another live pipeline already holds.

    Components keep configuration and warmed-up resources on ``self``; two pipelines sharing one instance
    would share them silently (and removing it from one would break the other), so, as in Haystack, an
    instance belongs to one pipeline at a time.

    Raises:
        PipelineValidationError: another pipeline holds the instance.
    """
    entry = _OWNERS.get(id(instance))
    if entry is not None and entry[0]() is instance:
        owner = entry[1]()
        if owner is not None and owner is not pipeline:
            raise PipelineValidationError(
                f"Cannot add '{name}': this {type(instance).__name__} instance is already part of another "
                "pipeline. Create a new instance for this pipeline (or remove_component() it from the other "
                "first)."
            )
    if len(_OWNERS) > 1024:  # forget instances and pipelines that no longer exist
        for key in [k for k, (c, p) in _OWNERS.items() if c() is None or p() is None]:
            del _OWNERS[key]
    try:
        _OWNERS[id(instance)] = (weakref.ref(instance), weakref.ref(pipeline))
    except TypeError:  # an instance that cannot be weakly referenced is not tracked
        return


async def _invoke(node: NodePlan, kwargs: dict[str, Any], visit: int) -> Any:
    if tracing.tracer.actual_tracer is not None:
        return await tracing.run_component_traced_async(node, kwargs, visit)
    if node.run_async is not None:
        return await node.run_async(**kwargs)
    import asyncio

    return await asyncio.to_thread(node.run, **kwargs)


def _start_independent(
    state: RunState,
    current: NodePlan,
    started: dict[str, tuple[asyncio.Task[Any], int, dict[str, Any]]],
    room: int,
) -> None:
    """Start ready components whose inputs cannot change before their turn (nothing active reaches them)."""
    if room - len(started) <= 0:
        return
    ready = state.ready_names()
    if not ready:
        return
    import asyncio

    nodes = state.nodes
    active = [current.name, *ready, *state.deferred, *started]
    for name in ready:
        if name in started or name == current.name:
            continue
        if len(started) >= room:
            return
        if any(name in nodes[other].reach for other in active if other != name):
            continue
        if state.visits.get(name, 0) >= state.max_runs:
            continue
        node = nodes[name]
        kwargs, visit = state.take_inputs(node)
        started[name] = (asyncio.ensure_future(_invoke(node, kwargs, visit)), visit, kwargs)


def _failure(
    pipeline: Pipeline,
    state: RunState,
    node: NodePlan,
    taken: tuple[int, dict[str, Any]],
    exc: Exception,
    *,
    ahead: dict[str, tuple[int, dict[str, Any]]] | None = None,
) -> HaybaleError:
    """A plain run's failure (or a component pausing itself) as the error to raise, with a snapshot."""
    from haybale.core.resumable import failure_error
    from haybale.core.snapshot import StartedVisit

    others = {name: StartedVisit(v, k) for name, (v, k) in (ahead or {}).items()}
    return failure_error(None, pipeline, state, node, StartedVisit(*taken), exc=exc, others=others)


def _not_a_dict(
    pipeline: Pipeline, state: RunState, node: NodePlan, taken: tuple[int, dict[str, Any]], value: Any
) -> HaybaleError:
    from haybale.core.resumable import not_a_dict_failure
    from haybale.core.snapshot import StartedVisit

    return not_a_dict_failure(None, pipeline, state, node, StartedVisit(*taken), value=value)


def _normalize_inputs(plan: PipelinePlan, data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Turn nested or flat run inputs into fresh ``{component: {socket: value}}`` dicts, checking names and
    (shallowly) the types of the values."""
    normalized = _normalize_names(plan, data)
    nodes = plan.nodes
    for name, values in normalized.items():
        checks = nodes[name].user_checks
        for socket, value in values.items():
            check = checks.get(socket)
            if check is not None and not check(value):
                raise _wrong_type_error(nodes[name].sockets[socket].type, name, socket, value)
    return normalized


def _wrong_type_error(expected: Any, name: str, socket: str, value: Any) -> PipelineValidationError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return PipelineValidationError(
        f"Input '{name}.{socket}' expects {describe_type(expected)}, but run() was given a "
        f"{type(value).__name__}: {shown}. Pass a value of type {describe_type(expected)}, e.g. "
        f"run({{'{name}': {{'{socket}': ...}}}})."
    )


def _normalize_names(plan: PipelinePlan, data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    if type(data) is dict:
        fast = _fast_nested(plan, data)
        if fast is not None:
            return fast
    elif not isinstance(data, Mapping):
        raise PipelineValidationError(
            f"Pipeline inputs must be a dict like {{'component': {{'input': value}}}} or {{'input': value}}, "
            f"got {type(data).__name__}."
        )
    nodes = plan.nodes
    nested_keys = [k for k, v in data.items() if k in nodes and isinstance(v, Mapping)]
    if len(nested_keys) == len(data):
        return _nested(plan, data)
    if nested_keys:
        others = [k for k in data if k not in nested_keys]
        unknown = [
            k for k in others if k not in nodes and k not in plan.flat_inputs and k not in plan.flat_variadic
        ]
        hint = (
            f" There is no component named {', '.join(repr(k) for k in unknown)}; components: "
            f"{sorted(nodes)}."
            if unknown
            else ""
        )
        raise PipelineValidationError(
            f"Pipeline inputs mix the nested form (keys {nested_keys} are components) with the flat form "
            f"(keys {others}).{hint} Use one: {{'component': {{'input': value}}}} or {{'input': value}}."
        )
    return _flat(plan, data)


def _fast_nested(plan: PipelinePlan, data: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """The usual, valid nested form in one pass; None when the input needs the slower checks."""
    nodes = plan.nodes
    result: dict[str, dict[str, Any]] = {}
    for name, values in data.items():
        node = nodes.get(name)
        if node is None or type(values) is not dict or not values.keys() <= node.sockets.keys():
            return None
        if values:
            result[name] = values.copy()
    return result


def _nested(plan: PipelinePlan, data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for name, values in data.items():
        sockets = plan.nodes[name].sockets
        for socket in values:
            if socket not in sockets:
                valid = ", ".join(f"{s} ({describe_type(v.type)})" for s, v in sockets.items()) or "none"
                raise PipelineValidationError(
                    f"Component '{name}' has no input '{socket}'. Its inputs: {valid}."
                )
        if values:
            result[name] = dict(values)
    return result


def _flat(plan: PipelinePlan, data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    flat: dict[str, dict[str, Any]] = {}
    for key, value in data.items():
        targets = plan.flat_inputs.get(key) or plan.flat_variadic.get(key)
        if not targets and key in plan.nodes:
            raise PipelineValidationError(
                f"The run input for component '{key}' must be a dict of its inputs, e.g. "
                f"{{'{key}': {{'{next(iter(plan.nodes[key].sockets), 'input')}': value}}}}, got "
                f"{type(value).__name__} {value!r:.60}."
            )
        if not targets:
            raise PipelineValidationError(
                f"No component has an unconnected input named '{key}' (and no component is named '{key}'). "
                f"Inputs you can give: {sorted(plan.flat_inputs)}; components: {sorted(plan.nodes)}."
            )
        for name, socket in targets:
            flat.setdefault(name, {})[socket] = value
    return flat
