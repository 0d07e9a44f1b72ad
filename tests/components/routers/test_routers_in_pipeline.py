"""ConditionalRouter and MetadataRouter inside a Pipeline: only the taken branch runs."""

from __future__ import annotations

from haybale.components.builders import PromptBuilder
from haybale.components.joiners import DocumentJoiner
from haybale.components.routers import ConditionalRouter, MetadataRouter
from haybale.core.pipeline import Pipeline
from haybale.dataclasses import Document


def _router_pipeline() -> Pipeline:
    routes = [
        {
            "condition": "{{ documents|length > 0 }}",
            "output": "{{ documents }}",
            "output_name": "found",
            "output_type": "list[haybale.dataclasses.Document]",
        },
        {"condition": "{{ true }}", "output": "{{ query }}", "output_name": "nothing", "output_type": str},
    ]
    p = Pipeline()
    p.add_component("router", ConditionalRouter(routes))
    p.add_component(
        "answer_prompt", PromptBuilder("Use: {% for d in documents %}{{ d.content }}{% endfor %}")
    )
    p.add_component("fallback_prompt", PromptBuilder("Say you do not know about {{ query }}."))
    p.connect("router.found", "answer_prompt.documents")
    p.connect("router.nothing", "fallback_prompt.query")
    return p


def test_conditional_router_takes_one_branch() -> None:
    p = _router_pipeline()
    found = p.run({"router": {"documents": [Document(content="X")], "query": "q"}})
    assert found == {"answer_prompt": {"prompt": "Use: X"}}
    empty = p.run({"router": {"documents": [], "query": "cats"}})
    assert empty == {"fallback_prompt": {"prompt": "Say you do not know about cats."}}
    loaded = Pipeline.loads(p.dumps())
    assert loaded.to_dict() == p.to_dict()
    assert loaded.run({"router": {"documents": [], "query": "cats"}}) == empty


def test_metadata_router_in_pipeline() -> None:
    p = Pipeline()
    p.add_component("router", MetadataRouter({"en": {"lang": "en"}, "de": {"lang": "de"}}))
    p.add_component("joiner", DocumentJoiner())
    p.connect("router.en", "joiner.documents")
    p.connect("router.de", "joiner.documents")
    docs = [Document(content="a", meta={"lang": "en"}), Document(content="b", meta={"lang": "fr"})]
    result = p.run({"router": {"documents": docs}})
    assert [d.content for d in result["joiner"]["documents"]] == ["a"]
    assert [d.content for d in result["router"]["unmatched"]] == ["b"]
    assert Pipeline.loads(p.dumps()).to_dict() == p.to_dict()
