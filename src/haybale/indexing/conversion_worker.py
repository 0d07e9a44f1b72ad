"""Convert files in a child process while the parent loads the embedding model and embeds.

Conversion (reading PDFs, Office files and HTML, cleaning, chunking) is Python code that holds the GIL, and so
is importing torch and loading a model: in one process they take turns on one core even when a second core is
idle. A child process converts on the other core instead: the indexer sends it batches, in order, as
``(sources, meta)`` for the conversion pipeline, and it sends back each batch's pipeline output.

The child is a plain ``python -m haybale.indexing.conversion_worker`` (no ``multiprocessing`` start method, so
the caller's ``__main__`` is never re-imported) that builds the pipeline from its serialized form
(:meth:`Pipeline.to_dict`, the same settings that enter every stored ``source_hash``), talking pickle over two
private pipes. It is an accelerator only: whenever it cannot answer -- the pipeline cannot be serialized or
rebuilt there, the pipeline raised, the child died -- the batch's result is ``None`` and the indexer converts
that batch itself, exactly as it would without a child. Log records of the child (converter warnings) are
re-emitted through the parent's loggers, filtered by the parent's levels.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any

from haybale.indexing.sources import chunks_by_source, run_conversion

__all__ = ["ConversionWorker", "ConversionsAhead"]

#: Seconds a finished child gets to exit on its own before it is killed.
_EXIT_GRACE_S = 2.0


class ConversionWorker:
    """A child process running a conversion pipeline on batches submitted in order.

    Use :meth:`start` (None when no child can be used), :meth:`submit` per batch and :meth:`close` at the end.
    Each future resolves to ``{"failures": [...], "documents": [...]}`` (the converter's failures and the
    last component's documents), or to None when the child could not convert the batch.
    """

    def __init__(self, process: subprocess.Popen[bytes], requests: Connection, results: Connection) -> None:
        self._process = process
        self._requests = requests
        self._results = results
        self._pending: deque[Future[dict[str, Any] | None]] = deque()
        self._lock = threading.Lock()
        self._alive = True
        self._reader = threading.Thread(target=self._read, name="haybale-convert-reader", daemon=True)
        self._reader.start()

    @classmethod
    def start(cls, pipeline: Any) -> ConversionWorker | None:
        """Start a child for ``pipeline``; None when the pipeline cannot travel or no child can start."""
        if os.name != "posix":
            return None
        try:
            spec = pickle.dumps(
                {
                    "pipeline": pipeline.to_dict(),
                    "levels": {
                        "": logging.getLogger().getEffectiveLevel(),
                        "haybale": logging.getLogger("haybale").getEffectiveLevel(),
                    },
                }
            )
        except Exception:  # a custom pipeline without to_dict, or settings that do not pickle
            return None
        request_read, request_write = os.pipe()
        result_read, result_write = os.pipe()
        process: subprocess.Popen[bytes] | None = None
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(request_read), str(result_write)],
                pass_fds=(request_read, result_write),
                stdin=subprocess.DEVNULL,
            )
        except (OSError, ValueError):
            os.close(request_write)
            os.close(result_read)
        finally:  # the child's ends: the parent sees EOF once the child exits
            os.close(request_read)
            os.close(result_write)
        if process is None:
            return None
        worker = cls(
            process, Connection(request_write, readable=False), Connection(result_read, writable=False)
        )
        worker._send(spec)
        return worker

    def submit(self, sources: list[Any], meta: list[dict[str, Any]]) -> Future[dict[str, Any] | None]:
        """Queue one batch; its future resolves once the child has converted it (or None, see the class)."""
        future: Future[dict[str, Any] | None] = Future()
        try:
            payload = pickle.dumps({"sources": sources, "meta": meta})
        except Exception:  # metadata that does not pickle: this batch is converted in the parent
            future.set_result(None)
            return future
        with self._lock:
            if self._alive:
                self._pending.append(future)
        if not self._alive or not self._send(payload):
            self._fail_pending()
            if not future.done():
                future.set_result(None)
        return future

    def close(self) -> None:
        """Stop the child (it exits once the request pipe closes; killed if it does not) and the reader."""
        with contextlib.suppress(OSError):
            self._requests.close()
        try:
            self._process.wait(timeout=_EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join()
        with contextlib.suppress(OSError):
            self._results.close()
        self._fail_pending()

    def _send(self, payload: bytes) -> bool:
        try:
            self._requests.send_bytes(payload)
        except (OSError, ValueError):  # the child is gone: what it has not answered falls back
            return False
        return True

    def _read(self) -> None:
        """Reader thread: resolve the oldest pending batch with each answer; re-emit forwarded log records."""
        while True:
            try:
                kind, payload = pickle.loads(self._results.recv_bytes())
            except Exception:  # EOF (the child exited or died) or a garbled message
                break
            if kind == "log":
                record = logging.makeLogRecord(payload)
                target = logging.getLogger(record.name)
                if target.isEnabledFor(record.levelno):
                    target.handle(record)
                continue
            with self._lock:
                future = self._pending.popleft() if self._pending else None
            if future is not None:
                future.set_result(payload if kind == "converted" else None)
        self._fail_pending()

    def _fail_pending(self) -> None:
        with self._lock:
            self._alive = False
            pending, self._pending = list(self._pending), deque()
        for future in pending:
            if not future.done():
                future.set_result(None)


class ConversionsAhead:
    """The batches of an indexing run, converting ahead of the embedding and taken in order.

    ``runner`` is a one-thread executor (``ahead`` batches in flight, each through ``convert_here``) or a
    :class:`ConversionWorker`, which takes eight times as many -- so that a typical run is converted while the
    model loads -- but is sent no more while the converted batches not yet taken hold ``chunk_limit`` chunks.
    ``inputs`` gives a batch's pipeline ``sources``, ``meta`` and failure names; a batch the child could not
    convert is converted through ``convert_here`` (in the caller's thread).
    """

    def __init__(
        self,
        batches: list[list[Any]],
        runner: Any,
        *,
        ahead: int,
        chunk_limit: int,
        convert_here: Callable[[list[Any]], Any],
        inputs: Callable[[list[Any]], tuple[list[Any], list[dict[str, Any]], dict[str, str]]],
    ) -> None:
        self._batches = batches
        self._runner = runner
        self._child = isinstance(runner, ConversionWorker)
        self._ahead = ahead * 8 if self._child else ahead
        self._chunk_limit = chunk_limit
        self._convert_here = convert_here
        self._inputs = inputs
        self._next = 0
        self._queue: deque[tuple[list[Any], dict[str, str], Future[Any]]] = deque()
        self._top_up()

    def next(self) -> Any:
        """The next batch's conversion, as ``convert_here`` returns it (waiting for it if needed)."""
        batch, names, future = self._queue.popleft()
        self._top_up()
        if not self._child:
            return future.result()
        output = future.result()
        if output is None:  # the child could not convert it: convert it here, as without a child
            return self._convert_here(batch)
        return chunks_by_source(batch, names, output["failures"], output["documents"])

    def _held_chunks(self) -> int:
        """Chunks the child has sent back for batches not yet taken."""
        done = (future.result() for _, _, future in self._queue if future.done())
        return sum(len(output["documents"]) for output in done if output is not None)

    def _top_up(self) -> None:
        while self._next < len(self._batches) and len(self._queue) < self._ahead:
            if self._child and self._held_chunks() >= self._chunk_limit:
                return
            batch = self._batches[self._next]
            self._next += 1
            if self._child:
                contents, metas, names = self._inputs(batch)
                self._queue.append((batch, names, self._runner.submit(contents, metas)))
            else:
                self._queue.append((batch, {}, self._runner.submit(self._convert_here, batch)))


class _ForwardingHandler(logging.Handler):
    """In the child: send every log record to the parent (message already formatted, no exception object)."""

    def __init__(self, results: Connection) -> None:
        super().__init__()
        self._results = results

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = dict(record.__dict__)
            fields["msg"] = record.getMessage()
            fields["args"] = None
            if record.exc_info:
                fields["exc_text"] = logging.Formatter().formatException(record.exc_info)
            fields["exc_info"] = None
            self._results.send_bytes(pickle.dumps(("log", fields)))
        except Exception:
            self.handleError(record)


def _serve(requests: Connection, results: Connection) -> None:
    """The child's loop: build the pipeline from the first message, then convert batch after batch."""
    from haybale.core.pipeline import Pipeline

    spec = pickle.loads(requests.recv_bytes())
    logging.getLogger().addHandler(_ForwardingHandler(results))
    logging.captureWarnings(True)
    for name, level in spec["levels"].items():
        logging.getLogger(name or None).setLevel(level)
    try:
        pipeline: Any = Pipeline.from_dict(spec["pipeline"])
    except Exception:  # e.g. a component type this interpreter cannot import: the parent converts
        pipeline = None
    while True:
        try:
            batch = pickle.loads(requests.recv_bytes())
        except EOFError:
            return
        answer: tuple[str, Any] = ("fallback", None)
        if pipeline is not None:
            try:
                failures, documents = run_conversion(pipeline, batch["sources"], batch["meta"])
                answer = ("converted", {"failures": failures, "documents": documents})
            except Exception:  # the parent converts this batch itself and handles what it raises
                answer = ("fallback", None)
        try:
            message = pickle.dumps(answer)
        except Exception:  # chunks whose metadata do not pickle
            message = pickle.dumps(("fallback", None))
        results.send_bytes(message)


def main() -> None:
    """Entry point of the child: ``python -m haybale.indexing.conversion_worker REQUEST_FD RESULT_FD``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; EOF stops the child
    requests = Connection(int(sys.argv[1]), writable=False)
    results = Connection(int(sys.argv[2]), readable=False)
    with contextlib.suppress(BrokenPipeError, EOFError, OSError):
        _serve(requests, results)


if __name__ == "__main__":
    main()
