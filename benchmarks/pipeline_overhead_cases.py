"""Benchmark cases for pipeline_overhead.py, written once against a Haystack-like API.

Both haybale and haystack-ai expose ``component``, ``Pipeline``, ``Document`` and ``Variadic`` with the same
meaning, so the same builder functions construct identical pipelines for either framework. This module is
imported by ``pipeline_overhead.py`` (haybale) and by ``pipeline_overhead_peer.py`` (haystack-ai, run in
.venv-peers).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

N_DOCS = 100
DIM = 384


def build_cases(component: Any, pipeline_cls: Any, document_cls: Any, variadic: Any) -> dict[str, Any]:
    """Return {case: (pipeline, inputs)} for cases a-e built with the given framework's API."""

    @component
    class Inc:
        @component.output_types(value=int)
        def run(self, value: int) -> dict[str, Any]:
            return {"value": value + 1}

    class SumValues:
        @component.output_types(total=int)
        def run(self, values: variadic[int]) -> dict[str, Any]:  # type: ignore[valid-type]
            return {"total": sum(values)}

    SumValues.run.__annotations__["values"] = variadic[int]
    SumValues = component(SumValues)

    rng = random.Random(0)
    docs = [
        document_cls(content=f"document {i}", embedding=[rng.random() for _ in range(DIM)], meta={"i": i})
        for i in range(N_DOCS)
    ]

    @component
    class EmitDocs:
        @component.output_types(documents=list[document_cls])  # type: ignore[valid-type]
        def run(self, value: int) -> dict[str, Any]:
            return {"documents": list(docs)}

    @component
    class PassDocs:
        @component.output_types(documents=list[document_cls])  # type: ignore[valid-type]
        def run(self, documents: list[document_cls]) -> dict[str, Any]:  # type: ignore[valid-type]
            return {"documents": documents}

    PassDocs.run.__annotations__["documents"] = list[document_cls]

    def line(n: int) -> Any:
        p = pipeline_cls(max_runs_per_component=100)
        for i in range(n):
            p.add_component(f"c{i}", Inc())
            if i:
                p.connect(f"c{i - 1}.value", f"c{i}.value")
        return p

    fan = pipeline_cls()
    fan.add_component("source", Inc())
    fan.add_component("sink", SumValues())
    for i in range(18):
        fan.add_component(f"m{i}", Inc())
        fan.connect("source.value", f"m{i}.value")
        fan.connect(f"m{i}.value", "sink.values")

    chain = pipeline_cls()
    chain.add_component("emit", EmitDocs())
    for i in range(9):
        chain.add_component(f"p{i}", PassDocs())
        chain.connect("emit.documents" if i == 0 else f"p{i - 1}.documents", f"p{i}.documents")

    single = pipeline_cls()
    single.add_component("pass", PassDocs())

    return {
        "a": (line(10), {"c0": {"value": 0}}),
        "b": (fan, {"source": {"value": 0}}),
        "c": (chain, {"emit": {"value": 0}}),
        "d": (single, {"pass": {"documents": docs}}),
        "e": (line(80), {"c0": {"value": 0}}),
    }


def time_case(run: Callable[[], Any], budget_s: float, max_reps: int = 2000) -> float:
    """Median seconds per call, measured for about ``budget_s`` seconds after a warm-up."""
    for _ in range(3):
        run()
    samples: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(samples) < max_reps and (len(samples) < 5 or time.perf_counter() < deadline):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def measure_all(cases: dict[str, Any], budget_s: float) -> dict[str, float]:
    """Median seconds per run for every case."""
    return {name: time_case(lambda p=p, d=d: p.run(d), budget_s) for name, (p, d) in cases.items()}
