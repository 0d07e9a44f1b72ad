"""A long pipeline run in a child process by test_checkpoint_crash: killed mid-run, then resumed.

``python -m tests.core.checkpoint_job run CHECKPOINT LOG`` runs it with a checkpoint; ``resume`` continues
from the checkpoint file and prints the result as JSON. Each visit appends ``name`` to LOG, and the ``slow``
component blocks (until killed) on the first attempt, after writing ``LOG.ready``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from haybale import Document, Pipeline, component
from haybale.core.snapshot import PipelineSnapshot


@component
class Step:
    """Adds ``add`` and logs the visit."""

    def __init__(self, log: str, add: int) -> None:
        self.log = log
        self.add = add

    @component.output_types(value=int, documents=list[Document])
    def run(self, value: int) -> dict[str, Any]:
        with Path(self.log).open("a", encoding="utf-8") as file:
            file.write(f"step+{self.add}\n")
        return {"value": value + self.add, "documents": [Document(content=f"v={value}")]}


@component
class Slow:
    """Blocks on the first attempt (the test kills the process there); passes through afterwards."""

    def __init__(self, log: str) -> None:
        self.log = log

    @component.output_types(value=int)
    def run(self, value: int, documents: list[Document]) -> dict[str, Any]:
        ready = Path(self.log + ".ready")
        with Path(self.log).open("a", encoding="utf-8") as file:
            file.write("slow\n")
        if not ready.exists():
            ready.write_text("ready", encoding="utf-8")
            time.sleep(120)
        return {"value": value * 2 + len(documents)}


def build(log: str) -> Pipeline:
    pipeline = Pipeline()
    pipeline.add_component("one", Step(log, 1))
    pipeline.add_component("two", Step(log, 10))
    pipeline.add_component("slow", Slow(log))
    pipeline.add_component("last", Step(log, 100))
    pipeline.connect("one.value", "two.value")
    pipeline.connect("two.value", "slow.value")
    pipeline.connect("two.documents", "slow.documents")
    pipeline.connect("slow.value", "last.value")
    return pipeline


def main() -> None:
    mode, checkpoint, log = sys.argv[1:4]
    pipeline = build(log)
    if mode == "run":
        result = pipeline.run({"one": {"value": 1}}, checkpoint=checkpoint)
    else:
        result = pipeline.run({}, snapshot=PipelineSnapshot.load(checkpoint), checkpoint=checkpoint)
    print(json.dumps({name: outputs["value"] for name, outputs in result.items() if "value" in outputs}))


if __name__ == "__main__":
    main()
