"""The hostile-input and crash campaign: every case must end in a clear error naming what and where, the run
must go on with the other inputs, and nothing stored may be lost or duplicated.

Each test records its cases in the session tally (``reliability_tally``); the totals — tried, survived, lost —
are printed at the end of the test run and kept in docs/reliability.md. The long part (repeated kills,
concurrent indexers, a 50 MB CSV) is marked ``slow`` and still runs in ``make test``.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from haybale.dataclasses import Document
from haybale.errors import ComponentError, DeserializationError, FilterError, HaybaleError
from haybale.indexing.indexer import Indexer, build_indexing_pipeline
from haybale.stores import SQLiteDocumentStore

CORPUS = Path(__file__).resolve().parents[1] / "examples" / "corpus"
KEEP = [Document(content=f"kept document {i} about hay", meta={"source": f"kept-{i}"}) for i in range(5)]


def _snapshot(store: Any) -> list[tuple[str, str | None]]:
    return sorted((d.id, d.content) for d in store.filter_documents())


def _no_duplicates(store: Any) -> bool:
    ids = [d.id for d in store.filter_documents()]
    return len(ids) == len(set(ids))


def _indexer(store: Any) -> Indexer:
    return Indexer(
        store, build_indexing_pipeline(split_by="word", split_length=60, split_overlap=5), batch_files=4
    )


def _zip_bomb_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", b"<w:t>" + b"A" * (64 * 1024 * 1024) + b"</w:t>")
    return buffer.getvalue()


HOSTILE_FILES: dict[str, Callable[[], bytes]] = {
    "truncated.pdf": lambda: (CORPUS / "vector_search.pdf").read_bytes()[:900],
    "bomb.docx": _zip_bomb_docx,
    "not-a-docx.docx": lambda: b"PK\x03\x04 certainly not an office document",
    "binary.txt": lambda: bytes(range(256)) * 200,
    "empty.md": lambda: b"",
    "invalid-utf8.txt": lambda: b"valid words \xff\xfe\xfa broken bytes \xc3\x28 more words about hay bales",
    "nul-bytes.txt": lambda: b"hay\x00 bales\x00 in the barn " * 20,
    "nan.json": lambda: b'{"value": NaN, "text": "hay"}',
    "deep.json": lambda: b"[" * 100_000 + b"]" * 100_000,
    "csv-injection.csv": lambda: b'name,formula\nbale,"=cmd|\' /C calc\'!A0"\nhay,"@SUM(1+1)"\n',
}


def test_hostile_files_fail_alone_and_lose_nothing(tmp_path: Path, reliability_tally: Any) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, make in HOSTILE_FILES.items():
        (folder / name).write_bytes(make())
    good = ["weather_and_hay.txt", "bm25_explained.md", "baling_guide.pdf"]
    for name in good:
        (folder / name).write_bytes((CORPUS / name).read_bytes())
    store = SQLiteDocumentStore(path=str(tmp_path / "index.db"))
    store.write_documents(KEEP)
    kept = _snapshot(store)
    report = _indexer(store).index([folder])
    outcomes = {Path(o.source).name: o for o in report.outcomes}
    survived = 0
    for name in HOSTILE_FILES:
        outcome = outcomes[name]
        named = outcome.status == "indexed" or (outcome.error and outcome.status == "failed")
        survived += bool(named)
    assert all(outcomes[name].status == "indexed" for name in good), {n: outcomes[n] for n in good}
    stored = _snapshot(store)
    lost = len(set(kept) - set(stored)) + (0 if _no_duplicates(store) else 1)
    reliability_tally.record("hostile files through haybale index", len(HOSTILE_FILES), survived, lost)
    assert survived == len(HOSTILE_FILES), {n: (o.status, o.error) for n, o in outcomes.items()}
    assert lost == 0
    assert not any("\x00" in (d.content or "") for d in store.filter_documents())  # NULs never stored


@pytest.mark.slow
def test_a_50_mb_csv_is_refused_or_indexed_without_harm(tmp_path: Path, reliability_tally: Any) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    row = b"bale,hay,straw,barn,field,tractor,weather,rain\n"
    (folder / "huge.csv").write_bytes(row * (50 * 1024 * 1024 // len(row)))
    (folder / "small.txt").write_bytes(b"small file about hay bales " * 10)
    store = SQLiteDocumentStore(path=str(tmp_path / "index.db"))
    store.write_documents(KEEP)
    kept = _snapshot(store)
    report = _indexer(store).index([folder])
    outcomes = {Path(o.source).name: o for o in report.outcomes}
    ok = outcomes["small.txt"].status == "indexed" and (
        outcomes["huge.csv"].status == "indexed" or bool(outcomes["huge.csv"].error)
    )
    lost = len(set(kept) - set(_snapshot(store))) + (0 if _no_duplicates(store) else 1)
    reliability_tally.record("50 MB CSV", 1, int(ok), lost)
    assert ok and lost == 0


SQL_PAYLOADS = [
    {"field": "meta.x' OR '1'='1", "operator": "==", "value": "a"},
    {"field": "meta.x", "operator": "==", "value": "' OR 1=1; DROP TABLE documents; --"},
    {"field": 'meta.x"); DROP TABLE documents; --', "operator": "exists", "value": True},
    {"field": "content", "operator": "like", "value": "%' UNION SELECT * FROM sqlite_master --"},
    {"field": "meta.x", "operator": "in", "value": ["a') OR ('1'='1", "b"]},
    {"field": "meta.a.b.c", "operator": ">", "value": "1) OR (1=1"},
]


def _run_sql_payloads(store: Any, tally: Any, label: str) -> None:
    store.write_documents(KEEP)
    kept = _snapshot(store)
    survived = 0
    for payload in SQL_PAYLOADS:
        try:
            matched = store.count_documents(payload)
            survived += matched == 0  # none of the payloads may match the kept documents
        except FilterError as error:
            survived += "filters" in str(error) or "key" in str(error)  # refused, saying where
        deleted = store.delete_by_filter(payload) if _parses(payload) else 0
        survived -= deleted  # a payload that deleted something did not survive
    lost = len(set(kept) - set(_snapshot(store)))
    tally.record(f"SQL in filter keys and values ({label})", len(SQL_PAYLOADS), survived, lost)
    assert survived == len(SQL_PAYLOADS) and lost == 0


def _parses(payload: dict[str, Any]) -> bool:
    from haybale.filters import validate_filters

    try:
        validate_filters(payload)
    except FilterError:
        return False
    try:
        from haybale.filters import compile_sql

        compile_sql(payload, "sqlite")
    except FilterError:
        return False
    return True


def test_sql_injection_through_filters_on_sqlite(tmp_path: Path, reliability_tally: Any) -> None:
    _run_sql_payloads(SQLiteDocumentStore(path=str(tmp_path / "x.db")), reliability_tally, "SQLite")


@pytest.mark.pg
def test_sql_injection_through_filters_on_pgvector(pg_store_factory: Any, reliability_tally: Any) -> None:
    _run_sql_payloads(pg_store_factory(), reliability_tally, "pgvector")


FOREIGN_YAML = """
components:
  evil:
    type: {target}
    init_parameters: {{}}
connections: []
"""


def test_yaml_with_foreign_types_is_refused_before_import(reliability_tally: Any) -> None:
    from haybale.core.pipeline import Pipeline

    targets = ["subprocess.Popen", "os.system", "tabnanny.check", "builtins.eval", "haybalex.evil.Thing"]
    survived = 0
    for target in targets:
        module = target.rsplit(".", 1)[0]
        was_loaded = module in sys.modules
        try:
            Pipeline.loads(FOREIGN_YAML.format(target=target))
        except DeserializationError as error:
            survived += "evil" in str(error) and (was_loaded or module not in sys.modules)
    reliability_tally.record("YAML naming foreign types", len(targets), survived, 0)
    assert survived == len(targets)


def test_template_injection_is_refused(reliability_tally: Any) -> None:
    from haybale.components.builders import PromptBuilder

    attacks = [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ self._TemplateReference__context }}",
        "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
        "{{ lipsum.__globals__['os'] }}",
    ]
    survived = 0
    for attack in attacks:
        try:
            PromptBuilder(template=attack).run()
        except (ComponentError, HaybaleError) as error:
            survived += bool(str(error))
    reliability_tally.record("Jinja template injection", len(attacks), survived, 0)
    assert survived == len(attacks)


def test_fetcher_never_reaches_internal_addresses(reliability_tally: Any) -> None:
    from haybale.components.fetchers import LinkContentFetcher

    urls = [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:9/",
        "http://[::1]:9/",
        "http://2130706433:9/",
        "http://10.0.0.1/",
        "file:///etc/passwd",
    ]
    survived = 0
    fetcher = LinkContentFetcher(retry_attempts=0, timeout=1)
    for url in urls:
        try:
            fetcher.run(urls=[url])
        except ComponentError as error:
            survived += url.split("//")[1].split("/")[0].strip("[]").split(":")[0] in str(
                error
            ) or "file" in str(error)
    reliability_tally.record("fetcher to loopback, link-local, metadata, private", len(urls), survived, 0)
    assert survived == len(urls)


def test_upload_names_never_leave_the_index(tmp_path: Path, reliability_tally: Any) -> None:
    from fastapi.testclient import TestClient

    from haybale.service import ServiceSettings, create_app

    app = create_app(ServiceSettings(store_url=f"sqlite:///{tmp_path / 'x.db'}", embed=False))
    names = ["../../../../tmp/evil.txt", "..\\..\\windows\\evil.txt", "/etc/passwd", "a/../../b.txt"]
    survived = 0
    with TestClient(app) as client:
        for name in names:
            response = client.post("/process", files={"file": (name, b"harmless text about hay")})
            if response.status_code == 200:  # indexed under its base name, never a path
                stored = response.json()["documents"][0]["filename"]
                survived += "/" not in stored and "\\" not in stored and ".." not in stored
            else:  # refused (a name without a known extension), naming the file
                survived += response.status_code == 422 and name.replace("\\", "/").rsplit("/", 1)[-1] in str(
                    response.json()["detail"]
                )
        survived_names = client.post("/pipelines/..%2F..%2Fetc/run", json={}).status_code == 404
    reliability_tally.record(
        "path traversal in upload and pipeline names", len(names) + 1, survived + survived_names, 0
    )
    assert survived == len(names) and survived_names
    assert not Path("/tmp/evil.txt").exists()


# --- crashes and concurrency (slow) -------------------------------------------------------------------------


def _corpus(root: Path, files: int) -> Path:
    docs = root / "docs"
    docs.mkdir()
    for i in range(files):
        (docs / f"note{i}.txt").write_text(f"Note {i}. " + " ".join(f"w{i}_{j}" for j in range(150)))
    return docs


def _index_process(docs: Path, db: Path) -> subprocess.Popen[bytes]:
    args = ["--no-embed", "--unit", "word", "--chunk-size", "30", "--overlap", "5", "--batch-files", "1"]
    return subprocess.Popen(
        [sys.executable, "-m", "haybale.cli.main", "index", str(docs), "--store", f"sqlite:///{db}", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def _ids(db: Path) -> list[str]:
    return sorted(d.id for d in SQLiteDocumentStore(path=str(db)).filter_documents())


@pytest.mark.slow
def test_kill_9_at_twelve_random_moments_then_rerun_converges(tmp_path: Path, reliability_tally: Any) -> None:
    docs = _corpus(tmp_path, 40)
    started = time.perf_counter()
    assert _index_process(docs, tmp_path / "clean.db").wait(timeout=120) == 0
    duration = time.perf_counter() - started
    expected = _ids(tmp_path / "clean.db")
    rng = random.Random(11)
    db = tmp_path / "killed.db"
    kills = survived = lost = 0
    for _ in range(12):
        process = _index_process(docs, db)
        time.sleep(rng.uniform(0.05, 0.7 * duration))  # within the run, so most attempts really kill it
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
        ids = _ids(db) if db.exists() else []
        consistent = len(ids) == len(set(ids)) and set(ids) <= set(expected)
        survived += consistent
        lost += not consistent
    assert _index_process(docs, db).wait(timeout=120) == 0
    converged = _ids(db) == expected
    reliability_tally.record(
        "kill -9 of haybale index (12 random moments) + rerun", 13, survived + converged, lost
    )
    assert kills >= 4 and survived == 12 and converged and lost == 0


@pytest.mark.slow
def test_two_indexers_on_one_sqlite_store_and_a_reader(tmp_path: Path, reliability_tally: Any) -> None:
    docs = _corpus(tmp_path, 30)
    assert _index_process(docs, tmp_path / "clean.db").wait(timeout=120) == 0
    expected = _ids(tmp_path / "clean.db")
    db = tmp_path / "shared.db"
    first, second = _index_process(docs, db), _index_process(docs, db)
    reads = failures = 0
    while first.poll() is None or second.poll() is None:
        if db.exists():
            try:
                SQLiteDocumentStore(path=str(db)).count_documents(
                    {"field": "meta.source", "operator": "exists", "value": True}
                )
                reads += 1
            except HaybaleError:
                failures += 1
        time.sleep(0.05)
    codes = (first.returncode, second.returncode)
    final = _ids(db)
    ok = codes == (0, 0) and final == expected and failures == 0
    reliability_tally.record(
        "two concurrent indexers on one SQLite file, plus a reader",
        3,
        3 if ok else 0,
        0 if final == expected else 1,
    )
    assert ok, (codes, len(final), len(expected), failures, reads)


@pytest.mark.slow
@pytest.mark.pg
def test_postgres_restart_between_calls(
    pg_server: Any, pg_store_factory: Any, reliability_tally: Any
) -> None:
    if not pg_server.restartable:
        pytest.skip("the PostgreSQL server was not started by the tests")
    store = pg_store_factory()
    store.write_documents(KEEP)
    pg_server.restart()
    survived = int(store.count_documents() == len(KEEP))
    store.write_documents([Document(content="after restart")])
    survived += int(store.count_documents() == len(KEEP) + 1)
    reliability_tally.record(
        "PostgreSQL restarted between calls", 2, survived, len(KEEP) + 1 - store.count_documents()
    )
    assert survived == 2


def test_json_metadata_never_carries_nan(tmp_path: Path, reliability_tally: Any) -> None:
    store = SQLiteDocumentStore(path=str(tmp_path / "x.db"))
    store.write_documents(KEEP)
    kept = _snapshot(store)
    bad = [
        Document(content="a", meta={"x": float("nan")}),
        Document(content="b", meta={"x": float("inf")}),
        Document(content="c", meta={"x": {"deep": [float("-inf")]}}),
    ]
    survived = 0
    for document in bad:
        try:
            store.write_documents([document])
        except HaybaleError as error:
            survived += document.id in str(error) or "JSON" in str(error)
    lost = len(set(kept) - set(_snapshot(store)))
    reliability_tally.record("NaN and infinity in metadata", len(bad), survived, lost)
    assert survived == len(bad) and lost == 0
    assert json.dumps([d.meta for d in store.filter_documents()], allow_nan=False)
