"""Drawing: Mermaid text offline; images through Graphviz when installed, a clear error otherwise."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from haybale import Pipeline, PipelineError
from haybale.testing.sample_components import AddFixedValue, Sum, Threshold


def _pipeline() -> Pipeline:
    p = Pipeline()
    p.add_component("add", AddFixedValue())
    p.add_component("threshold", Threshold())
    p.add_component("sum", Sum())
    p.connect("add.result", "threshold.value").connect("threshold.above", "sum.values")
    return p


def test_mermaid_has_components_classes_sockets_and_connections() -> None:
    text = _pipeline().to_mermaid()
    assert text.startswith("flowchart TD\n")
    assert "<b>add</b><br/><i>AddFixedValue</i>" in text
    assert "add: int | None [optional]" in text
    assert "values: int [variadic]" in text
    assert '-- "result → value<br/>int" -->' in text
    assert '-- "above → values<br/>int" -->' in text
    assert '"value: int" .->' in text  # the open input of 'add'
    assert '"below: int" .->' in text  # the open output of 'threshold'


def test_draw_without_graphviz_explains_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PipelineError, match=r"apt-get install graphviz.*to_mermaid\(\)"):
        _pipeline().draw(tmp_path / "p.svg")


def test_draw_rejects_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match=r"\.svg or \.png"):
        _pipeline().draw(tmp_path / "p.gif")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_draw_svg_with_graphviz(tmp_path: Path) -> None:
    path = _pipeline().draw(tmp_path / "p.svg")
    assert "<svg" in path.read_text()
