"""Tracing in the service, switched on by settings: spans exported over real OTLP/HTTP with GenAI attributes,
per-component latency percentiles and token usage in /metrics, live scoring of sampled runs, JSON logs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from haybale.dataclasses import ChatMessage
from haybale.errors import SettingsError
from haybale.service import ServiceSettings
from haybale.service.observability import otlp_traces_url
from haybale.testing.openai_chat_server import ScriptedChatBackend, serve_chat_backend
from haybale.testing.otlp_receiver import serve_otlp_receiver

from .conftest import running_service

CHAT_PIPELINE = """
components:
  prompt_builder:
    type: haybale.components.builders.chat_prompt_builder.ChatPromptBuilder
    init_parameters:
      template: '{%% message role="user" %%}Source: Hay is dried grass fed to cattle.
        Question: {{ query }}{%% endmessage %%}'
  llm:
    type: haybale.components.generators.openai_chat.OpenAIChatGenerator
    init_parameters:
      model: scripted
      base_url: %s
      api_key: {type: env_var, env_vars: [HAYBALE_TEST_LLM_KEY], strict: false}
connections:
  - {sender: prompt_builder.prompt, receiver: llm.messages}
"""


@pytest.fixture(scope="module")
def llm_url() -> Iterator[str]:
    backend = ScriptedChatBackend([ChatMessage.from_assistant("Hay is dried grass.")])
    with serve_chat_backend(backend, model_name="scripted") as server:
        yield server.base_url


def _wait_for(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_otlp_export_metrics_and_live_scores(tmp_path: Path, llm_url: str) -> None:
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    (pipelines / "chat.yaml").write_text(CHAT_PIPELINE % llm_url, encoding="utf-8")
    with serve_otlp_receiver() as receiver:
        settings = ServiceSettings(
            store_url=f"sqlite:///{tmp_path / 'index.db'}",
            pipelines_dir=pipelines,
            tracing_exporter="otlp",
            otlp_endpoint=receiver.traces_url.removesuffix("/v1/traces"),
            tracing_service_name="haybale-test",
            eval_sample_rate=1.0,
        )
        with running_service(settings) as service:
            for _ in range(3):
                response = service.client.post("/pipelines/chat/run", json={"query": "what is hay?"})
                assert response.status_code == 200, response.text

            def scored() -> str | None:
                text = service.client.get("/metrics").text
                return text if "haybale_live_traces_scored_total 3" in text else None

            metrics = _wait_for(scored)
        assert metrics, "the sampled runs were not scored"
        assert 'haybale_component_latency_recent_seconds{component="llm",quantile="0.99"}' in metrics
        assert 'haybale_component_runs_total{component="prompt_builder"} 3' in metrics
        # the scripted server counts words: "Hay is dried grass." is 4 tokens, three times
        assert 'haybale_gen_ai_tokens_total{component="llm",model="scripted",type="output"} 12' in metrics
        assert 'haybale_live_rubric_score{component="llm",rubric="groundedness"} 1.0' in metrics
        assert "haybale_http_requests_total" in metrics  # the service's own metrics are still there
        spans = _wait_for(lambda: receiver.spans if len(receiver.spans) >= 12 else None)
    assert spans, "the exporter did not flush on shutdown"
    names = [s.name for s in spans]
    assert names.count("haybale.pipeline.run") == 3 and names.count("haybale.evaluation") == 3
    llm = next(s for s in spans if s.attributes.get("haybale.component.name") == "llm")
    assert llm.resource["service.name"] == "haybale-test"
    assert llm.attributes["openinference.span.kind"] == "LLM"
    assert llm.attributes["gen_ai.request.model"] == "scripted"
    assert llm.attributes["gen_ai.usage.output_tokens"] == 4
    assert llm.attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert "gen_ai.input.messages" not in llm.attributes  # content tracing is off by default
    roots = {s.span_id: s for s in spans if s.name == "haybale.pipeline.run"}
    for evaluation in (s for s in spans if s.name == "haybale.evaluation"):
        assert evaluation.parent_span_id in roots
        assert roots[evaluation.parent_span_id].trace_id == evaluation.trace_id
        assert evaluation.attributes["haybale.eval.llm.groundedness"] == 1.0


def test_tracing_settings_are_checked() -> None:
    with pytest.raises(SettingsError, match="HAYBALE_TRACING_EXPORTER='zipkin'"):
        ServiceSettings.load({"HAYBALE_TRACING_EXPORTER": "zipkin"})
    with pytest.raises(SettingsError, match="HAYBALE_TRACING_SPANS_FILE"):
        ServiceSettings.load({"HAYBALE_TRACING_EXPORTER": "jsonl"})
    with pytest.raises(SettingsError, match="HAYBALE_EVAL_SAMPLE_RATE"):
        ServiceSettings.load({"HAYBALE_EVAL_SAMPLE_RATE": "1.5"})
    with pytest.raises(SettingsError, match="unknown rubrics"):
        ServiceSettings.load({"HAYBALE_EVAL_RUBRICS": "groundedness,vibes"})
    loaded = ServiceSettings.load(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "HAYBALE_LOG_FORMAT": "JSON"}
    )
    assert otlp_traces_url(loaded.otlp_endpoint) == "http://collector:4318/v1/traces"
    assert loaded.log_format == "json"


def test_serve_logs_json_lines(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spans = tmp_path / "spans.jsonl"
    command = [
        sys.executable,
        "-m",
        "haybale.cli.main",
        "serve",
        "--port",
        str(port),
        "--store",
        f"sqlite:///{tmp_path / 'served.db'}",
        "--log-format",
        "json",
        "--tracing-exporter",
        "jsonl",
    ]
    environment = {**__import__("os").environ, "HAYBALE_TRACING_SPANS_FILE": str(spans)}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment
    )
    try:
        ready = _wait_for(lambda: _get(f"http://127.0.0.1:{port}/health"), timeout=60)
        assert ready, "haybale serve did not start"
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(line["logger"] == "uvicorn.access" and "/health" in line["message"] for line in lines), output
    assert all({"timestamp", "level", "logger", "message"} <= set(line) for line in lines)
    assert "tracing: jsonl" in output


def _get(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False
