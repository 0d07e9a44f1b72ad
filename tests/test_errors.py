"""The exception hierarchy: one base class, and every error sorted by fault (usage vs runtime failure)."""

import importlib
import inspect
import pkgutil

import pytest

import haybale
from haybale import errors
from haybale.core.breakpoints import ComponentPaused


def _all_haybale_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(haybale.__path__, prefix="haybale."):
        names.append(info.name)
    return sorted(names)


def _exception_classes_defined_in_haybale() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for name in _all_haybale_modules():
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(value, BaseException)
                and value.__module__ == name
                and not value.__name__.startswith("_")
            ):
                found[f"{name}.{value.__qualname__}"] = value
    return found


def test_the_walk_finds_errors_outside_errors_py():
    # The walk must see classes defined in other modules, or the next test could not fail.
    found = _exception_classes_defined_in_haybale()
    assert "haybale.service.auth.AuthError" in found
    assert "haybale.errors.FilterError" in found


def test_every_public_exception_class_in_every_module_derives_from_haybale_error():
    outside = [
        name
        for name, cls in _exception_classes_defined_in_haybale().items()
        if not issubclass(cls, errors.HaybaleError)
    ]
    assert outside == [], f"exception classes outside the HaybaleError tree: {outside}"


def test_every_error_has_exactly_one_fault_or_is_a_neutral_base():
    neutral = {
        errors.HaybaleError,
        errors.PipelineError,
        errors.PipelineRuntimeError,
        errors.DocumentStoreError,
    }
    # Not failures: a run stopped on purpose (a breakpoint) or a component paused to ask the caller.
    signals = {errors.BreakpointReached, ComponentPaused}
    neutral |= signals
    for name, cls in _exception_classes_defined_in_haybale().items():
        if cls in neutral or cls in (errors.UsageError, errors.RuntimeFailure):
            continue
        usage = issubclass(cls, errors.UsageError)
        runtime = issubclass(cls, errors.RuntimeFailure)
        assert usage != runtime, f"{name} must be either a UsageError or a RuntimeFailure"


def test_specific_relationships():
    assert issubclass(errors.PipelineComponentsBlockedError, errors.PipelineRuntimeError)
    assert issubclass(errors.DuplicateDocumentError, errors.DocumentStoreError)
    assert issubclass(errors.DeserializationError, errors.SerializationError)
    assert issubclass(errors.FilterError, ValueError)
    assert not issubclass(errors.PipelineConnectError, errors.PipelineRuntimeError)
    assert issubclass(errors.DocumentStoreUsageError, errors.UsageError)
    assert issubclass(errors.DocumentStoreUnavailableError, errors.RuntimeFailure)
    assert issubclass(errors.MissingDependencyError, errors.RuntimeFailure)


def test_runtime_error_names_component_and_visit():
    err = errors.PipelineRuntimeError("boom", component_name="llm", visit=2)
    assert (err.component_name, err.visit) == ("llm", 2)


def test_missing_dependency_names_the_extra():
    err = errors.MissingDependencyError.for_extra("psycopg", "pg", "PgvectorDocumentStore")
    assert isinstance(err, ImportError)
    with pytest.raises(ImportError, match=r"pip install 'haybale\[pg\]'"):
        raise err


def _wrapped(cause: BaseException) -> errors.PipelineRuntimeError:
    try:
        try:
            raise cause
        except BaseException as exc:
            raise errors.PipelineRuntimeError("component failed", component_name="c", visit=1) from exc
    except errors.PipelineRuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("exc", "fault"),
    [
        (errors.FilterError("bad"), "usage"),
        (errors.DocumentStoreUnavailableError("down"), "runtime"),
        (_wrapped(errors.DocumentStoreUsageError("top_k must be >= 0")), "usage"),
        (_wrapped(errors.ModelUnavailableError("no model")), "runtime"),
        (_wrapped(ValueError("top_k must be positive")), "usage"),
        (_wrapped(TimeoutError()), "runtime"),
        (_wrapped(KeyError("bug")), "internal"),
        (ValueError("raised outside a component"), "internal"),
        (errors.PipelineRuntimeError("no cause"), "internal"),
    ],
)
def test_fault_of_reads_through_pipeline_runtime_errors(exc, fault):
    assert errors.fault_of(exc) == fault


def test_a_missing_optional_package_names_the_extra_that_installs_it():
    expected = r"pip install 'haybale\[pg\]'"
    with (
        pytest.raises(errors.MissingDependencyError, match=expected) as missing,
        errors.optional_dependency("psycopg-two", extra="pg", feature="The store"),
    ):
        import haybale_no_such_module  # noqa: F401
    assert "The store needs the 'psycopg-two' package" in str(missing.value)
    assert isinstance(missing.value.__cause__, ModuleNotFoundError)
    assert errors.fault_of(missing.value) == "runtime"
    # other errors pass through untouched
    with pytest.raises(KeyError), errors.optional_dependency("x", extra="y", feature="z"):
        raise KeyError("k")


def test_lazy_exports_load_on_first_use_and_are_listed():
    import subprocess
    import sys

    code = (
        "import sys, haybale.stores as s; assert 'haybale.stores.sqlite' not in sys.modules; "
        "assert 'SQLiteDocumentStore' in dir(s); cls = s.SQLiteDocumentStore; "
        "assert 'haybale.stores.sqlite' in sys.modules and vars(s)['SQLiteDocumentStore'] is cls; "
        "import haybale.stores.sqlite as m; assert cls is m.SQLiteDocumentStore; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        import haybale.stores

        _ = haybale.stores.Nope
