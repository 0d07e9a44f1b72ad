"""Fetching one URL over HTTP(S): URL checks, redirects, a size cap while streaming, and retries with backoff.

The policy (which schemes, how many retries, which user agent on which attempt, what counts as retryable, how
a response becomes a :class:`ByteStream`) lives in :class:`FetchPolicy` as pure functions. The I/O loops
(:func:`fetch_sync` with ``httpx.Client`` and :func:`fetch_async` with ``httpx.AsyncClient``) only apply it,
so the blocking and the async paths behave identically.

Redirects are followed by hand rather than by httpx so that every hop's target is checked against the allowed
schemes (a redirect to ``file://`` or, with ``allowed_schemes=("https",)``, to plain ``http://`` is refused).
"""

from __future__ import annotations

import asyncio
import mimetypes
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from haybale.components.fetchers._address_guard import AddressGuard, SSRFRefusedError
from haybale.dataclasses import ByteStream
from haybale.errors import ComponentError, ExternalServiceError

__all__ = ["FetchFailure", "FetchPolicy", "check_url", "fetch_async", "fetch_sync"]

_NAME = "LinkContentFetcher"
_RETRYABLE_STATUS_MIN = 500
_TOO_MANY_REQUESTS = 429
_MAX_BACKOFF_SECONDS = 10.0


class FetchFailure(ExternalServiceError):
    """One attempt (or all attempts) at fetching a URL failed.

    Attributes:
        status: the HTTP status of the failing response, or None when no response arrived.
        retryable: whether another attempt may succeed (connection errors, timeouts, 5xx, 429).
    """

    def __init__(self, reason: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(reason, status_code=status, retryable=retryable)
        self.reason = reason
        self.status = status


def check_url(url: Any, allowed_schemes: tuple[str, ...]) -> None:
    """Raise ComponentError unless ``url`` is an absolute URL with an allowed scheme and a host.

    Local files are never read: ``file://`` (and any scheme other than http/https) is refused.
    """
    if not isinstance(url, str) or not url.strip():
        raise ComponentError(f"{_NAME}: every URL must be a non-empty string, got {url!r}.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise ComponentError(
            f"{_NAME}: the URL {url!r} contains whitespace or control characters; percent-encode them "
            "(for example ' ' as '%20')."
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError as error:
        raise ComponentError(f"{_NAME}: {url!r} is not a valid URL ({error}).") from None
    scheme = parts.scheme.lower()
    if scheme not in allowed_schemes:
        shown = f"scheme '{scheme}'" if scheme else "no scheme"
        raise ComponentError(
            f"{_NAME}: refusing to fetch {url!r}: it has {shown}, but only {list(allowed_schemes)} are "
            "allowed. "
            "Local files and other protocols are never fetched; read files with a converter instead, or "
            "write the URL as 'https://host/path'."
        )
    if not host:
        raise ComponentError(f"{_NAME}: the URL {url!r} has no host; write it as '{scheme}://host/path'.")


@dataclass(frozen=True)
class FetchPolicy:
    """How to fetch: schemes, retries, backoff, redirects, size cap, user agents and which addresses may be
    reached (all read-only)."""

    allowed_schemes: tuple[str, ...]
    user_agents: tuple[str, ...]
    retry_attempts: int
    retry_backoff_seconds: float
    max_redirects: int
    max_content_bytes: int
    guard: AddressGuard = field(default_factory=AddressGuard)

    def check_target(self, url: str) -> None:
        """Refuse a URL whose host resolves to an address that is not allowed (before anything is sent).

        Raises:
            FetchFailure: not retried.
        """
        parts = urlsplit(url)
        try:
            self.guard.check_host(parts.hostname or "", parts.port)
        except SSRFRefusedError as refused:
            raise FetchFailure(str(refused)) from None

    async def check_target_async(self, url: str) -> None:
        """:meth:`check_target` with the event loop's resolver."""
        parts = urlsplit(url)
        try:
            await self.guard.check_host_async(parts.hostname or "", parts.port)
        except SSRFRefusedError as refused:
            raise FetchFailure(str(refused)) from None

    def check_connected(self, url: str, response: Any) -> None:
        """Refuse a response whose connection reached an address that is not allowed (DNS rebinding)."""
        try:
            self.guard.check_peer(urlsplit(url).hostname or "", response)
        except SSRFRefusedError as refused:
            raise FetchFailure(str(refused)) from None

    def user_agent(self, attempt: int) -> str:
        """The User-Agent for the 0-based ``attempt``: the list is rotated, one agent per attempt."""
        return self.user_agents[attempt % len(self.user_agents)]

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before the 1-based retry ``attempt``: exponential, capped."""
        return float(min(self.retry_backoff_seconds * 2 ** (attempt - 1), _MAX_BACKOFF_SECONDS))

    def redirect_target(self, current_url: str, location: str | None, hops: int) -> str:
        """The absolute URL a redirect points to, checked like any requested URL.

        Raises:
            FetchFailure: when the redirect has no Location, too many hops were taken, or the target's scheme
                is not allowed.
        """
        if not location:
            raise FetchFailure(f"a redirect from {current_url!r} has no Location header")
        if hops >= self.max_redirects:
            raise FetchFailure(
                f"more than max_redirects={self.max_redirects} redirects (last to {location!r}); raise "
                "max_redirects if the site needs more"
            )
        target = urljoin(current_url, location)
        try:
            check_url(target, self.allowed_schemes)
        except ComponentError as error:
            raise FetchFailure(f"refused redirect to {target!r}: {error}") from None
        return target

    def check_status(self, status: int, reason: str) -> None:
        """Raise a FetchFailure for an error status (retryable for 5xx and 429)."""
        if status >= 400:
            raise FetchFailure(
                f"HTTP {status} {reason}".rstrip(),
                status=status,
                retryable=status >= _RETRYABLE_STATUS_MIN or status == _TOO_MANY_REQUESTS,
            )

    def check_declared_size(self, headers: Any) -> None:
        """Fail fast when the Content-Length header already exceeds the cap."""
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_content_bytes:
            raise FetchFailure(self._too_large(f"Content-Length is {declared} bytes"))

    def check_received_size(self, received: int) -> None:
        """Fail as soon as the streamed body grows beyond the cap (the rest is never downloaded)."""
        if received > self.max_content_bytes:
            raise FetchFailure(self._too_large(f"more than {self.max_content_bytes} bytes arrived"))

    def _too_large(self, detail: str) -> str:
        return (
            f"the body is larger than max_content_bytes={self.max_content_bytes} ({detail}); raise "
            "max_content_bytes to fetch it"
        )


def build_stream(requested_url: str, final_url: str, status: int, headers: Any, body: bytes) -> ByteStream:
    """Turn a successful response into a ByteStream.

    ``mime_type`` and ``meta["content_type"]`` come from the Content-Type header without parameters (guessed
    from the URL's extension when the header is absent); a ``charset`` parameter becomes ``meta["encoding"]``,
    which haybale's text converters honour.
    """
    header = headers.get("content-type") or ""
    mime, _, params = header.partition(";")
    mime = mime.strip().lower()
    if not mime:
        mime = mimetypes.guess_type(urlsplit(final_url).path)[0] or "application/octet-stream"
    meta: dict[str, Any] = {
        "url": requested_url,
        "final_url": final_url,
        "status": status,
        "content_type": mime,
    }
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            meta["encoding"] = value.strip().strip("\"'")
    return ByteStream(data=body, meta=meta, mime_type=mime)


def _transport_failure(error: Exception) -> FetchFailure:
    import httpx

    if isinstance(error, httpx.TimeoutException):
        return FetchFailure(f"timed out ({type(error).__name__})", retryable=True)
    return FetchFailure(f"{type(error).__name__}: {error or 'connection failed'}", retryable=True)


def _retry(attempt: int, failure: FetchFailure, policy: FetchPolicy) -> bool:
    return failure.retryable and attempt < policy.retry_attempts


def fetch_sync(client: Any, url: str, policy: FetchPolicy) -> ByteStream:
    """Fetch ``url`` with a blocking ``httpx.Client``, retrying per ``policy``.

    Raises:
        FetchFailure: when every attempt failed, or a non-retryable failure happened.
    """
    import httpx

    attempt = 0
    while True:
        try:
            return _attempt_sync(client, url, policy, attempt)
        except (httpx.TransportError, FetchFailure) as error:
            failure = error if isinstance(error, FetchFailure) else _transport_failure(error)
            if not _retry(attempt, failure, policy):
                if failure is error:
                    raise
                raise failure from error
        attempt += 1
        time.sleep(policy.backoff(attempt))


def _attempt_sync(client: Any, url: str, policy: FetchPolicy, attempt: int) -> ByteStream:
    headers = {"User-Agent": policy.user_agent(attempt)}
    current = url
    hops = 0
    while True:
        policy.check_target(current)
        with client.stream("GET", current, headers=headers) as response:
            policy.check_connected(current, response)
            if response.is_redirect:
                current = policy.redirect_target(current, response.headers.get("location"), hops)
                hops += 1
                continue
            policy.check_status(response.status_code, response.reason_phrase)
            policy.check_declared_size(response.headers)
            chunks: list[bytes] = []
            received = 0
            for chunk in response.iter_bytes():
                received += len(chunk)
                policy.check_received_size(received)
                chunks.append(chunk)
            return build_stream(url, current, response.status_code, response.headers, b"".join(chunks))


async def fetch_async(client: Any, url: str, policy: FetchPolicy) -> ByteStream:
    """Fetch ``url`` with an ``httpx.AsyncClient``, retrying per ``policy`` (the rules of :func:`fetch_sync`).

    Raises:
        FetchFailure: when every attempt failed, or a non-retryable failure happened.
    """
    import httpx

    attempt = 0
    while True:
        try:
            return await _attempt_async(client, url, policy, attempt)
        except (httpx.TransportError, FetchFailure) as error:
            failure = error if isinstance(error, FetchFailure) else _transport_failure(error)
            if not _retry(attempt, failure, policy):
                if failure is error:
                    raise
                raise failure from error
        attempt += 1
        await asyncio.sleep(policy.backoff(attempt))


async def _attempt_async(client: Any, url: str, policy: FetchPolicy, attempt: int) -> ByteStream:
    headers = {"User-Agent": policy.user_agent(attempt)}
    current = url
    hops = 0
    while True:
        await policy.check_target_async(current)
        async with client.stream("GET", current, headers=headers) as response:
            policy.check_connected(current, response)
            if response.is_redirect:
                current = policy.redirect_target(current, response.headers.get("location"), hops)
                hops += 1
                continue
            policy.check_status(response.status_code, response.reason_phrase)
            policy.check_declared_size(response.headers)
            chunks: list[bytes] = []
            received = 0
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                policy.check_received_size(received)
                chunks.append(chunk)
            return build_stream(url, current, response.status_code, response.headers, b"".join(chunks))
