"""Shared fixtures for the core tests: run a pipeline through run() or run_async()."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from haybale import Pipeline

Runner = Callable[..., dict[str, Any]]


def _run_sync(pipeline: Pipeline, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return pipeline.run(data, **kwargs)


def _run_async(pipeline: Pipeline, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return asyncio.run(pipeline.run_async(data, **kwargs))


@pytest.fixture(params=["run", "run_async"])
def run_pipeline(request: pytest.FixtureRequest) -> Runner:
    """Runs a pipeline with run() or run_async() (each test using it runs twice)."""
    return _run_sync if request.param == "run" else _run_async
