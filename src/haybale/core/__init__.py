"""The pipeline engine: components, sockets, type compatibility, pipelines, serialization and drawing.

``haybale.core`` imports nothing from the rest of haybale except ``haybale.errors``.
"""

from haybale.core.breakpoints import Breakpoint
from haybale.core.component import component
from haybale.core.pipeline import Pipeline
from haybale.core.secret import Secret
from haybale.core.serialization import default_from_dict, default_to_dict, deserialize_object, import_class
from haybale.core.snapshot import PipelineSnapshot
from haybale.core.sockets import GreedyVariadic, InputSocket, OutputSocket, Variadic
from haybale.core.super_component import SuperComponent

__all__ = [
    "Breakpoint",
    "GreedyVariadic",
    "InputSocket",
    "OutputSocket",
    "Pipeline",
    "PipelineSnapshot",
    "Secret",
    "SuperComponent",
    "Variadic",
    "component",
    "default_from_dict",
    "default_to_dict",
    "deserialize_object",
    "import_class",
]
