"""haybale: typed components wired into pipelines, for RAG, agents and document processing.

The public surface: ``from haybale import component, Pipeline, Document, Variadic, GreedyVariadic``.
"""

from haybale import errors
from haybale.core import (
    GreedyVariadic,
    InputSocket,
    OutputSocket,
    Pipeline,
    Secret,
    Variadic,
    component,
    default_from_dict,
    default_to_dict,
    deserialize_object,
)
from haybale.dataclasses import (
    ByteStream,
    ChatMessage,
    ChatRole,
    Document,
    GeneratedAnswer,
    SparseEmbedding,
    StreamingChunk,
    ToolCall,
    ToolCallResult,
)
from haybale.errors import (
    ComponentError,
    DeserializationError,
    HaybaleError,
    PipelineComponentsBlockedError,
    PipelineConnectError,
    PipelineError,
    PipelineMaxComponentRuns,
    PipelineRuntimeError,
    PipelineValidationError,
    SerializationError,
)

__version__ = "0.1.0"

__all__ = [
    "ByteStream",
    "ChatMessage",
    "ChatRole",
    "ComponentError",
    "DeserializationError",
    "Document",
    "GeneratedAnswer",
    "GreedyVariadic",
    "HaybaleError",
    "InputSocket",
    "OutputSocket",
    "Pipeline",
    "PipelineComponentsBlockedError",
    "PipelineConnectError",
    "PipelineError",
    "PipelineMaxComponentRuns",
    "PipelineRuntimeError",
    "PipelineValidationError",
    "Secret",
    "SerializationError",
    "SparseEmbedding",
    "StreamingChunk",
    "ToolCall",
    "ToolCallResult",
    "Variadic",
    "__version__",
    "component",
    "default_from_dict",
    "default_to_dict",
    "deserialize_object",
    "errors",
]
