"""Evaluation datasets on disk: JSON lines (one row per line) or one JSON list.

A row is ``{"id"?, "inputs": {...run data...}, "ground_truth_document_ids"? | "ground_truth_documents"?,
"ground_truth_answer"?, "expected_tool_calls"?, "question"?}`` (see
:class:`~haybale.evaluation.EvaluationRun`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from haybale.errors import EvaluationError

__all__ = ["load_dataset"]


def load_dataset(path: str | Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Read a dataset file (``.jsonl``: one row per line; anything else: a JSON list of rows).

    Args:
        path: the file.
        limit: keep only the first ``limit`` rows.

    Raises:
        EvaluationError: the file is missing, not JSON, or a row is not an object with an ``inputs`` object
            (the message names the line or position).
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise EvaluationError(f"Cannot read the dataset {str(source)!r}: {exc.strerror or exc}.") from exc
    rows: list[Any] = []
    if source.suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise EvaluationError(f"{source}:{number}: not JSON ({exc.msg}).") from exc
    else:
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EvaluationError(
                f"{source}: not JSON ({exc.msg} at line {exc.lineno}). Write a JSON list of rows, or JSON "
                "lines in a .jsonl file."
            ) from exc
        if not isinstance(loaded, list):
            raise EvaluationError(f"{source}: expected a JSON list of rows, got {type(loaded).__name__}.")
        rows = loaded
    for position, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("inputs"), dict):
            raise EvaluationError(
                f"{source}: row {position} must be an object with an 'inputs' object (the pipeline's run "
                f'data, e.g. {{"inputs": {{"query": "..."}}}}), got {json.dumps(row)[:80]}.'
            )
    if not rows:
        raise EvaluationError(f"{source}: the dataset has no rows.")
    return rows[:limit] if limit is not None else rows
