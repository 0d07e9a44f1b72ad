"""Drive the step generators of :mod:`haybale.stores._pgvector_writes` on sync or async psycopg connections.

A step generator yields :class:`~haybale.stores._pgvector_writes.Execute` / ``CopyRows`` steps and receives
each step's rows; the runners here execute the steps, optionally inside one transaction, and turn
PostgreSQL errors into :class:`haybale.errors.DocumentStoreError` with the server's message. Errors haybale
raised on purpose (duplicates, bad input) pass through unchanged; in both cases the transaction is rolled
back.

A :class:`~haybale.stores._pgvector_writes.Concurrent` step (read-only statements run at the same time)
needs more connections than the one the operation runs on: the runner borrows idle ones through a
:class:`SpareConnections` (never waiting for one: with none idle the step's result is None), opens a
``REPEATABLE READ, READ ONLY`` transaction on the operation's connection, exports its snapshot, and runs the
statements on the borrowed connections inside that same snapshot; the operation's connection stays in its
transaction, so the statements after the step see the same data, until the operation ends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager, suppress
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from haybale.errors import DocumentStoreError, DocumentStoreUnavailableError, DocumentStoreUsageError
from haybale.stores._pgvector_writes import Concurrent, CopyRows, Execute, Operation

if TYPE_CHECKING:
    from concurrent.futures import Future

    from psycopg import AsyncConnection, Connection

__all__ = ["SpareConnections", "run_async", "run_sync"]

_READ_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"


class SpareConnections(Protocol):
    """Idle pooled connections lent to a :class:`Concurrent` step, and threads to drive them (sync)."""

    def borrow(self, count: int) -> AbstractContextManager[list[Connection[Any]]]:
        """Up to ``count`` idle connections (possibly none, never waiting), returned to the pool on exit."""

    def borrow_async(self, count: int) -> AbstractAsyncContextManager[list[AsyncConnection[Any]]]:
        """Async :meth:`borrow`."""

    def start(self, calls: list[Callable[[], Any]]) -> list[Future[Any]]:
        """Start ``calls`` in worker threads."""


def _import_sql(snapshot: str) -> Any:
    from psycopg import sql

    return sql.SQL(_READ_SNAPSHOT + "; SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot))


def _in_snapshot_sync(conn: Connection[Any], snapshot: str, steps: tuple[Execute, ...]) -> list[Any]:
    conn.execute(_import_sql(snapshot))
    try:
        return [conn.execute(s.query, s.params).fetchall() for s in steps]
    finally:
        conn.execute("ROLLBACK")


async def _in_snapshot_async(
    conn: AsyncConnection[Any], snapshot: str, steps: tuple[Execute, ...]
) -> list[Any]:
    await conn.execute(_import_sql(snapshot))
    try:
        return [await (await conn.execute(s.query, s.params)).fetchall() for s in steps]
    finally:
        await conn.execute("ROLLBACK")


def _check_idle(status: Any) -> None:
    from psycopg import pq

    if status != pq.TransactionStatus.IDLE:
        raise DocumentStoreError("A Concurrent step can only start outside a transaction (a haybale bug).")


def _interleave(groups: list[list[Any]], count: int) -> list[Any]:
    """Undo ``steps[j::n]``: the k-th result of group j is step ``j + k * n``'s."""
    out: list[Any] = [None] * count
    for j, results in enumerate(groups):
        out[j :: len(groups)] = results
    return out


def _concurrent_sync(conn: Connection[Any], step: Concurrent, spare: SpareConnections | None) -> Any:
    from concurrent.futures import wait

    if spare is None or len(step.steps) < 2:
        return None
    with spare.borrow(len(step.steps) - 1) as extra:
        if not extra:
            return None
        _check_idle(conn.info.transaction_status)
        cur = conn.execute(_READ_SNAPSHOT + "; SELECT pg_export_snapshot()")
        cur.nextset()
        snapshot = str(cur.fetchall()[0][0])
        width = len(extra) + 1
        futures = spare.start(
            [partial(_in_snapshot_sync, c, snapshot, step.steps[j + 1 :: width]) for j, c in enumerate(extra)]
        )
        try:
            own = [conn.execute(s.query, s.params).fetchall() for s in step.steps[::width]]
        finally:
            wait(futures)  # the borrowed connections go back to the pool only once their threads are done
        return _interleave([own, *(f.result() for f in futures)], len(step.steps))


async def _concurrent_async(
    conn: AsyncConnection[Any], step: Concurrent, spare: SpareConnections | None
) -> Any:
    import asyncio

    if spare is None or len(step.steps) < 2:
        return None
    async with spare.borrow_async(len(step.steps) - 1) as extra:
        if not extra:
            return None
        _check_idle(conn.info.transaction_status)
        cur = await conn.execute(_READ_SNAPSHOT + "; SELECT pg_export_snapshot()")
        cur.nextset()
        snapshot = str((await cur.fetchall())[0][0])
        width = len(extra) + 1

        async def own() -> list[Any]:
            return [await (await conn.execute(s.query, s.params)).fetchall() for s in step.steps[::width]]

        groups: list[Awaitable[list[Any]]] = [own()]
        groups += [_in_snapshot_async(c, snapshot, step.steps[j + 1 :: width]) for j, c in enumerate(extra)]
        results = await asyncio.gather(*groups, return_exceptions=True)  # all done before the pool gets them
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return _interleave(list(results), len(step.steps))  # type: ignore[arg-type]


def _end_read_snapshot(conn: Connection[Any]) -> None:
    """Close the read-only transaction a Concurrent step left open (nothing to do when there is none)."""
    import psycopg
    from psycopg import pq

    if conn.info.transaction_status in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR):
        with suppress(psycopg.Error):  # a broken connection: the pool discards it
            conn.execute("ROLLBACK")


async def _end_read_snapshot_async(conn: AsyncConnection[Any]) -> None:
    import psycopg
    from psycopg import pq

    if conn.info.transaction_status in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR):
        with suppress(psycopg.Error):
            await conn.execute("ROLLBACK")


def _database_error(exc: Exception, where: str) -> DocumentStoreError:
    """The store error for a PostgreSQL error, by fault: input PostgreSQL cannot take (bad data, a limit
    exceeded) is the caller's; a lost or refused connection is a runtime failure; anything else is neither."""
    from psycopg import errors as pg_errors

    message = (
        f"PostgreSQL failed during {where}: {exc}".rstrip()
        + " (the transaction was rolled back; nothing was changed)."
    )
    if isinstance(exc, pg_errors.DataError | pg_errors.ProgramLimitExceeded):
        return DocumentStoreUsageError(message)
    if isinstance(exc, pg_errors.OperationalError | pg_errors.InterfaceError):
        return DocumentStoreUnavailableError(message)
    return DocumentStoreError(message)


def _execute_sync(conn: Connection[Any], step: Execute | CopyRows | Concurrent, spare: Any) -> Any:
    if isinstance(step, Concurrent):
        return _concurrent_sync(conn, step, spare)
    if isinstance(step, CopyRows):
        with conn.cursor() as cur, cur.copy(step.query) as copy:
            copy.set_types(step.types)
            for row in step.rows:
                copy.write_row(row)
        return None
    cur = conn.execute(step.query, step.params)
    return cur.fetchall() if step.fetch else None


async def _execute_async(
    conn: AsyncConnection[Any], step: Execute | CopyRows | Concurrent, spare: Any
) -> Any:
    if isinstance(step, Concurrent):
        return await _concurrent_async(conn, step, spare)
    if isinstance(step, CopyRows):
        async with conn.cursor() as cur, cur.copy(step.query) as copy:
            copy.set_types(step.types)
            for row in step.rows:
                await copy.write_row(row)
        return None
    cur = await conn.execute(step.query, step.params)
    return await cur.fetchall() if step.fetch else None


def _drive_sync(conn: Connection[Any], operation: Operation, spare: SpareConnections | None) -> Any:
    result: Any = None
    while True:
        try:
            step = operation.send(result)
        except StopIteration as stop:
            return stop.value
        result = _execute_sync(conn, step, spare)


async def _drive_async(
    conn: AsyncConnection[Any], operation: Operation, spare: SpareConnections | None
) -> Any:
    result: Any = None
    while True:
        try:
            step = operation.send(result)
        except StopIteration as stop:
            return stop.value
        result = await _execute_async(conn, step, spare)


def run_sync(
    conn: Connection[Any],
    operation: Operation,
    where: str,
    transaction: bool = True,
    spare: SpareConnections | None = None,
) -> Any:
    """Run ``operation`` on ``conn`` (in one transaction when ``transaction``); returns its return value.

    ``spare`` lends connections to Concurrent steps (without it, their result is None).

    Raises:
        DocumentStoreError: PostgreSQL rejected a statement (``where`` names the store method).
    """
    import psycopg

    try:
        if not transaction:
            try:
                return _drive_sync(conn, operation, spare)
            finally:
                _end_read_snapshot(conn)
        with conn.transaction():
            return _drive_sync(conn, operation, None)
    except psycopg.Error as exc:
        raise _database_error(exc, where) from exc


async def run_async(
    conn: AsyncConnection[Any],
    operation: Operation,
    where: str,
    transaction: bool = True,
    spare: SpareConnections | None = None,
) -> Any:
    """Async twin of :func:`run_sync`."""
    import psycopg

    try:
        if not transaction:
            try:
                return await _drive_async(conn, operation, spare)
            finally:
                await _end_read_snapshot_async(conn)
        async with conn.transaction():
            return await _drive_async(conn, operation, None)
    except psycopg.Error as exc:
        raise _database_error(exc, where) from exc
