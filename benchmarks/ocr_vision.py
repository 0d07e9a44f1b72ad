"""OCR and vision indexing throughput: scanned pages per second, and page images indexed per second.

Generates a scanned PDF (A4 pages at 150 dpi, 30 lines of text each, no text layer) and measures, interleaved
and repeated (median of ``--repeats``):

* ``ocr pdf``: PDFToDocument on the scan (PDFium render + OCR), pages/s;
* ``ocr image``: ImageToDocument on the same pages as PNG files, pages/s;
* ``vision index (ocr-text)``: POST /process-vision's work on the default path (render, OCR, MiniLM embedding,
  SQLite vision store write), images/s;
* ``vision index (multimodal)``: the same with a multimodal model behind vLLM's chat-style HTTP protocol
  (a local double whose "model" hashes the image, so the number is haybale's own cost: render, encode, HTTP,
  store write), images/s;
* ``render pages``: PDFToImages against the peer haystack-ai's PDFToImageContent (both PDFium), pages/s. The
  peer has no OCR of its own (it needs an external Tesseract), so OCR has no peer column.

    .venv/bin/python benchmarks/ocr_vision.py --pages 12 --repeats 3
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
PEER_PYTHON = REPO / ".venv-peers" / "bin" / "python"

_WORDS = (
    "harvest",
    "bale",
    "silo",
    "tractor",
    "meadow",
    "contract",
    "invoice",
    "weather",
    "barley",
    "wheat",
    "storage",
    "moisture",
    "delivery",
    "cooperative",
    "field",
    "north",
    "south",
    "east",
    "west",
    "schedule",
    "maintenance",
    "report",
    "quarterly",
    "yield",
    "tonnes",
    "price",
)


def scanned_pages(pages: int) -> list[Any]:
    """A4 pages at 150 dpi (1240x1754) with 30 lines of ~60 characters each."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=24)
    images = []
    for number in range(pages):
        image = Image.new("RGB", (1240, 1754), "white")
        draw = ImageDraw.Draw(image)
        for line in range(30):
            words = [_WORDS[(number * 31 + line * 7 + k) % len(_WORDS)] for k in range(9)]
            draw.text((110, 120 + line * 50), f"{line + 1}. " + " ".join(words), fill="black", font=font)
        images.append(image)
    return images


def _pdf(images: list[Any]) -> bytes:
    buffer = io.BytesIO()
    images[0].save(buffer, format="PDF", save_all=True, append_images=images[1:], resolution=150.0)
    return buffer.getvalue()


def _png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _rate(count: int, run: Any) -> float:
    started = time.perf_counter()
    run()
    return count / (time.perf_counter() - started)


def _peer_render(pdf_path: Path, pages: int) -> float | None:
    if not PEER_PYTHON.exists():
        return None
    code = (
        "import sys,time\n"
        "from haystack.components.converters.image import PDFToImageContent\n"
        "c = PDFToImageContent(size=(1600, 1600))\n"
        "c.run(sources=[sys.argv[1]])\n"
        "t = time.perf_counter(); out = c.run(sources=[sys.argv[1]])\n"
        "print(len(out['image_contents']) / (time.perf_counter() - t))\n"
    )
    result = subprocess.run(
        [str(PEER_PYTHON), "-c", code, str(pdf_path)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        print(result.stderr[-2000:], file=sys.stderr)
        return None
    return float(result.stdout.strip().splitlines()[-1])


def _vision_rate(folder: Path, pdf: bytes, pages: int, vision_base_url: str | None, round_: int) -> float:
    from haybale.app import Application, Settings
    from haybale.dataclasses import ByteStream
    from haybale.indexing.indexer import SourceInput
    from haybale.stores.tenant_scope import tenant_scope

    settings = Settings(
        store_url=f"sqlite:///{folder / f'bench-{round_}-{bool(vision_base_url)}.db'}",
        vision_base_url=vision_base_url,
        embedding_dim=256 if vision_base_url else None,
    )
    application = Application(settings)
    vision = application.vision()
    vision.embed_query("warm up the models")
    item = SourceInput(
        key="scan",
        content=ByteStream(pdf, {"file_name": "scan.pdf"}),
        meta={"document_id": "scan", "source": "scan.pdf"},
        sha256=f"round-{round_}",
        scope={"field": "meta.document_id", "operator": "==", "value": "scan"},
    )
    with tenant_scope(None):
        rate = _rate(pages, lambda: vision.index_sources([item]))
    application.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from haybale.components.converters import ImageToDocument, PDFToDocument, PDFToImages
    from haybale.components.converters.ocr_engine import get_ocr_engine
    from haybale.dataclasses import ByteStream
    from haybale.testing.multimodal_embedding_server import create_multimodal_embedding_app
    from haybale.testing.openai_compatible_server import OpenAICompatibleServer

    images = scanned_pages(args.pages)
    pdf = _pdf(images)
    pngs = [ByteStream(_png(image), meta={"file_name": f"p{i}.png"}) for i, image in enumerate(images)]
    folder = Path(tempfile.mkdtemp(prefix="haybale-bench-ocr-"))
    pdf_path = folder / "scan.pdf"
    pdf_path.write_bytes(pdf)
    engine = get_ocr_engine()
    ocr_pdf, ocr_image, renderer = PDFToDocument(), ImageToDocument(include_boxes=False), PDFToImages()
    ocr_pdf.run(sources=[ByteStream(_pdf(images[:1]))])  # warm up the model

    def hashed(image: bytes | None, text: str) -> list[float]:
        seed = hash((image or b"")[-64:]) & 0xFFFF
        return [((seed * (i + 1)) % 97) / 97.0 + 0.01 for i in range(256)]

    rows: dict[str, list[float]] = {}
    with OpenAICompatibleServer(create_multimodal_embedding_app(hashed)) as double:
        vllm = double.base_url.removesuffix("/v1")
        for round_ in range(args.repeats):
            rows.setdefault("ocr pdf (render + OCR)", []).append(
                _rate(args.pages, lambda: ocr_pdf.run(sources=[ByteStream(pdf, meta={"file_name": "s.pdf"})]))
            )
            rows.setdefault("ocr image (PNG)", []).append(
                _rate(args.pages, lambda: ocr_image.run(sources=pngs))
            )
            rows.setdefault("vision index (ocr-text, SQLite)", []).append(
                _vision_rate(folder, pdf, args.pages, None, round_)
            )
            rows.setdefault("vision index (multimodal over HTTP, SQLite)", []).append(
                _vision_rate(folder, pdf, args.pages, vllm, round_)
            )
            rows.setdefault("render pages: haybale PDFToImages", []).append(
                _rate(args.pages, lambda: renderer.run(sources=[pdf_path]))
            )
            peer = _peer_render(pdf_path, args.pages)
            if peer is not None:
                rows.setdefault("render pages: haystack-ai PDFToImageContent", []).append(peer)
    load = os.getloadavg()
    print(
        f"{args.pages} A4 pages at 150 dpi, 30 lines each; OCR model {engine.model}; median of {args.repeats}"
    )
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; cores: {os.cpu_count()}")
    print("| case | pages or images / s (median) | runs |")
    print("|---|---|---|")
    for name, values in rows.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"| {name} | {statistics.median(values):.2f} | {runs} |")
    print(json.dumps({name: statistics.median(values) for name, values in rows.items()}))


if __name__ == "__main__":
    main()
