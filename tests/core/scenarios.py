"""Behaviour scenarios for the pipeline engine: each builds a pipeline and states the exact expected result
and the exact kwargs of every component call, visit by visit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from haybale import Pipeline
from haybale.testing.sample_components import (
    AddFixedValue,
    Concatenate,
    Double,
    DynamicDefault,
    FirstInt,
    FString,
    Hello,
    MutateList,
    Parity,
    Remainder,
    Repeat,
    SelfLoop,
    StringJoiner,
    StringListJoiner,
    Subtract,
    Sum,
    Threshold,
    Undeclared,
)


@dataclass
class Scenario:
    """A pipeline, its run inputs, the expected result and the expected calls per component."""

    pipeline: Pipeline
    data: dict[str, Any]
    expected: dict[str, Any]
    calls: dict[str, list[dict[str, Any]]]
    include: set[str] | None = None
    check_data_unchanged: dict[str, Any] | None = field(default=None)


SCENARIOS: dict[str, Callable[[], Scenario]] = {}


def scenario(fn: Callable[[], Scenario]) -> Callable[[], Scenario]:
    SCENARIOS[fn.__name__] = fn
    return fn


def _pipe(max_runs: int = 100, **components: Any) -> Pipeline:
    pipeline = Pipeline(max_runs_per_component=max_runs)
    for name, instance in components.items():
        pipeline.add_component(name, instance)
    return pipeline


def _add(value: int, add: int | None = None) -> dict[str, Any]:
    return {"value": value, "add": add}


@scenario
def linear() -> Scenario:
    p = _pipe(first=AddFixedValue(add=2), second=AddFixedValue())
    p.connect("first.result", "second.value")
    return Scenario(
        p, {"first": {"value": 1}}, {"second": {"result": 4}}, {"first": [_add(1)], "second": [_add(3)]}
    )


@scenario
def linear_flat_input() -> Scenario:
    p = _pipe(first=AddFixedValue(add=2), second=AddFixedValue())
    p.connect("first", "second")
    return Scenario(p, {"value": 1}, {"second": {"result": 4}}, {"first": [_add(1)], "second": [_add(3)]})


@scenario
def flat_input_to_several_components() -> Scenario:
    p = _pipe(a=AddFixedValue(add=1), b=AddFixedValue(add=10))
    return Scenario(
        p, {"value": 5}, {"a": {"result": 6}, "b": {"result": 15}}, {"a": [_add(5)], "b": [_add(5)]}
    )


@scenario
def linear_three_with_include_outputs_from() -> Scenario:
    p = _pipe(a=AddFixedValue(add=1), b=Double(), c=AddFixedValue(add=3))
    p.connect("a.result", "b.value").connect("b.value", "c.value")
    return Scenario(
        p,
        {"a": {"value": 1}},
        {"a": {"result": 2}, "b": {"value": 4}, "c": {"result": 7}},
        {"a": [_add(1)], "b": [{"value": 2}], "c": [_add(4)]},
        include={"a", "b"},
    )


@scenario
def per_run_input_overrides_init_parameter() -> Scenario:
    p = _pipe(first=AddFixedValue(add=2), second=AddFixedValue())
    p.connect("first.result", "second.value")
    data = {"first": {"value": 1, "add": 10}, "second": {"add": 100}}
    return Scenario(p, data, {"second": {"result": 111}}, {"first": [_add(1, 10)], "second": [_add(11, 100)]})


@scenario
def default_values_filled_in() -> Scenario:
    p = _pipe(hello=Hello())
    return Scenario(
        p,
        {"word": "world"},
        {"hello": {"output": "Hello, world!"}},
        {"hello": [{"word": "world", "greeting": "Hello"}]},
    )


@scenario
def fan_out() -> Scenario:
    p = _pipe(repeat=Repeat(outputs=["first", "second"]), add=AddFixedValue(add=1), double=Double())
    p.connect("repeat.first", "add.value").connect("repeat.second", "double.value")
    return Scenario(
        p,
        {"repeat": {"value": 3}},
        {"add": {"result": 4}, "double": {"value": 6}},
        {"repeat": [{"value": 3}], "add": [_add(3)], "double": [{"value": 3}]},
    )


@scenario
def fan_out_one_output_to_three_receivers() -> Scenario:
    p = _pipe(src=Double(), a=AddFixedValue(add=1), b=AddFixedValue(add=2), c=Double())
    p.connect("src", "a").connect("src", "b").connect("src", "c")
    return Scenario(
        p,
        {"src": {"value": 2}},
        {"a": {"result": 5}, "b": {"result": 6}, "c": {"value": 8}},
        {"src": [{"value": 2}], "a": [_add(4)], "b": [_add(4)], "c": [{"value": 4}]},
    )


@scenario
def branches_merge_in_lazy_variadic() -> Scenario:
    p = _pipe(repeat=Repeat(outputs=["x", "y"]), add1=AddFixedValue(add=1), double=Double(), sum=Sum())
    p.connect("repeat.x", "add1.value").connect("repeat.y", "double.value")
    p.connect("add1.result", "sum.values").connect("double.value", "sum.values")
    return Scenario(
        p,
        {"repeat": {"value": 2}},
        {"sum": {"total": 7}},
        {"repeat": [{"value": 2}], "add1": [_add(2)], "double": [{"value": 2}], "sum": [{"values": [3, 4]}]},
    )


@scenario
def diamond_merge_two_mandatory_inputs() -> Scenario:
    p = _pipe(repeat=Repeat(outputs=["x", "y"]), add=AddFixedValue(add=10), double=Double(), sub=Subtract())
    p.connect("repeat.x", "add.value").connect("repeat.y", "double.value")
    p.connect("add.result", "sub.first").connect("double.value", "sub.second")
    return Scenario(
        p,
        {"repeat": {"value": 3}},
        {"sub": {"difference": 7}},
        {
            "repeat": [{"value": 3}],
            "add": [_add(3)],
            "double": [{"value": 3}],
            "sub": [{"first": 13, "second": 6}],
        },
    )


@scenario
def router_branches_that_do_not_merge() -> Scenario:
    p = _pipe(parity=Parity(), double=Double(), add=AddFixedValue(add=100))
    p.connect("parity.even", "double.value").connect("parity.odd", "add.value")
    return Scenario(
        p, {"parity": {"value": 3}}, {"add": {"result": 103}}, {"parity": [{"value": 3}], "add": [_add(3)]}
    )


@scenario
def router_untaken_branch_has_user_inputs() -> Scenario:
    p = _pipe(threshold=Threshold(threshold=10), above=AddFixedValue(), below=AddFixedValue())
    p.connect("threshold.above", "above.value").connect("threshold.below", "below.value")
    data = {"threshold": {"value": 3}, "above": {"add": 1000}, "below": {"add": 1}}
    return Scenario(
        p,
        data,
        {"below": {"result": 4}},
        {"threshold": [{"value": 3, "threshold": None}], "below": [_add(3, 1)]},
    )


@scenario
def router_threshold_given_per_run() -> Scenario:
    p = _pipe(threshold=Threshold(threshold=10), above=AddFixedValue(), below=AddFixedValue())
    p.connect("threshold.above", "above.value").connect("threshold.below", "below.value")
    return Scenario(
        p,
        {"threshold": {"value": 3, "threshold": 2}},
        {"above": {"result": 4}},
        {"threshold": [{"value": 3, "threshold": 2}], "above": [_add(3)]},
    )


@scenario
def router_with_dynamic_outputs() -> Scenario:
    p = _pipe(remainder=Remainder(divisor=3), double=Double())
    p.connect("remainder.remainder_is_1", "double.value")
    return Scenario(
        p, {"value": 4}, {"double": {"value": 8}}, {"remainder": [{"value": 4}], "double": [{"value": 4}]}
    )


@scenario
def router_output_unconnected_is_returned() -> Scenario:
    p = _pipe(remainder=Remainder(divisor=3), double=Double())
    p.connect("remainder.remainder_is_1", "double.value")
    return Scenario(p, {"value": 3}, {"remainder": {"remainder_is_0": 3}}, {"remainder": [{"value": 3}]})


@scenario
def nested_routers() -> Scenario:
    p = _pipe(parity=Parity(), threshold=Threshold(threshold=5), small=Double(), big=AddFixedValue(add=1))
    p.connect("parity.even", "threshold.value")
    p.connect("threshold.below", "small.value").connect("threshold.above", "big.value")
    return Scenario(
        p,
        {"parity": {"value": 8}},
        {"big": {"result": 9}},
        {"parity": [{"value": 8}], "threshold": [{"value": 8, "threshold": None}], "big": [_add(8)]},
    )


@scenario
def lazy_variadic_with_partial_inputs() -> Scenario:
    p = _pipe(repeat=Repeat(outputs=["x", "y"]), parity=Parity(), double=Double(), sum=Sum())
    p.connect("repeat.x", "parity.value").connect("repeat.y", "sum.values")
    p.connect("parity.even", "sum.values").connect("parity.odd", "double.value")
    p.connect("double.value", "sum.values")
    return Scenario(
        p,
        {"repeat": {"value": 3}},
        {"sum": {"total": 9}},
        {
            "repeat": [{"value": 3}],
            "parity": [{"value": 3}],
            "double": [{"value": 3}],
            "sum": [{"values": [3, 6]}],
        },
    )


@scenario
def lazy_variadic_with_user_and_sender_values() -> Scenario:
    p = _pipe(add=AddFixedValue(add=1), sum=Sum())
    p.connect("add.result", "sum.values")
    return Scenario(
        p,
        {"add": {"value": 1}, "sum": {"values": 10}},
        {"sum": {"total": 12}},
        {"add": [_add(1)], "sum": [{"values": [10, 2]}]},
    )


@scenario
def lazy_variadic_strings_in_arrival_order() -> Scenario:
    p = _pipe(hello_b=Hello(), hello_a=Hello(), joiner=StringJoiner())
    p.connect("hello_b.output", "joiner.input_str").connect("hello_a.output", "joiner.input_str")
    data = {"hello_a": {"word": "a"}, "hello_b": {"word": "b", "greeting": "Hi"}}
    return Scenario(
        p,
        data,
        {"joiner": {"output": "Hello, a! Hi, b!"}},
        {
            "hello_a": [{"word": "a", "greeting": "Hello"}],
            "hello_b": [{"word": "b", "greeting": "Hi"}],
            "joiner": [{"input_str": ["Hello, a!", "Hi, b!"]}],
        },
    )


@scenario
def lazy_variadic_of_lists() -> Scenario:
    p = _pipe(c1=Concatenate(), c2=Concatenate(), joiner=StringListJoiner())
    p.connect("c1.value", "joiner.inputs").connect("c2.value", "joiner.inputs")
    data = {"c1": {"first": ["a"], "second": ["b"]}, "c2": {"first": ["c"], "second": []}}
    return Scenario(
        p,
        data,
        {"joiner": {"output": ["a", "b", "c"]}},
        {
            "c1": [{"first": ["a"], "second": ["b"]}],
            "c2": [{"first": ["c"], "second": []}],
            "joiner": [{"inputs": [["a", "b"], ["c"]]}],
        },
    )


@scenario
def greedy_variadic_runs_on_first_value() -> Scenario:
    p = _pipe(
        repeat=Repeat(outputs=["x", "y"]), a=AddFixedValue(add=1), b=AddFixedValue(add=10), first=FirstInt()
    )
    p.connect("repeat.x", "a.value").connect("repeat.y", "b.value")
    p.connect("a.result", "first.value").connect("b.result", "first.value")
    return Scenario(
        p,
        {"repeat": {"value": 1}},
        {"first": {"value": 11}},
        {
            "repeat": [{"value": 1}],
            "a": [_add(1)],
            "b": [_add(1)],
            "first": [{"value": [2]}, {"value": [11]}],
        },
    )


@scenario
def greedy_variadic_with_user_value_only() -> Scenario:
    p = _pipe(first=FirstInt(), double=Double())
    p.connect("first.value", "double.value")
    return Scenario(
        p,
        {"first": {"value": 21}},
        {"double": {"value": 42}},
        {"first": [{"value": [21]}], "double": [{"value": 21}]},
    )


@scenario
def auto_variadic_list_socket_joins_lists() -> Scenario:
    p = _pipe(c1=Concatenate(), c2=Concatenate(), c3=Concatenate())
    p.connect("c1.value", "c3.first").connect("c2.value", "c3.first")
    data = {
        "c1": {"first": ["a"], "second": ["b"]},
        "c2": {"first": ["c"], "second": ["d"]},
        "c3": {"second": ["z"]},
    }
    return Scenario(
        p,
        data,
        {"c3": {"value": ["a", "b", "c", "d", "z"]}},
        {
            "c1": [{"first": ["a"], "second": ["b"]}],
            "c2": [{"first": ["c"], "second": ["d"]}],
            "c3": [{"first": ["a", "b", "c", "d"], "second": ["z"]}],
        },
    )


@scenario
def auto_variadic_user_input_first_and_wrapped_items() -> Scenario:
    p = _pipe(hello1=Hello(), hello2=Hello(), concat=Concatenate())
    p.connect("hello1.output", "concat.first").connect("hello2.output", "concat.first")
    data = {"hello1": {"word": "a"}, "hello2": {"word": "b"}, "concat": {"first": ["u"], "second": ["z"]}}
    return Scenario(
        p,
        data,
        {"concat": {"value": ["u", "Hello, a!", "Hello, b!", "z"]}},
        {
            "hello1": [{"word": "a", "greeting": "Hello"}],
            "hello2": [{"word": "b", "greeting": "Hello"}],
            "concat": [{"first": ["u", "Hello, a!", "Hello, b!"], "second": ["z"]}],
        },
    )


@scenario
def dynamic_inputs() -> Scenario:
    p = _pipe(hello=Hello(), fstring=FString(template="{a} | {b}", variables=["a", "b"]))
    p.connect("hello.output", "fstring.a")
    return Scenario(
        p,
        {"hello": {"word": "w"}, "fstring": {"b": "x"}},
        {"fstring": {"string": "Hello, w! | x"}},
        {"hello": [{"word": "w", "greeting": "Hello"}], "fstring": [{"a": "Hello, w!", "b": "x"}]},
    )


@scenario
def dynamic_default_filled_in() -> Scenario:
    p = _pipe(dyn=DynamicDefault(default=7))
    return Scenario(p, {"dyn": {"value": 1}}, {"dyn": {"result": 8}}, {"dyn": [{"value": 1, "x": 7}]})


@scenario
def dynamic_default_overridden() -> Scenario:
    p = _pipe(add=AddFixedValue(add=1), dyn=DynamicDefault(default=7))
    p.connect("add.result", "dyn.x")
    return Scenario(
        p,
        {"add": {"value": 1}, "dyn": {"value": 10}},
        {"dyn": {"result": 12}},
        {"add": [_add(1)], "dyn": [{"value": 10, "x": 2}]},
    )


@scenario
def optional_input_sender_produces_nothing() -> Scenario:
    p = _pipe(parity=Parity(), add=AddFixedValue(add=1))
    p.connect("parity.even", "add.add")
    return Scenario(
        p,
        {"parity": {"value": 3}, "add": {"value": 1}},
        {"parity": {"odd": 3}, "add": {"result": 2}},
        {"parity": [{"value": 3}], "add": [_add(1)]},
    )


@scenario
def optional_input_sender_produces_value() -> Scenario:
    p = _pipe(parity=Parity(), add=AddFixedValue(add=1))
    p.connect("parity.even", "add.add")
    return Scenario(
        p,
        {"parity": {"value": 4}, "add": {"value": 1}},
        {"add": {"result": 5}},
        {"parity": [{"value": 4}], "add": [_add(1, 4)]},
    )


@scenario
def self_loop() -> Scenario:
    p = _pipe(loop=SelfLoop(target=0))
    p.connect("loop.current_value", "loop.values")
    return Scenario(
        p,
        {"loop": {"values": 3}},
        {"loop": {"final_result": 0}},
        {"loop": [{"values": [3]}, {"values": [2]}, {"values": [1]}]},
    )


def _loop(p: Pipeline, prefix: str, add: int, threshold: int) -> None:
    p.add_component(f"{prefix}entry", FirstInt())
    p.add_component(f"{prefix}add", AddFixedValue(add=add))
    p.add_component(f"{prefix}threshold", Threshold(threshold=threshold))
    p.connect(f"{prefix}entry.value", f"{prefix}add.value")
    p.connect(f"{prefix}add.result", f"{prefix}threshold.value")
    p.connect(f"{prefix}threshold.below", f"{prefix}entry.value")


@scenario
def single_loop_with_greedy_entry() -> Scenario:
    p = _pipe()
    _loop(p, "", add=1, threshold=10)
    return Scenario(
        p,
        {"entry": {"value": 7}},
        {"threshold": {"above": 10}},
        {
            "entry": [{"value": [7]}, {"value": [8]}, {"value": [9]}],
            "add": [_add(7), _add(8), _add(9)],
            "threshold": [{"value": v, "threshold": None} for v in (8, 9, 10)],
        },
    )


@scenario
def include_outputs_from_inside_loop_last_visit_wins() -> Scenario:
    p = _pipe()
    _loop(p, "", add=1, threshold=10)
    return Scenario(
        p,
        {"entry": {"value": 7}},
        {"threshold": {"above": 10}, "add": {"result": 10}, "entry": {"value": 9}},
        {
            "entry": [{"value": [7]}, {"value": [8]}, {"value": [9]}],
            "add": [_add(7), _add(8), _add(9)],
            "threshold": [{"value": v, "threshold": None} for v in (8, 9, 10)],
        },
        include={"add", "entry"},
    )


@scenario
def loop_seeded_through_connected_input_user_value_persists() -> Scenario:
    p = _pipe(add=AddFixedValue(), threshold=Threshold(threshold=10))
    p.connect("add.result", "threshold.value").connect("threshold.below", "add.value")
    return Scenario(
        p,
        {"add": {"value": 7, "add": 2}},
        {"threshold": {"above": 11}},
        {
            "add": [_add(7, 2), _add(9, 2)],
            "threshold": [{"value": 9, "threshold": None}, {"value": 11, "threshold": None}],
        },
    )


def _sequential_loops(second_threshold: int) -> Pipeline:
    p = _pipe()
    _loop(p, "a_", add=1, threshold=3)
    _loop(p, "b_", add=2, threshold=second_threshold)
    p.connect("a_threshold.above", "b_entry.value")
    return p


@scenario
def two_loops_of_equal_length() -> Scenario:
    p = _sequential_loops(9)
    return Scenario(
        p,
        {"a_entry": {"value": 0}},
        {"b_threshold": {"above": 9}},
        {
            "a_entry": [{"value": [v]} for v in (0, 1, 2)],
            "a_add": [_add(v) for v in (0, 1, 2)],
            "a_threshold": [{"value": v, "threshold": None} for v in (1, 2, 3)],
            "b_entry": [{"value": [v]} for v in (3, 5, 7)],
            "b_add": [_add(v) for v in (3, 5, 7)],
            "b_threshold": [{"value": v, "threshold": None} for v in (5, 7, 9)],
        },
    )


@scenario
def two_loops_of_different_length() -> Scenario:
    p = _sequential_loops(13)
    return Scenario(
        p,
        {"a_entry": {"value": 0}},
        {"b_threshold": {"above": 13}},
        {
            "a_entry": [{"value": [v]} for v in (0, 1, 2)],
            "a_add": [_add(v) for v in (0, 1, 2)],
            "a_threshold": [{"value": v, "threshold": None} for v in (1, 2, 3)],
            "b_entry": [{"value": [v]} for v in (3, 5, 7, 9, 11)],
            "b_add": [_add(v) for v in (3, 5, 7, 9, 11)],
            "b_threshold": [{"value": v, "threshold": None} for v in (5, 7, 9, 11, 13)],
        },
    )


@scenario
def two_parallel_loops_merge_in_variadic() -> Scenario:
    p = _pipe(repeat=Repeat(outputs=["x", "y"]), sum=Sum())
    _loop(p, "a_", add=1, threshold=3)
    _loop(p, "b_", add=2, threshold=6)
    p.connect("repeat.x", "a_entry.value").connect("repeat.y", "b_entry.value")
    p.connect("a_threshold.above", "sum.values").connect("b_threshold.above", "sum.values")
    return Scenario(
        p,
        {"repeat": {"value": 0}},
        {"sum": {"total": 9}},
        {
            "repeat": [{"value": 0}],
            "a_entry": [{"value": [v]} for v in (0, 1, 2)],
            "a_add": [_add(v) for v in (0, 1, 2)],
            "a_threshold": [{"value": v, "threshold": None} for v in (1, 2, 3)],
            "b_entry": [{"value": [v]} for v in (0, 2, 4)],
            "b_add": [_add(v) for v in (0, 2, 4)],
            "b_threshold": [{"value": v, "threshold": None} for v in (2, 4, 6)],
            "sum": [{"values": [3, 6]}],
        },
    )


@scenario
def loop_with_two_conditional_reentries() -> Scenario:
    p = _pipe(
        entry=FirstInt(),
        threshold=Threshold(threshold=20),
        parity=Parity(),
        add=AddFixedValue(),
        double=Double(),
    )
    p.connect("entry.value", "threshold.value").connect("threshold.below", "parity.value")
    p.connect("parity.even", "add.value").connect("parity.odd", "double.value")
    p.connect("add.result", "entry.value").connect("double.value", "entry.value")
    return Scenario(
        p,
        {"entry": {"value": 3}},
        {"threshold": {"above": 30}},
        {
            "entry": [{"value": [v]} for v in (3, 6, 7, 14, 15, 30)],
            "threshold": [{"value": v, "threshold": None} for v in (3, 6, 7, 14, 15, 30)],
            "parity": [{"value": v} for v in (3, 6, 7, 14, 15)],
            "double": [{"value": v} for v in (3, 7, 15)],
            "add": [_add(6), _add(14)],
        },
    )


@scenario
def feedback_loop_through_optional_input() -> Scenario:
    p = _pipe(add=AddFixedValue(add=1), threshold=Threshold(threshold=10))
    p.connect("add.result", "threshold.value").connect("threshold.below", "add.add")
    return Scenario(
        p,
        {"add": {"value": 1}},
        {"threshold": {"above": 10}},
        {
            "add": [_add(1)] + [_add(1, a) for a in range(2, 10)],
            "threshold": [{"value": v, "threshold": None} for v in range(2, 11)],
        },
    )


@scenario
def loop_values_consumed_outside_the_cycle() -> Scenario:
    p = _pipe(add=AddFixedValue(add=1), threshold=Threshold(threshold=10), double=Double())
    p.connect("add.result", "threshold.value").connect("threshold.below", "add.value")
    p.connect("add.result", "double.value")
    return Scenario(
        p,
        {"add": {"value": 7}},
        {"threshold": {"above": 10}, "double": {"value": 20}},
        {
            "add": [_add(7), _add(8), _add(9)],
            "threshold": [{"value": v, "threshold": None} for v in (8, 9, 10)],
            "double": [{"value": v} for v in (8, 9, 10)],
        },
    )


@scenario
def loop_values_collected_by_lazy_variadic_outside() -> Scenario:
    p = _pipe(add=AddFixedValue(add=1), threshold=Threshold(threshold=10), sum=Sum())
    p.connect("add.result", "threshold.value").connect("threshold.below", "add.value")
    p.connect("add.result", "sum.values").connect("threshold.above", "sum.values")
    return Scenario(
        p,
        {"add": {"value": 7}},
        {"sum": {"total": 37}},
        {
            "add": [_add(7), _add(8), _add(9)],
            "threshold": [{"value": v, "threshold": None} for v in (8, 9, 10)],
            "sum": [{"values": [8, 9, 10, 10]}],
        },
    )


@scenario
def undeclared_output_keys_are_returned() -> Scenario:
    p = _pipe(undeclared=Undeclared(), double=Double())
    p.connect("undeclared.declared", "double.value")
    return Scenario(
        p,
        {"undeclared": {"value": 4}},
        {"double": {"value": 8}, "undeclared": {"extra": "extra-4"}},
        {"undeclared": [{"value": 4}], "double": [{"value": 4}]},
    )


@scenario
def caller_input_is_not_mutated() -> Scenario:
    items = [1, 2]
    p = _pipe(mutate=MutateList(item=99))
    data = {"mutate": {"items": items}}
    return Scenario(
        p,
        data,
        {"mutate": {"items": [1, 2, 99]}},
        {"mutate": [{"items": [1, 2]}]},
        check_data_unchanged={"mutate": {"items": [1, 2]}},
    )


@scenario
def flat_caller_input_given_to_two_mutating_components() -> Scenario:
    p = _pipe(m1=MutateList(item=1), m2=MutateList(item=2))
    return Scenario(
        p,
        {"items": [5]},
        {"m1": {"items": [5, 1]}, "m2": {"items": [5, 2]}},
        {"m1": [{"items": [5]}], "m2": [{"items": [5]}]},
        check_data_unchanged={"items": [5]},
    )


@scenario
def mutable_output_shared_by_receivers_and_result() -> Scenario:
    p = _pipe(m0=MutateList(item=0), m1=MutateList(item=1), m2=MutateList(item=2))
    p.connect("m0.items", "m1.items").connect("m0.items", "m2.items")
    return Scenario(
        p,
        {"m0": {"items": [5]}},
        {"m0": {"items": [5, 0]}, "m1": {"items": [5, 0, 1]}, "m2": {"items": [5, 0, 2]}},
        {"m0": [{"items": [5]}], "m1": [{"items": [5, 0]}], "m2": [{"items": [5, 0]}]},
        include={"m0"},
    )
