"""A tiny pipeline built in Python: greet a word, then join the greeting with a second one.

Run: .venv/bin/python examples/pipelines/hello.py
The same pipeline is saved in examples/pipelines/hello.yaml; try
`haybale pipeline run examples/pipelines/hello.yaml --input '{"word": "world"}'`.
"""

from __future__ import annotations

from pathlib import Path

from haybale import Pipeline
from haybale.testing.sample_components import Hello, StringJoiner

YAML_PATH = Path(__file__).with_name("hello.yaml")


def build_pipeline() -> Pipeline:
    """Two greeters feeding one variadic joiner."""
    pipeline = Pipeline(metadata={"description": "Greets a word twice and joins the greetings."})
    pipeline.add_component("hello", Hello())
    pipeline.add_component("hi", Hello())
    pipeline.add_component("joiner", StringJoiner())
    pipeline.connect("hello.output", "joiner.input_str")
    pipeline.connect("hi.output", "joiner.input_str")
    return pipeline


def main() -> None:
    """Build, run, and show that the YAML file describes the same pipeline."""
    pipeline = build_pipeline()
    result = pipeline.run({"hello": {"word": "world"}, "hi": {"word": "there", "greeting": "Hi"}})
    print(result["joiner"]["output"])
    print("hello.yaml matches:", Pipeline.load(YAML_PATH).to_dict() == pipeline.to_dict())


if __name__ == "__main__":
    main()
