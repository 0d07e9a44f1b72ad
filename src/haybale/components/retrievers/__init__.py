"""Retrievers: generic over the store protocol, so swapping the store never means swapping the retriever."""

from haybale.components.retrievers.bm25 import BM25Retriever
from haybale.components.retrievers.embedding import EmbeddingRetriever
from haybale.components.retrievers.filter_policy import FilterPolicy
from haybale.components.retrievers.hybrid import HybridRetriever

__all__ = [
    "BM25Retriever",
    "EmbeddingRetriever",
    "FilterPolicy",
    "HybridRetriever",
]
