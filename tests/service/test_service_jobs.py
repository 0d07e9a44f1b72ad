"""Asynchronous jobs in the service, on a real Redis and a real ``haybale worker`` process: ``/process`` and
served pipelines answer 202 with a job id, ``GET /jobs/{id}`` follows the job to the same result the
synchronous route gives, ``DELETE /jobs/{id}`` cancels, a tenant never sees another tenant's jobs, and jobs
survive a restart of the service (their state lives in the broker's result backend)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from haybale.jobs.embedded_redis import EmbeddedRedis
from haybale.service import ServiceSettings
from haybale.testing.workers import running_workers, worker_logs

from .conftest import BM25_PIPELINE, CORPUS, RunningService, running_service, upload

A = {"Authorization": "Bearer key-a"}
B = {"Authorization": "Bearer key-b"}


def _settings(folder: Path, broker_url: str | None) -> Any:
    pipelines = folder / "pipelines"
    pipelines.mkdir(exist_ok=True)
    (pipelines / "search.yaml").write_text(BM25_PIPELINE.format(path=folder / "index.db"))
    return ServiceSettings(
        store_url=f"sqlite:///{folder / 'index.db'}",
        embed=False,
        api_keys={"key-a": "a", "key-b": "b"},
        pipelines_dir=pipelines,
        broker_url=broker_url,
    )


def _wait_finished(service: RunningService, job_id: str, headers: dict[str, str], log_dir: Path) -> Any:
    deadline = time.monotonic() + 90
    while True:
        body = service.client.get(f"/jobs/{job_id}", headers=headers).json()
        if body["status"] in ("success", "failed", "cancelled"):
            return body
        assert time.monotonic() < deadline, f"job {job_id} still {body['status']}\n{worker_logs(log_dir)}"
        time.sleep(0.1)


@pytest.mark.distributed
def test_jobs_are_tenant_scoped_survive_a_restart_and_match_the_synchronous_answer(
    tmp_path: Path, redis_server: EmbeddedRedis
) -> None:
    settings = _settings(tmp_path, redis_server.url)
    glossary = CORPUS / "glossary.txt"
    with running_service(settings) as service:
        accepted = service.client.post(
            "/process?async=true",
            files={"file": ("glossary.txt", glossary.read_bytes())},
            data={"metadata": json.dumps({"document_id": "doc-a", "data_entity_id": "kb"})},
            headers=A,
        )
        assert accepted.status_code == 202, accepted.text
        job = accepted.json()
        assert job["status"] == "queued" and job["document_id"] == "doc-a"
        assert accepted.headers["location"] == job["status_url"] == f"/jobs/{job['job_id']}"
        cancelled = upload(service, CORPUS / "rag_overview.md", headers={**A, "Prefer": "respond-async"})
        assert cancelled.status_code == 202, cancelled.text
        dropped = cancelled.json()
        deleted = service.client.delete(f"/jobs/{dropped['job_id']}", headers=A)
        assert deleted.status_code == 202 and deleted.json()["status"] == "cancelled", deleted.text

        # Inputs the pipeline cannot take are refused at once, as the synchronous route refuses them: no job.
        bad = service.client.post("/pipelines/search/run?async=true", json={"no_such_input": 1}, headers=A)
        assert bad.status_code == 422 and "no_such_input" in bad.text, bad.text

        # Tenant b sees none of tenant a's jobs, whatever it asks.
        for method in ("GET", "DELETE"):
            assert service.client.request(method, f"/jobs/{job['job_id']}", headers=B).status_code == 404
        assert service.client.get("/jobs", headers=B).json() == {"jobs": []}
        assert {j["job_id"] for j in service.client.get("/jobs", headers=A).json()["jobs"]} == {
            job["job_id"],
            dropped["job_id"],
        }
        assert service.client.get("/jobs/not-a-job-id", headers=A).status_code == 422

    # A new service process over the same broker knows the queued job; a worker then runs it.
    with running_service(settings) as service:
        assert service.client.get(f"/jobs/{job['job_id']}", headers=A).json()["status"] == "queued"
        log_dir = tmp_path / "logs"
        env = {"HAYBALE_PIPELINES_DIR": str(settings.pipelines_dir), "HAYBALE_EMBED": "false"}
        with running_workers(1, redis_server.url, settings.store_url, log_dir, **env):
            done = _wait_finished(service, job["job_id"], A, log_dir)
            assert done["status"] == "success", done
            result = done["result"]
            assert result["status"] == "success" and result["document_id"] == "doc-a"
            assert result["chunks"] == result["indexed_count"] > 0
            assert result["documents"][0]["status"] == "indexed"
            stored = {
                "operator": "AND",
                "conditions": [
                    {"field": "meta.document_id", "operator": "==", "value": "doc-a"},
                    {"field": "meta.tenant", "operator": "==", "value": "a"},
                ],
            }
            assert service.count(stored) == result["chunks"]
            assert _wait_finished(service, dropped["job_id"], A, log_dir)["status"] == "cancelled"
            assert service.count({"field": "meta.source", "operator": "==", "value": "rag_overview.md"}) == 0

            # A served pipeline as a job: each tenant's run sees only its own documents.
            runs = {}
            for name, headers in (("a", A), ("b", B)):
                response = service.client.post(
                    "/pipelines/search/run?async=true", json={"query": "bale"}, headers=headers
                )
                assert response.status_code == 202, response.text
                runs[name] = _wait_finished(service, response.json()["job_id"], headers, log_dir)
            found = runs["a"]["result"]["result"]["retriever"]["documents"]
            assert found and all(d["meta"]["document_id"] == "doc-a" for d in found)
            assert (
                runs["b"]["status"] == "success"
                and runs["b"]["result"]["result"]["retriever"]["documents"] == []
            )

            # A job that fails reports why; nothing stored changes.
            empty = service.client.post("/process?async=true", files={"file": ("empty.txt", b"")}, headers=A)
            failed = _wait_finished(service, empty.json()["job_id"], A, log_dir)
            assert failed["status"] == "failed" and "Nothing was indexed" in failed["error"]

        assert service.client.delete(f"/jobs/{job['job_id']}", headers=A).status_code == 409
        synchronous = upload(
            service,
            glossary,
            headers=A,
            metadata=json.dumps({"document_id": "doc-a", "data_entity_id": "kb"}),
        )
        assert synchronous.status_code == 200 and synchronous.json()["documents"][0]["status"] == "unchanged"


def test_a_service_without_a_job_queue_refuses_async_requests(tmp_path: Path) -> None:
    with running_service(_settings(tmp_path, None)) as service:
        refused = upload(service, CORPUS / "glossary.txt", headers=A, route="/process?async=true")
        assert refused.status_code == 400 and "without a job queue" in refused.json()["detail"]
        assert service.count() == 0
        assert service.client.get("/jobs/" + "0" * 32, headers=A).status_code == 404
        assert service.client.get("/jobs", headers=A).json() == {"jobs": []}
        assert upload(service, CORPUS / "glossary.txt", headers=A).status_code == 200
