"""What a job carries and how workers are configured, checked without a broker: the settings refuse a broker
they cannot use, the Celery configuration holds what makes redelivery safe, and a malformed job or a job for
another store is refused with a message that says what to fix (and writes nothing)."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

from haybale.app.settings import Settings
from haybale.errors import DocumentStoreUsageError, SettingsError
from haybale.jobs import IndexingOptions, JobPayloadError, WrongStoreError
from haybale.jobs.celery_app import celery_config
from haybale.jobs.payloads import decode_streams, decode_uploads, encode_streams
from haybale.jobs.tasks import is_transient, retry_delay


def test_importing_the_jobs_package_loads_no_celery() -> None:
    code = (
        "import sys, haybale.jobs as j; assert 'JobQueue' in dir(j); "
        "print(sorted(m for m in ('celery', 'kombu', 'redis') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_settings_accept_redis_and_amqp_brokers_and_refuse_others() -> None:
    assert Settings.load({"HAYBALE_BROKER_URL": "redis://h:6379/0"}).broker_url == "redis://h:6379/0"
    assert Settings.load({"CELERY_BROKER_URL": " "}).broker_url is None
    with pytest.raises(SettingsError, match=r"HAYBALE_BROKER_URL.*redis://"):
        Settings.load({"HAYBALE_BROKER_URL": "http://h:6379"})
    # Job states and records live in Redis: an AMQP broker needs a Redis result backend beside it.
    with pytest.raises(SettingsError, match="HAYBALE_RESULT_BACKEND=redis://"):
        Settings.load({"HAYBALE_BROKER_URL": "amqp://h//"})
    both = Settings.load({"HAYBALE_BROKER_URL": "amqp://h//", "HAYBALE_RESULT_BACKEND": "redis://r/1"})
    assert celery_config(both)["result_backend"] == "redis://r/1"


def test_the_celery_configuration_makes_redelivery_safe() -> None:
    environ = {"HAYBALE_BROKER_URL": "redis://h:6379/0", "HAYBALE_JOBS_VISIBILITY_TIMEOUT": "60"}
    settings = Settings.load(environ)
    config = celery_config(settings)
    # A task is acknowledged after it finished, one at a time per worker, and a lost worker hands it back.
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1
    assert config["broker_transport_options"]["visibility_timeout"] == 60
    assert config["result_backend"] == config["broker_url"] == "redis://h:6379/0"
    assert config["task_serializer"] == "json" and config["accept_content"] == ["json"]
    with pytest.raises(SettingsError, match="HAYBALE_BROKER_URL"):
        celery_config(Settings.load({}))


def test_indexing_options_travel_with_the_job_and_pin_the_store(tmp_path: Path) -> None:
    submitter = Settings.load(store_url=f"sqlite:///{tmp_path / 'a.db'}", chunk_size=123, embed=False)
    options = IndexingOptions.from_dict(IndexingOptions.from_settings(submitter).to_dict())
    worker = Settings.load(store_url=f"sqlite:///{tmp_path / 'a.db'}")
    applied = options.settings_for(worker)
    assert (applied.chunk_size, applied.embed) == (123, False)
    with pytest.raises(WrongStoreError, match=r"b\.db.*HAYBALE_STORE_URL"):
        options.settings_for(Settings.load(store_url=f"sqlite:///{tmp_path / 'b.db'}"))
    with pytest.raises(JobPayloadError, match="lack 'store'"):
        IndexingOptions.from_dict({k: v for k, v in options.to_dict().items() if k != "store"})
    with pytest.raises(JobPayloadError, match="malformed"):
        IndexingOptions.from_dict({**options.to_dict(), "chunk_size": "big"})
    with pytest.raises(DocumentStoreUsageError, match="lives inside one process"):
        IndexingOptions.from_settings(Settings.load(store_url="memory"))


def test_files_travel_as_base64_and_a_malformed_job_is_refused() -> None:
    from haybale.dataclasses import ByteStream

    streams = {"sources": [ByteStream(b"\x00bytes", {"file_name": "a.bin"}, "application/octet-stream")]}
    assert decode_streams(encode_streams(streams)) == streams
    entry = {"file_name": "a.txt", "data": base64.b64encode(b"hello").decode()}
    assert decode_uploads([entry])[0].data == b"hello"
    with pytest.raises(JobPayloadError, match=r"upload 0: .*not base64"):
        decode_uploads([{**entry, "data": "***"}])
    with pytest.raises(JobPayloadError, match="non-empty list of uploads"):
        decode_uploads([])
    with pytest.raises(JobPayloadError, match=r"files\['sources'\] must be a list"):
        decode_streams({"sources": "a.txt"})


def test_only_transient_failures_are_retried_with_capped_growing_delays() -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    from haybale.errors import RuntimeFailure

    assert is_transient(RedisConnectionError("down"))
    assert is_transient(RuntimeFailure("database restarting"))
    assert not is_transient(JobPayloadError("bad job"))
    assert not is_transient(DocumentStoreUsageError("bad store"))
    assert not is_transient(ValueError("a bug"))
    delays = [retry_delay(n, base_s=1.0, max_s=10.0) for n in range(6)]
    assert 0.75 <= delays[0] <= 1.25 and 1.5 <= delays[1] <= 2.5
    assert all(d <= 12.5 for d in delays) and delays[5] >= 7.5
