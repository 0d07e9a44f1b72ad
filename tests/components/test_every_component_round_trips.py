"""Every shipped component round-trips exactly through to_dict/from_dict and through a YAML pipeline.

The list of components is discovered by walking ``haybale.components``; a new component is covered
automatically, and one that needs init arguments this test cannot build fails until it gets a factory below.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from typing import Any

import pytest

import haybale.components
from haybale.core.component import is_component
from haybale.core.pipeline import Pipeline
from haybale.core.secret import Secret
from haybale.stores import InMemoryDocumentStore
from haybale.stores.scoring import sigmoid
from haybale.tools import tool


def _chat_generator() -> Any:
    from haybale.components.generators import OpenAIChatGenerator

    return OpenAIChatGenerator(api_key=Secret.from_env_var("HAYBALE_TEST_NO_KEY", strict=False), model="m")


def _text_embedder() -> Any:
    from haybale.components.embedders import SentenceTransformersTextEmbedder

    return SentenceTransformersTextEmbedder(progress_bar=False)


#: Required init arguments, by parameter name (a component-specific entry wins over a generic one).
FACTORIES: dict[str, Callable[[], Any]] = {
    "document_store": InMemoryDocumentStore,
    "text_embedder": _text_embedder,
    "chat_generator": _chat_generator,
    "template": lambda: "Answer {{ query }} from {{ documents | length }} documents.",
    "cache_field": lambda: "meta.url",
    "type_": lambda: int,
    "meta_field": lambda: "rating",
    "routes": lambda: [
        {"condition": "{{ n > 1 }}", "output": "{{ n }}", "output_name": "big", "output_type": int},
    ],
    "mime_types": lambda: ["text/plain", "application/pdf"],
    "rules": lambda: {"english": {"field": "meta.lang", "operator": "==", "value": "en"}},
    # A function inside haybale, so component-level from_dict (default allow-list) can import it.
    "tools": lambda: [tool(sigmoid)],
    "instructions": lambda: "Is the answer supported by the context? Answer 1 or 0.",
    "inputs": lambda: [("question", list[str]), ("answer", list[str])],
    "outputs": lambda: ["score"],
    "examples": lambda: [{"inputs": {"question": "q", "answer": "a"}, "outputs": {"score": 1}}],
}


def _components() -> list[type]:
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(haybale.components.__path__, prefix="haybale.components."):
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if value.__module__ == info.name and is_component(value):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


COMPONENTS = _components()


def _build(cls: type) -> Any:
    arguments = {}
    for parameter in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            continue
        if parameter.default is inspect.Parameter.empty:
            factory = FACTORIES.get(parameter.name)
            assert factory is not None, f"no factory for {cls.__name__}({parameter.name}=...): add one above"
            arguments[parameter.name] = factory()
    return cls(**arguments)


def test_the_walk_finds_the_components_of_every_role() -> None:
    names = {cls.__name__ for cls in COMPONENTS}
    assert len(COMPONENTS) >= 60
    assert {"DocumentSplitter", "HybridRetriever", "OpenAIChatGenerator", "ToolInvoker", "Agent"} <= names


@pytest.mark.parametrize("cls", COMPONENTS, ids=[cls.__name__ for cls in COMPONENTS])
def test_component_round_trips_through_to_dict_and_yaml(cls: type) -> None:
    component = _build(cls)
    data = component.to_dict()
    assert data["type"] == f"{cls.__module__}.{cls.__qualname__}"
    restored = cls.from_dict(data)
    assert type(restored) is cls
    assert restored.to_dict() == data
    pipeline = Pipeline()
    pipeline.add_component("component", component)
    loaded = Pipeline.loads(pipeline.dumps())
    assert loaded.to_dict() == pipeline.to_dict()
