"""Indexing benchmark: haybale's incremental indexer vs the equivalent haystack-ai pipeline, same files.

Both sides: convert mixed files (txt, md, html, docx, pptx, pdf) -> clean -> split by word (same length and
overlap) -> embed with the same local all-MiniLM-L6-v2 files -> write to a store. Each side runs in its
own fresh interpreter (the haybale side re-invokes this script). Model loading is excluded on both sides
(warmed up before the clock starts). Time inside ``SentenceTransformer.encode`` is measured the same way on
both sides, so "outside the model" is everything else: reading, converting, cleaning, splitting,
hashing, writing. Then haybale indexes the unchanged folder again (in-process, and as a fresh
``haybale index`` process), which must skip every file.

    .venv/bin/python benchmarks/indexing.py --files 200
    .venv/bin/python benchmarks/indexing.py --files 1000 --repeats 1     # the issue's size; several minutes

The peer runs under .venv-peers/bin/python (benchmarks/peers/indexing_peer.py); --skip-peer leaves it out.
Numbers are wall-clock seconds on this machine; with other work running they are noisy -- compare ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# ---- corpus: deterministic synthetic prose written as txt, md, html, docx, pptx and pdf files -------------
# Both sides index byte-identical files. PDFs are written by hand (one Helvetica text stream per page).

_VOCABULARY = (
    "river mountain harvest engine library window garden signal market winter theory museum forest copper "
    "harbor village machine letter station canyon meadow lantern orchard glacier circuit planet quarry "
    "festival compass valley beacon archive desert voyage kernel granite tunnel pepper thunder crystal "
    "the a of and to in is was for on with as by at from that this which were are be has have it its "
    "analysis method result system process model data index search query document source chunk vector"
)
_WORDS = _VOCABULARY.split()

KINDS = ("txt", "md", "html", "docx", "pptx", "pdf")


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 18))]
    return " ".join(words).capitalize() + "."


def _paragraphs(rng: random.Random, words_target: int) -> list[str]:
    paragraphs, count = [], 0
    while count < words_target:
        paragraph = " ".join(_sentence(rng) for _ in range(rng.randint(3, 6)))
        paragraphs.append(paragraph)
        count += len(paragraph.split())
    return paragraphs


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _write_pdf(path: Path, pages: list[list[str]]) -> None:
    """A minimal valid PDF: one page per list of lines, Helvetica 10 pt."""
    objects: list[bytes] = []
    page_ids = [3 + 2 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    font_id = 3 + 2 * len(pages)
    for i, lines in enumerate(pages):
        ops = ["BT /F1 10 Tf 50 780 Td 12 TL"] + [f"({_pdf_escape(line)}) '" for line in lines] + ["ET"]
        stream = "\n".join(ops).encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] "
            f"/Resources << /Font << /F1 {font_id} 0 R >> "
            f">> /Contents {page_ids[i] + 1} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))


def _wrap(paragraph: str, width: int = 90) -> list[str]:
    lines, line = [], ""
    for word in paragraph.split():
        if len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines


def write_file(path: Path, kind: str, paragraphs: list[str], title: str) -> None:
    """Write ``paragraphs`` as a file of type ``kind``."""
    if kind == "txt":
        path.write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n")
    elif kind == "md":
        path.write_text(f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n")
    elif kind == "html":
        body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
        path.write_text(
            f"<html><head><title>{title}</title></head><body><nav>Home | About</nav>"
            f"<article><h1>{title}</h1>\n{body}</article><footer>Footer text</footer></body></html>\n"
        )
    elif kind == "docx":
        import docx

        document = docx.Document()
        document.add_heading(title, level=1)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
        document.save(str(path))
    elif kind == "pptx":
        import pptx

        deck = pptx.Presentation()
        for paragraph in paragraphs:
            slide = deck.slides.add_slide(deck.slide_layouts[1])
            slide.shapes.title.text = title
            slide.placeholders[1].text = paragraph
        deck.save(str(path))
    elif kind == "pdf":
        lines = [title] + [line for p in paragraphs for line in [*_wrap(p), ""]]
        pages = [lines[i : i + 60] for i in range(0, len(lines), 60)]
        _write_pdf(path, pages)
    else:
        raise ValueError(f"unknown kind {kind!r}")


def generate_corpus(root: Path, files: int, words_per_file: int = 220, seed: int = 13) -> list[Path]:
    """Write ``files`` files (kinds in rotation) under ``root``, in 10 sub-folders; return their paths."""
    rng = random.Random(seed)
    written = []
    for i in range(files):
        kind = KINDS[i % len(KINDS)]
        folder = root / f"part{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"doc{i:05d}.{kind}"
        write_file(path, kind, _paragraphs(rng, rng.randint(words_per_file // 2, words_per_file)), f"Doc {i}")
        written.append(path)
    return written


ROOT = Path(__file__).resolve().parent.parent
PEER_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
PEER_SCRIPT = ROOT / "benchmarks" / "peers" / "indexing_peer.py"


class EncodeTimer:
    """Accumulates the wall time spent inside ``SentenceTransformer.encode``."""

    def __init__(self) -> None:
        from sentence_transformers import SentenceTransformer

        self.seconds = 0.0
        original = SentenceTransformer.encode
        timer = self

        def timed(model, *args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return original(model, *args, **kwargs)
            finally:
                timer.seconds += time.perf_counter() - started

        SentenceTransformer.encode = timed  # type: ignore[method-assign]


def run_haybale(corpus: Path, store_url: str, split_length: int, overlap: int, batch_files: int) -> dict:
    """First run, then an unchanged second run, in this process."""
    from haybale.components.embedders import SentenceTransformersDocumentEmbedder
    from haybale.indexing.indexer import Indexer, build_indexing_pipeline
    from haybale.stores.url import open_store_url

    timer = EncodeTimer()
    opened = open_store_url(store_url)
    embedder = SentenceTransformersDocumentEmbedder(progress_bar=False)
    embedder.warm_up()
    pipeline = build_indexing_pipeline(split_by="word", split_length=split_length, split_overlap=overlap)
    pipeline.warm_up()
    # haystack-ai's converters import their parsing libraries when constructed (outside its clock); haybale's
    # import them at first use. Import them here so both clocks time the same work.
    import importlib

    for library in (
        "pypdf",
        "docx",
        "pptx",
        "openpyxl",
        "markdown_it",
        "selectolax.lexbor",
        "charset_normalizer",
    ):
        importlib.import_module(library)
    indexer = Indexer(
        opened.store, pipeline, embedder=embedder, batch_files=batch_files, on_store_written=opened.flush
    )
    timer.seconds = 0.0
    started = time.perf_counter()
    first = indexer.index([corpus])
    seconds = time.perf_counter() - started
    encode = timer.seconds
    started = time.perf_counter()
    second = indexer.index([corpus])
    second_seconds = time.perf_counter() - started
    if second.count("unchanged") != first.count("indexed") or second.chunks_written:
        raise SystemExit(f"second run was not a no-op: {second.count('indexed')} files re-indexed")
    return {
        "seconds": seconds,
        "encode_seconds": encode,
        "files": first.count("indexed"),
        "failed": first.count("failed"),
        "chunks": opened.store.count_documents(),
        "second_seconds": second_seconds,
    }


def run_haybale_process(
    corpus: Path, store_url: str, split_length: int, overlap: int, batch_files: int
) -> dict:
    """:func:`run_haybale` in a fresh interpreter, like the peer: both sides start from the same state."""
    command = [
        sys.executable, __file__, "--side-haybale", str(corpus), "--store-url", store_url,
        "--split-length", str(split_length), "--overlap", str(overlap), "--batch-files", str(batch_files),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"haybale side failed ({done.returncode}): {done.stderr[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_haybale_cli_second(corpus: Path, store_url: str, split_length: int, overlap: int) -> float | None:
    """Wall time of a new ``haybale index`` process over the unchanged folder (interpreter start included)."""
    try:
        import haybale.cli.main  # noqa: F401
    except ImportError:
        return None
    command = [
        sys.executable, "-m", "haybale.cli.main", "index", str(corpus), "--store", store_url,
        "--chunk-size", str(split_length), "--overlap", str(overlap),
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or " 0 indexed" not in done.stdout.replace("\n", " "):
        print(f"warning: CLI second run exited {done.returncode}: {done.stdout[-300:]} {done.stderr[-300:]}")
    return seconds


def run_peer(corpus: Path, model_dir: str, split_length: int, overlap: int) -> dict | None:
    if not PEER_PYTHON.exists():
        print(f"warning: {PEER_PYTHON} not found; skipping haystack-ai")
        return None
    command = [
        str(PEER_PYTHON), str(PEER_SCRIPT), "--corpus", str(corpus), "--model", model_dir,
        "--split-length", str(split_length), "--split-overlap", str(overlap),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"warning: peer failed ({done.returncode}): {done.stderr[-1500:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def _row(label: str, ours: str, theirs: str) -> str:
    return f"| {label:<42} | {ours:>18} | {theirs:>18} |"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=200, help="files in the generated corpus (issue: ~1000)")
    parser.add_argument("--words", type=int, default=220, help="max words per file (min is half)")
    parser.add_argument("--split-length", type=int, default=200)
    parser.add_argument("--overlap", type=int, default=20)
    parser.add_argument("--batch-files", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=1, help="runs per side; medians are reported")
    parser.add_argument("--store", default="sqlite", choices=["sqlite", "memory"], help="haybale's store")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--side-haybale", type=Path, help=argparse.SUPPRESS)  # internal: one side, as JSON
    parser.add_argument("--store-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side_haybale is not None:
        result = run_haybale(
            args.side_haybale, args.store_url, args.split_length, args.overlap, args.batch_files
        )
        print(json.dumps(result))
        return

    from haybale.components.embedders.sentence_transformers_backend import resolve_model_path

    model_dir = resolve_model_path("sentence-transformers/all-MiniLM-L6-v2")
    workdir = Path(tempfile.mkdtemp(prefix="haybale-bench-index-"))
    try:
        corpus = workdir / "corpus"
        generate_corpus(corpus, args.files, words_per_file=args.words)
        size = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())
        print(f"corpus: {args.files} files ({size / 1e6:.1f} MB) of txt/md/html/docx/pptx/pdf in {corpus}")

        ours: list[dict] = []
        peers: list[dict] = []
        cli_second: list[float] = []
        for repeat in range(args.repeats):
            if args.store == "sqlite":
                url = f"sqlite:///{workdir}/index-{repeat}.db"
            else:
                url = f"memory:///{workdir}/index-{repeat}.json"
            ours.append(run_haybale_process(corpus, url, args.split_length, args.overlap, args.batch_files))
            cli = run_haybale_cli_second(corpus, url, args.split_length, args.overlap)
            if cli is not None:
                cli_second.append(cli)
            # Sides alternate, so slow drifts in machine load hit both alike.
            if not args.skip_peer:
                result = run_peer(corpus, model_dir, args.split_length, args.overlap)
                if result is not None:
                    peers.append(result)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    def column(runs: list[dict]) -> dict[str, str]:
        if not runs:
            return {}
        seconds, encode = _median(runs, "seconds"), _median(runs, "encode_seconds")
        files, chunks = runs[0]["files"], runs[0]["chunks"]
        return {
            "files": f"{files}",
            "chunks": f"{chunks}",
            "total": f"{seconds:.2f} s",
            "encode": f"{encode:.2f} s",
            "outside": f"{seconds - encode:.2f} s ({100 * (seconds - encode) / seconds:.1f} %)",
            "files/s": f"{files / seconds:.1f}",
            "chunks/s": f"{chunks / seconds:.1f}",
        }

    a, b = column(ours), column(peers)
    print()
    print(
        f"Indexing, {args.files} files, split by word {args.split_length}/{args.overlap}, "
        f"medians of {args.repeats}"
    )
    print(_row("", "haybale", "haystack-ai 3.4.1"))
    print(_row("-" * 42, "-" * 18, "-" * 18))
    labels = {
        "files": "files indexed",
        "chunks": "chunks written",
        "total": "end to end (model loaded beforehand)",
        "encode": "inside SentenceTransformer.encode",
        "outside": "outside the model (share of total)",
        "files/s": "files/s",
        "chunks/s": "chunks/s",
    }
    for key, label in labels.items():
        print(_row(label, a.get(key, "-"), b.get(key, "-")))
    first = _median(ours, "seconds")
    second = _median(ours, "second_seconds")
    print(
        _row(
            "2nd run, unchanged folder (in-process)", f"{second:.3f} s ({100 * second / first:.1f} %)", "n/a"
        )
    )
    if cli_second:
        cli = statistics.median(cli_second)
        print(
            _row(
                "2nd run as a new `haybale index` process", f"{cli:.2f} s ({100 * cli / first:.1f} %)", "n/a"
            )
        )
    if peers:
        print(f"\nhaybale end-to-end speed-up vs haystack-ai: {_median(peers, 'seconds') / first:.2f}x")


if __name__ == "__main__":
    main()
