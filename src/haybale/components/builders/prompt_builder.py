"""PromptBuilder: render a Jinja2 template into a prompt string, in a sandbox."""

from __future__ import annotations

from typing import Any, Literal

from haybale.components.builders.sandbox import compile_template, make_environment, render_checked
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.errors import ComponentError

__all__ = ["RESERVED_INPUTS", "PromptBuilder", "check_required", "declare_template_inputs"]

RESERVED_INPUTS = ("template", "template_variables")


def declare_template_inputs(
    instance: Any,
    where: str,
    inferred: set[str],
    variables: list[str] | None,
    required_variables: list[str] | Literal["*"] | None,
) -> tuple[list[str], list[str]]:
    """Declare one input socket per template variable; return (variables, required variables).

    Optional variables default to ``""``; required ones are mandatory sockets.
    """
    declared = list(variables) if variables is not None else sorted(inferred)
    clash = sorted(set(declared) & set(RESERVED_INPUTS))
    if clash:
        raise ComponentError(
            f"{where}: template variable(s) {clash} clash with the builder's own inputs "
            f"{list(RESERVED_INPUTS)}. Rename them in the template."
        )
    if required_variables == "*":
        required = list(declared)
    elif required_variables is None:
        required = []
    elif isinstance(required_variables, list) and all(isinstance(v, str) for v in required_variables):
        required = list(required_variables)
    else:
        raise ComponentError(
            f"{where}: required_variables must be a list of names, '*' (all) or None; got "
            f"{required_variables!r}."
        )
    for name in declared:
        if name in required:
            component.set_input_type(instance, name, Any)
        else:
            component.set_input_type(instance, name, Any, default="")
    for name in required:
        if name not in declared:
            component.set_input_type(instance, name, Any)
    return declared, required


def check_required(where: str, required: list[str], values: dict[str, Any], template_vars: set[str]) -> None:
    """Raise ComponentError naming the required variables that were not given."""
    missing = [name for name in required if name not in values]
    if missing:
        raise ComponentError(
            f"{where}: missing required template variable(s) {missing}. The template uses "
            f"{sorted(template_vars)}; pass the missing ones as inputs (or in template_variables)."
        )


@component
class PromptBuilder:
    """Render a Jinja2 template into a prompt string.

    The template runs in a strict sandbox (see :mod:`haybale.components.builders.sandbox`): templates are
    data, and one that tries to reach Python internals (``{{ ''.__class__.__mro__ }}``) is refused with a
    :class:`~haybale.components.builders.sandbox.TemplateSecurityError`. Each variable the template reads
    becomes an input socket (optional, default ``""``, unless listed in ``required_variables``).

    Args:
        template: the Jinja2 template.
        required_variables: names that must be given, ``"*"`` for all, or None.
        variables: the input sockets to declare; defaults to the variables inferred from the template (set it
            when a template given at run time uses other variables).
    """

    def __init__(
        self,
        template: str,
        required_variables: list[str] | Literal["*"] | None = None,
        variables: list[str] | None = None,
    ) -> None:
        self.template = template
        self.required_variables = required_variables
        self.variables = variables
        self._env = make_environment()
        self._compiled, self._template_vars = compile_template(self._env, template, "PromptBuilder")
        self._declared, self._required = declare_template_inputs(
            self, "PromptBuilder", self._template_vars, variables, required_variables
        )

    @component.output_types(prompt=str)
    def run(
        self, template: str | None = None, template_variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Render the prompt.

        Args:
            template: a template that replaces the init template for this run (checked the same way).
            template_variables: extra variables; they override same-named inputs.
            kwargs: the template variables.

        Returns:
            ``{"prompt": str}``.

        Raises:
            ComponentError: a required variable is missing or the template is invalid.
            TemplateSecurityError: the template reaches for Python internals.
        """
        values = {**kwargs, **(template_variables or {})}
        compiled, template_vars = self._compiled, self._template_vars
        if template is not None:
            compiled, template_vars = compile_template(
                self._env, template, "PromptBuilder (run-time template)"
            )
        check_required("PromptBuilder", self._required, values, template_vars)
        return {"prompt": render_checked(compiled, values, "PromptBuilder")}

    def to_dict(self) -> dict[str, Any]:
        """Serialize this component."""
        return default_to_dict(
            self, template=self.template, required_variables=self.required_variables, variables=self.variables
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromptBuilder:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
