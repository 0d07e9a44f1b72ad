"""ChatPromptBuilder: render chat messages from Jinja2 templates, in a sandbox."""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from typing import Any, Literal

from jinja2 import nodes
from jinja2.ext import Extension

from haybale.components.builders.prompt_builder import check_required, declare_template_inputs
from haybale.components.builders.sandbox import compile_template, make_environment, render_checked
from haybale.core.component import component
from haybale.core.serialization import default_to_dict
from haybale.dataclasses import ChatMessage, ChatRole, TextContent
from haybale.errors import ComponentError, DeserializationError

__all__ = ["ChatPromptBuilder"]

_WHERE = "ChatPromptBuilder"


class _MessageBlockExtension(Extension):
    """``{% message role="user" %}...{% endmessage %}``: one chat message per block in a string template.

    Each block renders to a JSON record framed by a marker holding a random nonce and NUL bytes, so text
    coming from template variables can never forge a message boundary (JSON escapes NUL inside message
    bodies).
    """

    tags = {"message"}

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.marker = f"\x00haybale-message-{secrets.token_hex(8)}\x00"

    def parse(self, parser: Any) -> Any:
        lineno = next(parser.stream).lineno
        keywords = []
        while parser.stream.current.type != "block_end":
            key = parser.stream.expect("name").value
            parser.stream.expect("assign")
            keywords.append(nodes.Keyword(key, parser.parse_expression()))
            parser.stream.skip_if("comma")
        body = parser.parse_statements(("name:endmessage",), drop_needle=True)
        call = self.call_method("render_message", [], keywords)
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def render_message(self, role: str = "user", name: str | None = None, caller: Any = None) -> str:
        """Render one block as a framed JSON record."""
        text = caller() if caller is not None else ""
        record = json.dumps({"role": str(role), "name": name, "text": text.strip()})
        return f"{self.marker}{record}{self.marker}"


def _parse_message_blocks(rendered: str, marker: str) -> list[ChatMessage]:
    parts = rendered.split(marker)
    messages: list[ChatMessage] = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            if part.strip():
                raise ComponentError(
                    f"{_WHERE}: text outside a {{% message %}} block: {part.strip()[:60]!r}. In a string "
                    'template every message goes inside {% message role="user" %}...{% endmessage %}.'
                )
            continue
        record = json.loads(part)
        try:
            role = ChatRole.from_str(record["role"])
            if role == ChatRole.TOOL:
                raise ValueError("tool messages carry tool results and cannot be written as template text")
        except ValueError as error:
            raise ComponentError(f"{_WHERE}: {error}. Use role system, user or assistant.") from error
        messages.append(ChatMessage(role, [TextContent(record["text"])], name=record["name"]))
    if not messages:
        raise ComponentError(
            f"{_WHERE}: the string template produced no messages. Write each message as "
            '{% message role="user" %}...{% endmessage %} (roles: system, user, assistant).'
        )
    return messages


@component
class ChatPromptBuilder:
    """Render a list of chat messages from templates.

    The template is either a list of :class:`ChatMessage` whose text parts are Jinja2 templates, or a string
    holding ``{% message role="system" %}...{% endmessage %}`` blocks (one message each). Everything renders
    in the strict sandbox of :mod:`haybale.components.builders.sandbox`. Variables become input sockets
    (optional with default ``""`` unless required). ``template`` may also be given at run time.

    Args:
        template: list of messages, a string template, or None (then pass ``template`` to ``run``).
        required_variables: names that must be given, ``"*"`` for all, or None.
        variables: the input sockets to declare; defaults to the variables inferred from the template.
    """

    def __init__(
        self,
        template: list[ChatMessage] | str | None = None,
        required_variables: list[str] | Literal["*"] | None = None,
        variables: list[str] | None = None,
    ) -> None:
        self.template = template
        self.required_variables = required_variables
        self.variables = variables
        self._env = make_environment([_MessageBlockExtension])
        self._template_vars: set[str] = set()
        self._compiled = self._compile(template, _WHERE) if template is not None else None
        if self._compiled is not None:
            self._template_vars = self._compiled[1]
        self._declared, self._required = declare_template_inputs(
            self, _WHERE, self._template_vars, variables, required_variables
        )

    def _compile(self, template: list[ChatMessage] | str, where: str) -> tuple[Any, set[str]]:
        if isinstance(template, str):
            return compile_template(self._env, template, where)
        if not isinstance(template, list) or not all(isinstance(m, ChatMessage) for m in template):
            raise ComponentError(
                f"{where}: template must be a list of ChatMessage, a string with {{% message %}} blocks, or "
                f"None; got {type(template).__name__}."
            )
        compiled: list[list[Any]] = []
        found: set[str] = set()
        for message in template:
            parts = []
            for part in message.content:
                if isinstance(part, TextContent):
                    tmpl, names = compile_template(self._env, part.text, where)
                    found |= names
                    parts.append(tmpl)
                else:
                    parts.append(None)
            compiled.append(parts)
        return (template, compiled), found

    def _render(self, compiled: Any, values: dict[str, Any]) -> list[ChatMessage]:
        if not isinstance(compiled, tuple):
            rendered = render_checked(compiled, values, _WHERE)
            marker = self._env.extensions[_MessageBlockExtension.identifier].marker  # type: ignore[attr-defined]
            return _parse_message_blocks(rendered, marker)
        messages, templates = compiled
        result = []
        for message, part_templates in zip(messages, templates, strict=True):
            content = [
                TextContent(render_checked(tmpl, values, _WHERE)) if tmpl is not None else part
                for part, tmpl in zip(message.content, part_templates, strict=True)
            ]
            result.append(replace(message, content=content, meta=dict(message.meta)))
        return result

    @component.output_types(prompt=list[ChatMessage])
    def run(
        self,
        template: list[ChatMessage] | str | None = None,
        template_variables: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Render the messages.

        Args:
            template: replaces the init template for this run (checked the same way).
            template_variables: extra variables; they override same-named inputs.
            kwargs: the template variables.

        Returns:
            ``{"prompt": list[ChatMessage]}``.

        Raises:
            ComponentError: no template, a missing required variable, or an invalid template.
            TemplateSecurityError: the template reaches for Python internals.
        """
        values = {**kwargs, **(template_variables or {})}
        if template is not None:
            compiled_and_vars = self._compile(template, f"{_WHERE} (run-time template)")
        elif self._compiled is not None:
            compiled_and_vars = self._compiled
        else:
            raise ComponentError(
                f"{_WHERE}: no template. Pass one to ChatPromptBuilder(template=...) or as the 'template' "
                "input."
            )
        compiled, template_vars = compiled_and_vars
        check_required(_WHERE, self._required, values, template_vars)
        return {"prompt": self._render(compiled, values)}

    def to_dict(self) -> dict[str, Any]:
        """Serialize this component; a message-list template becomes a list of message dicts."""
        template: Any = self.template
        if isinstance(template, list):
            template = [message.to_dict() for message in template]
        return default_to_dict(
            self, template=template, required_variables=self.required_variables, variables=self.variables
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatPromptBuilder:
        """Load from :meth:`to_dict` output."""
        params = dict(data.get("init_parameters") or {})
        template = params.get("template")
        if isinstance(template, list):
            try:
                params["template"] = [ChatMessage.from_dict(item) for item in template]
            except (KeyError, TypeError, ValueError) as error:
                raise DeserializationError(f"{_WHERE}: invalid message in 'template': {error}") from error
        return cls(**params)
