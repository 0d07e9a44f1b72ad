"""The sandboxed Jinja2 environment shared by prompt builders and routers.

Templates are user input (they travel in YAML files and API requests), so they are rendered in Jinja2's
immutable sandbox with two extra guards:

* a static check when the template is compiled refuses any attribute or item access to a name starting with an
  underscore (``''.__class__``, ``cycler.__init__.__globals__``, ``self._TemplateReference__context``,
  ``x|attr('__subclasses__')``, ``x['__dict__']``);
* at render time, an unsafe attribute raises ``SecurityError`` at once instead of rendering as an empty string
  (Jinja's default), so an attack is never silently half-rendered. ``str.format`` tricks are caught by the
  sandbox's own format-string guard.

Every render also runs under the size and time limits of :mod:`haybale.components.builders.template_limits`
(no 10 GB strings, no hour-long loops), and a template that fails while rendering (an undefined name, a
division by zero, a runaway macro) raises :class:`TemplateRenderError` naming the template line: the
template or its inputs are wrong, not the program.
"""

from __future__ import annotations

from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.meta import find_undeclared_variables
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from haybale.components.builders.template_limits import (
    TemplateLimitError,
    bounded_iteration,
    checked_binop,
    checked_call,
    count_output,
    limited_filters,
    render_budget,
)
from haybale.errors import ComponentError, HaybaleError

__all__ = [
    "TemplateLimitError",
    "TemplateRenderError",
    "TemplateSecurityError",
    "compile_template",
    "make_environment",
    "render_checked",
]


class TemplateSecurityError(ComponentError):
    """A template tried to reach Python internals; it was refused and nothing was rendered."""


class TemplateRenderError(ComponentError):
    """A template failed while rendering (an undefined name, a wrong type, a division by zero, a macro calling
    itself without end); nothing was rendered."""


class StrictSandboxedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, failing loudly on unsafe attribute access, under the render limits of
    :mod:`~haybale.components.builders.template_limits`."""

    intercepted_binops = frozenset({"*", "+", "**", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("finalize", count_output)
        super().__init__(*args, **kwargs)
        self.filters = limited_filters(self.filters)
        #: Wraps every ``for`` loop's sequence (see :func:`compile_template`); templates cannot rebind it.
        self.bounded_iteration = bounded_iteration

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        """Raise instead of returning an Undefined that would render as an empty string."""
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Apply ``operator`` once its result is known to stay within the size limit."""
        checked_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Call ``__obj`` from the template once the call is known to stay within the limits."""
        checked_call(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)


def make_environment(extensions: list[Any] | None = None) -> StrictSandboxedEnvironment:
    """A fresh strict sandbox (no autoescape: prompts are plain text, not HTML)."""
    return StrictSandboxedEnvironment(extensions=extensions or [], autoescape=False)


def _is_private(name: object) -> bool:
    return isinstance(name, str) and name.startswith("_")


def _check_ast(tree: nodes.Template, where: str) -> None:
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Name)):
        if isinstance(node, nodes.Getattr) and _is_private(node.attr):
            bad = node.attr
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and _is_private(node.arg.value)
        ):
            bad = node.arg.value
        elif (
            isinstance(node, nodes.Filter)
            and node.name == "attr"
            and node.args
            and isinstance(node.args[0], nodes.Const)
            and _is_private(node.args[0].value)
        ):
            bad = node.args[0].value
        elif isinstance(node, nodes.Name) and _is_private(node.name):
            bad = node.name
        else:
            continue
        raise TemplateSecurityError(
            f"{where}: the template accesses {bad!r} (line {node.lineno}). Names starting with an underscore "
            "reach Python internals and are refused in templates. Use plain variables, items and public "
            "attributes only."
        )


def compile_template(env: StrictSandboxedEnvironment, source: str, where: str) -> tuple[Any, set[str]]:
    """Check and compile ``source``; return the template and the variables it reads.

    Raises:
        ComponentError: the template is not a string or has a syntax error.
        TemplateSecurityError: the template reaches for Python internals.
    """
    if not isinstance(source, str):
        raise ComponentError(f"{where}: the template must be a string, got {type(source).__name__}.")
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as error:
        raise ComponentError(
            f"{where}: the template has a syntax error on line {error.lineno}: {error}"
        ) from error
    _check_ast(tree, where)
    variables = set(find_undeclared_variables(tree))
    for loop in tree.find_all(nodes.For):  # every loop's sequence checks the render's clock
        loop.iter = nodes.Call(
            nodes.EnvironmentAttribute("bounded_iteration"), [loop.iter], [], None, None, lineno=loop.lineno
        )
    return env.from_string(tree), variables  # compiles the checked tree: the source is parsed once


def render_checked(template: Any, values: dict[str, Any], where: str) -> Any:
    """Render under the size and time limits.

    Raises:
        TemplateSecurityError: the sandbox refused an access to Python internals.
        TemplateLimitError: the template built too large a value or rendered too long.
        TemplateRenderError: the template failed (undefined name, wrong type, runaway recursion...).
    """
    try:
        with render_budget(where):
            return template.render(**values)
    except SecurityError as error:
        raise TemplateSecurityError(
            f"{where}: the template was refused by the sandbox: {error}. Templates may not reach Python "
            "internals (dunder attributes, str.format on objects, private names)."
        ) from error
    except HaybaleError:
        raise
    except Exception as error:
        raise TemplateRenderError(
            f"{where}: the template failed{_template_line(error)}: {type(error).__name__}: "
            f"{str(error).rstrip('.')}. Check the template and the values it is given (every variable it "
            "reads, and their types)."
        ) from error


def _template_line(error: BaseException) -> str:
    """ " on line N" of the template frame closest to where ``error`` was raised, when there is one."""
    line = None
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    return f" on line {line}" if line is not None else ""
