"""LinkContentFetcher against a real HTTP server on 127.0.0.1: content types, redirects, retries, size cap,
timeouts, failures, refused schemes, concurrency, serialization and pipelines."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from fetcher_http_server import BIG_SIZE, HTML_BODY, PDF_BYTES, LocalServer

from haybale.components.converters import HTMLToDocument
from haybale.components.fetchers import LinkContentFetcher
from haybale.components.fetchers.link_content_fetcher import DEFAULT_USER_AGENT
from haybale.core.pipeline import Pipeline
from haybale.errors import ComponentError, DeserializationError, PipelineRuntimeError

#: The test server runs on loopback, which fetchers refuse unless it is allowed.
LOCAL = ["127.0.0.1"]


def local_fetcher(**kwargs: Any) -> LinkContentFetcher:
    """A fetcher allowed to reach the test server on 127.0.0.1."""
    kwargs.setdefault("allowed_hosts", LOCAL)
    return LinkContentFetcher(**kwargs)


def fast_fetcher(**kwargs: Any) -> LinkContentFetcher:
    """A fetcher with short waits, so failure tests stay quick."""
    kwargs.setdefault("retry_backoff_seconds", 0.05)
    kwargs.setdefault("timeout", 2)
    return local_fetcher(**kwargs)


# --- init -------------------------------------------------------------------------------------------------


def test_init_defaults_match_haystack_names() -> None:
    fetcher = LinkContentFetcher()
    assert fetcher.raise_on_failure is True
    assert fetcher.user_agents is None
    assert fetcher.retry_attempts == 2
    assert fetcher.timeout == 3
    assert fetcher.http2 is False
    assert fetcher.max_content_bytes == 20_000_000
    assert fetcher.allowed_schemes == ("http", "https")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"retry_attempts": -1}, "retry_attempts"),
        ({"timeout": 0}, "timeout"),
        ({"max_content_bytes": 0}, "max_content_bytes"),
        ({"allowed_schemes": ("http", "file")}, "allowed_schemes may only contain"),
        ({"allowed_schemes": "https"}, "allowed_schemes must be a non-empty list"),
        ({"allowed_schemes": []}, "allowed_schemes must be a non-empty list"),
        ({"user_agents": []}, "user_agents"),
        ({"user_agents": "agent"}, "user_agents"),
        ({"max_concurrency": 0}, "max_concurrency"),
    ],
)
def test_init_refuses_bad_parameters(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ComponentError, match=match):
        LinkContentFetcher(**kwargs)


def test_http2_without_h2_names_the_install(http_server: LocalServer) -> None:
    pytest.importorskip("httpx")
    try:
        import h2  # noqa: F401
    except ImportError:
        from haybale.errors import MissingDependencyError

        with pytest.raises(MissingDependencyError, match=r"httpx\[http2\]"):
            local_fetcher(http2=True).run(urls=[http_server.url("/text")])
    else:
        result = local_fetcher(http2=True).run(urls=[http_server.url("/text")])
        assert result["streams"][0].data == b"plain words"


# --- to_dict / from_dict ----------------------------------------------------------------------------------


def test_round_trip_defaults_and_custom() -> None:
    for fetcher in (
        LinkContentFetcher(),
        LinkContentFetcher(
            raise_on_failure=False,
            user_agents=["a/1", "b/2"],
            retry_attempts=0,
            timeout=1.5,
            max_content_bytes=1000,
            allowed_schemes=["https"],
            max_redirects=2,
            retry_backoff_seconds=0.1,
            max_concurrency=3,
        ),
    ):
        data = fetcher.to_dict()
        assert data["type"] == "haybale.components.fetchers.link_content_fetcher.LinkContentFetcher"
        restored = LinkContentFetcher.from_dict(data)
        assert restored.to_dict() == data
    assert data["init_parameters"]["allowed_schemes"] == ["https"]
    assert data["init_parameters"]["user_agents"] == ["a/1", "b/2"]


def test_from_dict_refuses_unknown_parameter() -> None:
    data = LinkContentFetcher().to_dict()
    data["init_parameters"]["verify_ssl"] = False
    with pytest.raises(DeserializationError, match="verify_ssl"):
        LinkContentFetcher.from_dict(data)


def test_yaml_round_trip_in_pipeline(http_server: LocalServer) -> None:
    pipeline = Pipeline()
    pipeline.add_component("fetcher", fast_fetcher(user_agents=["yaml-agent/1"]))
    text = pipeline.dumps()
    loaded = Pipeline.loads(text)
    assert loaded.dumps() == text
    result = loaded.run({"fetcher": {"urls": [http_server.url("/text")]}})
    assert result["fetcher"]["streams"][0].data == b"plain words"


# --- run --------------------------------------------------------------------------------------------------


def test_fetches_html_text_and_pdf_with_content_types(http_server: LocalServer) -> None:
    urls = [http_server.url("/html"), http_server.url("/text"), http_server.url("/pdf")]
    streams = local_fetcher().run(urls=urls)["streams"]
    assert [s.mime_type for s in streams] == ["text/html", "text/plain", "application/pdf"]
    html, text, pdf = streams
    assert html.data.decode("utf-8") == HTML_BODY
    assert html.meta == {
        "url": urls[0],
        "final_url": urls[0],
        "status": 200,
        "content_type": "text/html",
        "encoding": "utf-8",
    }
    assert text.data == b"plain words"
    assert "encoding" not in text.meta
    assert pdf.data == PDF_BYTES
    assert pdf.meta["content_type"] == "application/pdf"


def test_charset_becomes_encoding_and_missing_type_is_guessed(http_server: LocalServer) -> None:
    latin, guessed = local_fetcher().run(urls=[http_server.url("/latin1"), http_server.url("/no-type.pdf")])[
        "streams"
    ]
    assert latin.meta["encoding"] == "ISO-8859-1"
    assert latin.to_string(latin.meta["encoding"]) == "caf\u00e9"
    assert guessed.mime_type == "application/pdf"


def test_empty_list_fetches_nothing() -> None:
    assert local_fetcher().run(urls=[]) == {"streams": []}


def test_redirects_are_followed_and_recorded(http_server: LocalServer) -> None:
    stream = local_fetcher().run(urls=[http_server.url("/redirect-chain")])["streams"][0]
    assert stream.data.decode("utf-8") == HTML_BODY
    assert stream.meta["url"] == http_server.url("/redirect-chain")
    assert stream.meta["final_url"] == http_server.url("/html")


def test_redirect_limits(http_server: LocalServer) -> None:
    with pytest.raises(ComponentError, match="max_redirects=3"):
        fast_fetcher(max_redirects=3, retry_attempts=0).run(urls=[http_server.url("/redirect-loop")])
    with pytest.raises(ComponentError, match="max_redirects=1"):
        fast_fetcher(max_redirects=1).run(urls=[http_server.url("/redirect-chain")])


def test_redirect_to_local_file_is_refused(http_server: LocalServer) -> None:
    with pytest.raises(ComponentError, match="refused redirect to 'file:///etc/passwd'"):
        fast_fetcher().run(urls=[http_server.url("/redirect-to-file")])


def test_user_agent_rotates_per_attempt_and_5xx_is_retried(http_server: LocalServer) -> None:
    fetcher = fast_fetcher(user_agents=["agent-a/1", "agent-b/2"])
    stream = fetcher.run(urls=[http_server.url("/flaky-ua")])["streams"][0]
    assert stream.data == b"recovered"
    assert http_server.state.user_agents["/flaky-ua"] == ["agent-a/1", "agent-b/2"]


def test_default_user_agent_is_sent(http_server: LocalServer) -> None:
    local_fetcher().run(urls=[http_server.url("/text?ua")])
    assert http_server.state.user_agents["/text"][-1] == DEFAULT_USER_AGENT


def test_429_is_retried(http_server: LocalServer) -> None:
    assert fast_fetcher().run(urls=[http_server.url("/busy")])["streams"][0].data == b"ok now"
    assert http_server.state.hits["/busy"] == 2


def test_retries_are_bounded(http_server: LocalServer) -> None:
    before = http_server.state.hits.get("/always-500", 0)
    with pytest.raises(ComponentError, match="HTTP 500") as info:
        fast_fetcher(retry_attempts=2).run(urls=[http_server.url("/always-500")])
    assert http_server.state.hits["/always-500"] - before == 3
    assert http_server.url("/always-500") in str(info.value)
    assert "raise_on_failure=False" in str(info.value)


def test_404_is_not_retried_and_names_url_and_fix(http_server: LocalServer) -> None:
    before = http_server.state.hits.get("/missing", 0)
    with pytest.raises(ComponentError) as info:
        fast_fetcher().run(urls=[http_server.url("/text"), http_server.url("/missing")])
    message = str(info.value)
    assert http_server.url("/missing") in message
    assert "HTTP 404" in message
    assert "raise_on_failure=False" in message
    assert http_server.state.hits["/missing"] - before == 1


def test_oversized_bodies_are_refused(http_server: LocalServer) -> None:
    fetcher = fast_fetcher(max_content_bytes=BIG_SIZE // 2)
    with pytest.raises(ComponentError, match="max_content_bytes=2500") as declared:
        fetcher.run(urls=[http_server.url("/big-declared")])
    assert "Content-Length" in str(declared.value)
    with pytest.raises(ComponentError, match="max_content_bytes=2500") as streamed:
        fetcher.run(urls=[http_server.url("/big-streamed")])
    assert "arrived" in str(streamed.value)
    full = fast_fetcher(max_content_bytes=BIG_SIZE).run(urls=[http_server.url("/big-streamed")])
    assert full["streams"][0].data == b"y" * BIG_SIZE


def test_slow_endpoint_times_out(http_server: LocalServer) -> None:
    start = time.perf_counter()
    with pytest.raises(ComponentError, match="timed out"):
        local_fetcher(timeout=0.3, retry_attempts=0).run(urls=[http_server.url("/slow")])
    assert time.perf_counter() - start < 1.2


def test_closed_port_fails_after_retries(closed_port_url: str) -> None:
    with pytest.raises(ComponentError, match="ConnectError") as info:
        fast_fetcher(retry_attempts=1).run(urls=[closed_port_url])
    assert closed_port_url in str(info.value)


def test_without_raise_on_failure_failures_become_empty_streams(
    http_server: LocalServer, closed_port_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    urls = [http_server.url("/text"), http_server.url("/missing"), closed_port_url, http_server.url("/pdf")]
    with caplog.at_level(logging.WARNING, logger="haybale.components.fetchers.link_content_fetcher"):
        streams = fast_fetcher(raise_on_failure=False, retry_attempts=0).run(urls=urls)["streams"]
    assert len(streams) == 4
    assert streams[0].data == b"plain words"
    assert streams[3].data == PDF_BYTES
    missing, refused = streams[1], streams[2]
    assert missing.data == b""
    assert missing.mime_type is None
    assert missing.meta["url"] == urls[1]
    assert missing.meta["status"] == 404
    assert "HTTP 404" in missing.meta["error"]
    assert refused.data == b""
    assert refused.meta["status"] is None
    assert refused.meta["url"] == closed_port_url
    warned = [r.getMessage() for r in caplog.records]
    assert any(urls[1] in m for m in warned)
    assert any(closed_port_url in m for m in warned)


# --- run_async --------------------------------------------------------------------------------------------


async def test_run_async_fetches_concurrently(http_server: LocalServer) -> None:
    urls = [http_server.url(f"/delay-async-{i}") for i in range(6)]
    start = time.perf_counter()
    streams = (await local_fetcher().run_async(urls=urls))["streams"]
    elapsed = time.perf_counter() - start
    assert [s.data.decode() for s in streams] == [f"/delay-async-{i}" for i in range(6)]
    assert elapsed < 6 * 0.4 / 2  # serial fetching would take 2.4 s


def test_run_fetches_concurrently(http_server: LocalServer) -> None:
    urls = [http_server.url(f"/delay-sync-{i}") for i in range(6)]
    start = time.perf_counter()
    streams = local_fetcher().run(urls=urls)["streams"]
    assert time.perf_counter() - start < 6 * 0.4 / 2
    assert [s.data.decode() for s in streams] == [f"/delay-sync-{i}" for i in range(6)]


async def test_run_async_retries_and_reports_failures(http_server: LocalServer) -> None:
    fetcher = fast_fetcher(raise_on_failure=False, user_agents=["x/1", "y/2"])
    streams = (await fetcher.run_async(urls=[http_server.url("/flaky-async"), http_server.url("/missing")]))[
        "streams"
    ]
    assert streams[0].data == b"recovered"
    assert http_server.state.user_agents["/flaky-async"] == ["x/1", "y/2"]
    assert streams[1].data == b""
    assert streams[1].meta["status"] == 404
    with pytest.raises(ComponentError, match="max_content_bytes"):
        await fast_fetcher(max_content_bytes=100).run_async(urls=[http_server.url("/big-streamed")])


# --- bad input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("file:///etc/passwd", "scheme 'file'"),
        ("FILE:///etc/passwd", "scheme 'file'"),
        ("ftp://example.com/data.csv", "scheme 'ftp'"),
        ("/etc/passwd", "no scheme"),
        ("example.com/page", "no scheme"),
        ("http:///path-without-host", "has no host"),
        ("http://exa mple.com/", "whitespace"),
        ("http://example.com:99999999/", "not a valid URL"),
        ("", "non-empty string"),
    ],
)
def test_bad_urls_are_refused_before_any_fetch(http_server: LocalServer, url: str, match: str) -> None:
    before = dict(http_server.state.hits)
    with pytest.raises(ComponentError, match=match):
        # raise_on_failure=False does not turn bad input into empty streams
        local_fetcher(raise_on_failure=False).run(urls=[http_server.url("/text-bad-input"), url])
    assert http_server.state.hits == before


async def test_bad_urls_are_refused_by_run_async() -> None:
    with pytest.raises(ComponentError, match="scheme 'file'"):
        await local_fetcher().run_async(urls=["file:///etc/passwd"])


def test_https_only_refuses_http(http_server: LocalServer) -> None:
    with pytest.raises(ComponentError, match=r"only \['https'\] are allowed"):
        local_fetcher(allowed_schemes=["https"]).run(urls=[http_server.url("/text")])


@pytest.mark.parametrize("urls", ["http://example.com", None, [3]])
def test_urls_must_be_a_list_of_strings(urls: Any) -> None:
    with pytest.raises(ComponentError, match=r"urls must be a list|non-empty string"):
        local_fetcher().run(urls=urls)


# --- pipelines --------------------------------------------------------------------------------------------


def test_fetch_then_convert_pipeline(http_server: LocalServer) -> None:
    pipeline = Pipeline()
    pipeline.add_component("fetcher", local_fetcher())
    pipeline.add_component("converter", HTMLToDocument())
    pipeline.connect("fetcher.streams", "converter.sources")
    result = pipeline.run({"fetcher": {"urls": [http_server.url("/html")]}})
    documents = result["converter"]["documents"]
    assert len(documents) == 1
    assert "Needles in haystacks, caf\u00e9." in documents[0].content
    assert documents[0].meta["url"] == http_server.url("/html")


def test_pipeline_wraps_fetch_failure(http_server: LocalServer) -> None:
    pipeline = Pipeline()
    pipeline.add_component("fetcher", fast_fetcher())
    with pytest.raises(PipelineRuntimeError) as info:
        pipeline.run({"fetcher": {"urls": [http_server.url("/missing")]}})
    assert isinstance(info.value.__cause__, ComponentError)
    assert http_server.url("/missing") in str(info.value.__cause__)


# --- server-side request forgery ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",  # cloud metadata
        "http://127.0.0.1:9/admin",
        "http://localhost:9/",
        "http://[::1]:9/",
        "http://[::ffff:127.0.0.1]:9/",  # IPv4-mapped IPv6
        "http://2130706433:9/",  # 127.0.0.1 written as a number
        "http://0.0.0.0:9/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://100.64.0.1/",  # carrier-grade NAT, shared address space
    ],
)
def test_non_public_addresses_are_refused_by_default(url: str) -> None:
    with pytest.raises(ComponentError, match="not a public address") as info:
        fast_fetcher(allowed_hosts=None, retry_attempts=0).run(urls=[url])
    assert "allowed_hosts" in str(info.value)  # the message names the fix


def test_the_loopback_server_is_never_contacted_unless_allowed(http_server: LocalServer) -> None:
    before = http_server.state.hits.get("/text", 0)
    with pytest.raises(ComponentError, match="not a public address"):
        LinkContentFetcher(retry_attempts=0).run(urls=[http_server.url("/text")])
    assert http_server.state.hits.get("/text", 0) == before
    assert local_fetcher().run(urls=[http_server.url("/text")])["streams"][0].data == b"plain words"


@pytest.mark.parametrize("route", ["/redirect-to-loopback", "/redirect-to-metadata"])
async def test_redirects_to_non_public_addresses_are_refused(http_server: LocalServer, route: str) -> None:
    # "localhost" is allowed by name; the redirect target (127.0.0.1, 169.254.169.254) is not.
    url = http_server.url(route).replace("127.0.0.1", "localhost")
    fetcher = fast_fetcher(allowed_hosts=["localhost"], retry_attempts=0)
    with pytest.raises(ComponentError, match="not a public address"):
        fetcher.run(urls=[url])
    with pytest.raises(ComponentError, match="not a public address"):
        await fetcher.run_async(urls=[url])


def test_allowed_networks_open_private_ranges_and_serialize() -> None:
    fetcher = LinkContentFetcher(allowed_hosts=["10.0.0.0/8", "wiki.internal"])
    restored = LinkContentFetcher.from_dict(fetcher.to_dict())
    assert restored.to_dict()["init_parameters"]["allowed_hosts"] == ["10.0.0.0/8", "wiki.internal"]
    with pytest.raises(ComponentError, match="allowed_hosts entries"):
        LinkContentFetcher(allowed_hosts=[""])
