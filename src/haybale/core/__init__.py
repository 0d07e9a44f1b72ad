"""The pipeline engine: components, sockets, type compatibility, pipelines, serialization and drawing.

``haybale.core`` imports nothing from the rest of haybale except ``haybale.errors``.
"""

from haybale.core.component import component
from haybale.core.pipeline import Pipeline
from haybale.core.secret import Secret
from haybale.core.serialization import default_from_dict, default_to_dict, deserialize_object, import_class
from haybale.core.sockets import GreedyVariadic, InputSocket, OutputSocket, Variadic

__all__ = [
    "GreedyVariadic",
    "InputSocket",
    "OutputSocket",
    "Pipeline",
    "Secret",
    "Variadic",
    "component",
    "default_from_dict",
    "default_to_dict",
    "deserialize_object",
    "import_class",
]
