"""The sandboxed Jinja2 environment shared by prompt builders and routers.

Templates are user input (they travel in YAML files and API requests), so they are rendered in Jinja2's
immutable sandbox with two extra guards:

* a static check when the template is compiled refuses any attribute or item access to a name starting with an
  underscore (``''.__class__``, ``cycler.__init__.__globals__``, ``self._TemplateReference__context``,
  ``x|attr('__subclasses__')``, ``x['__dict__']``);
* at render time, an unsafe attribute raises ``SecurityError`` at once instead of rendering as an empty string
  (Jinja's default), so an attack is never silently half-rendered. ``str.format`` tricks are caught by the
  sandbox's own format-string guard.
"""

from __future__ import annotations

from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.meta import find_undeclared_variables
from jinja2.sandbox import ImmutableSandboxedEnvironment

from haybale.errors import ComponentError

__all__ = [
    "TemplateSecurityError",
    "compile_template",
    "make_environment",
    "render_checked",
]


class TemplateSecurityError(ComponentError):
    """A template tried to reach Python internals; it was refused and nothing was rendered."""


class StrictSandboxedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, failing loudly on unsafe attribute access."""

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        """Raise instead of returning an Undefined that would render as an empty string."""
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")


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
    return env.from_string(tree), variables  # compiles the checked tree: the source is parsed once


def render_checked(template: Any, values: dict[str, Any], where: str) -> Any:
    """Render, turning a sandbox violation into :class:`TemplateSecurityError`."""
    try:
        return template.render(**values)
    except SecurityError as error:
        raise TemplateSecurityError(
            f"{where}: the template was refused by the sandbox: {error}. Templates may not reach Python "
            "internals (dunder attributes, str.format on objects, private names)."
        ) from error
