"""The ``@component`` decorator: turn a class with ``run(**inputs) -> dict`` into a pipeline component.

Input sockets come from ``run``'s typed parameters (a default makes an input optional); output sockets from
``@component.output_types(...)``. Components that decide their sockets at construction time call
``component.set_input_types`` / ``component.set_input_type`` / ``component.set_output_types`` in ``__init__``.

The decorator also records the arguments ``__init__`` was called with, so a component whose init parameters
are plain data (numbers, strings, lists, dicts, env-var secrets, nested serializable objects) serializes
without writing ``to_dict``/``from_dict``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final, TypeVar, get_type_hints

from haybale.core.serialization import default_from_dict, default_to_dict, deserialize_object
from haybale.core.sockets import EMPTY, InputSocket, OutputSocket, unwrap_variadic
from haybale.errors import ComponentError, DeserializationError, SerializationError

__all__ = [
    "component",
    "get_init_parameters",
    "get_input_sockets",
    "get_output_sockets",
    "is_component",
]

C = TypeVar("C", bound=type)
F = TypeVar("F", bound=Callable[..., Any])

_MARK: Final = "__haybale_component__"
_CLASS_SOCKETS: Final = "__haybale_class_sockets__"
_INPUTS: Final = "__haybale_inputs__"
_OUTPUTS: Final = "__haybale_outputs__"
_INIT_PARAMS: Final = "__haybale_init_parameters__"
_OUTPUT_TYPES: Final = "__haybale_output_types__"
_SCALARS: Final = (str, int, float, bool, type(None))


def is_component(obj: Any) -> bool:
    """True when ``obj`` is an instance (or class) decorated with ``@component``."""
    cls = obj if isinstance(obj, type) else type(obj)
    return bool(getattr(cls, _MARK, False))


def _class_sockets(cls: type) -> tuple[dict[str, InputSocket], dict[str, OutputSocket]]:
    """Discover (and cache on the class) the sockets declared by ``run``'s signature and output types."""
    cached = cls.__dict__.get(_CLASS_SOCKETS)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    import inspect  # imported on first use: `import haybale` stays fast

    run = cls.run  # type: ignore[attr-defined]
    try:
        hints = get_type_hints(run, include_extras=True)
    except Exception as exc:
        raise ComponentError(
            f"Cannot resolve the type annotations of {cls.__qualname__}.run: {exc}. Make every type used in "
            "run's signature importable from the component's module."
        ) from exc
    inputs: dict[str, InputSocket] = {}
    for index, param in enumerate(inspect.signature(run).parameters.values()):
        if index == 0 or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.kind is param.POSITIONAL_ONLY:
            raise ComponentError(
                f"{cls.__qualname__}.run: parameter '{param.name}' is positional-only; pipeline inputs are "
                "passed by name. Remove the '/' from run's signature."
            )
        if param.name not in hints:
            raise ComponentError(
                f"{cls.__qualname__}.run: parameter '{param.name}' has no type annotation; every input "
                f"socket needs a type so connections can be checked. Annotate it, e.g. '{param.name}: str', "
                f"or '{param.name}: Any' when any value is fine."
            )
        element_type, mode = unwrap_variadic(hints[param.name])
        default = EMPTY if param.default is inspect.Parameter.empty else param.default
        inputs[param.name] = InputSocket(param.name, element_type, default, mode)
    declared: dict[str, Any] = getattr(run, _OUTPUT_TYPES, {})
    outputs = {name: OutputSocket(name, tp) for name, tp in declared.items()}
    result = (inputs, outputs)
    setattr(cls, _CLASS_SOCKETS, result)
    return result


def get_input_sockets(instance: Any) -> dict[str, InputSocket]:
    """The input sockets of a component instance, by name (treat as read-only)."""
    sockets = instance.__dict__.get(_INPUTS)
    if sockets is None:
        sockets = _class_sockets(type(instance))[0]
    return sockets  # type: ignore[no-any-return]


def get_output_sockets(instance: Any) -> dict[str, OutputSocket]:
    """The output sockets of a component instance, by name (treat as read-only)."""
    sockets = instance.__dict__.get(_OUTPUTS)
    if sockets is None:
        sockets = _class_sockets(type(instance))[1]
    return sockets  # type: ignore[no-any-return]


def get_init_parameters(instance: Any) -> dict[str, Any]:
    """The arguments ``__init__`` was called with (defaults filled in), as recorded by ``@component``."""
    return dict(instance.__dict__.get(_INIT_PARAMS, {}))


def _require_component_instance(instance: Any, method: str) -> None:
    if isinstance(instance, type) or not is_component(instance):
        raise ComponentError(
            f"component.{method}(...) needs a component instance as its first argument (call it as "
            f"component.{method}(self, ...) inside __init__ of a @component class), got {instance!r}."
        )


def _serialize_init_value(value: Any, where: str) -> Any:
    """Turn one recorded init argument into YAML/JSON-safe data, or explain why it cannot be."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list | tuple):
        return [_serialize_init_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise SerializationError(f"{where}: dict keys must be strings to be serialized, got {value!r}.")
        return {k: _serialize_init_value(v, f"{where}.{k}") for k, v in value.items()}
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and hasattr(type(value), "from_dict"):
        data = to_dict()
        if isinstance(data, dict):
            return data
    raise SerializationError(
        f"{where} holds a {type(value).__qualname__}, which cannot be serialized automatically. Pass plain "
        "data (numbers, strings, lists, dicts, Secret.from_env_var, objects with to_dict/from_dict), or give "
        "the component its own to_dict()/from_dict() using default_to_dict/default_from_dict."
    )


def _deserialize_init_value(value: Any) -> Any:
    """Inverse of :func:`_serialize_init_value` for nested objects and env-var secrets."""
    if isinstance(value, list):
        return [_deserialize_init_value(v) for v in value]
    if isinstance(value, dict):
        if value.get("type") == "env_var" and "env_vars" in value:
            from haybale.core.secret import Secret

            return Secret.from_dict(value)
        if set(value) == {"type", "init_parameters"} and isinstance(value["type"], str):
            return deserialize_object(value)
        return {k: _deserialize_init_value(v) for k, v in value.items()}
    return value


def _auto_to_dict(self: Any) -> dict[str, Any]:
    """Serialize a component from the arguments its ``__init__`` was called with."""
    recorded = self.__dict__.get(_INIT_PARAMS)
    if recorded is None:
        raise SerializationError(
            f"{type(self).__qualname__} was built without its __init__ arguments being recorded; give it its "
            "own to_dict()/from_dict()."
        )
    where = type(self).__qualname__
    params = {k: _serialize_init_value(v, f"{where} init parameter '{k}'") for k, v in recorded.items()}
    return default_to_dict(self, **params)


def _auto_from_dict(cls: type[Any], data: dict[str, Any]) -> Any:
    """Build a component from :func:`_auto_to_dict` output."""
    if not isinstance(data, dict):
        raise DeserializationError(f"Cannot load {cls.__qualname__} from {data!r}: expected a dict.")
    params = data.get("init_parameters") or {}
    if not isinstance(params, dict):
        raise DeserializationError(
            f"Cannot load {cls.__qualname__}: 'init_parameters' must be a mapping, got {params!r}."
        )
    loaded = {k: _deserialize_init_value(v) for k, v in params.items()}
    return default_from_dict(cls, {**data, "init_parameters": loaded})


def _wrap_init(cls: type) -> None:
    """Wrap ``cls.__init__`` so it records its arguments and freezes the instance's sockets."""
    import inspect

    original = cls.__init__  # type: ignore[misc]
    signature = inspect.signature(original)

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if type(self) is not cls and type(self).__dict__.get(_MARK, False):
            return  # a decorated subclass records its own arguments
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError:
            return
        bound.apply_defaults()
        recorded: dict[str, Any] = {}
        for index, (name, value) in enumerate(bound.arguments.items()):
            kind = signature.parameters[name].kind
            if index == 0 or kind is inspect.Parameter.VAR_POSITIONAL:
                continue
            if kind is inspect.Parameter.VAR_KEYWORD:
                recorded.update(value)
            else:
                recorded[name] = value
        self.__dict__[_INIT_PARAMS] = recorded

    cls.__init__ = __init__  # type: ignore[misc]


def _check_run_async(cls: type) -> None:
    import inspect

    run_async = getattr(cls, "run_async", None)
    if run_async is None:
        return
    if not inspect.iscoroutinefunction(run_async):
        raise ComponentError(
            f"{cls.__qualname__}.run_async must be defined with 'async def' (it is awaited by "
            "Pipeline.run_async). Rename it or make it a coroutine function."
        )
    sync_params = list(inspect.signature(cls.run).parameters)[1:]  # type: ignore[attr-defined]
    async_params = list(inspect.signature(run_async).parameters)[1:]
    if sync_params != async_params:
        raise ComponentError(
            f"{cls.__qualname__}.run_async must take the same parameters as run: run has {sync_params}, "
            f"run_async has {async_params}."
        )


class _ComponentDecorator:
    """``@component`` plus its helpers (``output_types``, ``set_input_types``, ...)."""

    def __call__(self, cls: C) -> C:
        """Mark ``cls`` as a component after checking it has a usable ``run`` method.

        Raises:
            ComponentError: when ``cls`` is not a class or its ``run``/``run_async`` is missing or malformed.
        """
        if not isinstance(cls, type):
            raise ComponentError(f"@component decorates classes, got {cls!r}.")
        run = getattr(cls, "run", None)
        if run is None or not callable(run):
            raise ComponentError(
                f"{cls.__qualname__} has no run() method. A component needs "
                "`def run(self, <inputs>) -> dict[str, Any]` returning its outputs by name."
            )
        import inspect

        if inspect.iscoroutinefunction(run):
            raise ComponentError(
                f"{cls.__qualname__}.run is async. Make run synchronous and put the coroutine in run_async()."
            )
        _check_run_async(cls)
        setattr(cls, _MARK, True)
        if _CLASS_SOCKETS in cls.__dict__:
            delattr(cls, _CLASS_SOCKETS)
        _wrap_init(cls)
        if not callable(getattr(cls, "to_dict", None)):
            cls.to_dict = _auto_to_dict  # type: ignore[attr-defined]
        if not callable(getattr(cls, "from_dict", None)):
            cls.from_dict = classmethod(_auto_from_dict)  # type: ignore[attr-defined]
        return cls

    def output_types(self, **types: Any) -> Callable[[F], F]:
        """Declare the output sockets of ``run``/``run_async``: ``@component.output_types(result=int)``."""

        def decorate(method: F) -> F:
            setattr(method, _OUTPUT_TYPES, dict(types))
            return method

        return decorate

    def set_input_types(self, instance: Any, **types: Any) -> None:
        """Add mandatory input sockets to one component instance (for ``run(self, **kwargs)``)."""
        _require_component_instance(instance, "set_input_types")
        sockets = dict(get_input_sockets(instance))
        for name, tp in types.items():
            element_type, mode = unwrap_variadic(tp)
            sockets[name] = InputSocket(name, element_type, EMPTY, mode)
        instance.__dict__[_INPUTS] = sockets

    def set_input_type(self, instance: Any, name: str, type: Any, default: Any = EMPTY) -> None:
        """Add one input socket to a component instance; a ``default`` makes it optional."""
        _require_component_instance(instance, "set_input_type")
        sockets = dict(get_input_sockets(instance))
        element_type, mode = unwrap_variadic(type)
        sockets[name] = InputSocket(name, element_type, default, mode)
        instance.__dict__[_INPUTS] = sockets

    def set_output_types(self, instance: Any, **types: Any) -> None:
        """Declare the output sockets of one component instance (replacing the class-level ones)."""
        _require_component_instance(instance, "set_output_types")
        instance.__dict__[_OUTPUTS] = {name: OutputSocket(name, tp) for name, tp in types.items()}


#: The component decorator: ``@component`` on a class; ``component.output_types(...)`` on its run method.
component: Final = _ComponentDecorator()
