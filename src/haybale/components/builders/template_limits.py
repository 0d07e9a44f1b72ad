"""Resource limits of the template sandbox: how much a template may build and how long it may render.

Jinja's sandbox keeps a template away from Python internals, but not from the machine's memory and CPU: a
template (and a served pipeline may take one as a run input) could build a 10 GB string with
``{{ 'x' * 10**10 }}`` or loop for hours over nested ranges. Every render of
:mod:`haybale.components.builders.sandbox` therefore runs under a :class:`RenderBudget`:

* **Size.** Operations that multiply their input are checked *before* they run, so the memory is never
  taken: ``*`` and ``+`` on strings, lists and tuples, ``**`` on integers, ``%`` formatting and
  ``str.format`` with a huge field width, the string methods ``center``/``ljust``/``rjust``/``zfill``/
  ``expandtabs``/``replace``, and the filters ``center``, ``indent``, ``replace``, ``format``, ``batch`` and
  ``slice``. No result may exceed :data:`MAX_TEMPLATE_CHARS` items (characters, or elements of a list). The
  text a render writes out is counted as it is written, against the same limit.
* **Time.** A render that runs longer than :data:`MAX_RENDER_SECONDS` stops at its next loop step, call or
  output. Every ``for`` loop's sequence is wrapped (at compile time, through an environment attribute a
  template cannot rebind) in a generator that checks the clock every few hundred items.

Exceeding a limit raises :class:`TemplateLimitError`, a usage error (the service answers 422): the message
names the limit and how to stay within it.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from haybale.errors import ComponentError

__all__ = [
    "MAX_RENDER_SECONDS",
    "MAX_TEMPLATE_CHARS",
    "RenderBudget",
    "TemplateLimitError",
    "bounded_iteration",
    "checked_binop",
    "checked_call",
    "count_output",
    "limited_filters",
    "render_budget",
]

#: The most characters (or list items) one value built by a template, or one render's output, may hold.
MAX_TEMPLATE_CHARS = 10_000_000
#: The longest one render may take, in seconds.
MAX_RENDER_SECONDS = 5.0
#: Loop items between two looks at the clock.
_CLOCK_EVERY = 256
#: A format field width or precision of this many digits or more is refused (at least 10,000,000).
_HUGE_WIDTH = re.compile(r"\d{8,}")
#: A ``%`` conversion taking its width or precision from the arguments (``%*s``, ``%.*f``).
_STAR_WIDTH = re.compile(r"%[-#0 +]*(?:\*|\d*\.\*)")


class TemplateLimitError(ComponentError):
    """A template tried to build too large a value or rendered for too long; nothing was rendered."""


class RenderBudget:
    """What one render has used: its deadline and the characters it has written out."""

    __slots__ = ("chars", "deadline", "where")

    def __init__(self, where: str) -> None:
        self.where = where
        self.deadline = time.monotonic() + MAX_RENDER_SECONDS
        self.chars = 0

    def check_time(self) -> None:
        """Raise once the render is past its deadline."""
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(
                f"{self.where}: the template rendered for more than {MAX_RENDER_SECONDS:g} s and was "
                "stopped. Loop over fewer items (nested loops multiply), or prepare the data before the "
                "template."
            )


_budget: ContextVar[RenderBudget | None] = ContextVar("haybale_render_budget", default=None)


@contextmanager
def render_budget(where: str) -> Iterator[RenderBudget]:
    """Run the render inside a ``with`` block under a fresh budget (nested renders get their own)."""
    budget = RenderBudget(where)
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def _where() -> str:
    budget = _budget.get()
    return budget.where if budget is not None else "template"


def _refuse(what: str, size: int) -> TemplateLimitError:
    return TemplateLimitError(
        f"{_where()}: the template would build {what} of {size:,} characters or items; the limit is "
        f"{MAX_TEMPLATE_CHARS:,}. Build smaller values (check repeat counts and field widths)."
    )


def _check_size(what: str, size: int) -> None:
    if size > MAX_TEMPLATE_CHARS:
        raise _refuse(what, size)


def _tick() -> None:
    budget = _budget.get()
    if budget is not None:
        budget.check_time()


def bounded_iteration(iterable: Iterable[Any]) -> Iterator[Any]:
    """The items of a ``for`` loop's sequence, stopping the render once it is past its deadline."""
    budget = _budget.get()
    if budget is None:
        yield from iterable
        return
    for index, item in enumerate(iterable):
        if not index % _CLOCK_EVERY:
            budget.check_time()
        yield item


def count_output(value: Any) -> Any:
    """The environment's ``finalize``: count each printed string against the budget; values pass unchanged."""
    budget = _budget.get()
    if budget is not None:
        if type(value) is str:
            budget.chars += len(value)
            if budget.chars > MAX_TEMPLATE_CHARS:
                raise _refuse("an output", budget.chars)
        budget.check_time()
    return value


_SEQUENCES = (str, bytes, list, tuple)


def checked_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse ``left <operator> right`` (``*``, ``+``, ``**``, ``%``) when its result would be too large."""
    _tick()
    if operator == "*":
        sequence, times = (left, right) if isinstance(left, _SEQUENCES) else (right, left)
        if isinstance(sequence, _SEQUENCES) and isinstance(times, int):
            _check_size("a repeated value", len(sequence) * max(times, 0))
    elif operator == "+":
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            _check_size("a joined value", len(left) + len(right))
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
            # The result has about right * bits(left) bits; its decimal digits count against the limit.
            _check_size("a number (in digits)", int(right * abs(left).bit_length() * 0.302))
    elif operator == "%" and isinstance(left, str):
        _check_format(left, right if isinstance(right, tuple) else (right,), percent=True)


def _check_format(text: str, args: Iterable[Any], percent: bool) -> None:
    """Refuse a format string whose field widths would build a huge string."""
    if _HUGE_WIDTH.search(text) and _huge_field(text, percent):
        raise TemplateLimitError(
            f"{_where()}: the template formats a value with a field width or precision of 8 digits or more, "
            f"which would build a string beyond the limit of {MAX_TEMPLATE_CHARS:,} characters. Use a "
            "smaller width."
        )
    takes_width = _STAR_WIDTH.search(text) if percent else ("{" in text and re.search(r":[^{}]*\{", text))
    if takes_width:
        for arg in args:
            if isinstance(arg, int) and not isinstance(arg, bool) and arg > MAX_TEMPLATE_CHARS:
                raise _refuse("a formatted string (field width)", arg)


def _huge_field(text: str, percent: bool) -> bool:
    """Whether a conversion spec of ``text`` (not its literal text) carries an 8-digit width or precision."""
    pattern = r"%[-#0 +]*\d*(?:\.\d*)?" if percent else r"\{[^{}]*:[^{}]*\}"
    return any(_HUGE_WIDTH.search(match.group(0)) for match in re.finditer(pattern, text))


def checked_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a call of a string method that would build a huge string; look at the clock."""
    _tick()
    method = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format / format_map
    owner = getattr(method, "__self__", None)
    if not isinstance(owner, str):
        return
    name = getattr(method, "__name__", "")
    if name in ("center", "ljust", "rjust", "zfill") and args and isinstance(args[0], int):
        _check_size("a padded string", args[0])
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(size, int):
            _check_size("a string with tabs expanded", len(owner) + owner.count("\t") * max(size, 0))
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        _check_replace(owner, args[0], args[1])
    elif name in ("format", "format_map"):
        _check_format(owner, [*args, *kwargs.values()], percent=False)


def _check_replace(text: str, old: str, new: str) -> None:
    grows = len(new) - len(old)
    if grows > 0:
        occurrences = text.count(old) if old else len(text) + 1
        _check_size("a string with replacements", len(text) + occurrences * grows)


def _limited(check: Callable[..., None], original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)  # keeps Jinja's pass_* markers
    def limited(*args: Any, **kwargs: Any) -> Any:
        _tick()
        check(*args, **kwargs)
        return original(*args, **kwargs)

    return limited


def _center_check(value: Any, width: Any = 80, *_: Any, **__: Any) -> None:
    if isinstance(width, int):
        _check_size("a centered string", width)


def _indent_check(value: Any, width: Any = 4, *_: Any, **__: Any) -> None:
    pad = width if isinstance(width, int) else len(width) if isinstance(width, str) else 0
    text = str(value)
    _check_size("an indented string", len(text) + (text.count("\n") + 1) * max(pad, 0))


def _replace_check(_eval_ctx: Any, value: Any, old: Any = "", new: Any = "", *_: Any, **__: Any) -> None:
    if isinstance(old, str) and isinstance(new, str):
        _check_replace(str(value), old, new)


def _format_check(value: Any, *args: Any, **kwargs: Any) -> None:
    _check_format(str(value), [*args, *kwargs.values()], percent=True)


def _count_check(value: Any, count: Any = 1, *_: Any, **__: Any) -> None:
    if isinstance(count, int):
        _check_size("a batch or slice list", count)


_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "center": _center_check,
    "indent": _indent_check,
    "replace": _replace_check,
    "format": _format_check,
    "batch": _count_check,
    "slice": _count_check,
}


def limited_filters(filters: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Jinja's built-in filters with the size checks above in front of the ones that can multiply input."""
    return {
        name: _limited(_FILTER_CHECKS[name], f) if name in _FILTER_CHECKS else f
        for name, f in filters.items()
    }
