"""Schemathesis over the service's own ``/openapi.json``: generated requests (multipart bodies included) for
every operation, sent over real HTTP to a served app; none may get a 5xx.

The chat model is a scripted OpenAI-compatible server (the real protocol), so generated chat requests exercise
the route, not a language model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from haybale.dataclasses import ChatMessage
from haybale.service import ServiceSettings

from .conftest import BM25_PIPELINE, CORPUS, running_service


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend

    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "pipelines").mkdir()
    (folder / "pipelines" / "search.yaml").write_text(BM25_PIPELINE.format(path=folder / "search.db"))
    backend = ScriptedChatBackend([ChatMessage.from_assistant("An answer [1].")] * 1000)
    with serve_chat_backend(backend, model_name="scripted") as chat:
        settings = ServiceSettings(
            store_url=f"sqlite:///{folder / 'index.db'}",
            pipelines_dir=folder / "pipelines",
            llm_base_url=chat.base_url,
            llm_model="scripted",
            max_upload_bytes=256 * 1024,
        )
        with running_service(settings) as service:
            response = service.client.post(
                "/process", files={"file": ("glossary.txt", (CORPUS / "glossary.txt").read_bytes())}
            )
            assert response.status_code == 200, response.text
            yield service


def _operations(url: str) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_gets_a_server_error(served: Any, mode: GenerationMode) -> None:
    operations = _operations(served.url)
    assert {"POST /process", "POST /query", "POST /delete", "POST /extract"} <= {
        f"{op.method.upper()} {op.path}" for op in operations
    }
    tested: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
                HealthCheck.data_too_large,
            ],
        )
        def check(case: Any) -> None:
            case.call_and_validate(checks=[not_a_server_error], timeout=60)

        try:
            check()
        except Unsatisfiable:  # nothing to make invalid (no parameters, no body): covered by POSITIVE
            assert mode is GenerationMode.NEGATIVE
            continue
        tested.append(operation.path)
    assert len(tested) >= (
        10 if mode is GenerationMode.POSITIVE else 6
    )  # every route, or every one with input


def test_upload_routes_document_their_multipart_bodies(served: Any) -> None:
    spec = served.client.get("/openapi.json").json()
    for route in ("/process", "/extract"):
        body = spec["paths"][route]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert body["properties"]["file"]["format"] == "binary"
    assert (
        "metadata"
        in spec["paths"]["/process"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"][
            "properties"
        ]
    )
