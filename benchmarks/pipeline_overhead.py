"""Pipeline engine overhead: haybale vs haystack-ai, side by side in one run.

Cases: (a) 10 trivial int components in a line; (b) a 20-component fan-out/fan-in; (c) a first component emits
100 Documents with 384-d embeddings that pass through 9 more components; (d) 100 such Documents given as user
input to a 1-component pipeline (cost of protecting the caller's data); (e) 80 trivial components in a line
(does per-component cost stay flat?). Plus `import haybale` vs `import haystack` time in a fresh process.

Run: .venv/bin/python benchmarks/pipeline_overhead.py [--budget SECONDS_PER_CASE] [--rounds N]
The peer side runs in .venv-peers (make bench-peers) through benchmarks/pipeline_overhead_peer.py. The two
sides alternate for N rounds (ours, peer, ours, peer, ...); the table shows the median of the rounds, and the
speed-up is the median of each round's ratio, so a load change between rounds skews no ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEER_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
sys.path.insert(0, str(HERE))

TARGETS = {"a": 20.0, "b": 30.0, "c": 200.0, "d": 10.0}
#: absolute target for (a), issue 13: a 10-component run costs at most 10 µs
TARGET_A_SECONDS = 10e-6
LABELS = {
    "a": "(a) 10 int components, line",
    "b": "(b) 20 components, fan-out/fan-in",
    "c": "(c) 100 docs x 384-d through 10 comps",
    "d": "(d) 100 docs x 384-d as user input",
    "e": "(e) 80 int components, line",
}


def _fmt(seconds: float) -> str:
    if seconds >= 0.1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def _import_time(python: str, module: str, repeats: int = 5) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    samples = []
    for _ in range(repeats):
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, timeout=120)
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def _run_peer(budget: float) -> dict[str, Any] | None:
    if not PEER_PYTHON.exists():
        print(f"(peer venv {PEER_PYTHON} missing: run `make bench-peers`; showing haybale only)")
        return None
    out = subprocess.run(
        [str(PEER_PYTHON), str(HERE / "pipeline_overhead_peer.py"), str(budget)],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--budget", type=float, default=2.0, help="seconds of sampling per case and framework"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of ours and the peer")
    args = parser.parse_args()

    from haybale import Document, Pipeline, Variadic, component
    from pipeline_overhead_cases import build_cases, measure_all

    load_before = os.getloadavg()
    cases = build_cases(component, Pipeline, Document, Variadic)
    rounds: list[tuple[dict[str, float], dict[str, float]]] = []
    version = "n/a"
    for _ in range(max(1, args.rounds)):
        ours_round = measure_all(cases, args.budget)
        peer = _run_peer(args.budget)
        rounds.append((ours_round, peer["cases"] if peer else {}))
        version = peer["version"] if peer else "n/a"
    ours = {case: statistics.median(r[0][case] for r in rounds) for case in LABELS}
    theirs = {case: statistics.median(r[1][case] for r in rounds) for case in LABELS if rounds[0][1]}
    ratios = {case: [r[1][case] / r[0][case] for r in rounds] for case in theirs}
    ours_import = _import_time(sys.executable, "haybale")
    theirs_import = _import_time(str(PEER_PYTHON), "haystack") if theirs else float("nan")
    load_after = os.getloadavg()

    print(
        f"\nPipeline overhead, median of {len(rounds)} alternating rounds (haystack-ai {version}); "
        f"{time.strftime('%Y-%m-%d %H:%M')}; load {load_before[0]:.2f} -> {load_after[0]:.2f}"
    )
    print(f"{'case':<40} {'haybale':>12} {'haystack-ai':>12} {'speed-up':>9} {'rounds':>12} {'target':>8}")
    for case, label in LABELS.items():
        mine = ours[case]
        other = theirs.get(case)
        ratio = f"{statistics.median(ratios[case]):.0f}x" if other else "n/a"
        spread = f"{min(ratios[case]):.0f}-{max(ratios[case]):.0f}x" if other else ""
        target = f">={TARGETS[case]:.0f}x" if case in TARGETS else ""
        shown = _fmt(other) if other else "n/a"
        print(f"{label:<40} {_fmt(mine):>12} {shown:>12} {ratio:>9} {spread:>12} {target:>8}")
    verdict = "met" if ours["a"] <= TARGET_A_SECONDS else "not met"
    print(f"{'(a) absolute':<40} {_fmt(ours['a']):>12} (target <= {_fmt(TARGET_A_SECONDS)}: {verdict})")
    per_a, per_e = ours["a"] / 10, ours["e"] / 80
    print(
        f"{'per component: (a) vs (e)':<40} {_fmt(per_a)} -> {_fmt(per_e)} "
        f"(x{per_e / per_a:.2f}; target <= x1.5)"
    )
    if theirs:
        t_a, t_e = theirs["a"] / 10, theirs["e"] / 80
        print(f"{'haystack-ai per component: (a) vs (e)':<40} {_fmt(t_a)} -> {_fmt(t_e)} (x{t_e / t_a:.2f})")
    print(
        f"{'import time (fresh process, median of 5)':<40} {_fmt(ours_import):>12} {_fmt(theirs_import):>12}"
    )
    print("target: import haybale < 150 ms")


if __name__ == "__main__":
    main()
