"""Tracing hooks of the engine: the ``Tracer``/``Span`` protocols, the global ``tracer`` proxy and the spans
that ``Pipeline.run``/``run_async`` open when tracing is enabled.

Tracing is off by default and then costs one attribute check per run (and per component visit in
``run_async``). Enable it with ``enable_tracing(SomeTracer())``; concrete tracers (logging, in-memory,
OpenTelemetry, metrics) live in ``haybale.tracing``. Spans:

- ``haybale.pipeline.run``: tags ``haybale.pipeline.mode`` ("sync"/"async"),
  ``haybale.pipeline.metadata``, ``haybale.pipeline.max_runs_per_component``; content tags
  ``haybale.pipeline.input_data`` and ``haybale.pipeline.output_data``.
- ``haybale.component.run`` (one per component visit, child of the pipeline span): tags
  ``haybale.component.name``, ``haybale.component.type``, ``haybale.component.visits`` (1 for the first
  visit), ``haybale.component.input_sockets``, ``haybale.component.output_sockets`` (the sockets it
  produced); content tags ``haybale.component.input`` and ``haybale.component.output``.

Content tags carry user data (queries, documents, answers), so they are recorded only when content tracing
is on: ``HAYBALE_CONTENT_TRACING_ENABLED=true`` in the environment, or
``enable_tracing(..., content_tracing=True)``.

Span enrichers (:class:`SpanEnricher`, given to ``enable_tracing(..., enrichers=[...])``) see every pipeline
and component span as it opens and closes, with the component instance and its inputs/outputs, and add tags
of their own (``haybale.tracing`` adds span kinds and GenAI attributes this way). An enricher that raises is
logged and ignored: tracing never breaks a run.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from haybale.core.plan import NodePlan

__all__ = [
    "CONTENT_TRACING_ENV_VAR",
    "ProxyTracer",
    "Span",
    "SpanEnricher",
    "Tracer",
    "disable_tracing",
    "enable_tracing",
    "is_tracing_enabled",
    "tracer",
]

#: environment variable that turns content tracing on ("true", "1", "yes" or "on", case-insensitive)
CONTENT_TRACING_ENV_VAR = "HAYBALE_CONTENT_TRACING_ENABLED"

PIPELINE_RUN = "haybale.pipeline.run"
COMPONENT_RUN = "haybale.component.run"

logger = logging.getLogger(__name__)


def _content_tracing_from_env() -> bool:
    return os.environ.get(CONTENT_TRACING_ENV_VAR, "").strip().lower() in {"true", "1", "yes", "on"}


@runtime_checkable
class Span(Protocol):
    """One traced operation. Concrete spans implement :meth:`set_tag`; the other methods have defaults that
    classes explicitly subclassing ``Span`` inherit."""

    def set_tag(self, key: str, value: Any) -> None:
        """Attach ``value`` to the span under ``key`` (tracers may convert it to a string)."""
        ...

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Attach several tags at once."""
        for key, value in tags.items():
            self.set_tag(key, value)

    def set_content_tag(self, key: str, value: Any) -> None:
        """Attach a tag that may hold user data; recorded only while content tracing is enabled."""
        if tracer.is_content_tracing_enabled:
            self.set_tag(key, value)

    def raw_span(self) -> Any:
        """The backend's own span object (an OpenTelemetry span, a record...) for backend-specific calls."""
        return self


@runtime_checkable
class Tracer(Protocol):
    """Opens spans. ``trace`` returns a context manager; the span ends when the block exits, and records the
    error when the block raises (the exception still propagates)."""

    def trace(
        self, operation_name: str, tags: Mapping[str, Any] | None = None
    ) -> contextlib.AbstractContextManager[Span]:
        """Open a span called ``operation_name`` with initial ``tags``; nested calls open child spans."""
        ...

    def current_span(self) -> Span | None:
        """The innermost open span in the current thread/task, or None."""
        ...


@runtime_checkable
class SpanEnricher(Protocol):
    """Adds tags to the engine's spans. ``instance`` is the component (None for the pipeline span);
    ``inputs`` its run arguments (the run data for the pipeline span), ``outputs`` what it returned (None for
    the pipeline span)."""

    def on_start(self, operation_name: str, span: Span, instance: Any, inputs: Mapping[str, Any]) -> None:
        """Called right after the span opened."""
        ...

    def on_end(self, operation_name: str, span: Span, instance: Any, outputs: Any) -> None:
        """Called before the span closes, when the run returned normally."""
        ...


class _NullSpan(Span):
    """The span handed out while tracing is disabled: records nothing."""

    __slots__ = ()

    def set_tag(self, key: str, value: Any) -> None:
        """Ignore the tag."""

    def set_content_tag(self, key: str, value: Any) -> None:
        """Ignore the tag."""


_NULL_SPAN = _NullSpan()


class ProxyTracer:
    """The global tracer: forwards to the tracer given to :func:`enable_tracing`, or records nothing.

    Attributes:
        actual_tracer: the enabled tracer, None while tracing is disabled.
        is_content_tracing_enabled: whether content tags (user data) are recorded.
        enrichers: the span enrichers given to :func:`enable_tracing`.
    """

    __slots__ = ("actual_tracer", "enrichers", "is_content_tracing_enabled")

    def __init__(self) -> None:
        self.actual_tracer: Tracer | None = None
        self.is_content_tracing_enabled = _content_tracing_from_env()
        self.enrichers: tuple[SpanEnricher, ...] = ()

    def trace(
        self, operation_name: str, tags: Mapping[str, Any] | None = None
    ) -> contextlib.AbstractContextManager[Span]:
        """Open a span on the enabled tracer; a no-op span while tracing is disabled."""
        actual = self.actual_tracer
        if actual is None:
            return contextlib.nullcontext(_NULL_SPAN)
        return actual.trace(operation_name, tags)

    def current_span(self) -> Span | None:
        """The enabled tracer's current span, or None."""
        actual = self.actual_tracer
        return None if actual is None else actual.current_span()


#: the process-wide tracer used by the engine (and by components that want their own spans)
tracer = ProxyTracer()


def enable_tracing(
    actual: Tracer, content_tracing: bool | None = None, enrichers: Iterable[SpanEnricher] = ()
) -> None:
    """Send the engine's spans to ``actual``.

    Args:
        actual: any object implementing :class:`Tracer` (see ``haybale.tracing``).
        content_tracing: record content tags (inputs/outputs); None reads ``HAYBALE_CONTENT_TRACING_ENABLED``.
        enrichers: :class:`SpanEnricher` objects that tag every pipeline and component span
            (``haybale.tracing.enable_tracing`` passes the span-kind / GenAI enricher by default).

    Raises:
        TypeError: ``actual`` has no ``trace``/``current_span`` methods, or an enricher lacks
            ``on_start``/``on_end``.
    """
    if not isinstance(actual, Tracer):
        raise TypeError(
            f"enable_tracing() needs a Tracer (an object with trace() and current_span()), got "
            f"{type(actual).__name__}. Use e.g. haybale.tracing.LoggingTracer()."
        )
    chosen = tuple(enrichers)
    for enricher in chosen:
        if not isinstance(enricher, SpanEnricher):
            raise TypeError(
                f"enable_tracing() enrichers need on_start() and on_end() methods, got "
                f"{type(enricher).__name__}."
            )
    tracer.is_content_tracing_enabled = (
        _content_tracing_from_env() if content_tracing is None else bool(content_tracing)
    )
    tracer.enrichers = chosen
    tracer.actual_tracer = actual


def disable_tracing() -> None:
    """Stop tracing; the engine goes back to its zero-cost path."""
    tracer.actual_tracer = None
    tracer.enrichers = ()


def is_tracing_enabled() -> bool:
    """Whether a tracer is enabled."""
    return tracer.actual_tracer is not None


# ---------------------------------------------------------------------------- engine hooks
@contextlib.contextmanager
def pipeline_span(
    mode: str, metadata: Mapping[str, Any], max_runs: int, data: Mapping[str, Any]
) -> Iterator[Span]:
    """The ``haybale.pipeline.run`` span around one run."""
    tags = {
        "haybale.pipeline.mode": mode,
        "haybale.pipeline.metadata": dict(metadata),
        "haybale.pipeline.max_runs_per_component": max_runs,
    }
    with tracer.trace(PIPELINE_RUN, tags) as span:
        span.set_content_tag("haybale.pipeline.input_data", data)
        _enrich_start(PIPELINE_RUN, span, None, data)
        yield span
        _enrich_end(PIPELINE_RUN, span, None, None)


def _enrich_start(operation: str, span: Span, instance: Any, inputs: Mapping[str, Any]) -> None:
    for enricher in tracer.enrichers:
        try:
            enricher.on_start(operation, span, instance, inputs)
        except Exception:  # an enricher bug must not fail the run it observes
            logger.warning("Span enricher %s failed on %s", type(enricher).__name__, operation, exc_info=True)


def _enrich_end(operation: str, span: Span, instance: Any, outputs: Any) -> None:
    for enricher in tracer.enrichers:
        try:
            enricher.on_end(operation, span, instance, outputs)
        except Exception:  # an enricher bug must not fail the run it observes
            logger.warning("Span enricher %s failed on %s", type(enricher).__name__, operation, exc_info=True)


def _component_tags(node: NodePlan, visit: int, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    kind = type(node.instance)
    return {
        "haybale.component.name": node.name,
        "haybale.component.type": f"{kind.__module__}.{kind.__qualname__}",
        "haybale.component.visits": visit,
        "haybale.component.input_sockets": list(kwargs),
    }


def _record_outputs(span: Span, node: NodePlan, outputs: Any) -> None:
    if isinstance(outputs, dict):
        span.set_tag("haybale.component.output_sockets", list(outputs))
    span.set_content_tag("haybale.component.output", outputs)
    _enrich_end(COMPONENT_RUN, span, node.instance, outputs)


def run_component_traced(node: NodePlan, kwargs: dict[str, Any], visit: int) -> Any:
    """Call ``node.run(**kwargs)`` inside a ``haybale.component.run`` span."""
    with tracer.trace(COMPONENT_RUN, _component_tags(node, visit, kwargs)) as span:
        span.set_content_tag("haybale.component.input", kwargs)
        _enrich_start(COMPONENT_RUN, span, node.instance, kwargs)
        outputs = node.run(**kwargs)
        _record_outputs(span, node, outputs)
        return outputs


async def run_component_traced_async(node: NodePlan, kwargs: dict[str, Any], visit: int) -> Any:
    """Await ``node.run_async`` (or ``node.run`` in a worker thread) in a ``haybale.component.run`` span."""
    with tracer.trace(COMPONENT_RUN, _component_tags(node, visit, kwargs)) as span:
        span.set_content_tag("haybale.component.input", kwargs)
        _enrich_start(COMPONENT_RUN, span, node.instance, kwargs)
        if node.run_async is not None:
            outputs = await node.run_async(**kwargs)
        else:
            import asyncio

            outputs = await asyncio.to_thread(node.run, **kwargs)
        _record_outputs(span, node, outputs)
        return outputs
