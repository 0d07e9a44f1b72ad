"""``haybale serve`` as a real process: it serves the app under uvicorn with the given options."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(*args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "haybale.cli.main", "serve", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_serve_runs_the_service_with_options(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("secret-key:acme\n", encoding="utf-8")
    port = _free_port()
    store = tmp_path / "served.db"
    process = _serve(
        "--port",
        str(port),
        "--store",
        f"sqlite:///{store}",
        "--api-keys-file",
        str(keys),
        "--log-level",
        "warning",
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "haybale serve did not start within 60 s"
            time.sleep(0.2)
        assert httpx.get(f"{url}/metrics").status_code == 401
        authorized = httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer secret-key"})
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
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "haybale serve:" in output and "1 API keys" in output


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
