"""Plain runs of graphs without loops follow a precompiled order (``haybale.core.static_run``) instead of the
general scheduler's queue. These tests run the same pipelines both ways (``_use_static_schedule = False``
forces the general scheduler) and require the same outcome: the result, every component call in the same
order with the same inputs, the same errors and failure snapshots, the same log lines, the caller's data
untouched. Besides the behaviour scenarios, a few hundred seeded random graphs mix routers that emit only
some outputs, variadic and joined inputs, optional inputs with senders, conversions, caller inputs on
connected sockets, components that mutate their inputs, failures and blocked components."""

from __future__ import annotations

import copy
import logging
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from haybale import Pipeline, Variadic, component
from haybale.core.scheduler import RunState
from haybale.errors import (
    HaybaleError,
    PipelineComponentsBlockedError,
    PipelineConnectError,
    PipelineRuntimeError,
)

from .scenarios import SCENARIOS

# ---------------------------------------------------------------- recording one run


@dataclass
class Outcome:
    """Everything a caller can observe about one run."""

    result: dict[str, Any] | None = None
    error: tuple[type[BaseException], str] | None = None
    snapshot: dict[str, Any] | None = None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    data_after: Any = None


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.getMessage()}")


@contextmanager
def _captured_logs() -> Iterator[list[str]]:
    logger = logging.getLogger("haybale.pipeline")
    handler = _ListHandler()
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def _record_calls(pipeline: Pipeline) -> list[tuple[str, dict[str, Any]]]:
    """Wrap every component's ``run`` (before the first run) to log ``(name, kwargs)`` in call order."""
    calls: list[tuple[str, dict[str, Any]]] = []
    for name, instance in pipeline.walk():
        original = instance.run

        def recorded(_name: str = name, _run: Callable[..., Any] = original, **kwargs: Any) -> Any:
            calls.append((_name, copy.deepcopy(kwargs)))
            return _run(**kwargs)

        instance.__dict__["run"] = recorded
    return calls


def _observe(pipeline: Pipeline, data: dict[str, Any], include: set[str] | None, *, static: bool) -> Outcome:
    pipeline._use_static_schedule = static
    outcome = Outcome(calls=_record_calls(pipeline))
    with _captured_logs() as lines:
        try:
            outcome.result = pipeline.run(data, include_outputs_from=include)
        except HaybaleError as exc:
            outcome.error = (type(exc), str(exc))
            snapshot = getattr(exc, "snapshot", None)
            if snapshot is not None:
                outcome.snapshot = {
                    "state": snapshot.state,
                    "started": snapshot.started,
                    "next": snapshot.next,
                    "reason": snapshot.reason,
                    "error": snapshot.error,
                }
    outcome.logs = lines
    outcome.data_after = data
    return outcome


def _both_ways(
    build: Callable[[], tuple[Pipeline, dict[str, Any], set[str] | None]],
) -> tuple[Outcome, Outcome]:
    """Build the pipeline twice and run it with the static order and with the general scheduler."""
    pipeline, data, include = build()
    static = _observe(pipeline, copy.deepcopy(data), include, static=True)
    pipeline, data, include = build()
    general = _observe(pipeline, copy.deepcopy(data), include, static=False)
    return static, general


def _assert_same(static: Outcome, general: Outcome) -> None:
    assert static.calls == general.calls
    assert static.error == general.error
    assert static.snapshot == general.snapshot
    assert static.result == general.result
    assert static.logs == general.logs
    assert static.data_after == general.data_after


# ---------------------------------------------------------------- the behaviour scenarios


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_behaviour_scenario_runs_the_same_both_ways(name: str) -> None:
    def build() -> tuple[Pipeline, dict[str, Any], set[str] | None]:
        scenario = SCENARIOS[name]()
        return scenario.pipeline, scenario.data, scenario.include

    static, general = _both_ways(build)
    _assert_same(static, general)
    assert static.result == SCENARIOS[name]().expected


def test_most_scenarios_without_loops_have_a_static_order() -> None:
    static = [n for n, build in SCENARIOS.items() if build().pipeline._compiled_plan().static is not None]
    assert len(static) >= 25
    assert "branches_merge_in_lazy_variadic" in static and "self_loop" not in static


# ---------------------------------------------------------------- seeded random graphs


@component
class Split:
    """A router: which outputs it emits depends on the value."""

    @component.output_types(low=int, high=int, items=list[int])
    def run(self, value: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if value % 3:
            out["low"] = value + 1
        if value % 2 == 0:
            out["high"] = value * 2
        if value % 5 != 1:
            out["items"] = [value, value + 1]
        return out


@component
class Combine:
    """Two mandatory inputs and an optional one."""

    @component.output_types(value=int, items=list[int])
    def run(self, a: int, b: int, bonus: int = 7) -> dict[str, Any]:
        return {"value": a + b + bonus, "items": [a, b]}


@component
class Gather:
    """A lazy variadic input."""

    @component.output_types(value=int, items=list[int])
    def run(self, values: Variadic[int]) -> dict[str, Any]:
        return {"value": sum(values) + len(values), "items": list(values)}


@component
class Extend:
    """A list input (joined when it has several senders) that it mutates in place."""

    @component.output_types(value=int, items=list[int])
    def run(self, items: list[int], step: int | None = None) -> dict[str, Any]:
        items.append(len(items) if step is None else step)
        return {"value": sum(items), "items": items}


@component
class Fragile:
    """Fails on some values, returns a non-dict on others."""

    @component.output_types(value=int)
    def run(self, value: int) -> Any:
        if value % 17 == 4:
            raise ValueError(f"cannot take {value}")
        if value % 19 == 7:
            return [value]
        return {"value": value - 1}


_KINDS = (Split, Combine, Gather, Extend, Fragile, Split, Combine, Extend)


def _random_pipeline(seed: int) -> tuple[Pipeline, dict[str, Any], set[str] | None]:
    rng = random.Random(seed)
    pipeline = Pipeline()
    names: list[str] = []
    for index in range(rng.randint(2, 9)):
        name = f"n{index}"
        pipeline.add_component(name, rng.choice(_KINDS)())
        names.append(name)
    outputs = pipeline.outputs()
    senders = [(n, s, spec["type"]) for n, sockets in outputs.items() for s, spec in sockets.items()]
    for receiver_index, receiver in enumerate(names):
        earlier = [s for s in senders if names.index(s[0]) < receiver_index]
        for socket in pipeline.inputs(include_connected=True)[receiver]:
            for _ in range(rng.choice((0, 1, 1, 1, 2, 3))):
                if not earlier:
                    break
                sender, output, _ = rng.choice(earlier)
                try:
                    pipeline.connect(f"{sender}.{output}", f"{receiver}.{socket}")
                except PipelineConnectError:
                    continue
    data: dict[str, Any] = {}
    for name, sockets in pipeline.inputs(include_connected=True).items():
        open_inputs = pipeline.inputs().get(name, {})
        for socket, spec in sockets.items():
            connected = socket not in open_inputs
            chance = 0.1 if connected else (0.9 if spec["is_mandatory"] else 0.3)
            if rng.random() < chance:
                is_list = "list" in str(spec["type"])
                value = rng.randint(0, 40)
                data.setdefault(name, {})[socket] = [value, value + 2] if is_list else value
    include = set(rng.sample(names, rng.randint(1, 2))) if rng.random() < 0.2 else None
    return pipeline, data, include


def test_random_graphs_run_the_same_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    handovers = 0
    original = RunState.after_static_prefix.__func__  # type: ignore[attr-defined]

    def counted(cls: type[RunState], *args: Any, **kwargs: Any) -> RunState:
        nonlocal handovers
        handovers += 1
        return original(cls, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(RunState, "after_static_prefix", classmethod(counted))
    seen: dict[str, int] = {}
    for seed in range(400):
        static, general = _both_ways(lambda seed=seed: _random_pipeline(seed))
        try:
            _assert_same(static, general)
        except AssertionError as exc:
            raise AssertionError(f"seed {seed}: the static and general runs differ") from exc
        kind = static.error[0].__name__ if static.error else ("stuck" if static.logs else "ok")
        seen[kind] = seen.get(kind, 0) + 1
    # the seeds cover the interesting ways a run ends, and the static order handed over to the scheduler
    assert seen.get("ok", 0) > 150
    assert seen.get("stuck", 0) > 5
    assert seen.get(PipelineRuntimeError.__name__, 0) > 5
    assert seen.get(PipelineComponentsBlockedError.__name__, 0) > 5
    assert handovers > 20


# ---------------------------------------------------------------- the static order itself


def _line(n: int) -> Pipeline:
    pipeline = Pipeline()
    for i in range(n):
        pipeline.add_component(f"c{i}", Fragile())
        if i:
            pipeline.connect(f"c{i - 1}.value", f"c{i}.value")
    return pipeline


def test_a_static_run_does_not_use_the_schedulers_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_scheduler(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the general scheduler was used")

    monkeypatch.setattr(RunState, "__init__", no_scheduler)
    assert _line(5).run({"c0": {"value": 35}}) == {"c4": {"value": 30}}
    general = _line(5)
    general._use_static_schedule = False
    with pytest.raises(AssertionError, match="general scheduler"):
        general.run({"c0": {"value": 35}})


def _router_skips_a_variadic_sender() -> tuple[Pipeline, dict[str, Any], set[str] | None]:
    # 'join' waits for 'blocked', which never runs; 'tail' is ready at once and has a higher rank
    pipeline = Pipeline()
    pipeline.add_component("blocked", Combine())
    pipeline.add_component("source", Split())
    pipeline.add_component("join", Gather())
    pipeline.add_component("tail", Combine())
    pipeline.connect("blocked.value", "join.values")
    pipeline.connect("source.low", "join.values")
    pipeline.connect("source.high", "tail.a")
    return pipeline, {"source": {"value": 4}, "tail": {"b": 1}}, None


def test_a_component_waiting_for_a_sender_that_never_runs_goes_after_the_ready_ones() -> None:
    static, general = _both_ways(_router_skips_a_variadic_sender)
    _assert_same(static, general)
    # documented order: 'join' waits until nothing else can run, although its rank is lower than 'tail''s
    assert [name for name, _ in static.calls] == ["source", "tail", "join"]
    assert static.result == {
        "source": {"items": [4, 5]},
        "join": {"value": 6, "items": [5]},
        "tail": {"value": 16, "items": [8, 1]},
    }


def test_a_failure_in_a_static_run_carries_the_schedulers_snapshot_and_resumes() -> None:
    def build() -> tuple[Pipeline, dict[str, Any], set[str] | None]:
        pipeline = _line(4)
        pipeline.add_component("side", Gather())
        pipeline.connect("c0.value", "side.values")
        return pipeline, {"c0": {"value": 24}}, None  # c3 gets 21 and fails

    static, general = _both_ways(build)
    _assert_same(static, general)
    assert static.error is not None and static.error[0] is PipelineRuntimeError
    assert "'c3' failed on visit 1" in static.error[1]
    assert static.snapshot is not None and static.snapshot["next"] == "c3"

    pipeline, data, _ = build()
    calls = _record_calls(pipeline)
    with pytest.raises(PipelineRuntimeError) as failed:
        pipeline.run(data)
    snapshot = failed.value.snapshot
    snapshot.started["c3"].inputs["value"] = 22  # the fix: resume with an input it can take
    del calls[:]
    assert pipeline.run({}, snapshot=snapshot) == {"c3": {"value": 21}, "side": {"value": 24, "items": [23]}}
    assert [name for name, _ in calls] == ["c3"]


@pytest.mark.parametrize("include", [None, {"y"}, {"make", "y"}])
def test_fan_out_copies_and_include_outputs_from_match(include: set[str] | None) -> None:
    def build() -> tuple[Pipeline, dict[str, Any], set[str] | None]:
        pipeline = Pipeline()
        pipeline.add_component("make", Combine())
        for name in ("x", "y", "z"):
            pipeline.add_component(name, Extend())
            pipeline.connect("make.items", f"{name}.items")
        return pipeline, {"make": {"a": 1, "b": 2}}, include

    static, general = _both_ways(build)
    _assert_same(static, general)
    # every receiver mutated its own list; the caller gets the untouched original
    assert static.result is not None
    assert [static.result[n]["items"] for n in ("x", "y", "z")] == [[1, 2, 2]] * 3
    assert [kwargs for _, kwargs in static.calls[1:]] == [{"items": [1, 2], "step": None}] * 3
    if include and "make" in include:
        assert static.result["make"]["items"] == [1, 2]


@component
class Emit:
    """Keeps a reference to the list it emits, to see which receiver was handed the original."""

    def __init__(self) -> None:
        self.emitted: list[Any] = []

    @component.output_types(items=list[Any])
    def run(self, value: int) -> dict[str, Any]:
        self.emitted = [value]
        return {"items": self.emitted}


@component
class Mark:
    """Appends its own mark to the list it receives."""

    def __init__(self, mark: str) -> None:
        self.mark = mark

    @component.output_types(count=int)
    def run(self, items: list[Any]) -> dict[str, Any]:
        items.append(self.mark)
        return {"count": len(items)}


def test_the_last_receiver_of_a_fan_out_is_handed_the_original() -> None:
    emitted = {}
    for static in (True, False):
        pipeline = Pipeline()
        pipeline.add_component("emit", Emit())
        for mark in ("a", "b", "c"):
            pipeline.add_component(mark, Mark(mark))
            pipeline.connect("emit.items", f"{mark}.items")
        pipeline._use_static_schedule = static
        assert pipeline.run({"emit": {"value": 1}}) == {
            "a": {"count": 2},
            "b": {"count": 2},
            "c": {"count": 2},
        }
        emitted[static] = pipeline.get_component("emit").emitted
    assert emitted[True] == emitted[False] == [1, "c"]
