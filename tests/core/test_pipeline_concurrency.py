"""One pipeline instance serving many concurrent runs (threads and asyncio tasks), and run_async overlap."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from haybale import Pipeline, component
from haybale.testing.sample_components import AddFixedValue, AsyncSleep, FirstInt, Sum, Threshold


def _loop_pipeline() -> Pipeline:
    p = Pipeline()
    p.add_component("entry", FirstInt())
    p.add_component("add", AddFixedValue())
    p.add_component("threshold", Threshold(threshold=50))
    p.connect("entry.value", "add.value").connect("add.result", "threshold.value")
    p.connect("threshold.below", "entry.value")
    return p


def _expected(start: int, add: int) -> dict[str, Any]:
    value = start + add
    while value < 50:
        value += add
    return {"threshold": {"above": value}, "add": {"result": value}}


def _data(i: int) -> dict[str, Any]:
    return {"entry": {"value": i}, "add": {"add": 1 + i % 5}}


def test_32_threads_share_one_pipeline() -> None:
    p = _loop_pipeline()
    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(lambda i: p.run(_data(i), include_outputs_from={"add"}), range(32 * 4)))
    assert results == [_expected(i, 1 + i % 5) for i in range(32 * 4)]


async def test_32_tasks_share_one_pipeline() -> None:
    p = _loop_pipeline()
    results = await asyncio.gather(
        *(p.run_async(_data(i), include_outputs_from={"add"}) for i in range(32 * 2))
    )
    assert list(results) == [_expected(i, 1 + i % 5) for i in range(32 * 2)]


@component
class SyncSleep:
    @component.output_types(value=int)
    def run(self, value: int) -> dict[str, Any]:
        time.sleep(0.3)
        return {"value": value}


def _fan_out(kind: type) -> Pipeline:
    p = Pipeline()
    p.add_component("sum", Sum())
    for i in range(4):
        p.add_component(f"sleep{i}", kind())
        p.connect(f"sleep{i}.value", "sum.values")
    return p


async def test_run_async_overlaps_independent_async_branches() -> None:
    p = _fan_out(AsyncSleep)
    for i in range(4):
        p.get_component(f"sleep{i}").seconds = 0.3
    start = time.perf_counter()
    result = await p.run_async({"value": 1}, concurrency_limit=4)
    elapsed = time.perf_counter() - start
    assert result == {"sum": {"total": 4}}
    assert elapsed < 0.9  # sequential would take 1.2 s


async def test_run_async_runs_sync_components_in_threads() -> None:
    p = _fan_out(SyncSleep)
    start = time.perf_counter()
    result = await p.run_async({"value": 2}, concurrency_limit=4)
    assert result == {"sum": {"total": 8}}
    assert time.perf_counter() - start < 0.9


async def test_concurrency_limit_one_is_sequential_and_same_result() -> None:
    p = _fan_out(AsyncSleep)
    assert await p.run_async({"value": 3}, concurrency_limit=1) == p.run({"value": 3})
