"""MetadataRouter: sockets, serialization, routing Documents and ByteStreams, bad input."""

from __future__ import annotations

import pytest

from haybale.components.routers import MetadataRouter
from haybale.core.component import get_input_sockets, get_output_sockets
from haybale.dataclasses import ByteStream, Document
from haybale.errors import ComponentError, FilterError

RULES = {
    "english": {"lang": "en"},
    "recent": {"field": "meta.year", "operator": ">=", "value": 2020},
}


def test_sockets_and_round_trip() -> None:
    router = MetadataRouter(RULES)
    assert set(get_output_sockets(router)) == {"english", "recent", "unmatched"}
    assert get_input_sockets(router)["documents"].type == list[Document]
    data = router.to_dict()
    assert data["init_parameters"] == {
        "rules": RULES,
        "output_type": "list[haybale.dataclasses.document.Document]",
    }
    assert MetadataRouter.from_dict(data).to_dict() == data


def test_routes_to_every_matching_rule() -> None:
    en_new = Document(content="a", meta={"lang": "en", "year": 2021})
    de_old = Document(content="b", meta={"lang": "de", "year": 1999})
    de_new = Document(content="c", meta={"lang": "de", "year": 2024})
    result = MetadataRouter(RULES).run(documents=[en_new, de_old, de_new])
    assert result == {"english": [en_new], "recent": [en_new, de_new], "unmatched": [de_old]}
    assert MetadataRouter(RULES).run(documents=[]) == {}


def test_byte_streams() -> None:
    router = MetadataRouter({"pdf": {"mime": "application/pdf"}}, output_type=list[ByteStream])
    pdf = ByteStream(data=b"%PDF", meta={"mime": "application/pdf"})
    txt = ByteStream(data=b"hi", meta={"mime": "text/plain"})
    assert router.run(documents=[pdf, txt]) == {"pdf": [pdf], "unmatched": [txt]}
    assert MetadataRouter.from_dict(router.to_dict()).output_type == list[ByteStream]


def test_bad_input() -> None:
    with pytest.raises(FilterError, match=r"rule 'x' has an invalid filter.*unknown operator '~'"):
        MetadataRouter({"x": {"field": "meta.a", "operator": "~", "value": 1}})
    with pytest.raises(ComponentError, match="other than 'unmatched'"):
        MetadataRouter({"unmatched": {"a": 1}})
    with pytest.raises(ComponentError, match="non-empty dict"):
        MetadataRouter({})
    with pytest.raises(ComponentError, match="item 0 is a int"):
        MetadataRouter(RULES).run(documents=[3])
