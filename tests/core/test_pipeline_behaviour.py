"""The behaviour suite: every scenario runs through both run() and run_async() and must give the exact
result and the exact component calls (kwargs with defaults filled in, one entry per visit)."""

from __future__ import annotations

import copy

import pytest

from haybale.testing.sample_components import CallRecorder

from .conftest import Runner
from .scenarios import SCENARIOS


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(name: str, run_pipeline: Runner) -> None:
    scenario = SCENARIOS[name]()
    recorder = CallRecorder(scenario.pipeline)
    data_before = copy.deepcopy(scenario.data)

    result = run_pipeline(scenario.pipeline, scenario.data, include_outputs_from=scenario.include)

    assert result == scenario.expected
    assert recorder.calls == scenario.calls
    assert scenario.data == data_before
    if scenario.check_data_unchanged is not None:
        assert scenario.data == scenario.check_data_unchanged


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_is_repeatable_on_the_same_pipeline(name: str, run_pipeline: Runner) -> None:
    scenario = SCENARIOS[name]()
    first = run_pipeline(
        scenario.pipeline, copy.deepcopy(scenario.data), include_outputs_from=scenario.include
    )
    second = run_pipeline(
        scenario.pipeline, copy.deepcopy(scenario.data), include_outputs_from=scenario.include
    )
    assert first == second == scenario.expected


def test_there_are_at_least_forty_scenarios() -> None:
    assert len(SCENARIOS) >= 40
