"""Failing cases grouped into named problems: "retriever: recall — vitamin, deficiency" rather than 40 rows.

Each failing row (see :meth:`EvaluationReport.blame`) becomes a text: its question, the blamed component
and the failure reason. The texts are embedded with the bundled all-MiniLM-L6-v2 and clustered with HDBSCAN
(scikit-learn): density-based, so the number of groups is not fixed in advance and outliers stay outliers.
Each group is named after its most blamed component and metric plus the words that set it apart from the
other failures. Outliers are gathered per component. With fewer than :data:`MIN_ROWS_TO_CLUSTER` failures
there is nothing for density to find, so rows are grouped by component and metric only.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from haybale.errors import MissingDependencyError, optional_dependency
from haybale.evaluation.report import EvaluationReport

__all__ = ["MIN_ROWS_TO_CLUSTER", "FailureCluster", "cluster_failures", "minilm_embedder"]

MIN_ROWS_TO_CLUSTER = 6
_KEYWORDS = 3
_WORD = re.compile(r"[a-z][a-z0-9-]{2,}")

#: Texts -> one vector per text.
Embedder = Callable[[list[str]], Any]


@dataclass
class FailureCluster:
    """One named group of failing rows.

    Attributes:
        name: "component: metric — distinctive words".
        component: the component blamed most often in the group (None: pipeline errors without one).
        metric: the metric that failed most often (None for errors).
        rows: the row ids, in report order.
        queries: the rows' questions (empty strings where a row has none).
        reasons: the blame reasons, one per row.
        keywords: the words that set the group apart.
    """

    name: str
    component: str | None
    metric: str | None
    rows: list[Any] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "name": self.name,
            "component": self.component,
            "metric": self.metric,
            "size": len(self.rows),
            "rows": self.rows,
            "keywords": self.keywords,
            "examples": self.queries[:3],
        }


def minilm_embedder() -> Embedder:
    """Embeds with the bundled all-MiniLM-L6-v2 (loaded once per process; normalized vectors).

    Raises:
        MissingDependencyError: sentence-transformers is not installed.
    """
    try:
        from haybale.components.embedders.sentence_transformers_backend import (
            DEFAULT_SENTENCE_TRANSFORMERS_MODEL,
            load_sentence_transformer,
        )

        model = load_sentence_transformer(DEFAULT_SENTENCE_TRANSFORMERS_MODEL)
    except ImportError as exc:
        raise MissingDependencyError.for_extra(
            "sentence-transformers", "local-models", "Clustering failures"
        ) from exc

    def embed(texts: list[str]) -> Any:
        return model.encode(texts, normalize_embeddings=True, show_progress_bar=False)

    return embed


def _words(text: str) -> list[str]:
    """Lowercase words of three letters or more, English stop words left out (kept whole: names read
    better unstemmed)."""
    from haybale.stores.text_analysis import ENGLISH_STOP_WORDS

    return [w for w in _WORD.findall(text.lower()) if w not in ENGLISH_STOP_WORDS]


def _keywords(members: Sequence[str], everything: Sequence[str]) -> list[str]:
    """Words frequent in the group and rare elsewhere (TF-IDF of the group as one document)."""
    inside = Counter(word for text in members for word in set(_words(text)))
    documents = Counter(word for text in everything for word in set(_words(text)))
    total = len(everything)

    def weight(word: str) -> float:
        return inside[word] * math.log((1 + total) / (1 + documents[word]))

    ranked = sorted(inside, key=lambda word: (-weight(word), word))
    return [word for word in ranked if weight(word) > 0][:_KEYWORDS]


def _labels(texts: list[str], embed: Embedder) -> list[int]:
    with optional_dependency("scikit-learn", extra="local-models", feature="Clustering failures"):
        import numpy as np
        from sklearn.cluster import HDBSCAN
    vectors = np.asarray(embed(texts), dtype=float)
    size = max(2, min(8, len(texts) // 8))
    return [int(label) for label in HDBSCAN(min_cluster_size=size, copy=True).fit_predict(vectors)]


def cluster_failures(
    report: EvaluationReport, threshold: float = 0.5, embed: Embedder | None = None
) -> list[FailureCluster]:
    """Group the rows :meth:`EvaluationReport.blame` finds into named clusters, largest first.

    Args:
        report: the evaluation report.
        threshold: the score below which a metric fails (as in ``blame``).
        embed: texts -> vectors; default :func:`minilm_embedder`.

    Raises:
        MissingDependencyError: clustering needs sentence-transformers and scikit-learn.
    """
    findings = report.blame(threshold)
    if not findings:
        return []
    queries = {row.row_id: row.query or "" for row in report.rows}
    texts = [f"{queries.get(f['row'], '')} | {f['component'] or 'pipeline'}: {f['reason']}" for f in findings]
    if len(findings) < MIN_ROWS_TO_CLUSTER:
        labels = [-1] * len(findings)
    else:
        labels = _labels(texts, embed if embed is not None else minilm_embedder())
    groups: dict[Any, list[int]] = {}
    for position, (finding, label) in enumerate(zip(findings, labels, strict=True)):
        key = label if label >= 0 else ("outliers", finding["component"], finding["metric"])
        groups.setdefault(key, []).append(position)
    clusters = [
        _cluster([findings[i] for i in members], [texts[i] for i in members], texts, queries)
        for members in groups.values()
    ]
    return sorted(clusters, key=lambda c: (-len(c.rows), c.name))


def _cluster(
    findings: list[dict[str, Any]], members: list[str], everything: list[str], queries: dict[Any, str]
) -> FailureCluster:
    component = Counter(f["component"] for f in findings).most_common(1)[0][0]
    metric = Counter(f["metric"] for f in findings).most_common(1)[0][0]
    asked = [queries.get(f["row"], "") for f in findings]
    if any(asked):  # name the group by what its questions are about; the reasons only say what failed
        keywords = _keywords(asked, [text.split(" | ", 1)[0] for text in everything])
    else:
        keywords = _keywords(members, everything)
    label = metric.rsplit(".", 1)[-1] if metric else "pipeline error"
    name = f"{component or 'pipeline'}: {label}" + (f" — {', '.join(keywords)}" if keywords else "")
    return FailureCluster(
        name=name,
        component=component,
        metric=metric,
        rows=[f["row"] for f in findings],
        queries=[queries.get(f["row"], "") for f in findings],
        reasons=[f["reason"] for f in findings],
        keywords=keywords,
    )
