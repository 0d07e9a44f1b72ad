"""LinkContentFetcher: downloads URLs into ByteStreams, concurrently, with retries and a size cap."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from haybale.components.fetchers._address_guard import AddressGuard
from haybale.components.fetchers._http_fetching import (
    FetchFailure,
    FetchPolicy,
    check_url,
    fetch_async,
    fetch_sync,
)
from haybale.core.component import component
from haybale.core.serialization import default_from_dict, default_to_dict
from haybale.dataclasses import ByteStream
from haybale.errors import ComponentError, MissingDependencyError, optional_dependency

__all__ = ["DEFAULT_USER_AGENT", "LinkContentFetcher"]

logger = logging.getLogger(__name__)

_NAME = "LinkContentFetcher"
_SUPPORTED_SCHEMES = ("http", "https")
DEFAULT_USER_AGENT = "haybale-link-content-fetcher/0.1 (+https://pypi.org/project/haybale/)"


def _check_positive_number(name: str, value: Any, *, integer: bool, allow_zero: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    ok = (
        isinstance(value, kinds) and not isinstance(value, bool) and (value >= 0 if allow_zero else value > 0)
    )
    if not ok:
        kind = "integer" if integer else "number"
        bound = ">= 0" if allow_zero else "> 0"
        raise ComponentError(f"{_NAME}: {name} must be an {kind} {bound}, got {value!r}.")


def _normalize_schemes(allowed_schemes: Any) -> tuple[str, ...]:
    if (
        isinstance(allowed_schemes, str)
        or not isinstance(allowed_schemes, (list, tuple))
        or not allowed_schemes
    ):
        raise ComponentError(
            f"{_NAME}: allowed_schemes must be a non-empty list such as ['http', 'https'], "
            f"got {allowed_schemes!r}."
        )
    schemes = tuple(str(s).lower() for s in allowed_schemes)
    unsupported = [s for s in schemes if s not in _SUPPORTED_SCHEMES]
    if unsupported:
        raise ComponentError(
            f"{_NAME}: allowed_schemes may only contain {list(_SUPPORTED_SCHEMES)}, got {unsupported}. "
            "Local files and other protocols are never fetched; read files with a converter instead."
        )
    return schemes


def _normalize_user_agents(user_agents: Any) -> tuple[str, ...] | None:
    if user_agents is None:
        return None
    if (
        isinstance(user_agents, str)
        or not isinstance(user_agents, (list, tuple))
        or not user_agents
        or not all(isinstance(a, str) and a.strip() for a in user_agents)
    ):
        raise ComponentError(
            f"{_NAME}: user_agents must be None or a non-empty list of non-empty strings, "
            f"got {user_agents!r}."
        )
    return tuple(user_agents)


def _check_urls(urls: Any, allowed_schemes: tuple[str, ...]) -> list[str]:
    if isinstance(urls, str) or not isinstance(urls, (list, tuple)):
        raise ComponentError(
            f"{_NAME}: urls must be a list of URL strings, got {type(urls).__name__}: {urls!r}."
        )
    for url in urls:
        check_url(url, allowed_schemes)
    return list(urls)


@component
class LinkContentFetcher:
    """Fetch the content of URLs as :class:`ByteStream` objects, one per URL, in input order.

    Each stream's ``mime_type`` is the response's Content-Type without parameters, and its ``meta`` holds
    ``url`` (as requested), ``final_url`` (after redirects), ``status``, ``content_type`` and, when the
    server named a charset, ``encoding`` (which the text converters use). Redirects are followed up to
    ``max_redirects`` hops, each target checked against ``allowed_schemes``. Bodies are streamed and refused
    as soon as they exceed ``max_content_bytes``. Connection errors, timeouts, HTTP 5xx and 429 are retried
    with exponential backoff, rotating through ``user_agents`` (one per attempt); other 4xx answers are not
    retried. Several URLs are fetched concurrently (threads in :meth:`run`, tasks in :meth:`run_async`).

    Failures: with ``raise_on_failure=True`` (default) a URL that cannot be fetched raises
    :class:`ComponentError` naming it (after all URLs of the batch were tried). With
    ``raise_on_failure=False`` a failed URL still yields an entry at its position: an **empty** ByteStream
    (``data=b""``, ``mime_type=None``) whose meta holds ``url``, ``status`` (None when no response arrived)
    and ``error``, and a warning is logged; the other URLs are unaffected. Invalid URLs and disallowed
    schemes (``file://``, ``ftp://``) always raise :class:`ComponentError` before anything is fetched: they
    are mistakes in the input, and local files are never read.

    Args:
        raise_on_failure: raise on a URL that cannot be fetched, or return an empty stream for it.
        user_agents: User-Agent strings, rotated per attempt; None uses haybale's own.
        retry_attempts: retries after the first attempt (0 disables retries).
        timeout: seconds allowed for connecting and for each read.
        http2: use HTTP/2 where the server offers it (needs ``pip install 'httpx[http2]'``).
        max_content_bytes: largest body accepted, in bytes.
        allowed_schemes: URL schemes that may be fetched; a subset of ``("http", "https")``.
        max_redirects: most redirect hops followed for one URL.
        retry_backoff_seconds: wait before the first retry; doubled for every further retry (capped at 10 s).
        max_concurrency: most URLs fetched at the same time.
        allowed_hosts: hosts that may be fetched although they are not public: host names, addresses or CIDR
            networks (``["localhost"]``, ``["10.0.0.0/8"]``). By default every URL and redirect whose host
            resolves to a loopback, private, link-local or reserved address (the cloud metadata service at
            169.254.169.254, a database on localhost) is refused, checked again after connecting.
    """

    def __init__(  # noqa: PLR0917 - positional order mirrors Haystack's LinkContentFetcher so ports keep working
        self,
        raise_on_failure: bool = True,
        user_agents: list[str] | None = None,
        retry_attempts: int = 2,
        timeout: float = 3,
        http2: bool = False,
        max_content_bytes: int = 20_000_000,
        allowed_schemes: tuple[str, ...] | list[str] = ("http", "https"),
        *,
        max_redirects: int = 10,
        retry_backoff_seconds: float = 0.5,
        max_concurrency: int = 8,
        allowed_hosts: list[str] | None = None,
    ) -> None:
        _check_positive_number("retry_attempts", retry_attempts, integer=True, allow_zero=True)
        _check_positive_number("timeout", timeout, integer=False)
        _check_positive_number("max_content_bytes", max_content_bytes, integer=True)
        _check_positive_number("max_redirects", max_redirects, integer=True, allow_zero=True)
        _check_positive_number("retry_backoff_seconds", retry_backoff_seconds, integer=False, allow_zero=True)
        _check_positive_number("max_concurrency", max_concurrency, integer=True)
        self.raise_on_failure = bool(raise_on_failure)
        self.user_agents = _normalize_user_agents(user_agents)
        self.retry_attempts = retry_attempts
        self.timeout = timeout
        self.http2 = bool(http2)
        self.max_content_bytes = max_content_bytes
        self.allowed_schemes = _normalize_schemes(allowed_schemes)
        self.max_redirects = max_redirects
        self.retry_backoff_seconds = retry_backoff_seconds
        self.max_concurrency = max_concurrency
        self.allowed_hosts = list(allowed_hosts) if allowed_hosts is not None else None
        self._policy = FetchPolicy(
            allowed_schemes=self.allowed_schemes,
            user_agents=self.user_agents or (DEFAULT_USER_AGENT,),
            retry_attempts=retry_attempts,
            retry_backoff_seconds=float(retry_backoff_seconds),
            max_redirects=max_redirects,
            max_content_bytes=max_content_bytes,
            guard=AddressGuard.from_allowed(self.allowed_hosts, _NAME),
        )

    def _client_options(self) -> dict[str, Any]:
        with optional_dependency("httpx", extra="fetchers", feature=_NAME):
            import httpx
        if self.http2:
            try:
                import h2  # noqa: F401 - only checks that HTTP/2 support is installed
            except ImportError as error:
                raise MissingDependencyError(
                    f"{_NAME}(http2=True) needs the 'h2' package, which is not installed. Install it with: "
                    "pip install 'httpx[http2]', or pass http2=False."
                ) from error
        return {
            "timeout": httpx.Timeout(self.timeout),
            "http2": self.http2,
            "follow_redirects": False,  # followed by hand, so every hop's scheme is checked
            "limits": httpx.Limits(max_connections=self.max_concurrency),
        }

    @component.output_types(streams=list[ByteStream])
    def run(self, urls: list[str]) -> dict[str, Any]:
        """Fetch ``urls``; returns ``{"streams": [ByteStream, ...]}`` in input order.

        Raises:
            ComponentError: on an invalid URL or disallowed scheme, or (with ``raise_on_failure=True``) when a
                URL could not be fetched.
        """
        checked = _check_urls(urls, self.allowed_schemes)
        if not checked:
            return {"streams": []}
        import httpx

        with httpx.Client(**self._client_options()) as client:

            def fetch(url: str) -> ByteStream | FetchFailure:
                try:
                    return fetch_sync(client, url, self._policy)
                except FetchFailure as failure:
                    return failure

            if len(checked) == 1:
                outcomes = [fetch(checked[0])]
            else:
                with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(checked))) as pool:
                    outcomes = list(pool.map(fetch, checked))
        return {"streams": self._collect(checked, outcomes)}

    @component.output_types(streams=list[ByteStream])
    async def run_async(self, urls: list[str]) -> dict[str, Any]:
        """Async :meth:`run`: fetches the URLs concurrently with ``httpx.AsyncClient``."""
        checked = _check_urls(urls, self.allowed_schemes)
        if not checked:
            return {"streams": []}
        import httpx

        limit = asyncio.Semaphore(self.max_concurrency)
        async with httpx.AsyncClient(**self._client_options()) as client:

            async def fetch(url: str) -> ByteStream | FetchFailure:
                async with limit:
                    try:
                        return await fetch_async(client, url, self._policy)
                    except FetchFailure as failure:
                        return failure

            outcomes = await asyncio.gather(*(fetch(url) for url in checked))
        return {"streams": self._collect(checked, list(outcomes))}

    def _collect(self, urls: list[str], outcomes: list[ByteStream | FetchFailure]) -> list[ByteStream]:
        failed = [(url, o) for url, o in zip(urls, outcomes, strict=True) if isinstance(o, FetchFailure)]
        if failed and self.raise_on_failure:
            url, failure = failed[0]
            others = f" ({len(failed) - 1} other URL(s) of the batch failed too)" if len(failed) > 1 else ""
            raise ComponentError(
                f"{_NAME} could not fetch {url!r}: {failure.reason}{others}. Check that the URL is right and "
                "the server reachable (raise timeout or retry_attempts for slow or flaky servers), or pass "
                "raise_on_failure=False to get an empty stream for failed URLs and keep the others."
            ) from failure
        streams: list[ByteStream] = []
        for url, outcome in zip(urls, outcomes, strict=True):
            if isinstance(outcome, FetchFailure):
                logger.warning(
                    "%s could not fetch %r: %s; returning an empty stream", _NAME, url, outcome.reason
                )
                meta = {"url": url, "status": outcome.status, "error": outcome.reason}
                streams.append(ByteStream(data=b"", meta=meta, mime_type=None))
            else:
                streams.append(outcome)
        return streams

    def to_dict(self) -> dict[str, Any]:
        """Serialize the init parameters (lists instead of tuples, so YAML stays plain)."""
        return default_to_dict(
            self,
            raise_on_failure=self.raise_on_failure,
            user_agents=None if self.user_agents is None else list(self.user_agents),
            retry_attempts=self.retry_attempts,
            timeout=self.timeout,
            http2=self.http2,
            max_content_bytes=self.max_content_bytes,
            allowed_schemes=list(self.allowed_schemes),
            max_redirects=self.max_redirects,
            retry_backoff_seconds=self.retry_backoff_seconds,
            max_concurrency=self.max_concurrency,
            allowed_hosts=self.allowed_hosts,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinkContentFetcher:
        """Load from :meth:`to_dict` output."""
        return default_from_dict(cls, data)
