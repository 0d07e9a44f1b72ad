"""haybale: typed components wired into pipelines, for RAG, agents and document processing.

The public surface: ``from haybale import component, Pipeline, Document, Variadic, GreedyVariadic``.
"""

from haybale import errors
from haybale.core import (
    Breakpoint,
    GreedyVariadic,
    InputSocket,
    OutputSocket,
    Pipeline,
    PipelineSnapshot,
    Secret,
    SuperComponent,
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
    BreakpointReached,
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
    "Breakpoint",
    "BreakpointReached",
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
    "PipelineSnapshot",
    "PipelineValidationError",
    "Secret",
    "SerializationError",
    "SparseEmbedding",
    "StreamingChunk",
    "SuperComponent",
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
