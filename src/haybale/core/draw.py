"""Drawing pipelines: Mermaid text (offline, always) and SVG/PNG through a local Graphviz ``dot``.

Nothing here touches the network: Mermaid is returned as text, and images are rendered by the ``dot``
executable when it is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from haybale.core.component import get_input_sockets, get_output_sockets
from haybale.core.sockets import InputSocket, describe_type
from haybale.errors import PipelineError

if TYPE_CHECKING:
    from haybale.core.pipeline import Pipeline

__all__ = ["draw_pipeline", "pipeline_to_dot", "pipeline_to_mermaid"]

_FORMATS = {".svg": "svg", ".png": "png"}


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def _mark(socket: InputSocket) -> str:
    marks = []
    if socket.variadic:
        marks.append("variadic" if socket.variadic == "lazy" else "greedy")
    if not socket.is_mandatory:
        marks.append("optional")
    return f" [{', '.join(marks)}]" if marks else ""


def _graph(pipeline: Pipeline) -> tuple[list[tuple[str, Any]], list[tuple[str, str, str, str, str]]]:
    components = list(pipeline.walk())
    edges = []
    for sender, receiver in pipeline.connections():
        s_name, s_socket = sender.split(".", 1)
        r_name, r_socket = receiver.split(".", 1)
        s_type = describe_type(get_output_sockets(pipeline.get_component(s_name))[s_socket].type)
        edges.append((s_name, s_socket, r_name, r_socket, s_type))
    return components, edges


def pipeline_to_mermaid(pipeline: Pipeline) -> str:
    """Mermaid flowchart: one node per component (name, class, typed inputs with marks), typed edges, and the
    pipeline's open inputs and outputs."""
    lines = ["flowchart TD"]
    ids = _mermaid_graph(pipeline, "c", "    ", lines, depth=0)
    for name, sockets in pipeline.inputs().items():
        for socket, info in sockets.items():
            mark = "" if info["is_mandatory"] else " (optional)"
            text = _esc(f"{socket}: {describe_type(info['type'])}{mark}")
            lines.append(f'    in_{ids[name]}_{socket}(("input")) -. "{text}" .-> {ids[name]}')
    for name, sockets in pipeline.outputs().items():
        for socket, info in sockets.items():
            text = _esc(f"{socket}: {describe_type(info['type'])}")
            lines.append(f'    {ids[name]} -. "{text}" .-> out_{ids[name]}_{socket}(("output"))')
    return "\n".join(lines) + "\n"


def _inner_pipeline(instance: Any) -> Pipeline | None:
    """The pipeline a component wraps (a SuperComponent's), drawn nested; None for other components."""
    from haybale.core.pipeline import Pipeline

    inner = getattr(instance, "pipeline", None)
    return inner if isinstance(inner, Pipeline) else None


def _mermaid_graph(
    pipeline: Pipeline, prefix: str, indent: str, lines: list[str], depth: int
) -> dict[str, str]:
    """Append the nodes and edges of ``pipeline`` (wrapped pipelines as nested subgraphs); return node ids."""
    components, edges = _graph(pipeline)
    ids = {name: f"{prefix}{index}" for index, (name, _) in enumerate(components)}
    for name, instance in components:
        inner = _inner_pipeline(instance) if depth < 8 else None
        heading = f"<b>{_esc(name)}</b><br/><i>{_esc(type(instance).__name__)}</i>"
        if inner is not None:
            lines.append(f'{indent}subgraph {ids[name]} ["{heading}"]')
            lines.append(f"{indent}    direction TB")
            _mermaid_graph(inner, f"{ids[name]}_", indent + "    ", lines, depth + 1)
            lines.append(f"{indent}end")
            continue
        socket_text = "<br/>".join(
            _esc(f"{s.name}: {describe_type(s.type)}{_mark(s)}") for s in get_input_sockets(instance).values()
        )
        label = heading + (f"<br/><small>{socket_text}</small>" if socket_text else "")
        lines.append(f'{indent}{ids[name]}["{label}"]')
    for s_name, s_socket, r_name, r_socket, s_type in edges:
        edge_label = f"{_esc(f'{s_socket} → {r_socket}')}<br/>{_esc(s_type)}"
        lines.append(f'{indent}{ids[s_name]} -- "{edge_label}" --> {ids[r_name]}')
    return ids


def pipeline_to_dot(pipeline: Pipeline) -> str:
    """Graphviz DOT text of the pipeline."""
    components, edges = _graph(pipeline)
    lines = [
        "digraph pipeline {",
        "  rankdir=TB;",
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
    ]
    for name, instance in components:
        socket_text = "\\n".join(
            f"{s.name}: {describe_type(s.type)}{_mark(s)}" for s in get_input_sockets(instance).values()
        )
        label = f"{name}\\n({type(instance).__name__})" + (f"\\n{socket_text}" if socket_text else "")
        lines.append(f'  "{name}" [label="{label.replace(chr(34), chr(39))}"];')
    for s_name, s_socket, r_name, r_socket, s_type in edges:
        label = f"{s_socket} -> {r_socket}\\n{s_type}".replace('"', "'")
        lines.append(f'  "{s_name}" -> "{r_name}" [label="{label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_pipeline(pipeline: Pipeline, path: Path) -> Path:
    """Render the pipeline to ``path`` (``.svg``/``.png``) with Graphviz.

    Raises:
        PipelineError: unsupported suffix, Graphviz not installed (the message says how to install it and that
            ``to_mermaid()`` works offline), or ``dot`` failing.
    """
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise PipelineError(
            f"Cannot draw to '{path}': use a .svg or .png file name (or to_mermaid() for text)."
        )
    dot = shutil.which("dot")
    if dot is None:
        raise PipelineError(
            "Drawing images needs Graphviz's `dot`, which is not on PATH. Install it (Debian/Ubuntu: "
            "`apt-get install graphviz`; macOS: `brew install graphviz`), or use Pipeline.to_mermaid(), "
            "which works offline without it."
        )
    completed = subprocess.run(
        [dot, f"-T{fmt}", "-o", str(path)],
        input=pipeline_to_dot(pipeline).encode(),
        capture_output=True,
        check=False,
        timeout=60,
    )
    if completed.returncode != 0:
        raise PipelineError(
            f"Graphviz failed to render '{path}': {completed.stderr.decode(errors='replace')}"
        )
    return path
