"""A minimal OpenTelemetry collector for tests: receives OTLP/HTTP protobuf trace exports and keeps the spans.

It speaks the real protocol (``POST /v1/traces`` with an ``ExportTraceServiceRequest`` body, gzip or not),
so the OpenTelemetry SDK's own OTLP exporter is what gets tested. Needs ``haybale[tracing,service]``.

Usage::

    with serve_otlp_receiver() as receiver:
        ... export to receiver.traces_url ...
        receiver.spans  # [ReceivedSpan(name, trace_id, span_id, parent_span_id, attributes, resource)]
"""

from __future__ import annotations

import contextlib
import gzip
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["OTLPReceiver", "ReceivedSpan", "serve_otlp_receiver"]


@dataclass
class ReceivedSpan:
    """One exported span, decoded: ids as hex, attributes as plain Python values."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    resource: dict[str, Any] = field(default_factory=dict)


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in any_value.kvlist_value.values}
    return None if kind is None else getattr(any_value, kind)


def _attributes(key_values: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in key_values}


class OTLPReceiver:
    """Collects spans from OTLP/HTTP exports (thread-safe).

    Attributes:
        traces_url: where exporters send (set once served).
        spans: every span received so far.
    """

    def __init__(self) -> None:
        self.traces_url = ""
        self._spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()

    @property
    def spans(self) -> list[ReceivedSpan]:
        """A snapshot of the received spans."""
        with self._lock:
            return list(self._spans)

    def receive(self, body: bytes, encoding: str | None) -> bytes:
        """Decode one export request body; return the serialized response."""
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

        if encoding == "gzip":
            body = gzip.decompress(body)
        request = trace_service_pb2.ExportTraceServiceRequest()
        request.ParseFromString(body)
        received = []
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(
                        ReceivedSpan(
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            attributes=_attributes(span.attributes),
                            resource=resource,
                        )
                    )
        with self._lock:
            self._spans.extend(received)
        return bytes(trace_service_pb2.ExportTraceServiceResponse().SerializeToString())

    def app(self) -> Any:
        """The ASGI app serving ``POST /v1/traces``."""
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def traces(request: Request) -> Response:
            body = self.receive(await request.body(), request.headers.get("content-encoding"))
            return Response(body, media_type="application/x-protobuf")

        return Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])


@contextlib.contextmanager
def serve_otlp_receiver() -> Iterator[OTLPReceiver]:
    """Serve an :class:`OTLPReceiver` on a free 127.0.0.1 port until the block ends."""
    from haybale.testing.openai_compatible_server import OpenAICompatibleServer

    receiver = OTLPReceiver()
    with OpenAICompatibleServer(receiver.app()) as server:
        receiver.traces_url = f"http://127.0.0.1:{server.port}/v1/traces"
        yield receiver
