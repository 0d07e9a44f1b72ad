"""Settings: the Helix service's variables and haybale's own, precedence, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from haybale.app.settings import (
    DEFAULT_LOCAL_EMBEDDING_MODEL,
    DEFAULT_REMOTE_EMBEDDING_MODEL,
    Settings,
    parse_api_keys,
)
from haybale.errors import SettingsError
from haybale.stores.url import DEFAULT_STORE_URL


def test_defaults_follow_the_seed_chunking_and_the_local_model() -> None:
    settings = Settings.load({})
    assert settings.store_url == DEFAULT_STORE_URL
    assert (settings.split_by, settings.chunk_size, settings.chunk_overlap) == ("character", 500, 50)
    assert settings.resolved_embedding_model == DEFAULT_LOCAL_EMBEDDING_MODEL
    assert settings.hybrid_weights == (0.6, 0.4)
    assert settings.vision_enabled is True
    assert not settings.auth_enabled


def test_helix_variables_are_read() -> None:
    env = {
        "PGVECTOR_DSN": "postgresql://postgres:postgres@pgvector:5432/postgres",
        "LOG_LEVEL": "DEBUG",
        "VLLM_BASE_URL": "http://vllm:8000",
        "RAG_HAYSTACK_EMBEDDINGS_MODEL": "MrLight/dse-qwen2-2b-mrl-v1",
        "RAG_HAYSTACK_EMBEDDINGS_DIM": "1536",
        "RAG_HAYSTACK_CHUNK_SIZE": "800",
        "RAG_HAYSTACK_CHUNK_OVERLAP": "80",
        "RAG_VISION_ENABLED": "false",
        "RAG_VISION_BASE_URL": "http://vision:8000/v1/",
        "RAG_VISION_EMBEDDINGS_MODEL": "vision-model",
        "HELIX_EMBEDDINGS_SOCKET": "/run/embeddings.sock",
    }
    settings = Settings.load(env)
    assert settings.store_url == env["PGVECTOR_DSN"]
    assert settings.log_level == "DEBUG"
    assert settings.remote_embeddings_url == "http://vllm:8000/v1"  # the /v1 OpenAI clients need is added
    assert settings.resolved_embedding_model == "MrLight/dse-qwen2-2b-mrl-v1"
    assert settings.embedding_dim == 1536
    assert (settings.chunk_size, settings.chunk_overlap) == (800, 80)
    assert settings.vision_enabled is False
    assert settings.vision_url == "http://vision:8000/v1"
    assert settings.vision_embeddings_model == "vision-model"
    assert settings.embeddings_socket == Path("/run/embeddings.sock")
    assert settings.embeddings_socket_in_use is None  # a base URL is configured: it wins over the socket


def test_remote_embeddings_default_to_the_helix_model() -> None:
    settings = Settings.load({"RAG_HAYSTACK_EMBEDDINGS_BASE_URL": "http://tei:8080/v1"})
    assert settings.resolved_embedding_model == DEFAULT_REMOTE_EMBEDDING_MODEL


def test_socket_is_used_only_when_it_exists(tmp_path: Path) -> None:
    socket_path = tmp_path / "embeddings.sock"
    assert Settings.load({"HELIX_EMBEDDINGS_SOCKET": str(socket_path)}).embeddings_socket_in_use is None
    socket_path.write_text("")
    assert (
        Settings.load({"HELIX_EMBEDDINGS_SOCKET": str(socket_path)}).embeddings_socket_in_use == socket_path
    )


def test_haybale_names_win_over_helix_names_and_arguments_win_over_both() -> None:
    env = {
        "PGVECTOR_DSN": "postgresql://a/b",
        "HAYBALE_STORE_URL": "sqlite:///x.db",
        "RAG_HAYSTACK_CHUNK_SIZE": "300",
    }
    assert Settings.load(env).store_url == "sqlite:///x.db"
    settings = Settings.load(env, store_url="memory", chunk_size=None)
    assert settings.store_url == "memory"
    assert settings.chunk_size == 300  # None means "not given": the environment still counts


def test_default_overlap_follows_a_small_chunk_size_but_an_explicit_one_is_checked() -> None:
    assert Settings.load({}, chunk_size=50).chunk_overlap == 5
    with pytest.raises(
        SettingsError, match=r"chunk overlap \(60\) must be smaller than the chunk size \(50\)"
    ):
        Settings.load({}, chunk_size=50, chunk_overlap=60)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RAG_HAYSTACK_CHUNK_SIZE": "-1"}, "HAYBALE_CHUNK_SIZE / RAG_HAYSTACK_CHUNK_SIZE='-1'"),
        ({"RAG_HAYSTACK_CHUNK_SIZE": "many"}, "RAG_HAYSTACK_CHUNK_SIZE='many'"),
        ({"HAYBALE_SPLIT_BY": "paragraph"}, "must be one of"),
        ({"HAYBALE_HYBRID_WEIGHTS": "0.6"}, "HAYBALE_HYBRID_WEIGHTS"),
        ({"HAYBALE_HYBRID_WEIGHTS": "a,b"}, "semantic,keyword"),
        ({"HAYBALE_API_KEYS": "no-tenant-here"}, "entry 1 is not 'key:tenant'"),
        ({"RAG_VISION_ENABLED": "maybe"}, "RAG_VISION_ENABLED"),
    ],
)
def test_invalid_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match="Invalid settings") as info:
        Settings.load(env)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("env", "secret", "shown"),
    [
        ({"HAYBALE_BROKER_URL": "rediz://user:s3cret-pw@host:6379/0"}, "s3cret-pw", "rediz://user:***@host"),
        ({"HAYBALE_RESULT_BACKEND": "amqp://:s3cret-pw@mq/"}, "s3cret-pw", "amqp://:***@mq/"),
        ({"HAYBALE_API_KEYS": "s3cret-pw"}, "s3cret-pw", "HAYBALE_API_KEYS: entry 1"),
        ({"HAYBALE_API_KEYS": "ok:t, s3cret-pw:"}, "s3cret-pw", "entry 2"),
        (
            {"HAYBALE_API_KEYS": "s3cret-pw:acme", "HAYBALE_METRICS_API_KEY": "s3cret-pw"},
            "s3cret-pw",
            "HAYBALE_METRICS_API_KEY is also a tenant API key",
        ),
    ],
)
def test_settings_errors_never_show_secrets(env: dict[str, str], secret: str, shown: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.load(env)
    assert secret not in str(info.value)
    assert shown in str(info.value)


def test_api_keys_from_variable_and_file_merge(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("# operators\nfile-key:acme\n", encoding="utf-8")
    settings = Settings.load({"HAYBALE_API_KEYS": "env-key:beta", "HAYBALE_API_KEYS_FILE": str(keys)})
    assert settings.api_keys == {"file-key": "acme", "env-key": "beta"}
    assert settings.auth_enabled
    assert "env-key" not in repr(settings) and "file-key" not in repr(settings)
    assert "s3cret" not in repr(Settings.load({"HAYBALE_MCP_API_KEY": "s3cret"}))
    with pytest.raises(SettingsError, match="cannot be read"):
        Settings.load({"HAYBALE_API_KEYS_FILE": str(tmp_path / "missing.txt")})


def test_the_metrics_key_is_a_separate_secret(tmp_path: Path) -> None:
    settings = Settings.load({"HAYBALE_METRICS_API_KEY": " op-s3cret ", "HAYBALE_API_KEYS": "k:acme"})
    assert settings.metrics_api_key == "op-s3cret"
    assert settings.api_keys == {"k": "acme"}  # not a tenant key
    assert "op-s3cret" not in repr(settings)
    keys = tmp_path / "keys.txt"
    keys.write_text("op-s3cret:acme\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="must differ from every tenant key") as info:
        Settings.load({"HAYBALE_API_KEYS_FILE": str(keys), "HAYBALE_METRICS_API_KEY": "op-s3cret"})
    assert "op-s3cret" not in str(info.value)
    with pytest.raises(SettingsError, match="HAYBALE_METRICS_API_KEY: is blank; unset it"):
        Settings.load({"HAYBALE_METRICS_API_KEY": "   "})
    assert Settings.load({}).metrics_api_key is None


def test_api_key_parsing() -> None:
    assert parse_api_keys('{"k1": "t1"}', "x") == {"k1": "t1"}
    assert parse_api_keys("a:1, b:2\nc:3 # comment", "x") == {"a": "1", "b": "2", "c": "3"}
    with pytest.raises(SettingsError, match="repeats an API key"):
        parse_api_keys("k:a\nk:b", "keys.txt")
    with pytest.raises(SettingsError, match="not a valid tenant name"):
        parse_api_keys("k:team one", "keys.txt")


def test_direct_construction_validates_too() -> None:
    with pytest.raises(SettingsError, match="CHUNK_SIZE"):
        Settings(chunk_size=0)
