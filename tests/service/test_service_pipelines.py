"""``/pipelines/{name}/run`` over real HTTP: YAML pipelines from a folder, loaded with the allow-list."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from haybale.service import ServiceSettings

from .conftest import RunningService, running_service

ADD_PIPELINE = """
components:
  first:
    type: haybale.testing.sample_components.AddFixedValue
    init_parameters: {add: 2}
  second:
    type: haybale.testing.sample_components.AddFixedValue
    init_parameters: {add: 10}
connections:
  - {sender: first.result, receiver: second.value}
"""

POPEN_PIPELINE = """
components:
  shell:
    type: subprocess.Popen
    init_parameters: {args: ["touch", "%s"]}
connections: []
"""

UNSAFE_ROUTER_PIPELINE = """
components:
  router:
    type: haybale.components.routers.ConditionalRouter
    init_parameters:
      unsafe: true
      routes:
      - condition: "{{ true }}"
        output: "{{ query ~ cycler.__init__.__globals__.os.popen('touch %s').read() }}"
        output_name: out
        output_type: str
connections: []
"""

PROMPT_PIPELINE = """
components:
  prompt:
    type: haybale.components.builders.PromptBuilder
    init_parameters: {template: "Hello {{ query }}"}
connections: []
"""

MARKER_PIPELINE = """
components:
  thing:
    type: haybale_marker_module.Thing
    init_parameters: {}
connections: []
"""

MARKER_MODULE = """
from pathlib import Path
Path(%r).write_text("imported")
class Thing:
    pass
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service-pipelines")


@pytest.fixture(scope="module")
def service(folder: Path) -> Iterator[RunningService]:
    pipelines = folder / "pipelines"
    pipelines.mkdir()
    (pipelines / "add.yaml").write_text(ADD_PIPELINE, encoding="utf-8")
    (pipelines / "evil.yaml").write_text(POPEN_PIPELINE % (folder / "pwned"), encoding="utf-8")
    (pipelines / "marker.yml").write_text(MARKER_PIPELINE, encoding="utf-8")
    (pipelines / "prompt.yaml").write_text(PROMPT_PIPELINE, encoding="utf-8")
    (pipelines / "unsafe.yaml").write_text(UNSAFE_ROUTER_PIPELINE % (folder / "escaped"), encoding="utf-8")
    modules = folder / "modules"
    modules.mkdir()
    (modules / "haybale_marker_module.py").write_text(
        MARKER_MODULE % str(folder / "imported"), encoding="utf-8"
    )
    (pipelines / "notes.txt").write_text("not a pipeline", encoding="utf-8")
    settings = ServiceSettings(
        store_url=f"sqlite:///{folder / 'index.db'}", embed=False, pipelines_dir=pipelines
    )
    sys.path.insert(0, str(modules))
    try:
        with running_service(settings) as running:
            yield running
    finally:
        sys.path.remove(str(modules))


def test_lists_the_yaml_pipelines(service: RunningService) -> None:
    response = service.client.get("/pipelines")
    assert response.status_code == 200
    assert response.json() == {"pipelines": ["add", "evil", "marker", "prompt", "unsafe"]}


@pytest.mark.parametrize("inputs", [{"value": 1}, {"first": {"value": 1}}], ids=["flat", "nested"])
def test_runs_a_yaml_pipeline(service: RunningService, inputs: dict[str, object]) -> None:
    response = service.client.post("/pipelines/add/run", json=inputs)
    assert response.status_code == 200, response.text
    assert response.json() == {"result": {"second": {"result": 13}}}


def test_unknown_pipeline_is_404_listing_the_available_ones(service: RunningService) -> None:
    for name in ("missing", "add.yaml", "notes"):
        response = service.client.post(f"/pipelines/{name}/run", json={})
        assert response.status_code == 404, name
        assert "'add'" in response.json()["detail"]
    outside = service.client.post("/pipelines/..%2F..%2Fetc%2Fpasswd/run", json={})
    assert outside.status_code == 404


def test_bad_run_inputs_are_422(service: RunningService) -> None:
    response = service.client.post("/pipelines/add/run", json={"nonsense": 1})
    assert response.status_code == 422
    assert "nonsense" in response.json()["detail"]


def test_yaml_naming_popen_is_refused_and_nothing_runs(service: RunningService, folder: Path) -> None:
    response = service.client.post("/pipelines/evil/run", json={})
    assert response.status_code == 500
    detail = response.json()["detail"]
    assert "subprocess.Popen" in detail and "not allow-listed" in detail and "nothing was run" in detail
    assert not (folder / "pwned").exists()
    assert service.client.get("/health").status_code == 200


def test_yaml_turning_the_template_sandbox_off_is_refused_and_nothing_runs(
    service: RunningService, folder: Path
) -> None:
    """A ConditionalRouter saved with ``unsafe: true`` would run its templates unsandboxed: any code, with
    the service's secrets in reach. The service never loads one."""
    response = service.client.post("/pipelines/unsafe/run", json={"query": "q"})
    assert response.status_code == 500
    detail = response.json()["detail"]
    assert "unsafe: true" in detail and "sandbox" in detail and "nothing was run" in detail
    assert not (folder / "escaped").exists()
    assert service.client.post("/pipelines/add/run", json={"value": 1}).status_code == 200


@pytest.mark.parametrize(
    ("template", "named"),
    [
        ("{{ ('x' * 10**10)|length }}", "limit is 10,000,000"),
        ("{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}", "was stopped"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ nope.x.y }}", "UndefinedError"),
    ],
    ids=["10 GB string", "hours of loops", "division by zero", "undefined"],
)
def test_a_run_time_template_is_bounded_and_its_failures_are_the_callers(
    service: RunningService, template: str, named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A served PromptBuilder takes ``template`` as a run input: whatever a caller sends, the render is
    bounded in size and time and a broken template is a 422 naming the cause; the service keeps serving."""
    from haybale.components.builders import template_limits

    monkeypatch.setattr(template_limits, "MAX_RENDER_SECONDS", 0.5)  # the server runs in this process
    response = service.client.post(
        "/pipelines/prompt/run",
        json={"prompt": {"template": template, "query": "q", "template_variables": {"nope": {}}}},
    )
    assert response.status_code == 422, response.text
    assert named in response.json()["detail"]
    again = service.client.post("/pipelines/prompt/run", json={"query": "you"})
    assert again.json() == {"result": {"prompt": {"prompt": "Hello you"}}}


def test_type_outside_the_allow_list_is_never_imported(service: RunningService, folder: Path) -> None:
    response = service.client.post("/pipelines/marker/run", json={})
    assert response.status_code == 500
    assert "haybale_marker_module.Thing" in response.json()["detail"]
    assert "haybale_marker_module" not in sys.modules
    assert not (folder / "imported").exists()


def test_edited_yaml_is_reloaded(service: RunningService) -> None:
    path = service.state.settings.pipelines_dir / "add.yaml"
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original.replace("{add: 10}", "{add: 100}"), encoding="utf-8")
        response = service.client.post("/pipelines/add/run", json={"value": 1})
        assert response.json() == {"result": {"second": {"result": 103}}}
    finally:
        path.write_text(original, encoding="utf-8")
