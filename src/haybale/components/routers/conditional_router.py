"""ConditionalRouter: route values by sandboxed Jinja2 conditions, with typed outputs."""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from itertools import chain, islice
from typing import Any, Literal, Union, get_args, get_origin

from jinja2 import Environment
from jinja2.exceptions import TemplateError
from jinja2.meta import find_undeclared_variables
from jinja2.nativetypes import NativeCodeGenerator

from haybale.components.builders.sandbox import (
    StrictSandboxedEnvironment,
    compile_template,
    render_checked,
)
from haybale.core.component import component
from haybale.core.serialization import default_to_dict, unsafe_templates_allowed
from haybale.core.type_names import type_from_string, type_to_string
from haybale.errors import ComponentError, DeserializationError, SerializationError
from haybale.tools.tool import deserialize_callable

__all__ = ["ConditionalRouter", "NoRouteSelectedError"]

_WHERE = "ConditionalRouter"
_ROUTE_KEYS = ("condition", "output", "output_name", "output_type")


class NoRouteSelectedError(ComponentError):
    """No route's condition was true for the given inputs."""


def _native_concat(values: Any) -> Any:
    """A single ``{{ expr }}`` renders to its Python value; anything else renders to a string.

    Unlike Jinja's own native mode, strings are never passed through ``literal_eval`` here: a user-supplied
    string stays a string unless the route's output type asks for a parsed value.
    """
    head = list(islice(values, 2))
    if not head:
        return None
    if len(head) == 1:
        return head[0]
    return "".join(str(v) for v in chain(head, values))


class _SandboxedNativeEnvironment(StrictSandboxedEnvironment):
    code_generator_class = NativeCodeGenerator
    concat = staticmethod(_native_concat)


class _UnsafeNativeEnvironment(Environment):
    code_generator_class = NativeCodeGenerator
    concat = staticmethod(_native_concat)


def _matches(value: Any, tp: Any) -> bool:  # noqa: PLR0911 - one return per kind of annotation
    """Whether ``value`` fits the annotation ``tp`` (containers checked element-wise)."""
    if tp is Any or tp is object:
        return True
    if tp is None or tp is type(None):
        return value is None
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is Union or (origin is not None and type(tp).__name__ == "UnionType"):
        return any(_matches(value, arg) for arg in args)
    if origin is Literal:
        return value in args
    if origin is not None:
        return _matches_container(value, origin, args)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, tp) if isinstance(tp, type) else True


def _matches_container(value: Any, origin: Any, args: tuple[Any, ...]) -> bool:  # noqa: PLR0911
    """Element-wise check of list/set/tuple/dict values (one return per container kind)."""
    if not isinstance(value, origin):
        return False
    if not args:
        return True
    if origin in (list, set, frozenset):
        return all(_matches(v, args[0]) for v in value)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_matches(v, args[0]) for v in value)
        return len(args) == len(value) and all(_matches(v, a) for v, a in zip(value, args, strict=True))
    if origin is dict:
        return all(_matches(k, args[0]) and _matches(v, args[1]) for k, v in value.items())
    return True


def _resolve_filter(name: str, target: Any) -> Callable[..., Any]:
    if callable(target):
        return target  # type: ignore[no-any-return]
    if not isinstance(target, str) or "." not in target:
        raise ComponentError(
            f"{_WHERE}: custom filter {name!r} must be a callable or a dotted 'module.function' path, got "
            f"{target!r}."
        )
    return deserialize_callable(target, where=f"{_WHERE} custom filter {name!r}")


def _filter_path(name: str, function: Callable[..., Any]) -> str:
    qualname = getattr(function, "__qualname__", "")
    module = getattr(function, "__module__", None)
    if not module or not qualname or "<" in qualname:
        raise SerializationError(
            f"{_WHERE}: custom filter {name!r} ({function!r}) has no importable path (lambdas and nested "
            "functions cannot be serialized); define it at module level."
        )
    return f"{module}.{qualname}"


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


@component
class ConditionalRouter:
    """Send inputs to the output of the first route whose condition is true.

    Each route is a dict with ``condition`` (a Jinja2 expression template such as ``"{{ count > 3 }}"``),
    ``output`` (a template producing the value, e.g. ``"{{ documents }}"``; a list for several outputs),
    ``output_name`` (the output socket; a list matching ``output``) and ``output_type`` (a type, or a string
    such as ``"list[haybale.dataclasses.Document]"``; a list matching ``output``). A template that is a single
    ``{{ expression }}`` yields the Python value itself; a string output is parsed with ``ast.literal_eval``
    only when the output type is not ``str``. Every value is checked against its output type.

    Templates run in the strict sandbox of :mod:`haybale.components.builders.sandbox`. ``unsafe=True`` turns
    the sandbox off (plain Jinja2): only for templates you wrote yourself that need method calls on mutable
    objects or private attributes; never for templates from users or files you do not control.

    Input sockets are the variables the templates read (type Any), mandatory unless listed in
    ``optional_variables`` (default None).

    Args:
        routes: the routes, tried in order.
        custom_filters: extra Jinja filters, name -> callable (or dotted path, resolved through the
            deserialization allow-list). Serialized as dotted paths.
        unsafe: disable the sandbox (see above).
        optional_variables: variables that may be missing (they default to None).

    Raises:
        ComponentError: malformed routes, templates or types; TemplateSecurityError for unsafe templates.
    """

    def __init__(
        self,
        routes: list[dict[str, Any]],
        custom_filters: dict[str, Any] | None = None,
        unsafe: bool = False,
        optional_variables: list[str] | None = None,
    ) -> None:
        self.unsafe = unsafe
        self.optional_variables = list(optional_variables or [])
        self.custom_filters = {name: _resolve_filter(name, f) for name, f in (custom_filters or {}).items()}
        self._env: Environment = _UnsafeNativeEnvironment() if unsafe else _SandboxedNativeEnvironment()
        self._env.filters.update(self.custom_filters)
        self.routes = self._normalize_routes(routes)
        variables: set[str] = set()
        self._compiled: list[tuple[Any, list[tuple[Any, str, Any]]]] = []
        for index, route in enumerate(self.routes):
            condition, found = self._compile(route["condition"], f"route {index} condition")
            variables |= found
            outputs = []
            for text, name, tp in zip(
                route["output"], route["output_name"], route["output_type"], strict=True
            ):
                compiled, found = self._compile(text, f"route {index} output {name!r}")
                variables |= found
                outputs.append((compiled, name, tp))
            self._compiled.append((condition, outputs))
        output_types: dict[str, Any] = {}
        for route in self.routes:
            for name, tp in zip(route["output_name"], route["output_type"], strict=True):
                if name in output_types and output_types[name] != tp:
                    raise ComponentError(
                        f"{_WHERE}: output {name!r} is declared with two types, "
                        f"{type_to_string(output_types[name])} and {type_to_string(tp)}. Give each output "
                        "name one type."
                    )
                output_types[name] = tp
        for name in sorted(variables):
            if name in self.optional_variables:
                component.set_input_type(self, name, Any, default=None)
            else:
                component.set_input_type(self, name, Any)
        component.set_output_types(self, **output_types)

    def _compile(self, text: Any, where: str) -> tuple[Any, set[str]]:
        if not isinstance(text, str):
            raise ComponentError(f"{_WHERE}: {where} must be a template string, got {type(text).__name__}.")
        if isinstance(self._env, StrictSandboxedEnvironment):
            return compile_template(self._env, text, f"{_WHERE} {where}")
        try:
            return self._env.from_string(text), set(find_undeclared_variables(self._env.parse(text)))
        except TemplateError as error:
            raise ComponentError(f"{_WHERE}: {where} is not a valid template: {error}") from error

    @staticmethod
    def _normalize_routes(routes: Any) -> list[dict[str, Any]]:
        if not isinstance(routes, list) or not routes:
            raise ComponentError(
                f"{_WHERE}: routes must be a non-empty list of dicts with keys {list(_ROUTE_KEYS)}."
            )
        normalized = []
        for index, route in enumerate(routes):
            if not isinstance(route, dict) or any(key not in route for key in _ROUTE_KEYS):
                missing = [k for k in _ROUTE_KEYS if not isinstance(route, dict) or k not in route]
                raise ComponentError(
                    f"{_WHERE}: route {index} is missing {missing}; each route needs {list(_ROUTE_KEYS)}."
                )
            outputs = _as_list(route["output"])
            names = _as_list(route["output_name"])
            types_ = [
                type_from_string(t) if isinstance(t, str) else t for t in _as_list(route["output_type"])
            ]
            if not (len(outputs) == len(names) == len(types_)):
                raise ComponentError(
                    f"{_WHERE}: route {index} has {len(outputs)} outputs, {len(names)} output names and "
                    f"{len(types_)} output types; give one name and one type per output."
                )
            if not all(isinstance(n, str) and n.isidentifier() for n in names):
                raise ComponentError(
                    f"{_WHERE}: route {index} output names must be identifiers, got {names}."
                )
            normalized.append(
                {
                    "condition": route["condition"],
                    "output": outputs,
                    "output_name": names,
                    "output_type": types_,
                }
            )
        return normalized

    def _render(self, template: Any, values: dict[str, Any], where: str) -> Any:
        return render_checked(template, values, f"{_WHERE} {where}")

    def run(self, **kwargs: Any) -> dict[str, Any]:
        """Evaluate the routes in order and emit the outputs of the first one whose condition is true.

        Raises:
            NoRouteSelectedError: no condition was true (the message lists them).
            ComponentError: a template failed, or an output value does not match its declared type.
        """
        values = {name: None for name in self.optional_variables} | kwargs
        for index, (condition, outputs) in enumerate(self._compiled):
            verdict = self._render(condition, values, f"route {index} condition")
            if isinstance(verdict, str):
                verdict = self._parse_literal(verdict.strip()) if verdict.strip() else False
            if not verdict:
                continue
            result = {}
            for template, name, tp in outputs:
                value = self._render(template, values, f"route {index} output {name!r}")
                result[name] = self._check_type(value, tp, index, name)
            return result
        conditions = "; ".join(f"route {i}: {r['condition']}" for i, r in enumerate(self.routes))
        raise NoRouteSelectedError(
            f"{_WHERE}: no route matched the inputs {sorted(kwargs)}. Conditions tried: {conditions}. Add a "
            "fallback route with condition '{{ true }}' as the last route."
        )

    @staticmethod
    def _parse_literal(text: str) -> Any:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return text

    def _check_type(self, value: Any, tp: Any, index: int, name: str) -> Any:
        if _matches(value, tp):
            return value
        if isinstance(value, str) and tp is not str:
            parsed = self._parse_literal(value)
            if _matches(parsed, tp):
                return parsed
        shown = repr(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
        raise ComponentError(
            f"{_WHERE}: route {index} output {name!r} should be {type_to_string(tp)} but the template "
            f"produced {type(value).__name__} {shown[:80]}. Fix the output template or the route's "
            "output_type."
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize; output types become strings and custom filters dotted paths."""
        routes = [
            {
                "condition": r["condition"],
                "output": r["output"] if len(r["output"]) > 1 else r["output"][0],
                "output_name": r["output_name"] if len(r["output_name"]) > 1 else r["output_name"][0],
                "output_type": (
                    [type_to_string(t) for t in r["output_type"]]
                    if len(r["output_type"]) > 1
                    else type_to_string(r["output_type"][0])
                ),
            }
            for r in self.routes
        ]
        filters = {name: _filter_path(name, f) for name, f in self.custom_filters.items()}
        return default_to_dict(
            self,
            routes=routes,
            custom_filters=filters,
            unsafe=self.unsafe,
            optional_variables=self.optional_variables,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConditionalRouter:
        """Load from :meth:`to_dict` output (types and filters resolved through the allow-list)."""
        params = dict(data.get("init_parameters") or {})
        if "routes" not in params:
            raise DeserializationError(f"{_WHERE}: init_parameters needs 'routes'.")
        if params.get("unsafe") and not unsafe_templates_allowed():
            raise DeserializationError(
                f"{_WHERE}: 'unsafe: true' turns the Jinja sandbox off, so its templates could run any code "
                "on this machine; serialized pipelines may not do that. Remove 'unsafe' (the sandboxed "
                "templates cover conditions and outputs), or, for a file you wrote yourself, load it with "
                "allow_unsafe_templates=True (haybale pipeline: --allow-unsafe-templates). The service "
                "never allows it."
            )
        return cls(**params)
