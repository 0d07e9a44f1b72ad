"""Serialization helpers and allow-listed type loading.

Serialized objects look like ``{"type": "module.Class", "init_parameters": {...}}``. Loading one only ever
imports a module when its dotted name is allow-listed: ``haybale`` itself, the modules a caller passes as
``allowed_modules`` (to ``Pipeline.from_dict``/``loads``/``load``), and those named in the comma-separated
``HAYBALE_ALLOWED_MODULES`` environment variable. Anything else, such as ``subprocess.Popen``, is refused
before any import or instantiation happens. The active allow-list flows to nested loads (a document store
inside a retriever) through a context variable.

Templates in serialized components always run sandboxed: a component that can turn its Jinja sandbox off
(``ConditionalRouter(unsafe=True)``) refuses ``unsafe: true`` in serialized data unless the caller opted in
for that load (``allow_unsafe_templates=True``; :func:`unsafe_templates_allowed` says whether it did). A file
that names an unsafe template could otherwise run any code on the machine that loads it.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final, TypeVar

from haybale.errors import DeserializationError

__all__ = [
    "ALLOWED_MODULES_ENV_VAR",
    "allowed_modules",
    "allowed_modules_scope",
    "default_from_dict",
    "default_to_dict",
    "deserialize_object",
    "import_class",
    "type_name_of",
    "unsafe_templates_allowed",
    "unsafe_templates_scope",
]

T = TypeVar("T")

ALLOWED_MODULES_ENV_VAR: Final = "HAYBALE_ALLOWED_MODULES"
_BUILTIN_ALLOWED: Final = ("haybale",)
_extra_allowed: ContextVar[tuple[str, ...]] = ContextVar("haybale_allowed_modules", default=())
_unsafe_templates: ContextVar[bool] = ContextVar("haybale_unsafe_templates", default=False)


def type_name_of(obj_or_cls: Any) -> str:
    """The dotted ``module.QualifiedName`` used as ``"type"`` in serialized data."""
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return f"{cls.__module__}.{cls.__qualname__}"


def default_to_dict(obj: Any, **init_parameters: Any) -> dict[str, Any]:
    """Serialize ``obj`` as ``{"type": "module.Class", "init_parameters": init_parameters}``.

    Pass already-serialized values (call ``to_dict()`` on nested objects and secrets yourself).
    """
    return {"type": type_name_of(obj), "init_parameters": init_parameters}


def default_from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build ``cls(**data["init_parameters"])``.

    Raises:
        DeserializationError: when ``data`` is not a dict, names another type, or holds init parameters that
            ``cls`` does not accept (the message lists the accepted ones).
    """
    if not isinstance(data, dict):
        raise DeserializationError(f"Cannot load {cls.__qualname__} from {data!r}: expected a mapping.")
    declared = data.get("type")
    if declared is not None and declared != type_name_of(cls) and not _names_class(declared, cls):
        raise DeserializationError(
            f"Cannot load {type_name_of(cls)} from data of type '{declared}'. The 'type' key must name the "
            "class being loaded."
        )
    params = data.get("init_parameters") or {}
    if not isinstance(params, dict):
        raise DeserializationError(
            f"Cannot load {cls.__qualname__}: 'init_parameters' must be a mapping, got {params!r}."
        )
    try:
        return cls(**params)
    except TypeError as exc:
        import inspect

        try:
            accepted = [p for p in inspect.signature(cls).parameters if p not in ("args", "kwargs")]
        except (TypeError, ValueError):
            accepted = []
        raise DeserializationError(
            f"Cannot build {cls.__qualname__} from init_parameters {sorted(params)}: {exc}. "
            f"Accepted parameters: {accepted}."
        ) from exc


def _names_class(declared: Any, cls: type[Any]) -> bool:
    """Whether ``declared`` is another import path of ``cls`` (a package re-export such as
    ``haybale.components.builders.PromptBuilder``)."""
    try:
        return isinstance(declared, str) and import_class(declared) is cls
    except DeserializationError:
        return False


def allowed_modules() -> tuple[str, ...]:
    """The module prefixes types may currently be loaded from (built-in, caller's, environment)."""
    env = os.environ.get(ALLOWED_MODULES_ENV_VAR, "")
    from_env = tuple(part.strip() for part in env.split(",") if part.strip())
    return _BUILTIN_ALLOWED + _extra_allowed.get() + from_env


@contextmanager
def allowed_modules_scope(modules: Iterable[str] | None) -> Iterator[None]:
    """Add ``modules`` to the allow-list for the duration of a ``with`` block (nested loads see them too)."""
    extra = tuple(m.strip() for m in (modules or ()) if m and m.strip())
    token = _extra_allowed.set(_extra_allowed.get() + extra)
    try:
        yield
    finally:
        _extra_allowed.reset(token)


def unsafe_templates_allowed() -> bool:
    """Whether the load in progress may build components with their template sandbox turned off."""
    return _unsafe_templates.get()


@contextmanager
def unsafe_templates_scope(allowed: bool) -> Iterator[None]:
    """Let the loads inside a ``with`` block build unsafe (unsandboxed) templates when ``allowed``; an
    enclosing scope that allowed them stays in force for nested loads."""
    token = _unsafe_templates.set(_unsafe_templates.get() or allowed)
    try:
        yield
    finally:
        _unsafe_templates.reset(token)


def _is_allowed(type_name: str, prefixes: tuple[str, ...]) -> bool:
    return any(type_name == p or type_name.startswith(p + ".") for p in prefixes)


def import_class(type_name: str) -> type[Any]:
    """Import and return the class named by a dotted ``type_name`` if its module is allow-listed.

    Raises:
        DeserializationError: when the name is malformed, not allow-listed (checked before importing
            anything), or does not resolve to a class.
    """
    if not isinstance(type_name, str) or "." not in type_name or not all(type_name.split(".")):
        raise DeserializationError(
            f"Invalid type name {type_name!r}: expected a dotted 'module.ClassName' string."
        )
    prefixes = allowed_modules()
    if not _is_allowed(type_name, prefixes):
        raise DeserializationError(
            f"Type '{type_name}' is not allow-listed, so it was not imported. Allowed module prefixes: "
            f"{list(prefixes)}. If you trust it, pass "
            f"allowed_modules=['{type_name.split('.', maxsplit=1)[0]}'] when "
            f"loading, or set {ALLOWED_MODULES_ENV_VAR}={type_name.rsplit('.', 1)[0]}."
        )
    parts = type_name.split(".")
    errors: list[str] = []
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        if not _is_allowed(module_name, prefixes):
            break
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError as exc:
            errors.append(f"{module_name}: {exc}")
            continue
        try:
            for attr in parts[split:]:
                obj = getattr(obj, attr)
        except AttributeError:
            errors.append(f"{module_name} has no attribute {'.'.join(parts[split:])!r}")
            continue
        if not isinstance(obj, type):
            raise DeserializationError(f"'{type_name}' is a {type(obj).__name__}, not a class.")
        return obj
    detail = "; ".join(errors) or "no importable module"
    raise DeserializationError(
        f"Cannot import type '{type_name}' ({detail}). Check the spelling and install."
    )


def deserialize_object(data: dict[str, Any]) -> Any:
    """Load a nested object serialized as ``{"type": ..., "init_parameters": {...}}``.

    Uses the class's ``from_dict`` when it has one, else ``cls(**init_parameters)``. Only allow-listed types
    are imported.

    Raises:
        DeserializationError: on malformed data, a refused type, or a failing constructor.
    """
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise DeserializationError(
            f"Cannot load an object from {data!r}: expected a mapping with a 'type' string and "
            "'init_parameters'."
        )
    cls = import_class(data["type"])
    from_dict = getattr(cls, "from_dict", None)
    if callable(from_dict):
        return from_dict(data)
    return default_from_dict(cls, data)
