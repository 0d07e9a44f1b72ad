"""Runs that can stop and resume: breakpoints, checkpoints, resuming from snapshots, failure snapshots.

``Pipeline.run``/``run_async`` hand over to this module when a run has breakpoints, a checkpoint file or a
snapshot to resume from; plain runs keep the lean loop in ``pipeline.py``, and come here only when something
fails (to attach a failure snapshot) or a component pauses itself.

The loops follow the same scheduler (``RunState``) as plain runs, so a resumed run visits components in the
order the uninterrupted run would have, and returns the same result.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from haybale.core import tracing
from haybale.core.breakpoints import Breakpoint, ComponentControls, ComponentPaused, controls_scope
from haybale.core.scheduler import LOGGER_NAME, RunState, not_a_dict_error, runtime_error
from haybale.core.snapshot import PipelineSnapshot, Reason, StartedVisit, pipeline_shape
from haybale.errors import (
    BreakpointReached,
    HaybaleError,
    PipelineRuntimeError,
    PipelineValidationError,
    SerializationError,
)

if TYPE_CHECKING:
    import asyncio

    from haybale.core.pipeline import Pipeline
    from haybale.core.plan import NodePlan, PipelinePlan

__all__ = ["SNAPSHOT_DIR_ENV_VAR", "RunControls", "failure_error", "paused_error", "resume_state"]

#: When set, a failing run writes its snapshot into this folder (also for runs without a checkpoint).
SNAPSHOT_DIR_ENV_VAR: Final = "HAYBALE_SNAPSHOT_DIR"

logger = logging.getLogger(LOGGER_NAME)


@dataclass
class RunControls:
    """What a controlled run does beyond a plain one."""

    shape: dict[str, Any]
    before: dict[str, list[Breakpoint]] = field(default_factory=dict)
    inner: dict[str, list[Breakpoint]] = field(default_factory=dict)
    checkpoint: Path | None = None
    started: dict[str, StartedVisit] = field(default_factory=dict)
    first: str | None = None

    @classmethod
    def build(
        cls,
        pipeline: Pipeline,
        plan: PipelinePlan,
        breakpoints: Iterable[Breakpoint] | Breakpoint | None,
        checkpoint: str | Path | None,
    ) -> RunControls:
        """Check the breakpoints against the pipeline and sort them.

        Raises:
            PipelineValidationError: a breakpoint names an unknown component, or a ``step``/``tool``
                breakpoint names a component that does not support it.
        """
        controls = cls(shape=pipeline_shape(pipeline))
        if checkpoint is not None:
            controls.checkpoint = Path(checkpoint)
        if isinstance(breakpoints, Breakpoint):
            breakpoints = [breakpoints]
        for point in breakpoints or ():
            if not isinstance(point, Breakpoint):
                raise PipelineValidationError(
                    f"breakpoints must be Breakpoint objects, e.g. Breakpoint('llm'), got {point!r}."
                )
            node = plan.nodes.get(point.component)
            if node is None:
                raise PipelineValidationError(
                    f"Breakpoint names an unknown component '{point.component}'. Components: "
                    f"{sorted(plan.nodes)}."
                )
            if point.inner:
                kinds = tuple(getattr(node.instance, "breakpoint_kinds", ()))
                wanted = "step" if point.step is not None else "tool"
                if wanted not in kinds:
                    raise PipelineValidationError(
                        f"Breakpoint({point.component!r}, {wanted}=...): "
                        f"{type(node.instance).__name__} has no "
                        f"{wanted} breakpoints (it supports {list(kinds) or 'none'}). Use "
                        f"Breakpoint({point.component!r}) to stop before it runs."
                    )
                controls.inner.setdefault(point.component, []).append(point)
            else:
                controls.before.setdefault(point.component, []).append(point)
        return controls

    def break_before(self, name: str, visit: int) -> Breakpoint | None:
        """The breakpoint that stops the run before ``visit`` of ``name``, if any."""
        for point in self.before.get(name, ()):
            if point.matches_visit(visit):
                return point
        return None

    def component_controls(self, name: str, started: StartedVisit) -> ComponentControls:
        """What the component sees through ``current_controls()`` during this visit."""
        inner = tuple(p for p in self.inner.get(name, ()) if p.matches_visit(started.visit))
        return ComponentControls(name, started.visit, inner, started.resume, started.answer)

    def snapshot(
        self,
        state: RunState,
        started: dict[str, StartedVisit],
        next_name: str | None,
        *,
        reason: Reason,
        breakpoint: Breakpoint | None = None,
        error: str | None = None,
    ) -> PipelineSnapshot:
        """A snapshot of ``state`` (its containers, not copies: take it when the run has stopped)."""
        return PipelineSnapshot(
            pipeline=self.shape,
            state=state.export(),
            started=started,
            next=next_name,
            reason=reason,
            breakpoint=breakpoint,
            error=error,
        )

    def save_checkpoint(self, state: RunState, in_flight: dict[str, StartedVisit] | None = None) -> None:
        """Write the run's state after a component finished (no-op without a checkpoint file)."""
        if self.checkpoint is None:
            return
        snapshot = self.snapshot(state, dict(in_flight or {}), None, reason="checkpoint")
        try:
            snapshot.save(self.checkpoint)
        except SerializationError as exc:
            raise PipelineValidationError(
                f"Cannot write the checkpoint '{self.checkpoint}': {exc} Run without checkpoint=, or "
                "make the "
                "values encodable."
            ) from exc

    def finish(self) -> None:
        """The run completed: its checkpoint is no longer needed."""
        if self.checkpoint is not None:
            self.checkpoint.unlink(missing_ok=True)


def resume_state(
    pipeline: Pipeline,
    plan: PipelinePlan,
    snapshot: PipelineSnapshot,
    data: Any,
    *,
    include_outputs_from: Iterable[str] | None,
    controls: RunControls,
) -> RunState:
    """The run state to continue ``snapshot`` with (copied: the snapshot stays reusable).

    Raises:
        PipelineValidationError: ``data`` is not empty, the snapshot is not a ``PipelineSnapshot``, or it was
            taken from a pipeline of another shape.
    """
    if not isinstance(snapshot, PipelineSnapshot):
        raise PipelineValidationError(
            f"snapshot must be a PipelineSnapshot (PipelineSnapshot.load(path) reads one), got "
            f"{type(snapshot).__name__}."
        )
    if data:
        raise PipelineValidationError(
            "A resumed run takes its inputs from the snapshot: call run({}, snapshot=...). To change the "
            "inputs of the component it stopped at, edit snapshot.inputs before resuming."
        )
    snapshot.check_fits(pipeline)
    exported = copy.deepcopy(snapshot.state)
    if include_outputs_from is not None:
        if isinstance(include_outputs_from, str):
            include_outputs_from = (include_outputs_from,)
        exported["include"] = sorted(include_outputs_from)
    try:
        state = RunState.restore(plan, exported, pipeline.max_runs_per_component)
    except (KeyError, TypeError, ValueError) as exc:
        raise PipelineValidationError(
            f"The snapshot's run state does not fit this pipeline: {exc!r}."
        ) from exc
    controls.started = copy.deepcopy(snapshot.started)
    controls.first = snapshot.next if snapshot.next in plan.nodes else None
    return state


# ---------------------------------------------------------------------- stopping
def paused_error(
    controls: RunControls,
    state: RunState,
    node: NodePlan,
    started: StartedVisit,
    paused: ComponentPaused,
    *,
    others: dict[str, StartedVisit] | None = None,
) -> BreakpointReached:
    """The error a run raises when ``node`` paused itself (an inner breakpoint, or a question)."""
    started.resume = paused.state
    started.question = paused.question
    started.answer = None
    stopped = {**(others or {}), node.name: started}
    reason: Reason = "paused" if paused.question is not None else "breakpoint"
    snapshot = controls.snapshot(state, stopped, node.name, reason=reason, breakpoint=paused.breakpoint)
    return _reached(snapshot, node.name, str(paused))


def breakpoint_error(
    controls: RunControls,
    state: RunState,
    node: NodePlan,
    started: StartedVisit,
    point: Breakpoint,
    *,
    others: dict[str, StartedVisit] | None = None,
) -> BreakpointReached:
    """The error a run raises when it reaches ``point`` before ``node`` runs."""
    stopped = {**(others or {}), node.name: started}
    snapshot = controls.snapshot(state, stopped, node.name, reason="breakpoint", breakpoint=point)
    return _reached(snapshot, node.name, f"Breakpoint reached before '{node.name}' (visit {started.visit}).")


def _reached(snapshot: PipelineSnapshot, name: str, message: str) -> BreakpointReached:
    point = snapshot.breakpoint
    where = ""
    if point is not None and point.save_to is not None:
        where = f" Snapshot saved to '{snapshot.save(point.save_to)}'."
    return BreakpointReached(
        f"{message}{where} Inspect error.snapshot, then resume with "
        "pipeline.run({}, snapshot=error.snapshot).",
        snapshot=snapshot,
        component_name=name,
    )


def failure_error(
    controls: RunControls | None,
    pipeline: Pipeline,
    state: RunState,
    node: NodePlan,
    started: StartedVisit,
    *,
    exc: Exception,
    others: dict[str, StartedVisit] | None = None,
) -> HaybaleError:
    """The error a run raises when ``node`` failed: a ``PipelineRuntimeError`` carrying a snapshot taken just
    before the failing visit (written to the checkpoint file, or to ``HAYBALE_SNAPSHOT_DIR``, when set).

    A :class:`ComponentPaused` becomes :class:`BreakpointReached` instead.
    """
    if controls is None:
        controls = RunControls(shape=pipeline_shape(pipeline))
    if isinstance(exc, ComponentPaused):
        return paused_error(controls, state, node, started, exc, others=others)
    error = runtime_error(node.name, started.visit, exc)
    _attach_failure_snapshot(error, controls, state, node, started, others=others)
    return error


def not_a_dict_failure(
    controls: RunControls | None,
    pipeline: Pipeline,
    state: RunState,
    node: NodePlan,
    started: StartedVisit,
    *,
    value: Any,
) -> PipelineRuntimeError:
    """The error a run raises when ``node`` returned something other than a dict (with a snapshot)."""
    if controls is None:
        controls = RunControls(shape=pipeline_shape(pipeline))
    error = not_a_dict_error(node.name, started.visit, value)
    _attach_failure_snapshot(error, controls, state, node, started, others=None)
    return error


def _attach_failure_snapshot(
    error: PipelineRuntimeError,
    controls: RunControls,
    state: RunState,
    node: NodePlan,
    started: StartedVisit,
    *,
    others: dict[str, StartedVisit] | None,
) -> None:
    snapshot = controls.snapshot(
        state,
        {**(others or {}), node.name: _retry(started)},
        node.name,
        reason="failure",
        error=str(error),
    )
    error.snapshot = snapshot
    target = controls.checkpoint
    folder = os.environ.get(SNAPSHOT_DIR_ENV_VAR)
    if target is None and folder:
        stamp = snapshot.created_at.replace(":", "").replace("-", "").replace("+", "_")
        target = Path(folder) / f"{stamp}-{node.name}.json"
    if target is None:
        return
    try:
        saved = snapshot.save(target)
    except (SerializationError, OSError) as exc:
        logger.warning("Could not save the failure snapshot to %s: %s", target, exc)
        return
    error.args = (
        f"{error.args[0]} A snapshot taken before this visit was saved to '{saved}': fix the cause, then "
        f"resume with pipeline.run({{}}, snapshot=PipelineSnapshot.load('{saved}')).",
    )


# ---------------------------------------------------------------------- the loops
def run_controlled(
    pipeline: Pipeline, state: RunState, controls: RunControls, traced: bool
) -> dict[str, dict[str, Any]]:
    """The sync loop of a controlled run (same order as ``Pipeline.run``)."""
    node = state.node(controls.first) if controls.first is not None else state.next_component()
    while node is not None:
        started = controls.started.pop(node.name, None)
        if started is None:
            point = controls.break_before(node.name, state.visits.get(node.name, 0) + 1)
            kwargs, visit = state.take_inputs(node)
            started = StartedVisit(visit, kwargs)
            if point is not None:
                raise breakpoint_error(controls, state, node, started, point, others=controls.started)
        outputs = started.outputs
        if outputs is None:
            try:
                with controls_scope(controls.component_controls(node.name, started)):
                    outputs = (
                        tracing.run_component_traced(node, started.inputs, started.visit)
                        if traced
                        else node.run(**started.inputs)
                    )
            except Exception as exc:
                raise failure_error(
                    controls, pipeline, state, node, started, exc=exc, others=controls.started
                ) from exc
            if not isinstance(outputs, dict):
                raise not_a_dict_failure(controls, pipeline, state, node, started, value=outputs)
        state.deliver(node, outputs)
        controls.save_checkpoint(state, controls.started)
        node = state.next_component()
    state.log_stuck()
    controls.finish()
    return state.result()


async def run_controlled_async(
    pipeline: Pipeline, state: RunState, controls: RunControls, concurrency_limit: int
) -> dict[str, dict[str, Any]]:
    """The async loop of a controlled run: independent branches overlap as in ``run_async``, except that a
    component with a breakpoint never starts early, and with a checkpoint components run one at a time (so
    that each checkpoint is a consistent cut)."""
    import asyncio

    running: dict[str, tuple[asyncio.Task[Any], StartedVisit]] = {}
    room = 0 if controls.checkpoint is not None else concurrency_limit - 1
    try:
        node = state.node(controls.first) if controls.first is not None else state.next_component()
        while node is not None:
            entry = running.pop(node.name, None)
            if entry is None:
                started = controls.started.pop(node.name, None)
                if started is None:
                    point = controls.break_before(node.name, state.visits.get(node.name, 0) + 1)
                    kwargs, visit = state.take_inputs(node)
                    started = StartedVisit(visit, kwargs)
                    if point is not None:
                        others = await _settle(running, controls.started)
                        raise breakpoint_error(controls, state, node, started, point, others=others)
                entry = (asyncio.ensure_future(_invoke(node, started, controls)), started)
            _start_ahead(state, node, running, room, controls)
            task, started = entry
            try:
                outputs = await task
            except Exception as exc:
                others = await _settle(running, controls.started, cancel=not isinstance(exc, ComponentPaused))
                raise failure_error(controls, pipeline, state, node, started, exc=exc, others=others) from exc
            if not isinstance(outputs, dict):
                raise not_a_dict_failure(controls, pipeline, state, node, started, value=outputs)
            state.deliver(node, outputs)
            controls.save_checkpoint(state, controls.started)
            node = state.next_component()
    finally:
        if running:
            for task, _ in running.values():
                task.cancel()
            await asyncio.gather(*(t for t, _ in running.values()), return_exceptions=True)
    state.log_stuck()
    controls.finish()
    return state.result()


async def _invoke(node: NodePlan, started: StartedVisit, controls: RunControls) -> Any:
    if started.outputs is not None:
        return started.outputs
    with controls_scope(controls.component_controls(node.name, started)):
        if tracing.tracer.actual_tracer is not None:
            return await tracing.run_component_traced_async(node, started.inputs, started.visit)
        if node.run_async is not None:
            return await node.run_async(**started.inputs)
        import asyncio

        return await asyncio.to_thread(node.run, **started.inputs)


async def _settle(
    running: dict[str, tuple[asyncio.Task[Any], StartedVisit]],
    not_started: dict[str, StartedVisit],
    cancel: bool = False,
) -> dict[str, StartedVisit]:
    """Stop the visits started ahead: let them finish (their outputs go into the snapshot) or, when
    ``cancel``, cancel them (they run again on resume). Returns them with the ones not yet started."""
    import asyncio

    if cancel:
        for task, _ in running.values():
            task.cancel()
    results = await asyncio.gather(*(t for t, _ in running.values()), return_exceptions=True)
    settled = dict(not_started)
    for (name, (_, started)), result in zip(running.items(), results, strict=True):
        if isinstance(result, dict):
            started.outputs = result
        settled[name] = started
    running.clear()
    return settled


def _start_ahead(
    state: RunState,
    current: NodePlan,
    running: dict[str, tuple[asyncio.Task[Any], StartedVisit]],
    room: int,
    controls: RunControls,
) -> None:
    """Start ready components whose inputs cannot change before their turn, like ``run_async`` does, but
    never one that a breakpoint stops or that resumes from the snapshot."""
    if room - len(running) <= 0:
        return
    ready = state.ready_names()
    if not ready:
        return
    import asyncio

    nodes = state.nodes
    active = [current.name, *ready, *state.deferred, *running]
    for name in ready:
        if name in running or name == current.name or name in controls.started:
            continue
        if len(running) >= room:
            return
        if any(name in nodes[other].reach for other in active if other != name):
            continue
        if state.visits.get(name, 0) >= state.max_runs:
            continue
        if controls.break_before(name, state.visits.get(name, 0) + 1) is not None:
            continue
        node = nodes[name]
        kwargs, visit = state.take_inputs(node)
        started = StartedVisit(visit, kwargs)
        running[name] = (asyncio.ensure_future(_invoke(node, started, controls)), started)


def _retry(started: StartedVisit) -> StartedVisit:
    """The failed visit as it runs again on resume: same inputs, paused state and answer; no outputs."""
    return StartedVisit(started.visit, started.inputs, None, started.resume, started.question, started.answer)
