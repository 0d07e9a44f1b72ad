"""The one exception hierarchy of haybale.

Every error haybale raises on purpose derives from :class:`HaybaleError`. User mistakes (a bad connection, a
malformed filter, a YAML file naming a foreign type) are distinct classes from runtime failures (a component
that raised), so callers can tell "fix your input" from "something broke". Messages say what happened, where,
what is allowed, and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "ComponentError",
    "ConversionError",
    "DeserializationError",
    "DocumentStoreError",
    "DuplicateDocumentError",
    "EvaluationError",
    "FilterError",
    "HaybaleError",
    "MissingDependencyError",
    "PipelineComponentsBlockedError",
    "PipelineConnectError",
    "PipelineError",
    "PipelineMaxComponentRuns",
    "PipelineRuntimeError",
    "PipelineValidationError",
    "SerializationError",
]


class HaybaleError(Exception):
    """Base class of every error haybale raises on purpose."""


class ComponentError(HaybaleError):
    """A component is defined or configured incorrectly (bad sockets, bad init parameters, bad input)."""


class ConversionError(ComponentError):
    """One file or byte stream could not be converted to documents (corrupt, encrypted, binary, unreadable).

    Converters catch it per source and report it in their ``failures`` output, so one bad file never takes a
    batch down.
    """


class PipelineError(HaybaleError):
    """Base class of pipeline errors."""


class PipelineConnectError(PipelineError):
    """Two sockets cannot be connected: unknown names, incompatible types, or an already-taken receiver."""


class PipelineValidationError(PipelineError):
    """The pipeline or its run inputs are invalid (unknown component, unknown input, wrong input type)."""


class PipelineRuntimeError(PipelineError):
    """A component failed while the pipeline ran.

    Attributes:
        component_name: name of the component that failed, or None when the failure is not one component's.
        visit: which visit of that component failed (1 for its first run).
    The component's original exception is available as ``__cause__``.
    """

    def __init__(self, message: str, *, component_name: str | None = None, visit: int | None = None) -> None:
        super().__init__(message)
        self.component_name = component_name
        self.visit = visit


class PipelineComponentsBlockedError(PipelineRuntimeError):
    """Nothing can run: some mandatory inputs can never arrive. The message names them."""


class PipelineMaxComponentRuns(PipelineError):
    """A component was asked to run more than ``max_runs_per_component`` times in one run."""


class SerializationError(HaybaleError):
    """An object cannot be serialized (for example a component holding a token secret)."""


class DeserializationError(SerializationError):
    """Serialized data cannot be loaded: malformed YAML/JSON, missing keys, or a type not allow-listed."""


class FilterError(HaybaleError, ValueError):
    """A metadata filter is malformed: unknown operator, bad condition shape, or a value of the wrong type."""


class DocumentStoreError(HaybaleError):
    """A document store operation failed."""


class DuplicateDocumentError(DocumentStoreError):
    """A document with the same id already exists and the duplicate policy is FAIL (or NONE)."""


class MissingDependencyError(HaybaleError, ImportError):
    """An optional dependency is not installed. The message names the extra to install."""

    @classmethod
    def for_extra(cls, package: str, extra: str, feature: str) -> MissingDependencyError:
        """Build the standard message: what needs the package and which `pip install` fixes it."""
        return cls(
            f"{feature} needs the '{package}' package, which is not installed. "
            f"Install it with: pip install 'haybale[{extra}]'"
        )


class EvaluationError(HaybaleError, ValueError):
    """An evaluation run is set up wrongly (unknown component or socket, a dataset row without the ground
    truth an evaluator needs, clashing metric names) or two reports cannot be compared."""
