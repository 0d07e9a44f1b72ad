"""Pipeline snapshots: where a stopped run stands, as JSON that can be saved, inspected, edited and resumed.

A snapshot holds the run's whole state: the values waiting in every component's inputs, the caller's inputs,
how often each component ran, the outputs collected so far, and the inputs already taken by the component
the run stopped at (and by any component ``run_async`` had started ahead). ``Pipeline.run({},
snapshot=...)`` (or ``run_async``) continues from it and returns what the uninterrupted run would have.

Snapshots are written with :mod:`haybale.core.value_codec`: plain JSON with tagged values, never pickle;
loading one imports only allow-listed classes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from haybale.core.breakpoints import Breakpoint
from haybale.core.serialization import allowed_modules_scope, type_name_of
from haybale.core.value_codec import decode_value, encode_value
from haybale.errors import DeserializationError, PipelineValidationError, SerializationError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from haybale.core.pipeline import Pipeline

__all__ = ["SNAPSHOT_FORMAT", "PipelineSnapshot", "StartedVisit", "pipeline_shape"]

SNAPSHOT_FORMAT: Final = "haybale.pipeline-snapshot/1"

Reason = Literal["breakpoint", "paused", "failure", "checkpoint"]


@dataclass
class StartedVisit:
    """A visit whose inputs were taken but whose outputs were not delivered when the run stopped.

    Attributes:
        visit: the visit's number (from 1).
        inputs: the keyword arguments it runs with (edit them to change what it gets on resume).
        outputs: its outputs when it had already finished (``run_async`` ran it ahead); None when it still
            has to run on resume.
        resume: the state it paused with (components that pause themselves, such as the Agent).
        question: what it asked the caller when it paused; answer with :meth:`PipelineSnapshot.answer`.
        answer: the caller's answer, given to the component on resume.
    """

    visit: int
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None = None
    resume: Any = None
    question: Any = None
    answer: Any = None


@dataclass
class PipelineSnapshot:
    """The state of a stopped run. Get one from ``BreakpointReached.snapshot``,
    ``PipelineRuntimeError.snapshot``, a checkpoint file (:meth:`load`), or :meth:`from_json`.

    Attributes:
        pipeline: the shape of the pipeline it was taken from (component types and connections); resuming
            on a pipeline of another shape is refused.
        state: the scheduler's state (waiting values, visits, outputs so far).
        started: visits that took their inputs but did not deliver (by component name).
        next: the component that runs first on resume (the one the run stopped at), if any.
        reason: ``"breakpoint"``, ``"paused"`` (a component asked something), ``"failure"`` or
            ``"checkpoint"`` (written after a component finished).
        breakpoint: the breakpoint that stopped the run, if one did.
        error: the failure's message, for failure snapshots.
        created_at: when it was taken (UTC, ISO 8601).
    """

    pipeline: dict[str, Any]
    state: dict[str, Any]
    started: dict[str, StartedVisit] = field(default_factory=dict)
    next: str | None = None
    reason: Reason = "breakpoint"
    breakpoint: Breakpoint | None = None
    error: str | None = None
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    # ------------------------------------------------------------------ looking inside
    @property
    def inputs(self) -> dict[str, Any]:
        """The inputs the component the run stopped at will run with (edit to change them); {} if none."""
        if self.next is None or self.next not in self.started:
            return {}
        return self.started[self.next].inputs

    @property
    def question(self) -> Any:
        """What the paused component asks the caller (for the Agent: the tool calls to confirm); or None."""
        if self.next is None or self.next not in self.started:
            return None
        return self.started[self.next].question

    def answer(self, value: Any) -> PipelineSnapshot:
        """Give the paused component its answer (for the Agent: ``ToolDecision``s or True/False); returns
        the snapshot, so ``pipeline.run({}, snapshot=snapshot.answer(True))`` reads naturally.

        Raises:
            PipelineValidationError: the snapshot holds no component that asked a question.
        """
        if self.next is None or self.next not in self.started or self.started[self.next].question is None:
            raise PipelineValidationError(
                "This snapshot has no question to answer: answer() is for runs that stopped because a "
                "component asked something (reason 'paused'). Resume it with pipeline.run({}, snapshot=...)."
            )
        self.started[self.next].answer = value
        return self

    def outputs_so_far(self) -> dict[str, dict[str, Any]]:
        """The outputs collected before the run stopped (leaf outputs and ``include_outputs_from``)."""
        result = {name: dict(values) for name, values in self.state["leaf"].items()}
        for name, values in self.state["full"].items():
            result[name] = {**result.get(name, {}), **values}
        return result

    def waiting_inputs(self) -> dict[str, dict[str, Any]]:
        """Values waiting for each component: the caller's, those senders delivered, and taken inputs."""
        waiting: dict[str, dict[str, Any]] = {}
        for source in (self.state["user"], self.state["received"]):
            for name, values in source.items():
                if values:
                    waiting.setdefault(name, {}).update(values)
        for name, visit in self.started.items():
            if visit.outputs is None:
                waiting.setdefault(name, {}).update(visit.inputs)
        return waiting

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible data (values tagged by :mod:`haybale.core.value_codec`).

        Raises:
            SerializationError: a value in the run has no JSON encoding; the message names where it is.
        """
        started = {}
        for name, visit in self.started.items():
            where = f"the inputs of '{name}'"
            started[name] = {
                "visit": visit.visit,
                "inputs": encode_value(visit.inputs, where),
                "outputs": None
                if visit.outputs is None
                else encode_value(visit.outputs, f"outputs of '{name}'"),
                "resume": encode_value(visit.resume, f"the paused state of '{name}'"),
                "question": encode_value(visit.question, f"the question of '{name}'"),
                "answer": encode_value(visit.answer, f"the answer for '{name}'"),
            }
        return {
            "format": SNAPSHOT_FORMAT,
            "created_at": self.created_at,
            "reason": self.reason,
            "next": self.next,
            "breakpoint": None if self.breakpoint is None else self.breakpoint.to_dict(),
            "error": self.error,
            "pipeline": self.pipeline,
            "state": encode_value(self.state, "the run state"),
            "started": started,
        }

    @classmethod
    def from_dict(cls, data: Any, allowed_modules: Iterable[str] | None = None) -> PipelineSnapshot:
        """Load from :meth:`to_dict` output; only allow-listed classes are imported.

        Raises:
            DeserializationError: not a snapshot, another format version, or malformed values.
        """
        if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise DeserializationError(
                f"Not a haybale pipeline snapshot (format {found!r}, expected {SNAPSHOT_FORMAT!r})."
            )
        try:
            with allowed_modules_scope(allowed_modules):
                state = decode_value(data["state"], "state")
                started = {
                    name: StartedVisit(
                        visit=int(entry["visit"]),
                        inputs=decode_value(entry["inputs"], f"started.{name}.inputs"),
                        outputs=decode_value(entry.get("outputs"), f"started.{name}.outputs"),
                        resume=decode_value(entry.get("resume"), f"started.{name}.resume"),
                        question=decode_value(entry.get("question"), f"started.{name}.question"),
                        answer=decode_value(entry.get("answer"), f"started.{name}.answer"),
                    )
                    for name, entry in (data.get("started") or {}).items()
                }
            _check_state(state)
            breakpoint_data = data.get("breakpoint")
            return cls(
                pipeline=dict(data["pipeline"]),
                state=state,
                started=started,
                next=data.get("next"),
                reason=data.get("reason", "breakpoint"),
                breakpoint=None if breakpoint_data is None else Breakpoint.from_dict(breakpoint_data),
                error=data.get("error"),
                created_at=data.get("created_at") or "",
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DeserializationError(f"Malformed pipeline snapshot: {type(exc).__name__}: {exc}") from exc

    def to_json(self, indent: int | None = None) -> str:
        """The snapshot as JSON text (strict JSON: no NaN literals)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes, allowed_modules: Iterable[str] | None = None) -> PipelineSnapshot:
        """Load from :meth:`to_json` text.

        Raises:
            DeserializationError: invalid JSON or not a snapshot.
        """
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise DeserializationError(f"A pipeline snapshot must be JSON: {exc}") from exc
        return cls.from_dict(data, allowed_modules)

    def save(self, path: str | Path) -> Path:
        """Write the snapshot to ``path`` atomically (a crash leaves the previous file or the new one)."""
        target = Path(path)
        text = self.to_json()
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def load(cls, path: str | Path, allowed_modules: Iterable[str] | None = None) -> PipelineSnapshot:
        """Read a snapshot written by :meth:`save` (a checkpoint file, or one a breakpoint saved).

        Raises:
            DeserializationError: the file is missing, unreadable, or not a snapshot.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise DeserializationError(f"Cannot read the pipeline snapshot '{path}': {exc}") from exc
        return cls.from_json(text, allowed_modules)

    # ------------------------------------------------------------------ resuming
    def check_fits(self, pipeline: Pipeline) -> None:
        """Refuse to resume on a pipeline of another shape.

        Raises:
            PipelineValidationError: components or connections differ; the message lists the differences.
        """
        current = pipeline_shape(pipeline)
        if current == self.pipeline:
            return
        differences: list[str] = []
        mine, theirs = self.pipeline.get("components", {}), current["components"]
        for name in sorted(set(mine) | set(theirs)):
            if mine.get(name) != theirs.get(name):
                differences.append(
                    f"component '{name}': snapshot {mine.get(name)}, pipeline {theirs.get(name)}"
                )
        old_links = {tuple(c) for c in self.pipeline.get("connections", [])}
        new_links = {tuple(c) for c in current["connections"]}
        differences.extend(
            f"connection {a} -> {b} only in the snapshot" for a, b in sorted(old_links - new_links)
        )
        differences.extend(
            f"connection {a} -> {b} only in the pipeline" for a, b in sorted(new_links - old_links)
        )
        raise PipelineValidationError(
            "This snapshot was taken from a pipeline of another shape, so it cannot resume here: "
            f"{'; '.join(differences[:10])}. Resume it on the pipeline it came from."
        )


def pipeline_shape(pipeline: Pipeline) -> dict[str, Any]:
    """Component types by name and the connections: what a snapshot must match to resume."""
    return {
        "components": {name: type_name_of(type(instance)) for name, instance in pipeline.walk()},
        "connections": sorted([sender, receiver] for sender, receiver in pipeline.connections()),
    }


def _check_state(state: Any) -> None:
    keys = {
        "user",
        "prepend",
        "received",
        "arrived",
        "visits",
        "pending",
        "queued",
        "deferred",
        "leaf",
        "full",
    }
    if not isinstance(state, dict) or not keys <= state.keys():
        missing = sorted(keys - set(state)) if isinstance(state, dict) else sorted(keys)
        raise DeserializationError(f"Malformed pipeline snapshot: the state lacks {missing}.")


def encode_check(snapshot: PipelineSnapshot) -> str | None:
    """Why ``snapshot`` cannot be written as JSON, or None when it can."""
    try:
        snapshot.to_json()
    except SerializationError as exc:
        return str(exc)
    return None
