"""`haybale worker`: a worker that cannot work says why at start (exit 2), before it takes any job. The worker
running real jobs is covered by tests/jobs and tests/service/test_service_jobs.py."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from haybale.cli.main import app

runner = CliRunner()


def test_a_worker_without_a_broker_says_how_to_configure_one(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'index.db'}"
    result = runner.invoke(app, ["worker", "--store", store], env={"HAYBALE_BROKER_URL": ""})
    assert result.exit_code == 2, result.output
    assert "No job queue is configured" in result.output and "HAYBALE_BROKER_URL=redis://" in result.output
    assert not (tmp_path / "index.db").exists()


def test_a_broker_url_of_another_kind_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["worker", "--broker", "http://queue:6379", "--store", "memory"])
    assert result.exit_code == 2, result.output
    assert "HAYBALE_BROKER_URL" in result.output and "redis://" in result.output


def test_a_store_the_worker_cannot_open_is_reported_at_start(tmp_path: Path) -> None:
    broker = "redis://127.0.0.1:9/0"  # never contacted: the store is opened first
    result = runner.invoke(app, ["worker", "--broker", broker, "--store", "ftp://nowhere/x"])
    assert result.exit_code == 2, result.output
    assert "Unknown store URL" in result.output
