"""Small, deterministic components for testing pipelines (shipped so users can test their own pipelines too).

None of them keeps per-request state on ``self``. :class:`CallRecorder` records the exact keyword arguments of
every component call in a pipeline, which is how the behaviour suite checks defaults and visit counts.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from haybale.core.component import component
from haybale.core.sockets import GreedyVariadic, Variadic

__all__ = [
    "AddFixedValue",
    "AsyncSleep",
    "CallRecorder",
    "Concatenate",
    "Double",
    "DynamicDefault",
    "FString",
    "Fail",
    "FirstInt",
    "Hello",
    "MutateList",
    "NotADict",
    "Parity",
    "Remainder",
    "Repeat",
    "SelfLoop",
    "StringJoiner",
    "StringListJoiner",
    "Subtract",
    "Sum",
    "Threshold",
    "Undeclared",
]


@component
class AddFixedValue:
    """Adds ``add`` (or the per-run ``add`` input) to ``value``."""

    def __init__(self, add: int = 1) -> None:
        self.add = add

    @component.output_types(result=int)
    def run(self, value: int, add: int | None = None) -> dict[str, Any]:
        """Return ``{"result": value + add}``."""
        return {"result": value + (self.add if add is None else add)}


@component
class Double:
    """Doubles ``value``."""

    @component.output_types(value=int)
    def run(self, value: int) -> dict[str, Any]:
        """Return ``{"value": 2 * value}``."""
        return {"value": value * 2}


@component
class Sum:
    """Sums every value sent to its lazy variadic input."""

    @component.output_types(total=int)
    def run(self, values: Variadic[int]) -> dict[str, Any]:
        """Return ``{"total": sum(values)}``."""
        return {"total": sum(values)}


@component
class Subtract:
    """Subtracts ``second`` from ``first`` (two mandatory inputs: a merge point)."""

    @component.output_types(difference=int)
    def run(self, first: int, second: int) -> dict[str, Any]:
        """Return ``{"difference": first - second}``."""
        return {"difference": first - second}


@component
class Threshold:
    """Router: sends ``value`` to ``above`` when it is >= the threshold, else to ``below``."""

    def __init__(self, threshold: int = 10) -> None:
        self.threshold = threshold

    @component.output_types(above=int, below=int)
    def run(self, value: int, threshold: int | None = None) -> dict[str, Any]:
        """Return ``{"above": value}`` or ``{"below": value}``."""
        limit = self.threshold if threshold is None else threshold
        return {"above": value} if value >= limit else {"below": value}


@component
class Remainder:
    """Router with dynamic outputs ``remainder_is_0`` ... ``remainder_is_{divisor-1}``."""

    def __init__(self, divisor: int = 3) -> None:
        if divisor < 1:
            raise ValueError(f"divisor must be >= 1, got {divisor}.")
        self.divisor = divisor
        component.set_output_types(self, **{f"remainder_is_{i}": int for i in range(divisor)})

    def run(self, value: int) -> dict[str, Any]:
        """Send ``value`` to the output named after its remainder."""
        return {f"remainder_is_{value % self.divisor}": value}


@component
class Parity:
    """Router: ``even`` or ``odd``."""

    @component.output_types(even=int, odd=int)
    def run(self, value: int) -> dict[str, Any]:
        """Return ``{"even": value}`` or ``{"odd": value}``."""
        return {"even": value} if value % 2 == 0 else {"odd": value}


@component
class Hello:
    """Greets ``word``; the greeting is an optional input."""

    @component.output_types(output=str)
    def run(self, word: str, greeting: str = "Hello") -> dict[str, Any]:
        """Return ``{"output": f"{greeting}, {word}!"}``."""
        return {"output": f"{greeting}, {word}!"}


@component
class Repeat:
    """Sends ``value`` to every one of its dynamic outputs."""

    def __init__(self, outputs: list[str] | None = None) -> None:
        self.outputs = list(outputs or ["first", "second"])
        component.set_output_types(self, **dict.fromkeys(self.outputs, int))

    def run(self, value: int) -> dict[str, Any]:
        """Return ``value`` on each output."""
        return dict.fromkeys(self.outputs, value)


@component
class Concatenate:
    """Concatenates two lists of strings."""

    @component.output_types(value=list[str])
    def run(self, first: list[str], second: list[str]) -> dict[str, Any]:
        """Return ``{"value": first + second}``."""
        return {"value": first + second}


@component
class FString:
    """Formats ``template`` with dynamic inputs named by ``variables``."""

    def __init__(self, template: str, variables: list[str] | None = None) -> None:
        self.template = template
        self.variables = list(variables or [])
        component.set_input_types(self, **dict.fromkeys(self.variables, Any))

    @component.output_types(string=str)
    def run(self, **kwargs: Any) -> dict[str, Any]:
        """Return the formatted string."""
        return {"string": self.template.format(**kwargs)}


@component
class DynamicDefault:
    """Has one dynamic optional input ``x`` (default from init) and one mandatory ``value``."""

    def __init__(self, default: int = 5) -> None:
        self.default = default
        component.set_input_type(self, "value", int)
        component.set_input_type(self, "x", int, default=default)
        component.set_output_types(self, result=int)

    def run(self, **kwargs: Any) -> dict[str, Any]:
        """Return ``{"result": value + x}``."""
        return {"result": kwargs["value"] + kwargs["x"]}


@component
class StringListJoiner:
    """Flattens every list of strings sent to it."""

    @component.output_types(output=list[str])
    def run(self, inputs: Variadic[list[str]]) -> dict[str, Any]:
        """Return the concatenation of ``inputs``."""
        return {"output": [item for chunk in inputs for item in chunk]}


@component
class StringJoiner:
    """Joins every string sent to it with a space."""

    @component.output_types(output=str)
    def run(self, input_str: Variadic[str]) -> dict[str, Any]:
        """Return ``" ".join(input_str)``."""
        return {"output": " ".join(input_str)}


@component
class FirstInt:
    """Greedy loop entry: forwards the first value that arrives."""

    @component.output_types(value=int)
    def run(self, value: GreedyVariadic[int]) -> dict[str, Any]:
        """Return ``{"value": value[0]}``."""
        return {"value": value[0]}


@component
class SelfLoop:
    """Decrements its input until it reaches ``target``; meant to be connected to itself."""

    def __init__(self, target: int = 0) -> None:
        self.target = target

    @component.output_types(current_value=int, final_result=int)
    def run(self, values: GreedyVariadic[int]) -> dict[str, Any]:
        """Return ``final_result`` at the target, else ``current_value`` decremented."""
        value = values[0] - 1
        return {"final_result": value} if value <= self.target else {"current_value": value}


@component
class MutateList:
    """Appends ``item`` to the list it receives, in place, and returns it (for isolation tests)."""

    def __init__(self, item: int = 99) -> None:
        self.item = item

    @component.output_types(items=list[int])
    def run(self, items: list[int]) -> dict[str, Any]:
        """Mutate ``items`` in place and return it."""
        items.append(self.item)
        return {"items": items}


@component
class Undeclared:
    """Returns a declared output and an undeclared one."""

    @component.output_types(declared=int)
    def run(self, value: int) -> dict[str, Any]:
        """Return ``declared`` and ``extra``."""
        return {"declared": value, "extra": f"extra-{value}"}


@component
class Fail:
    """Raises ``ValueError`` when ``value`` equals ``fail_on``."""

    def __init__(self, fail_on: int = 0) -> None:
        self.fail_on = fail_on

    @component.output_types(value=int)
    def run(self, value: int) -> dict[str, Any]:
        """Return ``value``, or raise for ``fail_on``."""
        if value == self.fail_on:
            raise ValueError(f"cannot handle {value}")
        return {"value": value}


@component
class NotADict:
    """Returns a list instead of a dict (a broken component, for error tests)."""

    @component.output_types(value=int)
    def run(self, value: int) -> Any:
        """Return ``[value]``."""
        return [value]


@component
class AsyncSleep:
    """Sleeps ``seconds`` then forwards ``value`` (sync and async variants)."""

    def __init__(self, seconds: float = 0.05) -> None:
        self.seconds = seconds

    @component.output_types(value=int)
    def run(self, value: int) -> dict[str, Any]:
        """Sleep in the calling thread."""
        time.sleep(self.seconds)
        return {"value": value}

    @component.output_types(value=int)
    async def run_async(self, value: int) -> dict[str, Any]:
        """Sleep without blocking the event loop."""
        await asyncio.sleep(self.seconds)
        return {"value": value}


class CallRecorder:
    """Records ``(component name, kwargs)`` for every component call of a pipeline.

    Attach before the pipeline's first run: ``recorder = CallRecorder(pipeline)``; then
    ``recorder.calls["name"]`` is the list of kwargs of each visit.
    """

    def __init__(self, pipeline: Any) -> None:
        self._lock = threading.Lock()
        self.calls: dict[str, list[dict[str, Any]]] = {}
        for name, instance in pipeline.walk():
            self._wrap(name, instance)

    def _record(self, name: str, kwargs: dict[str, Any]) -> None:
        import copy

        with self._lock:
            self.calls.setdefault(name, []).append(copy.deepcopy(kwargs))

    def _wrap(self, name: str, instance: Any) -> None:
        run = instance.run

        def recorded_run(**kwargs: Any) -> Any:
            self._record(name, kwargs)
            return run(**kwargs)

        instance.__dict__["run"] = recorded_run
        run_async = getattr(instance, "run_async", None)
        if run_async is not None:

            async def recorded_run_async(**kwargs: Any) -> Any:
                self._record(name, kwargs)
                return await run_async(**kwargs)

            instance.__dict__["run_async"] = recorded_run_async
