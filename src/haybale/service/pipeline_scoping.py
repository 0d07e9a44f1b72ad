"""Binding a served pipeline to the tenant scope, or refusing it when that cannot be guaranteed.

When a YAML pipeline is loaded for ``/pipelines/{name}/run``, every document store any component holds —
directly, or inside a nested component, pipeline or tool (an agent's or a tool invoker's ``ComponentTool``
wrapping a retriever, say) — is replaced by a
:class:`~haybale.stores.tenant_scope.TenantScopedStore` over it. Whatever the component (retriever, writer,
cache checker, a custom component from an allow-listed module), its store calls then only see and change the
calling tenant's documents.

A pipeline is refused at load time, with the reason, when a store sits where it cannot be replaced (inside a
list, dict or other container), a component holds a method bound to a store, or an object offers part of the
store interface without being a complete store (it could be a handle the scope does not cover).
"""

from __future__ import annotations

import inspect
from typing import Any

from haybale.errors import DeserializationError
from haybale.stores.protocol import DocumentStore
from haybale.stores.tenant_scope import TenantScopedStore

__all__ = ["UnscopablePipelineError", "scope_pipeline_stores"]

#: Methods whose presence marks an object as (part of) a document store.
_STORE_METHODS = (
    "filter_documents",
    "write_documents",
    "bm25_search",
    "embedding_search",
    "delete_by_filter",
)
_MAX_DEPTH = 12


class UnscopablePipelineError(DeserializationError):
    """A served pipeline holds a store the tenant scope cannot cover; the message says where and why."""


def _is_store(value: Any) -> bool:
    return not isinstance(value, type) and isinstance(value, DocumentStore)


def _looks_like_store(value: Any) -> bool:
    return not isinstance(value, type) and any(callable(getattr(value, m, None)) for m in _STORE_METHODS)


def _contains_store(value: Any) -> bool:
    return any(_looks_like_store(item) or _contains_store(item) for item in _members(value))


def _is_pipeline(value: Any) -> bool:
    return callable(getattr(value, "walk", None)) and callable(getattr(value, "route_inputs", None))


def _is_component(value: Any) -> bool:
    from haybale.core.component import is_component

    return not isinstance(value, type) and (is_component(value) or callable(getattr(value, "run", None)))


def _is_tool(value: Any) -> bool:
    from haybale.tools import Tool

    return isinstance(value, Tool)


def _walkable(value: Any) -> bool:
    """Objects whose attributes may hold stores: components, pipelines, tools, methods bound to them."""
    if inspect.ismethod(value):
        return _walkable(value.__self__)
    return _is_pipeline(value) or _is_component(value) or _is_tool(value)


def _members(value: Any) -> list[Any]:
    """The items of a container attribute (a list of tools, a dict of components...)."""
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return []


def _scope_object(obj: Any, where: str, depth: int, seen: set[int], bound: list[str]) -> None:
    if inspect.ismethod(obj):
        obj = obj.__self__
    if id(obj) in seen:
        return
    if depth > _MAX_DEPTH:
        raise UnscopablePipelineError(
            f"{where} is nested more than {_MAX_DEPTH} levels deep (components, pipelines and tools inside "
            "each other), too deep to check for document stores. Flatten the pipeline."
        )
    seen.add(id(obj))
    if _is_pipeline(obj):
        for name, component in obj.walk():
            _scope_object(component, f"{where}.{name}", depth + 1, seen, bound)
        return
    attributes = getattr(obj, "__dict__", None)
    if not isinstance(attributes, dict):
        return
    for attribute, value in list(attributes.items()):
        if attribute.startswith("__haybale_"):  # the engine's own bookkeeping (captured init parameters)
            continue
        _scope_attribute(obj, attribute, value, f"{where}.{attribute}", (depth, seen, bound))


def _scope_attribute(
    obj: Any, attribute: str, value: Any, place: str, walk: tuple[int, set[int], list[str]]
) -> None:
    depth, seen, bound = walk
    if isinstance(value, TenantScopedStore):
        return
    bound_to = value.__self__ if inspect.ismethod(value) else None
    if _looks_like_store(bound_to) and not isinstance(bound_to, TenantScopedStore):
        raise UnscopablePipelineError(
            f"{place} holds a method of a document store ({type(bound_to).__name__}."
            f"{value.__func__.__name__}), which would reach the store past the tenant scope. Give the "
            "component the store itself and call the method on it."
        )
    if _is_store(value):
        setattr(obj, attribute, TenantScopedStore(value))
        bound.append(place)
    elif _looks_like_store(value):
        raise UnscopablePipelineError(
            f"{place} holds a {type(value).__name__}, which offers part of the document store interface "
            "but not all of it, so the tenant scope cannot be applied to it. Serve this pipeline only "
            "without API keys, or give the component a complete document store."
        )
    elif _contains_store(value):
        raise UnscopablePipelineError(
            f"{place} holds document stores inside a {type(value).__name__}, where the tenant scope "
            "cannot be applied. Give the component its store(s) as plain attributes."
        )
    elif _walkable(value):
        _scope_object(value, place, depth + 1, seen, bound)
    else:
        for index, member in enumerate(_members(value)):
            if _walkable(member):
                _scope_object(member, f"{place}[{index}]", depth + 1, seen, bound)


def scope_pipeline_stores(pipeline: Any, name: str) -> list[str]:
    """Replace every document store the pipeline's components hold with a tenant-scoped view of it.

    Args:
        pipeline: the loaded pipeline (changed in place).
        name: the pipeline's name, for messages.

    Returns:
        Where stores were bound (``name.component.attribute``), for logs.

    Raises:
        UnscopablePipelineError: a store sits where the scope cannot reach; nothing is served.
    """
    bound: list[str] = []
    _scope_object(pipeline, name, 0, set(), bound)
    return bound
