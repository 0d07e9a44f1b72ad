"""Peer side of pipeline_overhead.py: the same cases on haystack-ai (run with .venv-peers/bin/python).

Prints one JSON object: {"version", "import_s", "cases": {case: median seconds}}.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    budget = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    start = time.perf_counter()
    import haystack
    from haystack import Document, Pipeline, component
    from haystack.core.component.types import Variadic

    import_s = time.perf_counter() - start
    logging.getLogger("haystack").setLevel(logging.ERROR)
    from pipeline_overhead_cases import build_cases, measure_all

    cases = build_cases(component, Pipeline, Document, Variadic)
    results = measure_all(cases, budget)
    print(json.dumps({"version": haystack.__version__, "import_s": import_s, "cases": results}))


if __name__ == "__main__":
    main()
