"""Data classes that flow between components."""

from haybale.dataclasses.answer import GeneratedAnswer
from haybale.dataclasses.byte_stream import ByteStream
from haybale.dataclasses.chat_message import ChatMessage, ChatRole, TextContent, ToolCall, ToolCallResult
from haybale.dataclasses.document import VOLATILE_META_KEYS, Document, compute_document_id
from haybale.dataclasses.image_content import ImageContent
from haybale.dataclasses.source import Source
from haybale.dataclasses.sparse_embedding import SparseEmbedding
from haybale.dataclasses.streaming_chunk import StreamingChunk

__all__ = [
    "VOLATILE_META_KEYS",
    "ByteStream",
    "ChatMessage",
    "ChatRole",
    "Document",
    "GeneratedAnswer",
    "ImageContent",
    "Source",
    "SparseEmbedding",
    "StreamingChunk",
    "TextContent",
    "ToolCall",
    "ToolCallResult",
    "compute_document_id",
]
