"""Writers: components that put documents into a document store."""

from haybale.components.writers.document_writer import DocumentWriter

__all__ = ["DocumentWriter"]
