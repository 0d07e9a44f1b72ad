"""discover_files, source keys and hashes: what `haybale index` sees in a folder."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from haybale.indexing.source_tracker import discover_files, file_sha256, source_key


def _tree(root: Path) -> None:
    (root / "sub").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".haybale").mkdir()
    (root / "a.txt").write_text("alpha")
    (root / "sub" / "b.md").write_text("# beta")
    (root / ".git" / "config").write_text("hidden")
    (root / ".haybale" / "index.db").write_text("hidden")
    (root / ".hidden.txt").write_text("hidden file")


def test_walks_folders_and_skips_hidden_entries(tmp_path: Path) -> None:
    _tree(tmp_path)
    files, skipped = discover_files([tmp_path])
    assert sorted(Path(k).name for k in files) == ["a.txt", "b.md"]
    assert skipped == []


def test_an_explicit_hidden_file_is_kept(tmp_path: Path) -> None:
    _tree(tmp_path)
    files, _ = discover_files([tmp_path / ".hidden.txt"])
    assert [Path(k).name for k in files] == [".hidden.txt"]


def test_keys_are_absolute_real_paths_whatever_the_spelling(tmp_path: Path, monkeypatch) -> None:
    _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    by_relative, _ = discover_files(["."])
    by_absolute, _ = discover_files([str(tmp_path) + "/"])
    assert list(by_relative) == list(by_absolute)
    assert all(os.path.isabs(key) for key in by_relative)
    assert source_key(Path("a.txt")) == (tmp_path / "a.txt").resolve().as_posix()


def test_symlink_loops_are_reported_not_followed(tmp_path: Path) -> None:
    _tree(tmp_path)
    os.symlink(tmp_path, tmp_path / "sub" / "loop")
    os.symlink(tmp_path / "missing", tmp_path / "dangling.txt")
    files, skipped = discover_files([tmp_path])
    assert sorted(Path(k).name for k in files) == ["a.txt", "b.md"]
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert "symlink loop" in reasons["loop"]
    assert "broken symlink" in reasons["dangling.txt"]
    assert all(s.walked for s in skipped)


def test_self_referencing_symlink_file_is_reported(tmp_path: Path) -> None:
    os.symlink(tmp_path / "self.txt", tmp_path / "self.txt")
    files, skipped = discover_files([tmp_path])
    assert files == {}
    assert [Path(s.path).name for s in skipped] == ["self.txt"]


def test_a_file_reached_twice_is_listed_once(tmp_path: Path) -> None:
    _tree(tmp_path)
    os.symlink(tmp_path / "sub", tmp_path / "alias")
    files, skipped = discover_files([tmp_path, tmp_path / "a.txt"])
    assert sorted(Path(k).name for k in files) == ["a.txt", "b.md"]
    assert len(skipped) == 1  # the second way into sub/ is reported as a repeated folder


def test_missing_paths_are_caller_mistakes(tmp_path: Path) -> None:
    files, skipped = discover_files([tmp_path / "nope"])
    assert files == {}
    assert skipped[0].reason == "no such file or folder" and not skipped[0].walked


def test_sha256_streams_large_files(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    data = b"x" * (3 * 1024 * 1024 + 17)
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
