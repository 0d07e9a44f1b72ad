"""Routers: send inputs to different outputs by file type, condition or metadata."""

from haybale.components.routers.conditional_router import ConditionalRouter, NoRouteSelectedError
from haybale.components.routers.file_type_router import FileTypeRouter
from haybale.components.routers.metadata_router import MetadataRouter

__all__ = ["ConditionalRouter", "FileTypeRouter", "MetadataRouter", "NoRouteSelectedError"]
