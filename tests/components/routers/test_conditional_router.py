"""ConditionalRouter: sockets, serialization, routing, typed outputs, sandbox, bad input."""

from __future__ import annotations

import pytest

from haybale.components.builders import TemplateSecurityError
from haybale.components.routers import ConditionalRouter, NoRouteSelectedError
from haybale.core.component import get_input_sockets, get_output_sockets
from haybale.core.serialization import unsafe_templates_scope
from haybale.core.sockets import EMPTY
from haybale.dataclasses import Document
from haybale.errors import ComponentError, DeserializationError, SerializationError


def shout(text: str) -> str:
    """A custom filter importable by path."""
    return text.upper()


ROUTES = [
    {
        "condition": "{{ documents|length > 1 }}",
        "output": "{{ documents }}",
        "output_name": "many",
        "output_type": "list[haybale.dataclasses.Document]",
    },
    {
        "condition": "{{ true }}",
        "output": ["{{ query }}", "{{ documents|length }}"],
        "output_name": ["query", "count"],
        "output_type": [str, int],
    },
]


def test_sockets_from_templates() -> None:
    router = ConditionalRouter(ROUTES, optional_variables=["query"])
    inputs = get_input_sockets(router)
    assert set(inputs) == {"documents", "query"}
    assert inputs["documents"].default is EMPTY and inputs["query"].default is None
    outputs = get_output_sockets(router)
    assert outputs["many"].type == list[Document]
    assert (outputs["query"].type, outputs["count"].type) == (str, int)


def test_round_trip_serializes_types_and_filters_as_strings() -> None:
    router = ConditionalRouter(ROUTES, custom_filters={"shout": shout})
    data = router.to_dict()
    params = data["init_parameters"]
    assert params["routes"][0]["output_type"] == "list[haybale.dataclasses.document.Document]"
    assert params["routes"][1]["output_type"] == ["str", "int"]
    assert params["custom_filters"] == {"shout": f"{__name__}.shout"}
    with pytest.raises(DeserializationError, match="not allow-listed"):
        ConditionalRouter.from_dict(data)
    from haybale.core.serialization import allowed_modules_scope

    with allowed_modules_scope([__name__]):
        assert ConditionalRouter.from_dict(data).to_dict() == data


def test_first_matching_route_emits_native_values() -> None:
    router = ConditionalRouter(ROUTES)
    docs = [Document(content="a"), Document(content="b")]
    assert router.run(documents=docs, query="q") == {"many": docs}
    assert router.run(documents=[], query="[1, 2]") == {"query": "[1, 2]", "count": 0}


def test_string_output_parsed_only_for_non_str_types() -> None:
    routes = [
        {
            "condition": "{{ true }}",
            "output": "[{{ n }}, {{ n + 1 }}]",
            "output_name": "nums",
            "output_type": list[int],
        }
    ]
    assert ConditionalRouter(routes).run(n=1) == {"nums": [1, 2]}


def test_custom_filter() -> None:
    routes = [
        {"condition": "{{ true }}", "output": "{{ q|shout }}", "output_name": "out", "output_type": str}
    ]
    assert ConditionalRouter(routes, custom_filters={"shout": shout}).run(q="hi") == {"out": "HI"}


def test_no_route_lists_conditions() -> None:
    router = ConditionalRouter(ROUTES[:1])
    with pytest.raises(NoRouteSelectedError, match=r"route 0: \{\{ documents\|length > 1 \}\}"):
        router.run(documents=[])


@pytest.mark.parametrize(
    "expression",
    [
        "''.__class__.__mro__",
        "cycler.__init__.__globals__",
        "x|attr('__subclasses__')",
        "('{0.__cl' ~ 'ass__}').format(x)",
    ],
)
def test_sandbox_refuses_internals(expression: str) -> None:
    routes = [
        {
            "condition": "{{ true }}",
            "output": "{{ " + expression + " }}",
            "output_name": "o",
            "output_type": str,
        }
    ]
    with pytest.raises(TemplateSecurityError):
        ConditionalRouter(routes).run(x="s")


def test_bad_input() -> None:
    with pytest.raises(ComponentError, match="missing \\['output_type'\\]"):
        ConditionalRouter([{"condition": "{{ true }}", "output": "x", "output_name": "o"}])
    with pytest.raises(ComponentError, match="2 outputs, 1 output names"):
        ConditionalRouter(
            [{"condition": "{{ true }}", "output": ["a", "b"], "output_name": "o", "output_type": str}]
        )
    with pytest.raises(DeserializationError, match="Unsupported syntax"):
        ConditionalRouter(
            [{"condition": "{{ true }}", "output": "a", "output_name": "o", "output_type": "int()"}]
        )
    with pytest.raises(ComponentError, match="should be int but the template produced str"):
        ConditionalRouter(
            [{"condition": "{{ true }}", "output": "{{ q }}", "output_name": "o", "output_type": int}]
        ).run(q="abc")
    with pytest.raises(ComponentError, match="declared with two types"):
        ConditionalRouter(
            [
                {"condition": "{{ a }}", "output": "{{ a }}", "output_name": "o", "output_type": int},
                {"condition": "{{ true }}", "output": "{{ a }}", "output_name": "o", "output_type": str},
            ]
        )
    with pytest.raises(SerializationError, match="cannot be serialized"):
        ConditionalRouter(ROUTES, custom_filters={"f": lambda s: s}).to_dict()


def test_unsafe_turns_the_sandbox_off_for_trusted_templates() -> None:
    routes = [{"condition": "{{ true }}", "output": "{{ items.append(3) or items }}", "output_name": "o",
               "output_type": list[int]}]  # fmt: skip
    with pytest.raises(TemplateSecurityError):
        ConditionalRouter(routes).run(items=[1, 2])
    trusted = ConditionalRouter(routes, unsafe=True)
    assert trusted.run(items=[1, 2]) == {"o": [1, 2, 3]}
    with unsafe_templates_scope(True):
        assert ConditionalRouter.from_dict(trusted.to_dict()).unsafe is True


def test_serialized_unsafe_templates_load_only_when_the_caller_opts_in() -> None:
    """A file naming ``unsafe: true`` could run any code on the machine that loads it: loading refuses it
    unless the caller says the file is trusted, for that load (nested loads inherit the choice)."""
    from haybale.core.pipeline import Pipeline

    pipeline = Pipeline()
    pipeline.add_component("router", ConditionalRouter(ROUTES, unsafe=True))
    text = pipeline.dumps()
    with pytest.raises(DeserializationError, match=r"unsafe: true.*sandbox.*allow_unsafe_templates=True"):
        ConditionalRouter.from_dict(pipeline.get_component("router").to_dict())
    with pytest.raises(DeserializationError, match="unsafe: true"):
        Pipeline.loads(text)
    loaded = Pipeline.loads(text, allow_unsafe_templates=True)
    assert loaded.get_component("router").unsafe is True
    with pytest.raises(DeserializationError, match="unsafe: true"):
        Pipeline.loads(text)  # the opt-in lasted for that load only
    safe = Pipeline()
    safe.add_component("router", ConditionalRouter(ROUTES))
    assert Pipeline.loads(safe.dumps()).get_component("router").unsafe is False
