"""The public surface of `import haybale` (DESIGN §2): explicit, complete, and cheap to import."""

from __future__ import annotations

import subprocess
import sys

import haybale

EXPECTED = {
    "Breakpoint",
    "BreakpointReached",
    "ByteStream",
    "ChatMessage",
    "ChatRole",
    "ComponentError",
    "DeserializationError",
    "Document",
    "GeneratedAnswer",
    "GreedyVariadic",
    "HaybaleError",
    "InputSocket",
    "OutputSocket",
    "Pipeline",
    "PipelineComponentsBlockedError",
    "PipelineConnectError",
    "PipelineError",
    "PipelineMaxComponentRuns",
    "PipelineRuntimeError",
    "PipelineSnapshot",
    "PipelineValidationError",
    "Secret",
    "SerializationError",
    "SparseEmbedding",
    "SuperComponent",
    "StreamingChunk",
    "ToolCall",
    "ToolCallResult",
    "Variadic",
    "__version__",
    "component",
    "default_from_dict",
    "default_to_dict",
    "deserialize_object",
    "errors",
}


def test_all_is_explicit_and_resolves() -> None:
    assert set(haybale.__all__) == EXPECTED
    from haybale import core, dataclasses, errors

    for name in haybale.__all__:
        exported = getattr(haybale, name)
        homes = [module for module in (core, dataclasses, errors) if hasattr(module, name)]
        # each name re-exports the engine's, the data classes' or the error hierarchy's own object
        assert homes or name in {"__version__", "errors"}, name
        for module in homes:
            assert exported is getattr(module, name), name
    assert haybale.errors is errors
    assert isinstance(haybale.__version__, str) and haybale.__version__.count(".") == 2


def test_design_example_runs() -> None:
    from haybale import Pipeline, component

    @component
    class AddFixedValue:
        def __init__(self, add: int = 1) -> None:
            self.add = add

        @component.output_types(result=int)
        def run(self, value: int, add: int | None = None) -> dict[str, int]:
            return {"result": value + (self.add if add is None else add)}

    p = Pipeline(max_runs_per_component=100)
    p.add_component("first", AddFixedValue(add=2))
    p.add_component("second", AddFixedValue())
    p.connect("first.result", "second.value")
    assert p.run({"first": {"value": 1}}) == {"second": {"result": 4}}
    assert p.run({"value": 1}) == {"second": {"result": 4}}
    assert p.run({"value": 1}, include_outputs_from={"first"}) == {
        "second": {"result": 4},
        "first": {"result": 3},
    }


def test_import_is_light() -> None:
    code = (
        "import sys, haybale\n"
        "heavy = {'torch', 'numpy', 'sentence_transformers', 'transformers', 'psycopg', 'fastapi', 'pypdf',\n"
        "         'llama_cpp', 'openai', 'yaml', 'typer', 'asyncio'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"


def test_testing_helpers_import_without_pytest() -> None:
    code = (
        "import sys\n"
        "sys.modules['pytest'] = None\n"
        "import haybale.testing, haybale.testing.sample_components\n"
        "print('ok')\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert completed.stdout.strip() == "ok", completed.stderr


def test_every_public_module_declares_what_it_exports() -> None:
    """Each module whose name does not start with '_' lists its public names in ``__all__``, and each listed
    name is defined or imported there (read from the source, so optional extras need not be installed)."""
    import ast
    from pathlib import Path

    root = Path(haybale.__file__).parent
    missing, unknown = [], []
    for path in sorted(root.rglob("*.py")):
        if path.name.startswith("_") and path.name != "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        declared = None
        defined: set[str] = set()
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id == "__all__":
                    declared = ast.literal_eval(node.value) if node.value is not None else None
                elif isinstance(target, ast.Name):
                    defined.add(target.id)
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                defined.add(node.name)
            if isinstance(node, ast.ImportFrom | ast.Import):
                defined.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
            if isinstance(node, ast.If):  # TYPE_CHECKING imports behind lazy exports
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom):
                        defined.update(alias.asname or alias.name for alias in inner.names)
        relative = path.relative_to(root.parent)
        if declared is None:
            missing.append(str(relative))
        else:
            unknown += [f"{relative}: {name}" for name in declared if name not in defined]
    assert missing == [], "modules without __all__"
    assert unknown == [], "__all__ names nothing defined or imported there"
