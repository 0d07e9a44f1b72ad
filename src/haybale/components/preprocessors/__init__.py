"""Preprocessors: clean and split documents before embedding and indexing."""

from haybale.components.preprocessors.document_cleaner import DocumentCleaner
from haybale.components.preprocessors.document_splitter import DocumentSplitter

__all__ = ["DocumentCleaner", "DocumentSplitter"]
