"""Templates are input: what one may build and how long it may render are bounded, and a template that fails
while rendering is the caller's error (a usage error naming the line), never a crash or a hung worker."""

from __future__ import annotations

import time

import pytest

from haybale.components.builders import (
    ChatPromptBuilder,
    PromptBuilder,
    TemplateLimitError,
    TemplateRenderError,
    template_limits,
)
from haybale.components.routers import ConditionalRouter
from haybale.dataclasses import ChatMessage
from haybale.errors import UsageError

TOO_LARGE = {
    "repeat": "{{ ('x' * 10**8)|length }}",
    "repeat list": "{{ ([0] * 10**8)|length }}",
    "power": "{{ 2 ** (10**9) }}",
    "doubling": "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}"
    "{% endfor %}",
    "str.center": "{{ 'x'.center(10**9) }}",
    "str.zfill": "{{ '1'.zfill(10**9) }}",
    "str.expandtabs": "{{ ('\t' * 1000).expandtabs(10**6) }}",
    "str.replace": "{{ ('x' * 10**6).replace('x', 'abcdefghijklmnopqrstuvwxyz') }}",
    "str.format width": "{{ '{:>999999999}'.format(1) }}",
    "str.format nested width": "{{ '{:{}}'.format('x', 10**9) }}",
    "percent width": "{{ '%999999999s' % 'x' }}",
    "percent star width": "{{ '%*s' % (10**9, 'x') }}",
    "center filter": "{{ 'x'|center(10**9) }}",
    "indent filter": "{{ ('a\n' * 100000)|indent(1000) }}",
    "replace filter": "{{ ('x' * 10**6)|replace('x', 'abcdefghijklmnopqrstuvwxyz') }}",
    "format filter": "{{ '%999999999s'|format('x') }}",
    "batch filter": "{{ [1]|batch(10**9, 0)|list|length }}",
    "output": "{% for i in range(99999) %}{{ 'y' * 1000 }}{% endfor %}",
}


@pytest.mark.parametrize("template", TOO_LARGE.values(), ids=TOO_LARGE.keys())
def test_values_beyond_the_size_limit_are_refused_before_they_are_built(template: str) -> None:
    started = time.perf_counter()
    with pytest.raises(TemplateLimitError, match="limit") as error:
        PromptBuilder(template).run()
    assert isinstance(error.value, UsageError)
    assert "PromptBuilder" in str(error.value)
    assert time.perf_counter() - started < 2.0  # refused up front, not after building gigabytes


LOOPS = {
    "nested ranges": "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
    "nested input": "{% for a in xs %}{% for b in xs %}{% endfor %}{% endfor %}",
    "loop variable": "{% for a in xs %}{% for b in xs %}{{ loop.index if false }}{% endfor %}{% endfor %}",
}


@pytest.mark.parametrize("template", LOOPS.values(), ids=LOOPS.keys())
def test_a_render_past_its_time_limit_is_stopped(template: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(template_limits, "MAX_RENDER_SECONDS", 0.2)
    started = time.perf_counter()
    with pytest.raises(TemplateLimitError, match=r"more than 0.2 s"):
        PromptBuilder(template).run(xs=list(range(100_000)))
    assert time.perf_counter() - started < 2.0


def test_the_limits_hold_in_chat_templates_and_router_conditions() -> None:
    chat = ChatPromptBuilder([ChatMessage.from_user("{{ 'x' * 10**9 }}")])
    with pytest.raises(TemplateLimitError):
        chat.run()
    routes = [{"condition": "{{ ('x' * 10**9)|length > 0 }}", "output": "{{ 1 }}", "output_name": "o",
               "output_type": int}]  # fmt: skip
    with pytest.raises(TemplateLimitError):
        ConditionalRouter(routes).run()


FAILING = {
    "undefined attribute": ("Hi\n{{ nope.x.y }}", "line 2: UndefinedError"),
    "division by zero": ("{{ 1 / 0 }}", "ZeroDivisionError"),
    "runaway macro": ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "RecursionError"),
    "range over the sandbox's bound": ("{{ range(10**6)|length }}", "OverflowError"),
    "wrong type": ("{{ 'a' - 1 }}", "TypeError"),
}


@pytest.mark.parametrize(("template", "named"), FAILING.values(), ids=FAILING.keys())
def test_a_template_failing_while_rendering_is_a_usage_error_naming_the_cause(
    template: str, named: str
) -> None:
    with pytest.raises(TemplateRenderError, match=named) as error:
        PromptBuilder(template).run(nope={})
    assert isinstance(error.value, UsageError)
    assert "Check the template" in str(error.value)


def test_ordinary_templates_render_as_before() -> None:
    template = (
        "{{ '{:,}'.format(1234567890) }} {{ '%d'|format(123456789) }} {{ 3 ** 4 }} {{ 'ab' * 3 }} "
        "{{ 'x'|center(5) }}|{% for d in docs %}{{ loop.index }}/{{ loop.length }}:{{ d }} {% endfor %}"
        "{% for k, v in meta.items() %}{{ k }}={{ v }}{% else %}none{% endfor %}"
    )
    prompt = PromptBuilder(template).run(docs=["a", "b"], meta={})["prompt"]
    assert prompt == "1,234,567,890 123456789 81 ababab   x  |1/2:a 2/2:b none"
    assert len(PromptBuilder("{{ 'z' * 1000000 }}").run()["prompt"]) == 1_000_000


def test_a_template_cannot_rebind_the_loop_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(template_limits, "MAX_RENDER_SECONDS", 0.2)
    template = "{% set bounded_iteration = none %}{% for a in xs %}{% for b in xs %}{% endfor %}{% endfor %}"
    with pytest.raises(TemplateLimitError):
        PromptBuilder(template).run(xs=list(range(100_000)))
