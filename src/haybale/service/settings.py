"""Service settings: where the index lives, upload limits, API keys, pipelines, embedding and chunking.

Settings are a plain dataclass so tests and embedders can build them directly;
:meth:`ServiceSettings.from_env` reads them from ``HAYBALE_*`` environment variables (what ``haybale serve``
and container deployments use):

==============================  ====================================================================
``HAYBALE_STORE_URL``           store URL (default ``sqlite:///.haybale/index.db``)
``HAYBALE_MAX_UPLOAD_BYTES``    largest accepted upload in bytes (default 50 MiB)
``HAYBALE_API_KEYS``            ``key1:tenant_a,key2:tenant_b``; when any key is set, every route but
                                ``/health`` needs ``Authorization: Bearer <key>``
``HAYBALE_API_KEYS_FILE``       a file of ``key:tenant`` lines (``#`` comments), or a JSON object
``HAYBALE_PIPELINES_DIR``       folder of ``<name>.yaml`` pipelines served at ``/pipelines/<name>/run``
``HAYBALE_ALLOWED_MODULES``     extra module prefixes those pipelines may load types from (comma-separated)
``HAYBALE_EMBEDDING_MODEL``     sentence-transformers model for chunks and queries
``HAYBALE_EMBED``               ``0`` to store chunks without embeddings (BM25 only)
``HAYBALE_CHUNK_SIZE`` / ``HAYBALE_CHUNK_OVERLAP`` / ``HAYBALE_SPLIT_BY``   chunking
``HAYBALE_LLM_BASE_URL`` / ``HAYBALE_LLM_MODEL``   chat model (:func:`haybale.rag.chat_generator_from_env`)
==============================  ====================================================================
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from haybale.errors import SettingsError
from haybale.stores.url import DEFAULT_STORE_URL

__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "ServiceSettings", "SettingsError", "parse_api_keys"]

DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_SPLIT_UNITS = ("word", "sentence", "passage", "page", "line", "character", "token")


def parse_api_keys(text: str, where: str) -> dict[str, str]:
    """Parse API keys: a JSON object ``{"key": "tenant"}``, or ``key:tenant`` entries (lines or commas).

    Args:
        text: the keys text.
        where: where it came from, for error messages.

    Raises:
        SettingsError: an entry is not ``key:tenant``, a key or tenant is empty, or a key repeats.
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
        return {k.strip(): v.strip() for k, v in data.items()}
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
    return keys


def _int_setting(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer.") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} must be at least {minimum}.")
    return value


@dataclass
class ServiceSettings:
    """Everything :func:`haybale.service.create_app` needs to know.

    Attributes:
        store_url: the document store URL (see :mod:`haybale.stores.url`).
        max_upload_bytes: uploads larger than this are refused with 413 while they stream in.
        api_keys: API key -> tenant. Empty: no authentication and no tenant scoping.
        pipelines_dir: folder of ``<name>.yaml`` pipelines for ``POST /pipelines/{name}/run``; None: none.
        allowed_modules: extra module prefixes those pipelines may instantiate types from (besides haybale).
        embedding_model: sentence-transformers model embedding chunks and queries.
        embed: compute embeddings on ingestion (hybrid search needs them).
        split_by / chunk_size / chunk_overlap: how documents are chunked.
        llm_base_url / llm_model: an OpenAI-compatible chat server for ``/v1/chat/completions``; without a
            base URL the local SmolLM2 model answers.
        rag_top_k: how many retrieved chunks reach the chat prompt.
    """

    store_url: str = DEFAULT_STORE_URL
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    api_keys: dict[str, str] = field(default_factory=dict)
    pipelines_dir: Path | None = None
    allowed_modules: tuple[str, ...] = ()
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    embed: bool = True
    split_by: str = "word"
    chunk_size: int = 200
    chunk_overlap: int = 20
    llm_base_url: str | None = None
    llm_model: str | None = None
    rag_top_k: int = 5

    def __post_init__(self) -> None:
        if not isinstance(self.max_upload_bytes, int) or self.max_upload_bytes < 1:
            raise SettingsError(
                f"max_upload_bytes must be a positive integer, got {self.max_upload_bytes!r}."
            )
        if self.split_by not in _SPLIT_UNITS:
            raise SettingsError(f"split_by={self.split_by!r} is not one of {list(_SPLIT_UNITS)}.")
        if self.chunk_size < 1 or not 0 <= self.chunk_overlap < self.chunk_size:
            raise SettingsError(
                f"chunk_overlap ({self.chunk_overlap}) must be >= 0 and smaller than chunk_size "
                f"({self.chunk_size}), which must be positive."
            )
        if self.rag_top_k < 1:
            raise SettingsError(f"rag_top_k must be positive, got {self.rag_top_k}.")
        if self.pipelines_dir is not None:
            self.pipelines_dir = Path(self.pipelines_dir)

    @property
    def auth_enabled(self) -> bool:
        """Whether requests need an API key (some key is configured)."""
        return bool(self.api_keys)

    def llm_environ(self) -> dict[str, str]:
        """The environment :func:`haybale.rag.chat_generator_from_env` should see for these settings."""
        from haybale.rag import LLM_BASE_URL_ENV, LLM_MODEL_ENV

        env: dict[str, str] = {}
        if self.llm_base_url:
            env[LLM_BASE_URL_ENV] = self.llm_base_url
        if self.llm_model:
            env[LLM_MODEL_ENV] = self.llm_model
        return env

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        """Read settings from ``HAYBALE_*`` variables (see the module docstring).

        Raises:
            SettingsError: a variable holds an invalid value, or the API keys file cannot be read.
        """
        env = os.environ if environ is None else environ
        keys: dict[str, str] = {}
        keys_file = (env.get("HAYBALE_API_KEYS_FILE") or "").strip()
        if keys_file:
            try:
                text = Path(keys_file).expanduser().read_text(encoding="utf-8")
            except OSError as exc:
                raise SettingsError(
                    f"HAYBALE_API_KEYS_FILE={keys_file!r} cannot be read: {exc.strerror or exc}."
                ) from None
            keys.update(parse_api_keys(text, f"HAYBALE_API_KEYS_FILE ({keys_file})"))
        if (env.get("HAYBALE_API_KEYS") or "").strip():
            keys.update(parse_api_keys(env["HAYBALE_API_KEYS"], "HAYBALE_API_KEYS"))
        pipelines = (env.get("HAYBALE_PIPELINES_DIR") or "").strip()
        modules = tuple(m.strip() for m in (env.get("HAYBALE_ALLOWED_MODULES") or "").split(",") if m.strip())
        return cls(
            store_url=(env.get("HAYBALE_STORE_URL") or "").strip() or DEFAULT_STORE_URL,
            max_upload_bytes=_int_setting(env, "HAYBALE_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES, 1),
            api_keys=keys,
            pipelines_dir=Path(pipelines).expanduser() if pipelines else None,
            allowed_modules=modules,
            embedding_model=(env.get("HAYBALE_EMBEDDING_MODEL") or "").strip() or DEFAULT_EMBEDDING_MODEL,
            embed=(env.get("HAYBALE_EMBED") or "1").strip().lower() not in ("0", "false", "no", "off"),
            split_by=(env.get("HAYBALE_SPLIT_BY") or "").strip() or "word",
            chunk_size=_int_setting(env, "HAYBALE_CHUNK_SIZE", 200, 1),
            chunk_overlap=_int_setting(env, "HAYBALE_CHUNK_OVERLAP", 20, 0),
            llm_base_url=(env.get("HAYBALE_LLM_BASE_URL") or "").strip() or None,
            llm_model=(env.get("HAYBALE_LLM_MODEL") or "").strip() or None,
        )
