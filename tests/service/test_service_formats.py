"""Source code, Markdown code blocks and archives of code through /process and /extract over real HTTP
(chunks stored without embeddings): indentation survives whatever type the client declares, and an archive's
empty files and operating-system clutter do not sink it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from haybale.service import ServiceSettings
from haybale.testing.sample_files import zip_archive

from .conftest import RunningService, running_service

CODE = "def f(x):\n    if x:\n        return 1\n    return 2\n"
GO = 'package main\n\nfunc main() {\n\tif true {\n\t\tprintln("hi")\n\t}\n}\n'


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    folder = tmp_path_factory.mktemp("service-formats")
    settings = ServiceSettings(store_url=f"sqlite:///{folder / 'index.db'}", embed=False, chunk_size=200)
    with running_service(settings) as running:
        yield running


def _send(
    service: RunningService, route: str, name: str, data: bytes, declared: str, *, document_id: str = ""
) -> httpx.Response:
    form = {"metadata": f'{{"document_id": "{document_id}"}}'} if document_id else None
    return service.client.post(route, files={"file": (name, data, declared)}, data=form)


def _chunks(service: RunningService, document_id: str) -> list[Any]:
    by_id = {"field": "meta.document_id", "operator": "==", "value": document_id}
    return sorted(service.state.store.filter_documents(by_id), key=lambda chunk: chunk.meta["content_offset"])


def test_code_declared_text_plain_keeps_its_indentation(service: RunningService) -> None:
    # Browsers and `curl -F "file=@a.py;type=text/plain"` declare text/plain: the name says it is code.
    assert (
        _send(service, "/process", "a.py", CODE.encode(), "text/plain", document_id="py").status_code == 200
    )
    [chunk] = _chunks(service, "py")
    assert chunk.content == CODE.rstrip("\n")
    assert chunk.meta["mime_type"] == "text/x-python"


def test_code_chunk_offsets_point_into_the_stored_text(service: RunningService) -> None:
    source = "".join(
        f"def f{n}(x):\n    if x > {n}:\n        return {n}\n    return -1\n\n" for n in range(12)
    )
    response = _send(service, "/process", "long.py", source.encode(), "text/plain", document_id="long-py")
    assert response.status_code == 200
    chunks = _chunks(service, "long-py")
    assert len(chunks) > 2
    for chunk in chunks:
        offset = chunk.meta["content_offset"]
        assert source[offset : offset + len(chunk.content)] == chunk.content


def test_markdown_code_blocks_keep_their_indentation(service: RunningService) -> None:
    markdown = (
        b"# Use   it\n\nCall   it:\n\n```python\ndef f():\n    return 1\n```\n\n    indented:\n        code\n"
    )
    response = _send(service, "/process", "readme.md", markdown, "application/octet-stream", document_id="md")
    assert response.status_code == 200
    [chunk] = _chunks(service, "md")
    assert chunk.content == "Use it\n\nCall it:\n\ndef f():\n    return 1\n\nindented:\n    code"
    extracted = _send(service, "/extract", "readme.md", markdown, "application/octet-stream")
    assert "def f():\n    return 1" in extracted.json()["text"]


def test_a_zip_of_code_with_empty_files_and_os_clutter_is_indexed_and_extracted_whole(
    service: RunningService,
) -> None:
    archive = zip_archive(
        {
            "src/main.go": GO.encode(),
            "README.md": b"# Tool\n\nIt says hi.\n",
            "pkg/__init__.py": b"",  # empty: nothing to index, nothing lost
            "pkg/blank.txt": b" \n\n",
            "__MACOSX/src/._main.go": b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ",  # Finder metadata
            "src/.DS_Store": b"\x00\x00\x00\x01Bud1\x00\x00",
        }
    )
    processed = _send(
        service, "/process", "code.zip", archive, "application/octet-stream", document_id="code-zip"
    )
    assert processed.status_code == 200, processed.text
    assert processed.json()["status"] == "success"
    chunks = _chunks(service, "code-zip")
    assert {chunk.meta["container_path"] for chunk in chunks} == {
        "code.zip/src/main.go",
        "code.zip/README.md",
    }
    assert "\n\tif true {\n\t\tprintln" in "".join(chunk.content for chunk in chunks)
    extracted = _send(service, "/extract", "code.zip", archive, "application/octet-stream")
    assert extracted.status_code == 200, extracted.text
    assert "package main" in extracted.json()["text"] and "It says hi." in extracted.json()["text"]
