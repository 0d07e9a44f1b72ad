"""Job records: who submitted a job, what it is, and whether its cancellation was asked for.

A record is written to the result backend (Redis) before the job's task is sent, and lives as long as the
job's result (``jobs_ttl``). It is what makes the job API tenant-scoped and restart-proof: the service keeps
nothing in memory, so a restarted (or another) service instance answers ``GET /jobs/{id}`` the same way, and a
job id of another tenant is unknown to the caller. Celery keeps the job's state and result beside it, under
the same id (the job id is the id of its task).

Keys: ``haybale:job:<id>`` (the record, JSON), ``haybale:job:<id>:cancel`` (set when cancelling) and
``haybale:jobs:<tenant>`` (the tenant's job ids by submission time, for listing).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from haybale.errors import UsageError

__all__ = ["JOB_ID_PATTERN", "JobRecord", "JobRecords", "UnknownJobError"]

#: What a job id looks like (32 lowercase hex digits).
JOB_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
_NO_TENANT = "~"  # tenant names start with a letter or digit, so this never collides


class UnknownJobError(UsageError, LookupError):
    """No job with that id is visible to the caller (never submitted, expired, or another tenant's)."""

    status_code = 404


@dataclass(frozen=True)
class JobRecord:
    """What was submitted.

    Attributes:
        job_id: the id (also the id of the job's Celery task).
        kind: "process" (uploaded files indexed), "pipeline" (a pipeline run) or "index" (files on disk).
        tenant: the submitting tenant; None without API keys.
        created_at: submission time (UNIX seconds).
        label: what the job works on, for people (file names, a pipeline name).
        detail: kind-specific facts known at submission (the document ids of a "process" job).
    """

    job_id: str
    kind: str
    tenant: str | None
    created_at: float
    label: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The record as stored."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> JobRecord:
        """A record read back from the store."""
        data = json.loads(text)
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class JobRecords:
    """Job records in Redis.

    Args:
        client: a redis-py client on the result backend.
        ttl_s: how long records are kept (seconds).
    """

    def __init__(self, client: Any, ttl_s: int) -> None:
        self.client = client
        self.ttl_s = ttl_s

    @staticmethod
    def _key(job_id: str) -> str:
        return f"haybale:job:{job_id}"

    @staticmethod
    def _index(tenant: str | None) -> str:
        return f"haybale:jobs:{tenant or _NO_TENANT}"

    def create(self, record: JobRecord) -> None:
        """Store a new record (and index it under its tenant)."""
        pipe = self.client.pipeline()
        pipe.set(self._key(record.job_id), record.to_json(), ex=self.ttl_s, nx=True)
        index = self._index(record.tenant)
        pipe.zadd(index, {record.job_id: record.created_at})
        pipe.zremrangebyscore(index, "-inf", time.time() - self.ttl_s)  # expired records drop out
        pipe.expire(index, self.ttl_s)
        pipe.execute()

    def get(self, job_id: str, tenant: str | None) -> JobRecord:
        """The record of ``job_id`` if ``tenant`` may see it.

        Raises:
            UnknownJobError: no such job, or it belongs to another tenant (the two are not told apart).
        """
        raw = self.client.get(self._key(job_id)) if JOB_ID_PATTERN.match(job_id) else None
        record = JobRecord.from_json(raw) if raw is not None else None
        if record is None or record.tenant != tenant:
            raise UnknownJobError(
                f"There is no job {job_id!r} for you: the id is wrong, the job expired, or it was submitted "
                "with another API key. Job ids are returned by the submitting request (202 Accepted)."
            )
        return record

    def recent(self, tenant: str | None, limit: int) -> list[JobRecord]:
        """The tenant's most recent records, newest first."""
        ids = self.client.zrevrange(self._index(tenant), 0, max(0, limit - 1))
        if not ids:
            return []
        raws = self.client.mget([self._key(i.decode() if isinstance(i, bytes) else i) for i in ids])
        records = [JobRecord.from_json(raw) for raw in raws if raw is not None]
        return [r for r in records if r.tenant == tenant]

    def request_cancel(self, job_id: str) -> None:
        """Mark the job as cancelled: a worker that takes it afterwards drops it."""
        self.client.set(f"{self._key(job_id)}:cancel", "1", ex=self.ttl_s)

    def cancel_requested(self, job_id: str) -> bool:
        """Whether cancelling ``job_id`` was asked for."""
        return bool(self.client.exists(f"{self._key(job_id)}:cancel"))
