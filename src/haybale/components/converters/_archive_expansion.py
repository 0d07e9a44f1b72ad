"""Expanding containers (ZIP archives, mail attachments) safely, in memory, within shared limits.

Nothing is ever written to disk, so member names cannot escape anywhere; names that try to (``../``, absolute
paths, drive letters) are refused all the same, since they mark a crafted archive. What the limits stop:

* **zip bombs**: the bytes actually decompressed are counted as they come (the sizes an archive declares are
  not trusted); a member that expands more than ``max_ratio`` times its compressed size (past 1 MiB), or a
  container whose members add up to more than ``max_total_bytes``, refuses the *whole* top-level file;
* **too many members** (``max_members``, counted across nesting) and **members too large**
  (``max_member_bytes``);
* **nesting**: containers inside containers (a ZIP in a ZIP, a mail attached to a mail) are opened up to
  ``max_depth`` levels; deeper ones are reported and skipped.

The limits and what has been used of them travel in a context variable, so a container met while converting
a member of another one draws on the same budget.
"""

from __future__ import annotations

import contextlib
import io
import posixpath
import stat
import zipfile
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from haybale.errors import ConversionError

__all__ = [
    "ArchiveMember",
    "ExpansionLimits",
    "current_budget",
    "expansion_budget",
    "read_zip_members",
    "safe_member_path",
]

_MIB = 1024 * 1024
_READ_CHUNK = 256 * 1024
#: Members smaller than this are never judged by their compression ratio (tiny text files compress a lot).
_RATIO_FLOOR = _MIB


@dataclass(frozen=True)
class ExpansionLimits:
    """How far containers may expand (see the module docstring).

    Attributes:
        max_depth: containers opened inside one another (1: the top-level file only).
        max_members: members extracted in total.
        max_member_bytes: the largest member, decompressed.
        max_total_bytes: all members together, decompressed.
        max_ratio: the largest decompressed/compressed ratio of a member over 1 MiB.
    """

    max_depth: int = 3
    max_members: int = 10_000
    max_member_bytes: int = 100 * _MIB
    max_total_bytes: int = 512 * _MIB
    max_ratio: int = 200


@dataclass
class _Budget:
    limits: ExpansionLimits
    root: str
    depth: int = 0
    members: int = 0
    total_bytes: int = 0
    path: list[str] = field(default_factory=list)
    #: Set when a likely bomb was met anywhere inside: the whole top-level file is then refused.
    refused: str | None = None


_BUDGET: ContextVar[_Budget | None] = ContextVar("haybale_expansion_budget", default=None)


@contextlib.contextmanager
def expansion_budget(name: str, limits: ExpansionLimits) -> Iterator[_Budget]:
    """Enter one container level named ``name``: the outermost call creates the budget, inner calls share it.

    Raises:
        ConversionError: the container is nested deeper than ``max_depth``.
    """
    current = _BUDGET.get()
    if current is None:
        budget = _Budget(limits=limits, root=name)
        token = _BUDGET.set(budget)
        try:
            budget.depth, budget.path = 1, [name]
            yield budget
        finally:
            _BUDGET.reset(token)
        return
    if current.depth >= current.limits.max_depth:
        raise ConversionError(
            f"'{name}' is a container nested {current.depth + 1} levels deep inside '{current.root}'; at "
            f"most {current.limits.max_depth} levels are opened. Extract it and upload it on its own."
        )
    current.depth += 1
    current.path.append(name)
    try:
        yield current
    finally:
        current.depth -= 1
        current.path.pop()


def current_budget() -> _Budget:
    """The budget of the innermost :func:`expansion_budget`.

    Raises:
        RuntimeError: no expansion is in progress (a programming error).
    """
    budget = _BUDGET.get()
    if budget is None:
        raise RuntimeError("read_zip_members must run inside `with expansion_budget(...)`.")
    return budget


def _bomb(budget: _Budget, reason: str) -> ConversionError:
    message = (
        f"'{budget.root}' was refused as a likely zip bomb: {reason}. Nothing from it was indexed. If the "
        "archive is genuine, extract it and upload its files separately."
    )
    budget.refused = budget.refused or message
    return ConversionError(message)


@dataclass(frozen=True)
class ArchiveMember:
    """One extracted member: its safe path inside the archive and its bytes."""

    path: str
    data: bytes


def safe_member_path(name: str) -> str | None:
    """The member's path normalized (forward slashes, no ``.`` parts), or None when it is absolute, has a
    drive letter, or climbs out with ``..``."""
    cleaned = name.replace("\\", "/")
    if cleaned.startswith("/") or (len(cleaned) > 1 and cleaned[1] == ":"):
        return None
    normalized = posixpath.normpath(cleaned)
    if normalized in (".", "") or normalized == ".." or normalized.startswith("../"):
        return None
    return normalized


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)  # 3: made on Unix


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> bytes:
    limits = budget.limits
    chunks: list[bytes] = []
    size = 0
    with archive.open(info) as stream:
        while True:
            chunk = stream.read(_READ_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            budget.total_bytes += len(chunk)
            if budget.total_bytes > limits.max_total_bytes:
                raise _bomb(budget, f"its members expand past {limits.max_total_bytes // _MIB} MiB")
            if size > limits.max_member_bytes:
                raise ConversionError(
                    f"'{info.filename}' in '{budget.root}' is larger than "
                    f"{limits.max_member_bytes // _MIB} MiB decompressed; it was skipped."
                )
            if size > _RATIO_FLOOR and size > limits.max_ratio * max(info.compress_size, 1):
                raise _bomb(
                    budget,
                    f"member '{info.filename}' expands more than {limits.max_ratio} times its compressed "
                    "size",
                )
            chunks.append(chunk)
    return b"".join(chunks)


def read_zip_members(data: bytes, name: str) -> tuple[list[ArchiveMember], list[tuple[str, str]]]:
    """Extract the regular files of a ZIP archive in memory, inside the current :func:`expansion_budget`.

    Args:
        data: the archive's bytes.
        name: the archive's name, for messages.

    Returns:
        The members in archive order, and ``(member, reason)`` for each member skipped (encrypted, a symbolic
        link, an unsafe path, too large).

    Raises:
        ConversionError: the archive is corrupt, encrypted as a whole, a likely zip bomb, has too many
            members, or is nested too deep.
    """
    budget = current_budget()
    limits = budget.limits
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ConversionError(f"'{name}' is not a valid ZIP archive: {exc}") from None
    members: list[ArchiveMember] = []
    skipped: list[tuple[str, str]] = []
    with archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        budget.members += len(infos)
        if budget.members > limits.max_members:
            raise _bomb(budget, f"it holds more than {limits.max_members} files")
        declared = sum(info.file_size for info in infos)
        if declared > limits.max_total_bytes:
            raise _bomb(budget, f"its members declare {declared // _MIB} MiB decompressed")
        for info in infos:
            path = safe_member_path(info.filename)
            reason = _skip_reason(info, path)
            if reason is not None:
                skipped.append((info.filename, reason))
                continue
            try:
                member = _read_member(archive, info, budget)
            except ConversionError as exc:
                if budget.refused is not None:
                    raise
                skipped.append((info.filename, str(exc)))
                continue
            except (
                zipfile.BadZipFile,
                OSError,
                EOFError,
                ValueError,
                RuntimeError,
                NotImplementedError,
            ) as exc:
                skipped.append((info.filename, f"corrupt or unsupported member: {exc}"))
                continue
            members.append(ArchiveMember(path=str(path), data=member))
    if not members and not skipped:
        raise ConversionError(f"'{name}' is an empty ZIP archive: there is nothing to convert.")
    return members, skipped


def _skip_reason(info: zipfile.ZipInfo, path: str | None) -> str | None:
    if path is None:
        return "its path is absolute or climbs out of the archive ('..'); it was refused"
    if info.flag_bits & 0x1:
        return "it is encrypted (password-protected); extract it with its password and upload it on its own"
    if _is_symlink(info):
        return "it is a symbolic link; links are not followed"
    return None
