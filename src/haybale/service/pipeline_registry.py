"""Pipelines served from a folder of YAML files: ``<dir>/<name>.yaml`` is served as ``name``.

Files are loaded on first use with haybale's allow-list (plus the settings' ``allowed_modules``): a YAML that
names a type outside it — ``subprocess.Popen``, say — is refused before anything is imported or instantiated,
and the request gets the :class:`~haybale.errors.DeserializationError` message. A loaded pipeline is warmed
up, then every document store its components hold is bound to the tenant scope
(:mod:`haybale.service.pipeline_scoping`); a pipeline whose stores cannot be bound is refused with the reason.
It is cached; editing the file reloads it on the next request.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from haybale.errors import RuntimeFailure, UsageError

__all__ = ["PIPELINE_NAME_PATTERN", "PipelineRegistry", "PipelineUnavailableError", "UnknownPipelineError"]

#: What a pipeline name may look like (it becomes a file name, so no separators or dots).
PIPELINE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_SUFFIXES = (".yaml", ".yml")


class UnknownPipelineError(UsageError, LookupError):
    """No pipeline of that name is served; the message lists those that are."""


class PipelineUnavailableError(RuntimeFailure):
    """A served pipeline's file cannot be loaded (bad YAML, a type outside the allow-list, stores the tenant
    scope cannot cover). The operator must fix the file; the client's request was fine (500)."""

    retryable = False


class PipelineRegistry:
    """Loads, caches and lists the pipelines of one folder.

    Args:
        folder: the folder of ``<name>.yaml`` files; None serves no pipelines.
        allowed_modules: extra module prefixes the pipelines may load types from.
    """

    def __init__(self, folder: Path | None, allowed_modules: tuple[str, ...] = ()) -> None:
        self.folder = folder
        self.allowed_modules = allowed_modules
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple[int, int], Any]] = {}

    def names(self) -> list[str]:
        """The names of the pipelines in the folder, sorted."""
        if self.folder is None or not self.folder.is_dir():
            return []
        return sorted(
            {
                p.stem
                for p in self.folder.iterdir()
                if p.suffix in _SUFFIXES and PIPELINE_NAME_PATTERN.match(p.stem)
            }
        )

    def _path_of(self, name: str) -> Path:
        if self.folder is not None and PIPELINE_NAME_PATTERN.match(name):
            for suffix in _SUFFIXES:
                path = self.folder / f"{name}{suffix}"
                if path.is_file():
                    return path
        available = self.names()
        raise UnknownPipelineError(
            f"No pipeline named {name!r} is served. Available: {available or 'none'}"
            + ("" if self.folder is not None else " (the service was started without a pipelines folder)")
            + "."
        )

    def get(self, name: str) -> Any:
        """The warmed-up pipeline ``name``.

        Raises:
            UnknownPipelineError: no such file.
            PipelineUnavailableError: the YAML is malformed, names a type that is not allow-listed, or holds
                a store the tenant scope cannot cover.
        """
        from haybale.core.pipeline import Pipeline
        from haybale.errors import DeserializationError
        from haybale.service.pipeline_scoping import scope_pipeline_stores

        path = self._path_of(name)
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None and cached[0] == version:
                return cached[1]
            try:
                pipeline = Pipeline.load(path, allowed_modules=self.allowed_modules)
                pipeline.warm_up()
                scope_pipeline_stores(pipeline, name)
            except DeserializationError as exc:
                raise PipelineUnavailableError(
                    f"The pipeline {name!r} could not be loaded from {path.name} (nothing was run): {exc}"
                ) from exc
            self._cache[name] = (version, pipeline)
            return pipeline
