"""Caching: components that skip work already done, by looking it up in a document store."""

from haybale.components.caching.cache_checker import CacheChecker

__all__ = ["CacheChecker"]
