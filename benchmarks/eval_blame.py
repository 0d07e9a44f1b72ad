"""Blame on NFCorpus: does `haybale eval` point at the component that was deliberately broken?

A RAG pipeline (BM25 retriever -> chat prompt builder -> local SmolLM2 -> answer builder) answers NFCorpus
test queries over the corpus cut into 600-character chunks. It is evaluated three times with the default
rubric set (retriever: recall/precision/MRR/nDCG against the qrels; prompt builder: prompt coverage;
generator: groundedness, refusal, adherence, completeness, chunk attribution/utilization against the
rendered prompt):

1. healthy: the baseline;
2. broken retriever: the retriever ignores the query and returns random chunks;
3. broken prompt template: a typo in the template's loop variable (``docs`` for ``documents``), so the
   sources never reach the model.

For each run the script prints how many rows fail (a blame-relevant metric below 0.5) and which component
the blame lands on: absolute (the most upstream failing component) and as regressions against the healthy
baseline (only metrics that got worse count). Reports (Markdown + HTML + plots) go to
benchmarks/.cache/eval-blame/<run>/.

Data: ../shared/bench-data/nfcorpus (see its SOURCES.md), or --data / HAYBALE_BENCH_DATA. Nothing is copied.

    .venv/bin/python benchmarks/eval_blame.py --queries 40
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / ".cache" / "eval-blame"
CHUNK_CHARS = 600

TEMPLATE = (
    '{% message role="system" %}Answer in one or two sentences using only the numbered sources.'
    '{% endmessage %}{% message role="user" %}Sources:\n{% for d in documents %}[{{ loop.index }}] '
    "{{ d.content }}\n{% endfor %}Question: {{ query }}{% endmessage %}"
)
#: the deliberate bug: the loop reads ``docs``, which nothing provides, so no source is rendered
BROKEN_TEMPLATE = TEMPLATE.replace("for d in documents", "for d in docs")


def data_dir(given: str | None) -> Path:
    """The NFCorpus folder: --data, HAYBALE_BENCH_DATA, or the shared bench-data next to the checkout."""
    candidates = [given, os.environ.get("HAYBALE_BENCH_DATA")]
    candidates += [
        str(base / "shared" / "bench-data" / "nfcorpus") for base in (ROOT.parent, ROOT.parent.parent)
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "corpus.jsonl").is_file():
            return Path(candidate)
    sys.exit("NFCorpus not found: pass --data /path/to/bench-data/nfcorpus (or set HAYBALE_BENCH_DATA).")


def chunk(text: str) -> str:
    """The first CHUNK_CHARS characters, cut at a word boundary."""
    return text if len(text) <= CHUNK_CHARS else text[:CHUNK_CHARS].rsplit(" ", 1)[0]


def load(folder: Path, count: int, seed: int) -> tuple[list[Any], list[dict[str, Any]]]:
    """(chunks as Documents, dataset rows for ``count`` sampled test queries)."""
    from haybale import Document

    documents = []
    with (folder / "corpus.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            text = " ".join(part for part in (row.get("title"), row["text"]) if part)
            documents.append(Document(id=row["_id"], content=chunk(text)))
    relevant: dict[str, list[str]] = {}
    with (folder / "qrels.tsv").open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            query, doc, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                relevant.setdefault(query, []).append(doc)
    queries = []
    with (folder / "queries.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["_id"] in relevant:
                queries.append(row)
    chosen = random.Random(seed).sample(queries, min(count, len(queries)))
    rows = [
        {"id": q["_id"], "inputs": {"query": q["text"]}, "ground_truth_document_ids": relevant[q["_id"]]}
        for q in chosen
    ]
    return documents, rows


def random_retriever_class() -> Any:
    """A retriever that ignores the query: returns ``top_k`` random chunks (the deliberate bug)."""
    from haybale import Document, component

    @component
    class RandomRetriever:
        def __init__(self, documents: list[Document], top_k: int, seed: int = 0) -> None:
            self.documents = documents
            self.top_k = top_k
            self._random = random.Random(seed)

        @component.output_types(documents=list[Document])
        def run(self, query: str) -> dict[str, Any]:
            picked = self._random.sample(self.documents, self.top_k)
            return {"documents": [Document(id=d.id, content=d.content, score=0.0) for d in picked]}

    return RandomRetriever


def build(store: Any, documents: list[Any], generator: Any, top_k: int, broken: str | None) -> Any:
    from haybale import Pipeline
    from haybale.components.builders import AnswerBuilder, ChatPromptBuilder
    from haybale.components.retrievers import BM25Retriever

    pipeline = Pipeline()
    if broken == "retriever":
        pipeline.add_component("retriever", random_retriever_class()(documents, top_k))
    else:
        pipeline.add_component("retriever", BM25Retriever(store, top_k=top_k))
    template = BROKEN_TEMPLATE if broken == "template" else TEMPLATE
    builder = ChatPromptBuilder(
        template=template, variables=["query", "documents"], required_variables=["query"]
    )
    pipeline.add_component("prompt_builder", builder)
    pipeline.add_component("llm", generator)
    pipeline.add_component("answer_builder", AnswerBuilder())
    pipeline.connect("retriever.documents", "prompt_builder.documents")
    pipeline.connect("prompt_builder.prompt", "llm.messages")
    pipeline.connect("llm.replies", "answer_builder.replies")
    pipeline.connect("retriever.documents", "answer_builder.documents")
    return pipeline


def shares(findings: list[dict[str, Any]]) -> str:
    counts = Counter(str(f["component"] or "error") for f in findings)
    total = sum(counts.values()) or 1
    return ", ".join(f"{name} {count / total:.0%}" for name, count in counts.most_common()) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", help="the nfcorpus folder of the shared bench-data")
    parser.add_argument("--queries", type=int, default=40, help="test queries sampled (default 40)")
    parser.add_argument("--top-k", type=int, default=2, help="chunks retrieved per query (default 2)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threshold", type=float, default=0.5, help="a score below it fails the row")
    args = parser.parse_args()

    from haybale.components.generators import LlamaCppChatGenerator
    from haybale.evaluation import (
        EvaluationRun,
        ReportExtras,
        cluster_failures,
        default_rubrics,
        write_report,
    )
    from haybale.stores import InMemoryDocumentStore

    documents, rows = load(data_dir(args.data), args.queries, args.seed)
    store = InMemoryDocumentStore()
    store.write_documents(documents)
    generator = LlamaCppChatGenerator(
        n_ctx=2048, generation_kwargs={"max_tokens": 40, "temperature": 0.0, "repeat_penalty": 1.3}
    )
    generator.warm_up()
    print(
        f"NFCorpus: {len(documents)} chunks of <= {CHUNK_CHARS} chars, {len(rows)} test queries, "
        f"top_k {args.top_k}, generator SmolLM2-135M (llama.cpp), blame threshold {args.threshold}; "
        f"load {os.getloadavg()[0]:.2f}"
    )
    reports: dict[str, Any] = {}
    header = (
        "| run | rows failing | blamed (absolute) | regressions vs healthy | blamed (regressions) | time |"
    )
    lines = [header, "|---|---|---|---|---|---|"]
    for name, broken in (
        ("healthy", None),
        ("broken retriever", "retriever"),
        ("broken template", "template"),
    ):
        pipeline = build(store, documents, generator, args.top_k, broken)
        started = time.perf_counter()
        report = EvaluationRun(pipeline, default_rubrics(pipeline, rows), name=name, keep_outputs=False).run(
            rows
        )
        seconds = time.perf_counter() - started
        reports[name] = report
        baseline = reports["healthy"]
        failing = report.blame(args.threshold)
        regressions = report.blame(args.threshold, baseline=baseline) if broken else []
        lines.append(
            f"| {name} | {len(failing)}/{len(rows)} | {shares(failing)} | {len(regressions)} | "
            f"{shares(regressions) if broken else '-'} | {seconds:.0f} s |"
        )
        extras = ReportExtras(
            blame_threshold=args.threshold,
            comparison=baseline.compare(report) if broken else None,
            clusters=cluster_failures(report, args.threshold),
        )
        paths = write_report(OUT / name.replace(" ", "-"), report, extras)
        (OUT / name.replace(" ", "-") / "run.json").write_text(report.to_json(), encoding="utf-8")
        print(f"{name}: report {paths['markdown'].relative_to(ROOT)}", file=sys.stderr)
    print("\n".join(lines))
    scores = ["retriever.recall", "prompt_builder.prompt_coverage", "llm.groundedness", "llm.refusal"]
    print("\n| run | " + " | ".join(scores) + " |\n|---|" + "---|" * len(scores))
    for name, report in reports.items():
        means = report.scores()
        print(f"| {name} | " + " | ".join(f"{means[key]:.3f}" for key in scores) + " |")


if __name__ == "__main__":
    main()
