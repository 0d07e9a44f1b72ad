"""Which files to index, how each is keyed, and whether the store already holds its current content.

Source key: the file's absolute, symlink-resolved path (POSIX form). It does not depend on the working
directory or on the spelling of the argument, so ``haybale index docs`` and ``haybale index ./docs/`` track
the same sources, and a file reached through two symlinks is indexed once. Moving a folder re-indexes it.

Every chunk of a source carries ``meta.source`` (the key) and ``meta.source_hash`` (sha256 of the file's
bytes). A source is unchanged when the store holds a chunk with both values; this works with any store through
the filter language of the protocol, with no side table.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "SkippedPath",
    "discover_files",
    "file_sha256",
    "indexed_sources",
    "source_filter",
    "source_key",
    "sources_filter",
    "stored_whole",
]

_HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class SkippedPath:
    """A path given or met while walking that cannot be indexed, and why.

    ``walked`` is True for entries met inside a folder (symlink loops, broken links): they are skipped with a
    note. A path given explicitly that does not exist is not ``walked``: it is the caller's mistake.
    """

    path: str
    reason: str
    walked: bool = True


def source_key(path: Path) -> str:
    """The key a file is tracked under: its absolute real path, as a POSIX string."""
    return Path(os.path.realpath(path)).as_posix()


def file_sha256(path: Path) -> str:
    """sha256 of the file's bytes, read in 1 MiB blocks (bounded memory for any file size)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _walk(root: Path, files: dict[str, Path], skipped: list[SkippedPath], visited_dirs: set[str]) -> None:
    """Depth-first walk of ``root`` following directory symlinks once (a loop is reported, not followed)."""
    real = os.path.realpath(root)
    if real in visited_dirs:
        skipped.append(SkippedPath(str(root), f"symlink loop or repeated folder (already walked {real})"))
        return
    visited_dirs.add(real)
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError as exc:
        skipped.append(SkippedPath(str(root), f"cannot list folder: {exc.strerror or exc}"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue  # hidden files and folders (.git, .haybale, .DS_Store) are never content
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()  # follows symlinks
        except OSError:
            is_dir = False
        if is_dir:
            _walk(path, files, skipped, visited_dirs)
        elif entry.is_symlink() and not os.path.exists(path):
            skipped.append(SkippedPath(str(path), "broken symlink or symlink loop"))
        else:
            files.setdefault(source_key(path), path)


def discover_files(paths: Iterable[str | Path]) -> tuple[dict[str, Path], list[SkippedPath]]:
    """Expand files and folders into the files to index, keyed by :func:`source_key`, in a stable order.

    Folders are walked recursively; hidden entries (names starting with ".") are skipped inside folders but a
    hidden file named explicitly is kept. Symlinked folders are followed once; loops are reported in the
    second return value together with missing paths.
    """
    files: dict[str, Path] = {}
    skipped: list[SkippedPath] = []
    visited_dirs: set[str] = set()
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            _walk(path, files, skipped, visited_dirs)
        elif path.exists():
            files.setdefault(source_key(path), path)
        elif path.is_symlink():
            skipped.append(SkippedPath(str(path), "broken symlink or symlink loop"))
        else:
            skipped.append(SkippedPath(str(path), "no such file or folder", walked=False))
    return dict(sorted(files.items())), skipped


def source_filter(key: str) -> dict[str, Any]:
    """The filter selecting every chunk of one source."""
    return {"field": "meta.source", "operator": "==", "value": key}


def sources_filter(keys: list[str]) -> dict[str, Any]:
    """The filter selecting every chunk of several sources."""
    if len(keys) == 1:
        return source_filter(keys[0])
    return {"field": "meta.source", "operator": "in", "value": list(keys)}


def indexed_sources(store: Any, roots: Iterable[str]) -> set[str]:
    """Keys of the sources the store holds under any of ``roots`` (real paths of folders or files).

    Only chunks written by the indexer (those with ``meta.source_hash``) count, so documents written by other
    means are never pruned.
    """
    prefixes = [root.rstrip("/") for root in roots]
    keys: set[str] = set()
    for doc in store.filter_documents({"field": "meta.source_hash", "operator": "exists", "value": True}):
        key = doc.meta.get("source")
        if isinstance(key, str) and any(key == p or key.startswith(p + "/") for p in prefixes):
            keys.add(key)
    return keys


def stored_whole(store: Any, scope: dict[str, Any], source_hash: str, count_key: str) -> bool:
    """Whether the store holds the source under ``scope`` whole, as ``source_hash`` writes it: every stored
    part carries that hash, and there are as many parts as each says (``meta[count_key]``). A part deleted on
    its own (by ``chunk_id``) makes the source stale, so the next upload or run writes it whole again. Parts
    written before the count was recorded count by their hash alone."""
    stored = int(store.count_documents(scope))
    if stored == 0:
        return False
    complete = {
        "operator": "OR",
        "conditions": [
            {"field": f"meta.{count_key}", "operator": "==", "value": stored},
            {"field": f"meta.{count_key}", "operator": "exists", "value": False},
        ],
    }
    same_hash = {"field": "meta.source_hash", "operator": "==", "value": source_hash}
    current = {"operator": "AND", "conditions": [scope, same_hash, complete]}
    return bool(store.count_documents(current) == stored)
