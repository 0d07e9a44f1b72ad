"""``SuperComponent``: a whole pipeline used as one component of another pipeline.

The wrapper's inputs and outputs map onto sockets of the inner pipeline::

    retrieval = SuperComponent(
        inner,
        input_mapping={"query": ["embedder.text", "bm25.query"], "top_k": ["joiner.top_k"]},
        output_mapping={"joiner.documents": "documents"},
    )
    outer.add_component("retrieval", retrieval)

Without ``input_mapping``, every input of the inner pipeline that has no sender is exposed under its socket
name (inputs sharing a name become one input feeding all of them). Without ``output_mapping``, every output
connected to nothing is exposed under its socket name. Name clashes the defaults cannot settle are reported
with the mapping that would settle them.

It serializes (the inner pipeline nested), draws as a nested subgraph in Mermaid, runs sync or async, and its
inner components appear as child spans when tracing is on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from haybale.core.component import component, get_input_sockets, get_output_sockets
from haybale.core.pipeline import Pipeline
from haybale.core.serialization import type_name_of
from haybale.core.sockets import EMPTY, describe_type
from haybale.errors import ComponentError

__all__ = ["SuperComponent"]


@component
class SuperComponent:
    """Wrap ``pipeline`` as a component with mapped inputs and outputs.

    Args:
        pipeline: the inner pipeline (it belongs to this wrapper from now on).
        input_mapping: wrapper input name -> the inner sockets (``"component.socket"``) it feeds.
        output_mapping: inner output (``"component.socket"``) -> wrapper output name.

    Raises:
        ComponentError: a mapping names an unknown component or socket, an inner input that already has a
            sender, inputs of different types under one name, or two outputs under one name.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        input_mapping: Mapping[str, list[str] | str] | None = None,
        output_mapping: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(pipeline, Pipeline):
            raise ComponentError(f"SuperComponent wraps a Pipeline, got {type(pipeline).__name__}.")
        self.pipeline = pipeline
        open_inputs = pipeline.inputs()
        self.input_mapping = _check_inputs(
            dict(input_mapping) if input_mapping is not None else _default_inputs(open_inputs), open_inputs
        )
        self.output_mapping = _check_outputs(
            dict(output_mapping) if output_mapping is not None else _default_outputs(pipeline),
            pipeline,
        )
        self._explicit_inputs = input_mapping is not None
        self._explicit_outputs = output_mapping is not None
        for name, targets in self.input_mapping.items():
            socket_type, default = _merged_socket(name, targets, open_inputs)
            component.set_input_type(self, name, socket_type, default=default)
        output_types = {}
        for address, name in self.output_mapping.items():
            inner, socket = address.split(".", 1)
            output_types[name] = get_output_sockets(pipeline.get_component(inner))[socket].type
        component.set_output_types(self, **output_types)
        self._include = sorted({address.split(".", 1)[0] for address in self.output_mapping})

    def warm_up(self) -> None:
        """Warm up the inner pipeline's components."""
        self.pipeline.warm_up()

    def _inner_data(self, kwargs: dict[str, Any]) -> dict[str, dict[str, Any]]:
        data: dict[str, dict[str, Any]] = {}
        sockets = get_input_sockets(self)
        for name, value in kwargs.items():
            if value is sockets[name].default:
                continue  # an optional input left at its default: the inner sockets keep their own
            for target in self.input_mapping[name]:
                inner, socket = target.split(".", 1)
                data.setdefault(inner, {})[socket] = value
        return data

    def _outputs(self, result: dict[str, dict[str, Any]]) -> dict[str, Any]:
        outputs: dict[str, Any] = {}
        for address, name in self.output_mapping.items():
            inner, socket = address.split(".", 1)
            produced = result.get(inner, {})
            if socket in produced:
                outputs[name] = produced[socket]
        return outputs

    def run(self, **kwargs: Any) -> dict[str, Any]:
        """Run the inner pipeline with the mapped inputs and return the mapped outputs (those produced)."""
        result = self.pipeline.run(self._inner_data(kwargs), include_outputs_from=self._include)
        return self._outputs(result)

    async def run_async(self, **kwargs: Any) -> dict[str, Any]:
        """Async :meth:`run` (the inner pipeline runs with ``run_async``)."""
        result = await self.pipeline.run_async(self._inner_data(kwargs), include_outputs_from=self._include)
        return self._outputs(result)

    def to_dict(self) -> dict[str, Any]:
        """Serialize with the inner pipeline nested (mappings written only when they were given)."""
        return {
            "type": type_name_of(self),
            "init_parameters": {
                "pipeline": self.pipeline.to_dict(),
                "input_mapping": self.input_mapping if self._explicit_inputs else None,
                "output_mapping": self.output_mapping if self._explicit_outputs else None,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuperComponent:
        """Build from :meth:`to_dict` output; the inner pipeline loads under the same allow-list."""
        params = dict(data.get("init_parameters") or {})
        if not isinstance(params.get("pipeline"), dict):
            raise ComponentError(
                "SuperComponent data needs init_parameters.pipeline (a serialized pipeline)."
            )
        return cls(
            Pipeline.from_dict(params["pipeline"]),
            input_mapping=params.get("input_mapping"),
            output_mapping=params.get("output_mapping"),
        )


def _default_inputs(open_inputs: dict[str, dict[str, dict[str, Any]]]) -> dict[str, list[str]]:
    mapping: dict[str, list[str]] = {}
    for name, sockets in open_inputs.items():
        for socket in sockets:
            mapping.setdefault(socket, []).append(f"{name}.{socket}")
    return mapping


def _default_outputs(pipeline: Pipeline) -> dict[str, str]:
    owners: dict[str, list[str]] = {}
    for name, sockets in pipeline.outputs().items():
        for socket in sockets:
            owners.setdefault(socket, []).append(f"{name}.{socket}")
    clashes = {socket: addresses for socket, addresses in owners.items() if len(addresses) > 1}
    if clashes:
        example = {address: address.replace(".", "_") for address in next(iter(clashes.values()))}
        raise ComponentError(
            f"SuperComponent: several inner outputs are named alike ({clashes}); give output_mapping to name "
            f"them apart, e.g. output_mapping={example}."
        )
    return {addresses[0]: socket for socket, addresses in owners.items()}


def _split(address: Any, what: str) -> tuple[str, str]:
    if not isinstance(address, str) or "." not in address:
        raise ComponentError(f"SuperComponent: {what} must be 'component.socket', got {address!r}.")
    inner, socket = address.split(".", 1)
    return inner, socket


def _check_inputs(
    mapping: dict[str, Any], open_inputs: dict[str, dict[str, dict[str, Any]]]
) -> dict[str, list[str]]:
    checked: dict[str, list[str]] = {}
    for name, targets in mapping.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ComponentError(f"SuperComponent: input name {name!r} must be a Python identifier.")
        listed = [targets] if isinstance(targets, str) else list(targets or [])
        if not listed:
            raise ComponentError(f"SuperComponent: input {name!r} maps to no inner socket.")
        for target in listed:
            inner, socket = _split(target, f"the target of input {name!r}")
            if socket not in open_inputs.get(inner, {}):
                choices = sorted(f"{c}.{s}" for c, sockets in open_inputs.items() for s in sockets)
                raise ComponentError(
                    f"SuperComponent: input {name!r} maps to {target!r}, which is not an input of the inner "
                    f"pipeline without a sender. Inputs that can be mapped: {choices}."
                )
        checked[name] = listed
    return checked


def _check_outputs(mapping: dict[str, Any], pipeline: Pipeline) -> dict[str, str]:
    names: dict[str, str] = {}
    for address, name in mapping.items():
        inner, socket = _split(address, "an output_mapping key")
        try:
            sockets = get_output_sockets(pipeline.get_component(inner))
        except Exception as exc:
            raise ComponentError(
                f"SuperComponent: output_mapping names unknown component {inner!r}."
            ) from exc
        if socket not in sockets:
            raise ComponentError(
                f"SuperComponent: {inner!r} has no output {socket!r}; its outputs: {sorted(sockets)}."
            )
        if not isinstance(name, str) or not name.isidentifier():
            raise ComponentError(f"SuperComponent: output name {name!r} must be a Python identifier.")
        if name in names:
            raise ComponentError(
                f"SuperComponent: {names[name]!r} and {address!r} both map to output {name!r}; give them "
                "different names."
            )
        names[name] = address
    return {address: name for name, address in names.items()}


def _merged_socket(
    name: str, targets: list[str], open_inputs: dict[str, dict[str, dict[str, Any]]]
) -> tuple[Any, Any]:
    """The wrapper socket for ``targets``: their common type; optional (default None) only if all are."""
    infos = [open_inputs[t.split(".", 1)[0]][t.split(".", 1)[1]] for t in targets]
    types = {describe_type(info["type"]) for info in infos}
    if len(types) > 1:
        raise ComponentError(
            f"SuperComponent: input {name!r} feeds sockets of different types ({sorted(types)}: {targets}); "
            "map them to separate inputs."
        )
    if any(info["is_mandatory"] for info in infos):
        return infos[0]["type"], EMPTY
    defaults = [info.get("default") for info in infos]
    return infos[0]["type"], defaults[0] if len(targets) == 1 else None
