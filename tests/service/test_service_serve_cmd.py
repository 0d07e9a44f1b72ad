"""``haybale serve`` as a real process: it serves the app under uvicorn with the given options."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from .conftest import serve_process


def test_serve_runs_the_service_with_options(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("secret-key:acme\n", encoding="utf-8")
    store = tmp_path / "served.db"
    log = tmp_path / "serve.log"
    options = ("--store", f"sqlite:///{store}", "--api-keys-file", str(keys), "--log-level", "warning")
    env = {**os.environ, "HAYBALE_METRICS_API_KEY": "operator-key"}
    with serve_process(*options, env=env, log=log) as (url, _):
        assert httpx.get(f"{url}/metrics").status_code == 401
        tenant = httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer secret-key"})
        assert tenant.status_code == 403  # metrics are the operator's: the metrics key reads them
        authorized = httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer operator-key"})
        assert authorized.status_code == 200
        models = httpx.get(f"{url}/v1/models", headers={"Authorization": "Bearer secret-key"}).json()
        assert [m["id"] for m in models["data"]] == ["haybale-rag"]
        deleted = httpx.post(
            f"{url}/delete",
            json={"filters": {"file_name": "x.txt"}},
            headers={"Authorization": "Bearer secret-key"},
        )
        assert deleted.json() == {"status": "success", "documents_deleted": 0}
        assert store.exists()  # the --store option was used
    output = log.read_text()
    assert "haybale serve:" in output and "1 API keys, /metrics with the metrics key" in output
    assert "operator-key" not in output


def test_serve_refuses_an_invalid_store_url() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "haybale.cli.main", "serve", "--store", "mysql://nope"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Unknown store URL" in result.stderr
