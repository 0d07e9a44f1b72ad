"""Connection pools and first-use schema setup of :class:`~haybale.stores.pgvector.PgvectorDocumentStore`.

One ``psycopg_pool.ConnectionPool`` serves the sync methods and one ``AsyncConnectionPool`` per event loop
serves the ``*_async`` methods (an async pool belongs to the loop that opened it). Both check connections
before handing them out (``check_connection``), so after a server restart the next call reconnects instead of
failing. Each new connection registers the pgvector adapter and sets the session's HNSW search parameters.
The schema is created or migrated once, before the first pool opens.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

from haybale.errors import (
    DocumentStoreError,
    DocumentStoreUnavailableError,
    DocumentStoreUsageError,
    optional_dependency,
)
from haybale.stores._pgvector_runner import run_async, run_sync

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    from psycopg import AsyncConnection, Connection
    from psycopg_pool import AsyncConnectionPool, ConnectionPool

    from haybale.core.secret import Secret
    from haybale.stores._pgvector_writes import Operation

__all__ = ["PgvectorConnections"]

_OPEN_TIMEOUT_S = 30.0
#: How long a Concurrent step waits for an idle connection to borrow: about nothing (a busy pool means busy
#: cores; the operation then runs on its own connection).
_SPARE_WAIT_S = 0.001


class PgvectorConnections:
    """The pools of one store, opened lazily.

    Args:
        connection_string: the DSN secret, resolved when the first pool opens.
        label: "schema.table", for pool names and error messages.
        prepare_schema: creates or migrates the schema on a plain connection (called once).
        session_settings: SQL run on every new connection (HNSW search settings; no parameters).
        max_size: most connections per pool.
        min_size: connections each pool keeps open (the runner borrows idle ones for Concurrent steps).
    """

    def __init__(
        self,
        connection_string: Secret,
        label: str,
        prepare_schema: Callable[[Connection[Any]], None],
        session_settings: str,
        max_size: int,
        *,
        min_size: int = 1,
    ) -> None:
        self._secret = connection_string
        self._label = label
        self._prepare_schema = prepare_schema
        self._session_settings = session_settings
        self._max_size = max_size
        self._min_size = max(1, min(min_size, max_size))
        self._lock = threading.Lock()
        self._schema_ready = False
        self._pool: ConnectionPool[Any] | None = None
        self._async_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncConnectionPool[Any]] = (
            weakref.WeakKeyDictionary()
        )
        self._threads: ThreadPoolExecutor | None = None

    def _dsn(self) -> str:
        dsn = self._secret.resolve_value()
        if not dsn:
            raise DocumentStoreUsageError(
                f"PgvectorDocumentStore ({self._label}): the connection string is empty."
            )
        return dsn

    def _configure(self, conn: Connection[Any]) -> None:
        from pgvector.psycopg import register_vector

        register_vector(conn)
        conn.execute(self._session_settings)

    async def _configure_async(self, conn: AsyncConnection[Any]) -> None:
        from pgvector.psycopg import register_vector_async

        await register_vector_async(conn)
        await conn.execute(self._session_settings)

    def ensure_schema(self) -> None:
        """Create or migrate the schema once per store instance.

        Raises:
            DocumentStoreError: the server is unreachable or refused the DDL.
        """
        with optional_dependency("psycopg", extra="pg", feature="PgvectorDocumentStore"):
            import psycopg
        with self._lock:
            if self._schema_ready:
                return
            try:
                with psycopg.connect(self._dsn(), autocommit=True) as conn:
                    self._prepare_schema(conn)
            except psycopg.Error as exc:
                raise DocumentStoreUnavailableError(
                    f"Could not prepare table {self._label} in PostgreSQL: {exc}. Check the connection "
                    "string and that the pgvector extension is available on the server."
                ) from exc
            self._schema_ready = True

    def _open_failed(self, exc: Exception) -> DocumentStoreError:
        return DocumentStoreUnavailableError(
            f"Could not open PostgreSQL connections for {self._label} within {_OPEN_TIMEOUT_S:.0f} s: "
            f"{exc}. Check that the server is reachable and the pgvector adapter is installed "
            "(pip install 'haybale[pg]')."
        )

    def sync_pool(self) -> ConnectionPool[Any]:
        """The sync pool, opened (and the schema prepared) on first use."""
        with optional_dependency("psycopg-pool", extra="pg", feature="PgvectorDocumentStore"):
            from psycopg_pool import ConnectionPool
        self.ensure_schema()
        with self._lock:
            if self._pool is None:
                pool: ConnectionPool[Any] = ConnectionPool(
                    self._dsn(),
                    min_size=self._min_size,
                    max_size=self._max_size,
                    kwargs={"autocommit": True},
                    configure=self._configure,
                    check=ConnectionPool.check_connection,
                    open=False,
                    name=f"haybale-{self._label}",
                )
                try:
                    pool.open(wait=True, timeout=_OPEN_TIMEOUT_S)
                except Exception as exc:
                    pool.close()
                    raise self._open_failed(exc) from exc
                self._pool = pool
            return self._pool

    async def async_pool(self) -> AsyncConnectionPool[Any]:
        """The async pool of the running event loop, opened on first use."""
        from psycopg_pool import AsyncConnectionPool

        if not self._schema_ready:
            await asyncio.to_thread(self.ensure_schema)
        loop = asyncio.get_running_loop()
        pool = self._async_pools.get(loop)
        if pool is None:
            pool = AsyncConnectionPool(
                self._dsn(),
                min_size=self._min_size,
                max_size=self._max_size,
                kwargs={"autocommit": True},
                configure=self._configure_async,
                check=AsyncConnectionPool.check_connection,
                open=False,
                name=f"haybale-{self._label}-async",
            )
            try:
                await pool.open(wait=True, timeout=_OPEN_TIMEOUT_S)
            except Exception as exc:
                await pool.close()
                raise self._open_failed(exc) from exc
            self._async_pools[loop] = pool
        return pool

    def run(self, operation: Operation, where: str, transaction: bool = True) -> Any:
        """Run a step generator on a pooled connection (in one transaction when ``transaction``)."""
        with self.sync_pool().connection() as conn:
            return run_sync(conn, operation, where, transaction, self)

    async def run_async(self, operation: Operation, where: str, transaction: bool = True) -> Any:
        """Async :meth:`run`."""
        pool = await self.async_pool()
        async with pool.connection() as conn:
            return await run_async(conn, operation, where, transaction, self)

    # ----------------------------------------------- SpareConnections (for the runner's Concurrent steps)
    @contextmanager
    def borrow(self, count: int) -> Iterator[list[Connection[Any]]]:
        """Up to ``count`` idle connections of the sync pool, never waiting for one; returned on exit."""
        from psycopg_pool import PoolTimeout

        pool = self.sync_pool()
        taken: list[Connection[Any]] = []
        try:
            while len(taken) < count:
                try:
                    taken.append(pool.getconn(timeout=_SPARE_WAIT_S))
                except PoolTimeout:
                    break
            yield taken
        finally:
            for conn in taken:
                pool.putconn(conn)

    @asynccontextmanager
    async def borrow_async(self, count: int) -> AsyncIterator[list[AsyncConnection[Any]]]:
        """Async :meth:`borrow`, from the running event loop's pool."""
        from psycopg_pool import PoolTimeout

        pool = await self.async_pool()
        taken: list[AsyncConnection[Any]] = []
        try:
            while len(taken) < count:
                try:
                    taken.append(await pool.getconn(timeout=_SPARE_WAIT_S))
                except PoolTimeout:
                    break
            yield taken
        finally:
            for conn in taken:
                await pool.putconn(conn)

    def start(self, calls: list[Callable[[], Any]]) -> list[Future[Any]]:
        """Start ``calls`` on the store's worker threads (created on first use)."""
        from concurrent.futures import ThreadPoolExecutor

        with self._lock:
            if self._threads is None:
                self._threads = ThreadPoolExecutor(
                    self._max_size, thread_name_prefix=f"haybale-{self._label}"
                )
            threads = self._threads
        return [threads.submit(call) for call in calls]

    def close(self) -> None:
        """Close the sync pool and the worker threads (both reopen on the next call)."""
        with self._lock:
            pool, self._pool = self._pool, None
            threads, self._threads = self._threads, None
        if threads is not None:
            threads.shutdown(wait=True)
        if pool is not None:
            pool.close()

    async def close_async(self) -> None:
        """Close the async pool of the running event loop."""
        pool = self._async_pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()
