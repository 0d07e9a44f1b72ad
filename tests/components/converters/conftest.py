"""Fixtures that build real files of every format the converters read (PDF, DOCX, PPTX, XLSX, ...)."""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
CORPUS_DIR = REPO_ROOT / "examples" / "corpus"


def _load_corpus_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_demo_corpus_for_tests", REPO_ROOT / "scripts" / "make_demo_corpus.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def corpus_script() -> ModuleType:
    """scripts/make_demo_corpus.py: its tiny PDF writer and its DOCX/PPTX writers."""
    return _load_corpus_script()


@pytest.fixture
def make_pdf(tmp_path: Path, corpus_script: ModuleType) -> Callable[..., Path]:
    """Write a text PDF: make_pdf("a.pdf", [["page 1 line"], ["page 2 line"]])."""

    def make(name: str, pages: list[list[str]], title: str = "") -> Path:
        path = tmp_path / name
        corpus_script.write_text_pdf(path, pages, title=title)
        return path

    return make


@pytest.fixture
def make_encrypted_pdf(make_pdf: Callable[..., Path]) -> Callable[[str], Path]:
    """Write a PDF encrypted with a user password (RC4, no extra dependency) using pypdf's writer."""

    def make(name: str) -> Path:
        from pypdf import PdfReader, PdfWriter

        plain = make_pdf("plain-" + name, [["Secret content of the encrypted file."]])
        writer = PdfWriter()
        for page in PdfReader(plain).pages:
            writer.add_page(page)
        writer.encrypt(user_password="s3cret", owner_password="owner", algorithm="RC4-128")
        buffer = io.BytesIO()
        writer.write(buffer)
        path = plain.with_name(name)
        path.write_bytes(buffer.getvalue())
        return path

    return make


@pytest.fixture
def make_docx(tmp_path: Path, corpus_script: ModuleType) -> Callable[..., Path]:
    """Write a .docx from ("heading"|"paragraph"|"table", payload) blocks (title becomes a heading)."""

    def make(name: str, title: str, blocks: list[tuple[str, object]]) -> Path:
        path = tmp_path / name
        corpus_script.write_docx(path, title, blocks)
        return path

    return make


@pytest.fixture
def make_pptx(tmp_path: Path, corpus_script: ModuleType) -> Callable[..., Path]:
    """Write a .pptx: a title slide plus one slide per (heading, bullets)."""

    def make(name: str, title: str, slides: list[tuple[str, list[str]]]) -> Path:
        path = tmp_path / name
        corpus_script.write_pptx(path, title, slides)
        return path

    return make


@pytest.fixture
def make_xlsx(tmp_path: Path) -> Callable[..., Path]:
    """Write an .xlsx with openpyxl: make_xlsx("a.xlsx", {"Sheet": [[1, 2], [3, 4]]})."""

    def make(name: str, sheets: dict[str, list[list[object]]]) -> Path:
        from openpyxl import Workbook

        workbook = Workbook()
        workbook.remove(workbook.active)
        for sheet_name, rows in sheets.items():
            sheet = workbook.create_sheet(sheet_name)
            for row in rows:
                sheet.append(row)
        path = tmp_path / name
        workbook.save(path)
        return path

    return make


@pytest.fixture
def assert_round_trip() -> Callable[[object], None]:
    """Check to_dict/from_dict round-trips exactly, also through YAML inside a Pipeline."""

    def check(component: object) -> None:
        from haybale.core.pipeline import Pipeline

        data = component.to_dict()  # type: ignore[attr-defined]
        assert type(component).from_dict(data).to_dict() == data  # type: ignore[attr-defined]
        pipeline = Pipeline()
        pipeline.add_component("converter", component)
        loaded = Pipeline.loads(pipeline.dumps())
        assert loaded.get_component("converter").to_dict() == data

    return check
