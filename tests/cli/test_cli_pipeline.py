"""`haybale --version` and `haybale pipeline validate|draw|run` on the example pipeline."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from haybale import __version__
from haybale.cli.main import COMMAND_MODULES, app

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "examples" / "pipelines" / "hello.yaml"
runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"haybale {__version__}"


def test_every_command_module_registers_its_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands", 1)[1]
    # the first word of each row of the Commands table
    names = {match.group(1) for match in re.finditer(r"^\W*([a-z]+)  ", listed, flags=re.MULTILINE)}
    assert len(COMMAND_MODULES) == 8
    assert names == {"pipeline", "index", "query", "ask", "serve", "mcp", "worker", "eval"}


def test_pipeline_commands_are_registered() -> None:
    assert COMMAND_MODULES[0] == "haybale.cli.pipeline_cmd"
    result = runner.invoke(app, ["pipeline", "--help"])
    assert result.exit_code == 0
    for command in ("validate", "draw", "run"):
        assert command in result.output


def test_validate_example() -> None:
    result = runner.invoke(app, ["pipeline", "validate", str(HELLO)])
    assert result.exit_code == 0, result.output
    assert "valid pipeline (3 components, 2 connections)" in result.output
    assert "input  hello.word: str (required)" in result.output
    assert "output joiner.output: str" in result.output


@pytest.mark.parametrize("extra", [[], ["--async"]])
def test_run_example(extra: list[str]) -> None:
    data = json.dumps({"hello": {"word": "world"}, "hi": {"word": "there", "greeting": "Hi"}})
    result = runner.invoke(app, ["pipeline", "run", str(HELLO), "--input", data, *extra])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"joiner": {"output": "Hello, world! Hi, there!"}}


def test_run_with_include() -> None:
    result = runner.invoke(app, ["pipeline", "run", str(HELLO), "-i", '{"word": "x"}', "--include", "hello"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "joiner": {"output": "Hello, x! Hello, x!"},
        "hello": {"output": "Hello, x!"},
    }


def test_run_bad_json_and_bad_inputs() -> None:
    bad = runner.invoke(app, ["pipeline", "run", str(HELLO), "--input", "{word: 1"])
    assert bad.exit_code == 2
    assert "not valid JSON" in bad.output
    unknown = runner.invoke(app, ["pipeline", "run", str(HELLO), "--input", '{"wrd": "x"}'])
    assert unknown.exit_code == 1
    assert "PipelineValidationError" in unknown.output and "'wrd'" in unknown.output
    blocked = runner.invoke(app, ["pipeline", "run", str(HELLO)])
    assert blocked.exit_code == 1
    assert "PipelineComponentsBlockedError" in blocked.output and "'hello.word'" in blocked.output


def test_draw_mermaid_to_stdout_and_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["pipeline", "draw", str(HELLO)])
    assert result.exit_code == 0
    assert result.output.startswith("flowchart TD")
    target = tmp_path / "hello.md"
    result = runner.invoke(app, ["pipeline", "draw", str(HELLO), "-o", str(target)])
    assert result.exit_code == 0
    assert target.read_text().startswith("```mermaid\nflowchart TD")


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["pipeline", "validate", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("components: {a: [1\n")
    result = runner.invoke(app, ["pipeline", "validate", str(broken)])
    assert result.exit_code == 1
    assert "Malformed pipeline YAML at line" in result.output


def test_foreign_type_refused_and_allow_module(tmp_path: Path) -> None:
    evil = tmp_path / "evil.yaml"
    evil.write_text("components:\n  x:\n    type: os.system\n    init_parameters: {command: 'true'}\n")
    result = runner.invoke(app, ["pipeline", "validate", str(evil)])
    assert result.exit_code == 1 and "not allow-listed" in result.output


def test_allow_module_loads_a_trusted_component(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cli_trusted_components.py").write_text(
        "from haybale import component\n\n"
        "@component\n"
        "class Shout:\n"
        "    @component.output_types(text=str)\n"
        "    def run(self, text: str) -> dict:\n"
        "        return {'text': text.upper()}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = tmp_path / "shout.yaml"
    spec.write_text("components:\n  shout:\n    type: cli_trusted_components.Shout\n")
    refused = runner.invoke(app, ["pipeline", "run", str(spec), "-i", '{"text": "hay"}'])
    assert refused.exit_code == 1 and "not allow-listed" in refused.output
    allowed = ["--allow-module", "cli_trusted_components"]
    result = runner.invoke(app, ["pipeline", "run", str(spec), "-i", '{"text": "hay"}', *allowed])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"shout": {"text": "HAY"}}


def test_console_script_entry_point() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "haybale.cli.main", "--version"], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0
    assert completed.stdout.strip() == f"haybale {__version__}"


def test_an_unsafe_template_runs_only_with_the_explicit_flag(tmp_path: Path) -> None:
    """``unsafe: true`` turns a router's sandbox off; the CLI refuses it unless the file is vouched for."""
    path = tmp_path / "unsafe.yaml"
    route = {
        "condition": "{{ true }}",
        "output": "{{ items.append(3) or items }}",  # a method call the sandbox refuses
        "output_name": "o",
        "output_type": "list[int]",
    }
    router = {"type": "haybale.components.routers.ConditionalRouter",
              "init_parameters": {"unsafe": True, "routes": [route]}}  # fmt: skip
    path.write_text(json.dumps({"components": {"router": router}, "connections": []}), encoding="utf-8")
    data = json.dumps({"items": [1, 2]})
    refused = runner.invoke(app, ["pipeline", "run", str(path), "--input", data])
    assert refused.exit_code == 1
    assert "unsafe: true" in refused.output and "--allow-unsafe-templates" in refused.output
    allowed = runner.invoke(app, ["pipeline", "run", str(path), "--input", data, "--allow-unsafe-templates"])
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.output) == {"router": {"o": [1, 2, 3]}}
