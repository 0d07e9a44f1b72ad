"""Fixtures for the tracing tests: tracing switched off after each test, and chat generators talking to a
scripted OpenAI-compatible server over real HTTP (the OpenTelemetry ``otel`` fixture is suite-wide)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from haybale.components.generators import OpenAIChatGenerator
from haybale.core.secret import Secret
from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend
from haybale.tracing import disable_tracing


@pytest.fixture(autouse=True)
def _tracing_off() -> Iterator[None]:
    yield
    disable_tracing()


@pytest.fixture
def scripted_generator() -> Iterator[Callable[[list[Any]], tuple[ScriptedChatBackend, OpenAIChatGenerator]]]:
    """Start a scripted chat server; return ``(backend, OpenAIChatGenerator pointed at it)``."""
    with contextlib.ExitStack() as stack:

        def start(script: list[Any]) -> tuple[ScriptedChatBackend, OpenAIChatGenerator]:
            backend = ScriptedChatBackend(script)
            server = stack.enter_context(serve_chat_backend(backend, model_name="scripted-model"))
            generator = OpenAIChatGenerator(
                api_key=Secret.from_token("k"),
                model="scripted-model",
                base_url=server.base_url,
                generation_kwargs={"temperature": 0.0, "max_tokens": 64},
            )
            return backend, generator

        yield start
