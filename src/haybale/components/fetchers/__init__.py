"""Fetchers: components that download content from the web into ByteStreams."""

from haybale.components.fetchers.link_content_fetcher import LinkContentFetcher

__all__ = ["LinkContentFetcher"]
