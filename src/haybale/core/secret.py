"""Secrets: API keys and passwords that components use but pipelines never serialize in clear text."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from haybale.errors import DeserializationError, SerializationError

__all__ = ["Secret", "deserialize_secrets_inplace"]


@dataclass(frozen=True)
class Secret:
    """A secret value, taken from environment variables (serializable as a reference) or a literal token.

    Build with :meth:`from_env_var` or :meth:`from_token`; read with :meth:`resolve_value`.
    """

    _env_vars: tuple[str, ...] = ()
    _token: str | None = None
    _strict: bool = True

    def __repr__(self) -> str:
        if self._token is not None:
            return "Secret(<token>)"
        return f"Secret(env_vars={list(self._env_vars)!r}, strict={self._strict})"

    @classmethod
    def from_env_var(cls, env_vars: str | list[str], *, strict: bool = True) -> Secret:
        """A secret read from the first set environment variable of ``env_vars`` when resolved.

        Args:
            env_vars: one name, or names tried in order.
            strict: raise when none is set (otherwise resolve to None).
        """
        names = (env_vars,) if isinstance(env_vars, str) else tuple(env_vars)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ValueError("Secret.from_env_var needs at least one non-empty environment variable name.")
        return cls(_env_vars=names, _strict=strict)

    @classmethod
    def from_token(cls, token: str) -> Secret:
        """A secret holding ``token`` itself. It refuses to be serialized."""
        if not isinstance(token, str) or not token:
            raise ValueError("Secret.from_token needs a non-empty string.")
        return cls(_token=token)

    @property
    def type(self) -> str:
        """ "env_var" or "token"."""
        return "token" if self._token is not None else "env_var"

    def resolve_value(self) -> str | None:
        """Return the secret's value.

        Raises:
            ValueError: a strict env-var secret whose variables are all unset; the message names them.
        """
        if self._token is not None:
            return self._token
        for name in self._env_vars:
            value = os.environ.get(name)
            if value:
                return value
        if self._strict:
            names = ", ".join(self._env_vars)
            raise ValueError(
                f"None of the environment variables [{names}] is set. Set one of them (e.g. "
                f"`export {self._env_vars[0]}=...`) or pass the secret as Secret.from_token(...)."
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        """Serialize as a reference to environment variables.

        Raises:
            SerializationError: for token secrets, which must never be written to YAML or JSON.
        """
        if self._token is not None:
            raise SerializationError(
                "A Secret.from_token(...) cannot be serialized: its value would be written in clear text. "
                "Use Secret.from_env_var('MY_API_KEY') for anything you save or share."
            )
        return {"type": "env_var", "env_vars": list(self._env_vars), "strict": self._strict}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Secret:
        """Build from :meth:`to_dict` output.

        Raises:
            DeserializationError: when the dict is not an env-var secret.
        """
        if not isinstance(data, dict) or data.get("type") != "env_var" or not data.get("env_vars"):
            raise DeserializationError(
                f"Cannot load a secret from {data!r}: expected {{'type': 'env_var', 'env_vars': [...], "
                "'strict': true}. Token secrets are never serialized."
            )
        return cls.from_env_var(list(data["env_vars"]), strict=bool(data.get("strict", True)))


def deserialize_secrets_inplace(init_parameters: dict[str, Any], keys: list[str]) -> None:
    """Replace serialized secrets under ``keys`` of ``init_parameters`` with :class:`Secret` objects."""
    for key in keys:
        value = init_parameters.get(key)
        if isinstance(value, dict):
            init_parameters[key] = Secret.from_dict(value)
