"""Secret: env-var references serialize, tokens never do."""

from __future__ import annotations

import pytest

from haybale import DeserializationError, Secret, SerializationError
from haybale.core.secret import deserialize_secrets_inplace


def test_env_var_secret_resolves_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HB_A", raising=False)
    monkeypatch.setenv("HB_B", "b-value")
    secret = Secret.from_env_var(["HB_A", "HB_B"])
    assert secret.resolve_value() == "b-value"
    assert secret.type == "env_var"
    assert secret.to_dict() == {"type": "env_var", "env_vars": ["HB_A", "HB_B"], "strict": True}
    assert Secret.from_dict(secret.to_dict()) == secret


def test_strict_env_var_secret_names_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HB_MISSING", raising=False)
    with pytest.raises(ValueError, match=r"HB_MISSING"):
        Secret.from_env_var("HB_MISSING").resolve_value()
    assert Secret.from_env_var("HB_MISSING", strict=False).resolve_value() is None


def test_token_secret_never_serializes_or_prints() -> None:
    secret = Secret.from_token("sk-123")
    assert secret.resolve_value() == "sk-123"
    assert "sk-123" not in repr(secret)
    with pytest.raises(SerializationError, match="from_env_var"):
        secret.to_dict()


def test_bad_secret_data() -> None:
    with pytest.raises(DeserializationError, match="Token secrets are never serialized"):
        Secret.from_dict({"type": "token", "token": "x"})
    with pytest.raises(ValueError, match="non-empty"):
        Secret.from_env_var([])


def test_deserialize_secrets_inplace() -> None:
    params = {"api_key": {"type": "env_var", "env_vars": ["K"], "strict": False}, "other": 1}
    deserialize_secrets_inplace(params, keys=["api_key", "absent"])
    assert params == {"api_key": Secret.from_env_var("K", strict=False), "other": 1}
