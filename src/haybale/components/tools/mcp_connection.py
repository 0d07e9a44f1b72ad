"""A live MCP session usable from synchronous code: :class:`MCPConnection`.

The MCP SDK is asynchronous and its sessions must be opened and closed by the same task. Tools, though, are
called from plain threads (``ToolInvoker`` runs calls on a thread pool). So each connection owns an event
loop on a daemon thread; one task on it holds the session open, and calls from any thread are submitted to
that loop and waited for. The session opens on first use; when it breaks (the server exited, the network
dropped) the failing call raises and the next call opens a new one. Calls are never retried by themselves:
a tool call may have side effects.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Any, TypeVar

from haybale.components.tools.mcp_servers import MCPServer
from haybale.errors import ExternalServiceError

__all__ = ["MCPConnection", "MCPConnectionError"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class MCPConnectionError(ExternalServiceError):
    """An MCP server could not be reached, refused the connection, or stopped answering."""


class _Session:
    """The loop thread and the task holding one open ``mcp.Client``."""

    def __init__(self, server: MCPServer, timeout: float) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="haybale-mcp-client", daemon=True)
        self.thread.start()
        self.client: Any = None
        self.closing: asyncio.Event | None = None
        self.holder: asyncio.Future[None] | None = None
        self.server = server
        self.timeout = timeout

    async def _hold(self, ready: asyncio.Future[Any]) -> None:
        self.closing = asyncio.Event()
        try:
            async with self.server.client(self.timeout) as client:
                ready.set_result(client)
                await self.closing.wait()
        except BaseException as error:  # reported to the opener, or logged once the session was in use
            if not ready.done():
                ready.set_exception(error)
            elif not isinstance(error, asyncio.CancelledError):
                logger.warning("The session with %s ended: %s", self.server.describe(), error)

    async def _open(self) -> Any:
        ready: asyncio.Future[Any] = self.loop.create_future()
        self.holder = asyncio.ensure_future(self._hold(ready))
        return await ready

    def open(self) -> None:
        future = asyncio.run_coroutine_threadsafe(self._open(), self.loop)
        try:
            self.client = future.result(self.timeout)
        except BaseException:
            future.cancel()
            self.close()
            raise

    def close(self) -> None:
        if self.loop.is_closed():
            return
        if self.holder is not None and self.closing is not None:
            self.loop.call_soon_threadsafe(self.closing.set)
            done = asyncio.run_coroutine_threadsafe(_wait_for(self.holder), self.loop)
            try:
                done.result(self.timeout)
            except Exception as error:  # closing must not raise; the subprocess is killed with the loop
                logger.debug("Closing the session with %s: %s", self.server.describe(), error)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(self.timeout)
        if not self.thread.is_alive():
            self.loop.close()


async def _wait_for(future: asyncio.Future[None]) -> None:
    await asyncio.wait([future])


def _close_session(session: _Session | None) -> None:
    if session is not None:
        session.close()


class MCPConnection:
    """One MCP server's session, shared by the tools that call it (thread-safe).

    Args:
        server: where the server is.
        timeout: seconds to wait for the connection and for each call.
    """

    def __init__(self, server: MCPServer, timeout: float = 30.0) -> None:
        self.server = server
        self.timeout = timeout
        self._lock = threading.Lock()
        self._session: _Session | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    def _current(self) -> _Session:
        with self._lock:
            if self._session is not None and self._session.holder is not None and self._session.holder.done():
                self._session.close()  # the session ended (server exited): start over
                self._session = None
            if self._session is None:
                session = _Session(self.server, self.timeout)
                try:
                    session.open()
                except FutureTimeoutError:
                    raise MCPConnectionError(
                        f"Could not connect to {self.server.describe()} within {self.timeout} s. Check "
                        "that it runs and answers MCP, or raise the timeout."
                    ) from None
                except Exception as error:
                    raise MCPConnectionError(
                        f"Could not connect to {self.server.describe()}: {_describe(error)}."
                    ) from error
                self._session = session
                if self._finalizer is not None:
                    self._finalizer.detach()
                self._finalizer = weakref.finalize(self, _close_session, session)
            return self._session

    def run(self, call: Callable[[Any], Awaitable[T]], what: str) -> T:
        """Run ``call(client)`` on the session's loop and return its result.

        Args:
            call: an async function of the entered ``mcp.Client``.
            what: what the call does, for error messages.

        Raises:
            MCPConnectionError: no connection, a timeout, or the session broke during the call.
        """
        session = self._current()
        future = asyncio.run_coroutine_threadsafe(_call(call, session.client), session.loop)
        try:
            return future.result(self.timeout)
        except FutureTimeoutError:
            future.cancel()
            raise MCPConnectionError(
                f"{what} on {self.server.describe()} got no answer within {self.timeout} s."
            ) from None
        except Exception as error:
            if session.holder is not None and session.holder.done():
                raise MCPConnectionError(
                    f"{what} failed: the connection to {self.server.describe()} was lost "
                    f"({_describe(error)}). The next call reconnects."
                ) from error
            raise MCPConnectionError(
                f"{what} on {self.server.describe()} failed: {_describe(error)}"
            ) from error

    def close(self) -> None:
        """Close the session (and stop a stdio server); the next call opens a new one."""
        with self._lock:
            if self._finalizer is not None:
                self._finalizer.detach()
                self._finalizer = None
            session, self._session = self._session, None
        _close_session(session)


async def _call(call: Callable[[Any], Awaitable[T]], client: Any) -> T:
    return await call(client)


def _describe(error: BaseException) -> str:
    """The innermost useful message of an error (task groups wrap the real cause in exception groups)."""
    while getattr(error, "exceptions", None):  # an exception group (anyio task groups, Python 3.10 backport)
        error = error.exceptions[0]  # type: ignore[attr-defined]
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}" if text != type(error).__name__ else text
