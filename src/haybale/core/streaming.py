"""Stream a pipeline run: an async iterator of the chunks its streaming components produce, then the result.

::

    stream = stream_pipeline(pipeline, {"query": "Why is the sky blue?"})
    async for chunk in stream:            # StreamingChunk, with component_name set
        print(chunk.content, end="")
    answer = stream.result                # the same dict Pipeline.run_async returns

A component can stream when it has a ``streaming_callback`` input (chat generators, agents). For this run
only, each such input that no connection feeds receives a callback that forwards chunks to the iterator; the
components themselves keep no per-request state, so concurrent streams over one pipeline stay separate.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Final, Protocol

from haybale.errors import PipelineError, PipelineValidationError

__all__ = ["STREAMING_CALLBACK_INPUT", "PipelineStream", "stream_pipeline", "streaming_components"]

#: The input through which a component accepts a streaming callback.
STREAMING_CALLBACK_INPUT: Final = "streaming_callback"


class _StreamablePipeline(Protocol):
    def inputs(self, include_connected: bool = False) -> dict[str, dict[str, dict[str, Any]]]: ...

    def walk(self) -> Iterable[tuple[str, Any]]: ...

    def route_inputs(self, data: Mapping[str, Any]) -> dict[str, dict[str, Any]]: ...

    async def run_async(
        self,
        data: Mapping[str, Any],
        include_outputs_from: Iterable[str] | None = None,
        concurrency_limit: int = 4,
    ) -> dict[str, dict[str, Any]]: ...


class _Done:
    """Queue sentinel: the run has ended (successfully or not)."""


_DONE: Final = _Done()


def _is_instance_dataclass(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def streaming_components(pipeline: _StreamablePipeline) -> list[str]:
    """Names of the components whose ``streaming_callback`` input is free for a caller to give."""
    free = pipeline.inputs()
    return [name for name, _ in pipeline.walk() if STREAMING_CALLBACK_INPUT in free.get(name, {})]


class PipelineStream:
    """Async iterator over the :class:`StreamingChunk` s of one pipeline run; :attr:`result` when it ends.

    Iterating starts the run (on the running event loop). The iterator ends when the run ends; if the run
    fails, iteration raises the pipeline's error after yielding the chunks produced before the failure. Use
    ``async with`` (or :meth:`aclose`) to cancel a run you stop reading early.
    """

    def __init__(
        self,
        pipeline: _StreamablePipeline,
        data: dict[str, dict[str, Any]],
        targets: list[str],
        include_outputs_from: Iterable[str] | None,
        concurrency_limit: int,
    ) -> None:
        self._pipeline = pipeline
        self._data = data
        self._targets = targets
        self._include = list(include_outputs_from or [])
        self._concurrency_limit = concurrency_limit
        self._queue: asyncio.Queue[Any] | None = None
        self._task: asyncio.Task[dict[str, dict[str, Any]]] | None = None

    @property
    def streaming_components(self) -> list[str]:
        """The components whose chunks this stream carries."""
        return list(self._targets)

    def _forwarder(
        self, name: str, user_callback: Any, loop: asyncio.AbstractEventLoop
    ) -> Callable[[Any], None]:
        queue = self._queue
        loop_thread = threading.get_ident()

        def forward(chunk: Any) -> None:
            if callable(user_callback):
                user_callback(chunk)
            item = dataclasses.replace(chunk, component_name=name) if _is_instance_dataclass(chunk) else chunk
            if queue is None:
                return
            if threading.get_ident() == loop_thread:
                queue.put_nowait(item)
            else:  # sync components run on worker threads: hand the chunk to the loop
                loop.call_soon_threadsafe(queue.put_nowait, item)

        return forward

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        data = {name: dict(values) for name, values in self._data.items()}
        for name in self._targets:
            inputs = data.setdefault(name, {})
            inputs[STREAMING_CALLBACK_INPUT] = self._forwarder(
                name, inputs.get(STREAMING_CALLBACK_INPUT), loop
            )
        queue = self._queue
        self._task = asyncio.ensure_future(
            self._pipeline.run_async(
                data, include_outputs_from=self._include, concurrency_limit=self._concurrency_limit
            )
        )
        self._task.add_done_callback(lambda _: queue.put_nowait(_DONE))

    def __aiter__(self) -> PipelineStream:
        return self

    async def __anext__(self) -> Any:
        if self._task is None:
            self._start()
        if self._queue is None or self._task is None:
            raise StopAsyncIteration
        if self._task.done() and self._queue.empty():
            self._raise_if_failed()
            raise StopAsyncIteration
        item = await self._queue.get()
        if isinstance(item, _Done):
            self._raise_if_failed()
            raise StopAsyncIteration
        return item

    def _raise_if_failed(self) -> None:
        if self._task is not None and not self._task.cancelled():
            error = self._task.exception()
            if error is not None:
                raise error

    @property
    def done(self) -> bool:
        """Whether the run has ended."""
        return self._task is not None and self._task.done()

    @property
    def result(self) -> dict[str, dict[str, Any]]:
        """The pipeline's result (as :meth:`Pipeline.run_async` returns it), once the stream is exhausted.

        Raises:
            PipelineError: when read before the run ended or after it was cancelled.
            Exception: the pipeline's own error when the run failed.
        """
        if self._task is None or not self._task.done():
            raise PipelineError(
                "The pipeline stream has not finished yet: iterate it to the end "
                "(`async for chunk in stream`) before reading `stream.result`."
            )
        if self._task.cancelled():
            raise PipelineError(
                "The pipeline stream was cancelled before the run finished; it has no result."
            )
        return self._task.result()

    async def aclose(self) -> None:
        """Cancel the run if it is still going (idempotent)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def __aenter__(self) -> PipelineStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def stream_pipeline(
    pipeline: _StreamablePipeline,
    data: Mapping[str, Any],
    include_outputs_from: Iterable[str] | None = None,
    concurrency_limit: int = 4,
    components: Iterable[str] | None = None,
) -> PipelineStream:
    """Run ``pipeline`` and stream the chunks of its streaming-capable components.

    Args:
        pipeline: the pipeline (its components must not keep per-request state; this injects callbacks as
            run inputs).
        data: run inputs, nested or flat (as for ``Pipeline.run``).
        include_outputs_from: as for ``Pipeline.run``.
        concurrency_limit: as for ``Pipeline.run_async``.
        components: stream only these components; default: every component with a free
            ``streaming_callback`` input. A ``streaming_callback`` given in ``data`` is still called.

    Returns:
        A :class:`PipelineStream`: ``async for chunk in stream`` yields each :class:`StreamingChunk` with
        ``component_name`` set; ``stream.result`` holds the pipeline result afterwards.

    Raises:
        PipelineValidationError: unknown input names, or ``components`` naming a component that cannot stream.
    """
    capable = streaming_components(pipeline)
    if components is None:
        targets = capable
    else:
        targets = list(components)
        unable = [name for name in targets if name not in capable]
        if unable:
            raise PipelineValidationError(
                f"Cannot stream {unable}: only components with a free '{STREAMING_CALLBACK_INPUT}' input can "
                f"stream. Streaming-capable components in this pipeline: {capable or 'none'}."
            )
    return PipelineStream(
        pipeline, pipeline.route_inputs(data), targets, include_outputs_from, concurrency_limit
    )
