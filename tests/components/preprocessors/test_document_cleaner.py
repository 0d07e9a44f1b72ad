"""DocumentCleaner: init, serialization, run, and bad input."""

from __future__ import annotations

import pytest

from haybale.components.preprocessors import DocumentCleaner
from haybale.core.pipeline import Pipeline
from haybale.dataclasses import Document
from haybale.errors import ComponentError


def test_init_validation() -> None:
    with pytest.raises(ComponentError, match="unicode_normalization"):
        DocumentCleaner(unicode_normalization="NFX")
    with pytest.raises(ComponentError, match="not a valid regular expression"):
        DocumentCleaner(remove_regex="(unclosed")


def test_round_trip_also_through_yaml() -> None:
    cleaner = DocumentCleaner(
        remove_empty_lines=False,
        remove_repeated_substrings=True,
        remove_substrings=["CONFIDENTIAL"],
        remove_regex=r"\[\d+\]",
        unicode_normalization="NFKC",
        ascii_only=True,
        keep_id=True,
        keep_layout_types=["text/x-python", "text/yaml"],
    )
    data = cleaner.to_dict()
    assert DocumentCleaner.from_dict(data).to_dict() == data
    pipeline = Pipeline()
    pipeline.add_component("cleaner", cleaner)
    assert Pipeline.loads(pipeline.dumps()).get_component("cleaner").to_dict() == data


def test_run_defaults_clean_whitespace_and_empty_lines_per_page() -> None:
    document = Document(
        content="  Hay   is\t dried.\n\n\n  Grass  \x00grows. \fPage   two \n\n", meta={"k": 1}
    )
    [cleaned] = DocumentCleaner().run(documents=[document])["documents"]
    assert cleaned.content == "Hay is dried.\nGrass grows.\fPage two"
    assert cleaned.meta == {"k": 1}
    assert cleaned.id != document.id


def test_run_keeps_paragraphs_when_empty_lines_are_kept() -> None:
    document = Document(content="Para one.\n\n\n\nPara two.   \n")
    [cleaned] = DocumentCleaner(remove_empty_lines=False).run(documents=[document])["documents"]
    assert cleaned.content == "Para one.\n\nPara two."


def test_run_removes_repeated_headers_and_footers() -> None:
    bodies = [
        "Hay is cut in June.\nIt dries for three days.",
        "Balers compress the windrow.\nTwine holds each bale.",
        "Stacks must stay dry.\nProbe them for heat.",
        "Horses need dust-free hay.\nCattle are less fussy.",
    ]
    pages = [f"ACME Farm Report\n{body}\nPage {n} of 4" for n, body in enumerate(bodies, start=1)]
    document = Document(content="\f".join(pages))
    [cleaned] = DocumentCleaner(remove_repeated_substrings=True).run(documents=[document])["documents"]
    assert cleaned.content.split("\f") == bodies


def test_run_repeated_removal_leaves_single_page_documents_alone() -> None:
    document = Document(content="Title\nBody\nFooter")
    [cleaned] = DocumentCleaner(remove_repeated_substrings=True).run(documents=[document])["documents"]
    assert cleaned.content == "Title\nBody\nFooter"


def test_run_regex_substrings_unicode_and_ascii() -> None:
    # Fullwidth letters (U+FF21...), which NFKC folds to ASCII.
    fullwidth = " ".join("".join(chr(0xFF00 + ord(c) - 0x20) for c in w) for w in ("Full", "width"))
    document = Document(content=f"{fullwidth} [1] café CONFIDENTIAL naïve")
    cleaner = DocumentCleaner(
        remove_substrings=["CONFIDENTIAL"], remove_regex=r"\[\d+\]", unicode_normalization="NFKC"
    )
    [cleaned] = cleaner.run(documents=[document])["documents"]
    assert cleaned.content == "Full width café naïve"
    [ascii_doc] = DocumentCleaner(ascii_only=True).run(documents=[document])["documents"]
    assert ascii_doc.content == "Full width [1] cafe CONFIDENTIAL naive"


def test_run_keep_id() -> None:
    document = Document(content="a  b", id="fixed")
    [cleaned] = DocumentCleaner(keep_id=True).run(documents=[document])["documents"]
    assert (cleaned.id, cleaned.content) == ("fixed", "a b")


def test_bad_input_documents_without_text_pass_through_and_wrong_types_fail() -> None:
    binary = Document(content=None, meta={"kind": "image"})
    result = DocumentCleaner().run(documents=[binary, Document(content="\x00\x00")])["documents"]
    assert result[0] is binary
    assert result[1].content == ""
    with pytest.raises(ComponentError, match="list\\[Document\\]"):
        DocumentCleaner().run(documents=["not a document"])  # type: ignore[list-item]


def test_documents_of_layout_types_keep_indentation_tabs_and_blank_lines() -> None:
    code = "\n\ndef f(x):   \n\tif x:\n        return 1\n\n\n    return  2\n\n"
    cleaner = DocumentCleaner(keep_layout_types=["text/x-python"])
    [kept, prose] = cleaner.run(
        documents=[
            Document(content=code + "\x00", meta={"mime_type": "text/x-python"}),
            Document(content=code, meta={"mime_type": "text/plain"}),
        ]
    )["documents"]
    assert kept.content == "def f(x):\n\tif x:\n        return 1\n\n\n    return  2"  # trailing space only
    assert prose.content == "def f(x):\nif x:\nreturn 1\nreturn 2"  # prose is cleaned as before
