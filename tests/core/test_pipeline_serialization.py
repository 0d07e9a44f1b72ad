"""Serialization (DESIGN §4): round trips, YAML/JSON, allow-listed types, secrets, clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from haybale import DeserializationError, Pipeline, Secret, SerializationError, component
from haybale.core.serialization import (
    ALLOWED_MODULES_ENV_VAR,
    allowed_modules_scope,
    default_from_dict,
    default_to_dict,
    deserialize_object,
    import_class,
)
from haybale.testing.sample_components import AddFixedValue, Double, FirstInt, FString, Remainder, Threshold

THIS_MODULE = __name__.split(".")[0]


class Settings:
    """A nested serializable object (not a component)."""

    def __init__(self, size: int = 1) -> None:
        self.size = size

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, size=self.size)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        return default_from_dict(cls, data)


@component
class WithNested:
    def __init__(self, settings: Settings, api_key: Secret | None = None, label: str = "x") -> None:
        self.settings = settings
        self.api_key = api_key

    @component.output_types(size=int)
    def run(self, value: int) -> dict[str, Any]:
        return {"size": self.settings.size + value}


@component
class Opaque:
    def __init__(self, handler: Any = None) -> None:
        self.handler = handler

    @component.output_types(value=int)
    def run(self, value: int) -> dict[str, Any]:
        return {"value": value}


def _sample_pipeline() -> Pipeline:
    p = Pipeline(metadata={"owner": "tests"}, max_runs_per_component=7)
    p.add_component("entry", FirstInt())
    p.add_component("add", AddFixedValue(add=2))
    p.add_component("threshold", Threshold(threshold=10))
    p.add_component("remainder", Remainder(divisor=4))
    p.add_component("fstring", FString(template="{a}!", variables=["a"]))
    p.connect("entry.value", "add.value").connect("add.result", "threshold.value")
    p.connect("threshold.below", "entry.value").connect("threshold.above", "remainder.value")
    p.connect("remainder.remainder_is_0", "fstring.a")
    return p


def test_to_dict_shape() -> None:
    data = _sample_pipeline().to_dict()
    assert data["metadata"] == {"owner": "tests"}
    assert data["max_runs_per_component"] == 7
    assert data["components"]["add"] == {
        "type": "haybale.testing.sample_components.AddFixedValue",
        "init_parameters": {"add": 2},
    }
    assert data["connections"][0] == {"sender": "entry.value", "receiver": "add.value"}


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_text_round_trip_and_same_behaviour(fmt: str) -> None:
    original = _sample_pipeline()
    text = original.dumps(fmt)
    loaded = Pipeline.loads(text)
    assert loaded.to_dict() == original.to_dict()
    assert loaded.dumps(fmt) == text
    data = {"entry": {"value": 10}}
    assert loaded.run(data) == original.run(data) == {"fstring": {"string": "12!"}}


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_dump_and_load_paths(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"pipe{suffix}"
    _sample_pipeline().dump(path)
    assert Pipeline.load(path).to_dict() == _sample_pipeline().to_dict()
    if suffix == ".json":
        assert path.read_text().lstrip().startswith("{")


def test_nested_objects_and_env_secrets_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    p = Pipeline()
    p.add_component("nested", WithNested(Settings(size=3), api_key=Secret.from_env_var("MY_KEY")))
    data = p.to_dict()
    params = data["components"]["nested"]["init_parameters"]
    assert params["settings"] == {"type": f"{__name__}.Settings", "init_parameters": {"size": 3}}
    assert params["api_key"] == {"type": "env_var", "env_vars": ["MY_KEY"], "strict": True}
    with pytest.raises(DeserializationError, match="not allow-listed"):
        Pipeline.from_dict(data)
    loaded = Pipeline.from_dict(data, allowed_modules=[THIS_MODULE])
    assert loaded.to_dict() == data
    assert loaded.run({"value": 1}) == {"nested": {"size": 4}}
    monkeypatch.setenv(ALLOWED_MODULES_ENV_VAR, f"somewhere.else, {THIS_MODULE}")
    assert Pipeline.loads(p.dumps()).to_dict() == data


def test_token_secret_refuses_to_serialize_naming_component_and_key() -> None:
    p = Pipeline()
    p.add_component("nested", WithNested(Settings(), api_key=Secret.from_token("sk-secret")))
    with pytest.raises(SerializationError) as info:
        p.to_dict()
    assert "'nested'" in str(info.value) and "cannot be serialized" in str(info.value)
    assert "sk-secret" not in str(info.value)


def test_unserializable_init_parameter_names_component_and_key() -> None:
    p = Pipeline()
    p.add_component("opaque", Opaque(handler=object()))
    with pytest.raises(SerializationError, match=r"'opaque'.*init parameter 'handler'.*to_dict"):
        p.to_dict()


def test_foreign_type_is_refused_before_import_or_instantiation(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[Any] = []
    monkeypatch.setattr(subprocess.Popen, "__init__", lambda self, *a, **k: created.append(a))
    yaml_text = """
components:
  evil:
    type: subprocess.Popen
    init_parameters:
      args: ["touch", "/tmp/haybale-pwned"]
connections: []
"""
    with pytest.raises(DeserializationError) as info:
        Pipeline.loads(yaml_text)
    assert "'evil'" in str(info.value) and "subprocess.Popen" in str(info.value)
    assert "not allow-listed" in str(info.value)
    assert created == []


def test_foreign_module_is_never_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "haybale_probe_module.py").write_text("raise RuntimeError('imported!')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DeserializationError, match="not allow-listed"):
        import_class("haybale_probe_module.Thing")
    with pytest.raises(DeserializationError, match="not allow-listed"):
        deserialize_object({"type": "haybale_probe_module.Thing", "init_parameters": {}})
    assert "haybale_probe_module" not in sys.modules


def test_allow_list_prefix_must_match_whole_module_names() -> None:
    with allowed_modules_scope(["core"]), pytest.raises(DeserializationError, match="not allow-listed"):
        import_class("corelib.Thing")
    with pytest.raises(DeserializationError, match="not allow-listed"):
        import_class("haybalex.Thing")


def test_non_component_type_is_refused() -> None:
    text = (
        "components:\n  s:\n    type: haybale.core.secret.Secret\n    init_parameters: {}\nconnections: []\n"
    )
    with pytest.raises(DeserializationError, match=r"'s'.*not a @component"):
        Pipeline.loads(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("components: {a: [1, 2", r"Malformed pipeline YAML at line 1, column \d+"),
        ("components:\n  a:\n    type: x\n   bad: 1\n", r"Malformed pipeline YAML at line \d+, column \d+"),
        ("- 1\n- 2\n", "must be a mapping"),
        ("components: {}\nconnection: []\n", r"Unknown top-level key\(s\) \['connection'\]"),
        ("components:\n  a:\n    init_parameters: {}\n", r"Component 'a': missing or non-string key 'type'"),
        ("components:\n  a: 3\n", r"Component 'a': expected a mapping"),
        (
            "components:\n  a:\n    type: haybale.testing.sample_components.AddFixedValue\n"
            "    init_parameters:\n      ad: 1\n",
            r"Component 'a'.*\['ad'\].*Accepted parameters: \['add'\]",
        ),
        (
            "components:\n  a:\n    type: haybale.testing.sample_components.AddFixedValue\n    params: {}\n",
            r"Component 'a': unknown key\(s\) \['params'\]",
        ),
        (
            "components:\n  a:\n    type: haybale.testing.sample_components.NoSuchThing\n",
            r"Component 'a': Cannot import type",
        ),
        (
            "components:\n  a:\n    type: haybale.testing.sample_components.Double\nconnections:\n"
            "  - {sender: a.value, receiver: b.value}\n",
            r"connections\[0\]:.*no component named 'b'",
        ),
        ("max_runs_per_component: 0\n", "positive integer"),
        (
            "components:\n  a:\n    type: haybale.testing.sample_components.Remainder\n    init_parameters:\n"
            "      divisor: 0\n",
            r"Component 'a'.*divisor must be >= 1",
        ),
    ],
)
def test_load_errors_name_the_component_and_key(text: str, message: str) -> None:
    with pytest.raises(DeserializationError, match=message):
        Pipeline.loads(text)


def test_default_from_dict_checks_type() -> None:
    with pytest.raises(DeserializationError, match="must name the class"):
        default_from_dict(Double, {"type": "haybale.testing.sample_components.Sum", "init_parameters": {}})
    with pytest.raises(DeserializationError, match="expected a mapping"):
        deserialize_object("haybale.testing.sample_components.Double")  # type: ignore[arg-type]
