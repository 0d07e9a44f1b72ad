"""Converting in a child process (``Indexer(conversion_process=True)``, what ``haybale index`` uses): the same
index as converting in-process, failures reported per file, the child's log records in the parent's loggers,
a fallback when the pipeline cannot travel, and no child left behind when the parent is killed."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from haybale.indexing.indexer import Indexer, build_indexing_pipeline
from haybale.stores import InMemoryDocumentStore

pytestmark = pytest.mark.slow  # every test embeds with the real MiniLM (the child is only used with a model)


def _mixed_folder(root: Path) -> Path:
    folder = root / "mixed"
    folder.mkdir()
    for number in range(7):
        body = " ".join(f"river{number} water stone {n}" for n in range(60))
        (folder / f"note{number}.txt").write_text(body)
    (folder / "page.html").write_text(
        "<html><body><h1>Volcano</h1><p>" + "Lava flows. " * 80 + "</p></body></html>"
    )
    (folder / "readme.md").write_text("# Bread\n\n" + "Knead the dough and bake it. " * 50)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not a pdf at all")
    (folder / "mystery.xyz").write_bytes(b"\x00\x01\x02\x03" * 100)
    return folder


def _embedder() -> Any:
    from haybale.components.embedders import SentenceTransformersDocumentEmbedder

    return SentenceTransformersDocumentEmbedder(progress_bar=False)


def _index(folder: Path, *, conversion_process: bool, pipeline: Any = None) -> tuple[Any, list[Any]]:
    store = InMemoryDocumentStore()
    indexer = Indexer(
        store,
        pipeline or build_indexing_pipeline(split_by="word", split_length=40, split_overlap=4),
        embedder=_embedder(),
        batch_files=3,
        embedding_pool=8,
        conversion_process=conversion_process,
    )
    report = indexer.index([folder])
    stored = sorted(
        ((d.id, d.content, d.meta, d.embedding) for d in store.filter_documents()), key=lambda row: row[0]
    )
    return report, stored


def test_a_child_process_builds_the_same_index_and_reports_each_bad_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _mixed_folder(tmp_path)
    in_thread, stored_in_thread = _index(folder, conversion_process=False)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="haybale"):
        in_child, stored_in_child = _index(folder, conversion_process=True)
    assert stored_in_child == stored_in_thread  # same ids, texts, metadata and vectors
    assert len(stored_in_child) > 9
    assert [(o.source, o.status, o.chunks, o.error) for o in in_child.outcomes] == [
        (o.source, o.status, o.chunks, o.error) for o in in_thread.outcomes
    ]
    failed = {Path(o.source).name: o.error for o in in_child.failed}
    assert set(failed) == {"broken.pdf", "mystery.xyz"} and in_child.count("indexed") == 9
    # The converters' warnings about the bad files were logged in the child and re-emitted here.
    forwarded = [r for r in caplog.records if r.process != os.getpid()]
    assert any("broken.pdf" in r.getMessage() for r in forwarded), [r.getMessage() for r in caplog.records]


def test_a_pipeline_that_cannot_travel_is_converted_in_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _mixed_folder(tmp_path)

    class Unserializable:
        """The indexing pipeline, except that its settings cannot be serialized for a child."""

        def __init__(self) -> None:
            self.inner = build_indexing_pipeline(split_by="word", split_length=40, split_overlap=4)

        def to_dict(self) -> dict[str, Any]:
            raise TypeError("not serializable")

        def run(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return self.inner.run(*args, **kwargs)

    _, expected = _index(folder, conversion_process=False, pipeline=Unserializable())
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="haybale"):
        report, stored = _index(folder, conversion_process=True, pipeline=Unserializable())
    assert report.count("indexed") == 9 and report.count("failed") == 2
    assert stored == expected
    warnings = [r for r in caplog.records if "broken.pdf" in r.getMessage()]
    assert warnings and {r.process for r in warnings} == {os.getpid()}  # converted here, not in a child


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, parent pid, ...), None once it is gone."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _conversion_children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None and int(fields[1]) == pid:
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"haybale.indexing.conversion_worker" in command:
                children.append(int(entry.name))
    return children


def _running(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"  # a zombie has exited; only its parent has not reaped it


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_killing_haybale_index_leaves_no_conversion_process_behind(tmp_path: Path) -> None:
    folder = _mixed_folder(tmp_path)
    command = [
        sys.executable,
        "-m",
        "haybale.cli.main",
        "index",
        str(folder),
        "--store",
        f"sqlite:///{tmp_path}/i.db",
    ]
    parent = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    deadline = time.monotonic() + 60
    children: list[int] = []
    while not children and parent.poll() is None and time.monotonic() < deadline:
        children = _conversion_children(parent.pid)
        time.sleep(0.02)
    assert children, "haybale index started no conversion process"
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=30)
    deadline = time.monotonic() + 30
    while any(_running(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(pid) for pid in children), "the conversion process outlived haybale index"
