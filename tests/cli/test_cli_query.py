"""`haybale query`: ranked results with source, page and score; clear errors for bad options."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from haybale.cli.main import app

runner = CliRunner()


@pytest.fixture
def bm25_index(tmp_path: Path) -> str:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "volcano.md").write_text("# Volcanoes\n\nMolten lava erupts from the crater and flows downhill.")
    (docs / "bread.txt").write_text("Knead the dough, let it rise, then bake the bread in a hot oven.")
    (docs / "ovens.txt").write_text("A hot oven bakes bread; lava is hotter than any oven.")
    for topic in ("trains", "rivers", "chess", "music"):
        (docs / f"{topic}.txt").write_text(f"A short note about {topic} and nothing else.")
    url = f"sqlite:///{tmp_path}/index.db"
    result = runner.invoke(app, ["index", str(docs), "--store", url, "--no-embed"])
    assert result.exit_code == 0, result.output
    return url


def _query(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["query", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_bm25_results_show_rank_source_page_and_score(bm25_index: str) -> None:
    code, out = _query("bread oven", "--store", bm25_index, "--mode", "bm25", "--top-k", "2")
    assert code == 0, out
    lines = [line for line in out.splitlines() if line.startswith("│")]
    assert len(lines) == 2
    assert "bread.txt" in out and "ovens.txt" in out and "volcano.md" not in out
    assert "score" in out and "page" in out and "source" in out
    first_score = float(lines[0].split("│")[2])
    second_score = float(lines[1].split("│")[2])
    assert first_score >= second_score > 0


def test_filters_restrict_results(bm25_index: str) -> None:
    filters = '{"field": "meta.file_name", "operator": "==", "value": "ovens.txt"}'
    code, out = _query("bread", "--store", bm25_index, "--mode", "bm25", "--filters", filters)
    assert code == 0, out
    assert "ovens.txt" in out and "bread.txt" not in out


def test_no_results_is_said_plainly(bm25_index: str) -> None:
    code, out = _query("zzzz", "--store", bm25_index, "--mode", "bm25")
    assert code == 0 and "No results" in out


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"field": "meta.x", "operator": "~=", "value": 1}', "unknown operator"),
    ],
)
def test_bad_filters_exit_with_2(bm25_index: str, filters: str, message: str) -> None:
    code, out = _query("bread", "--store", bm25_index, "--mode", "bm25", "--filters", filters)
    assert code == 2
    assert message in out


def test_missing_index_exits_with_2_and_says_how_to_build_it(tmp_path: Path) -> None:
    code, out = _query("bread", "--store", f"sqlite:///{tmp_path}/none.db", "--mode", "bm25")
    assert code == 2 and "haybale index" in out
    assert not (tmp_path / "none.db").exists()


def test_bad_mode_exits_with_2(bm25_index: str) -> None:
    code, out = _query("bread", "--store", bm25_index, "--mode", "fuzzy")
    assert code == 2 and "fuzzy" in out


@pytest.mark.slow
def test_dense_and_hybrid_modes(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "volcano.md").write_text("# Volcanoes\n\nMolten lava erupts from the crater and flows downhill.")
    (docs / "bread.txt").write_text("Knead the dough, let it rise, then bake the bread in a hot oven.")
    url = f"sqlite:///{tmp_path}/index.db"
    assert runner.invoke(app, ["index", str(docs), "--store", url]).exit_code == 0
    for mode in ("dense", "hybrid"):
        code, out = _query("magma eruption", "--store", url, "--mode", mode, "--top-k", "1")
        assert code == 0, out
        assert "volcano.md" in out and "bread.txt" not in out, mode
