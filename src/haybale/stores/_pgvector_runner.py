"""Drive the step generators of :mod:`haybale.stores._pgvector_writes` on sync or async psycopg connections.

A step generator yields :class:`~haybale.stores._pgvector_writes.Execute` / ``CopyRows`` steps and receives
each step's rows; the runners here execute the steps, optionally inside one transaction, and turn
PostgreSQL errors into :class:`haybale.errors.DocumentStoreError` with the server's message. Errors haybale
raised on purpose (duplicates, bad input) pass through unchanged; in both cases the transaction is rolled
back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from haybale.errors import DocumentStoreError, DocumentStoreUnavailableError, DocumentStoreUsageError
from haybale.stores._pgvector_writes import CopyRows, Execute, Operation

if TYPE_CHECKING:
    from psycopg import AsyncConnection, Connection

__all__ = ["run_async", "run_sync"]


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


def _execute_sync(conn: Connection[Any], step: Execute | CopyRows) -> Any:
    if isinstance(step, CopyRows):
        with conn.cursor() as cur, cur.copy(step.query) as copy:
            copy.set_types(step.types)
            for row in step.rows:
                copy.write_row(row)
        return None
    cur = conn.execute(step.query, step.params)
    return cur.fetchall() if step.fetch else None


async def _execute_async(conn: AsyncConnection[Any], step: Execute | CopyRows) -> Any:
    if isinstance(step, CopyRows):
        async with conn.cursor() as cur, cur.copy(step.query) as copy:
            copy.set_types(step.types)
            for row in step.rows:
                await copy.write_row(row)
        return None
    cur = await conn.execute(step.query, step.params)
    return await cur.fetchall() if step.fetch else None


def _drive_sync(conn: Connection[Any], operation: Operation) -> Any:
    result: Any = None
    while True:
        try:
            step = operation.send(result)
        except StopIteration as stop:
            return stop.value
        result = _execute_sync(conn, step)


async def _drive_async(conn: AsyncConnection[Any], operation: Operation) -> Any:
    result: Any = None
    while True:
        try:
            step = operation.send(result)
        except StopIteration as stop:
            return stop.value
        result = await _execute_async(conn, step)


def run_sync(conn: Connection[Any], operation: Operation, where: str, transaction: bool = True) -> Any:
    """Run ``operation`` on ``conn`` (in one transaction when ``transaction``); returns its return value.

    Raises:
        DocumentStoreError: PostgreSQL rejected a statement (``where`` names the store method).
    """
    import psycopg

    try:
        if not transaction:
            return _drive_sync(conn, operation)
        with conn.transaction():
            return _drive_sync(conn, operation)
    except psycopg.Error as exc:
        raise _database_error(exc, where) from exc


async def run_async(
    conn: AsyncConnection[Any], operation: Operation, where: str, transaction: bool = True
) -> Any:
    """Async twin of :func:`run_sync`."""
    import psycopg

    try:
        if not transaction:
            return await _drive_async(conn, operation)
        async with conn.transaction():
            return await _drive_async(conn, operation)
    except psycopg.Error as exc:
        raise _database_error(exc, where) from exc
