"""The Dockerfile and compose file stay in step with the settings the service reads."""

from __future__ import annotations

from pathlib import Path

import yaml

from haybale.app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _setting_names() -> set[str]:
    names: set[str] = set()
    for field in Settings.model_fields.values():
        names.update(str(choice) for choice in getattr(field.validation_alias, "choices", ()))
    return names


def test_every_compose_variable_is_a_setting_and_the_service_waits_for_postgres() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    service = compose["services"]["haybale"]
    variables = {entry.split("=", 1)[0] for entry in service["environment"]}
    assert variables <= _setting_names(), variables - _setting_names()
    assert {"PGVECTOR_DSN", "RAG_HAYSTACK_CHUNK_SIZE", "RAG_HAYSTACK_CHUNK_OVERLAP"} <= variables
    assert service["depends_on"]["pgvector"]["condition"] == "service_healthy"
    assert "pgvector" in compose["services"]["pgvector"]["image"]


def test_the_compose_database_url_is_accepted() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    dsn = next(
        e.split("=", 1)[1]
        for e in compose["services"]["haybale"]["environment"]
        if e.startswith("PGVECTOR_DSN=")
    )
    settings = Settings.load({"PGVECTOR_DSN": dsn})
    assert settings.store_url.startswith("postgresql://")


def test_the_image_serves_on_port_8000_without_downloads() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["haybale", "serve", "--host", "0.0.0.0", "--port", "8000"]' in dockerfile
    assert "HF_HUB_OFFLINE=1" in dockerfile
    assert "torch==2.13.0" in dockerfile and "requirements.lock" in dockerfile


def test_the_image_installs_the_no_deps_packages_the_makefile_installs() -> None:
    import re

    makefile = (ROOT / "Makefile").read_text()
    pinned = set(re.findall(r"--no-deps (?:--\S+ )*((?:[A-Za-z0-9_.-]+==[^\s]+ ?)+)", makefile))
    packages = {package for group in pinned for package in group.split()}
    assert packages, "the Makefile installs some packages without their dependencies"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert all(package in dockerfile for package in packages), packages
