"""`haybale index` on what users upload besides text: images, scanned PDFs, archives; bombs are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from haybale.cli.main import app
from haybale.stores import SQLiteDocumentStore
from haybale.testing.sample_files import image_only_pdf, text_image, zip_archive, zip_bomb

runner = CliRunner()
pytestmark = pytest.mark.slow  # OCR


def test_index_reads_images_scans_and_archives_and_refuses_bombs(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "whiteboard.jpg").write_bytes(text_image(["Sprint goal: migrate the silo sensors"], "JPEG"))
    (docs / "contract.pdf").write_bytes(
        image_only_pdf([["Lease contract for the east meadow"], ["Rent is due in October"]])
    )
    (docs / "bundle.zip").write_bytes(
        zip_archive(
            {
                "memo.txt": b"The barn roof needs new shingles.",
                "scans/fax.png": text_image(["Fax about hay prices"]),
            }
        )
    )
    (docs / "bomb.zip").write_bytes(zip_bomb(48))
    url = f"sqlite:///{tmp_path / 'index.db'}"
    result = runner.invoke(app, ["index", str(docs), "--store", url, "--no-embed"], env={"COLUMNS": "250"})
    assert result.exit_code == 1, result.output  # the bomb failed; everything else was indexed
    assert "3 indexed" in result.output and "1 failed" in result.output
    assert "likely zip bomb" in result.output and "OCR: pages 1, 2" in result.output

    store = SQLiteDocumentStore(path=str(tmp_path / "index.db"))
    by_source = {}
    for doc in store.filter_documents():
        by_source.setdefault(Path(doc.meta["source"]).name, []).append(doc)
    assert set(by_source) == {"whiteboard.jpg", "contract.pdf", "bundle.zip"}
    rent = [d for d in by_source["contract.pdf"] if "october" in d.content.lower()]
    assert rent and rent[0].meta["page_number"] == 2 and rent[0].meta["ocr"] is True
    assert {d.meta["container_path"] for d in by_source["bundle.zip"]} == {
        "bundle.zip/memo.txt",
        "bundle.zip/scans/fax.png",
    }

    found = runner.invoke(
        app,
        ["query", "silo sensors", "--store", url, "--mode", "bm25", "--top-k", "1"],
        env={"COLUMNS": "200"},
    )
    assert found.exit_code == 0 and "whiteboard.jpg" in found.output
    rerun = runner.invoke(app, ["index", str(docs), "--store", url, "--no-embed"])
    assert "3 unchanged" in rerun.output and "1 failed" in rerun.output
