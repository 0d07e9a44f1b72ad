"""DocumentSplitter: init, serialization, run for every unit, provenance meta, ids, and bad input."""

from __future__ import annotations

import re
import time
import tracemalloc

import pytest

from haybale.components.preprocessors import DocumentCleaner, DocumentSplitter
from haybale.core.pipeline import Pipeline
from haybale.dataclasses import Document
from haybale.errors import ComponentError

TEXT = (
    "Hay is dried grass. Mr. Smith cuts it in June! Does it rain?\n"
    "Balers tie the windrow.\n\n"
    "Second passage starts here. It has two sentences.\f"
    "Page two begins. It ends the text."
)


def _split(text: str, **params: object) -> list[Document]:
    return DocumentSplitter(**params).run(documents=[Document(content=text, meta={"source": "t"})])[
        "documents"
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"split_by": "paragraph"}, "split_by must be one of"),
        ({"split_length": 0}, "split_length must be a positive int"),
        ({"split_length": 5, "split_overlap": 5}, "split_overlap must be >= 0 and smaller"),
        ({"split_overlap": -1}, "split_overlap must be >= 0"),
        ({"split_threshold": -2}, "split_threshold must be >= 0"),
        ({"split_by": "line", "respect_sentence_boundary": True}, "respect_sentence_boundary works with"),
    ],
)
def test_init_validation(params: dict[str, object], message: str) -> None:
    with pytest.raises(ComponentError, match=message):
        DocumentSplitter(**params)  # type: ignore[arg-type]


def test_round_trip_also_through_yaml() -> None:
    splitter = DocumentSplitter(
        split_by="token",
        split_length=128,
        split_overlap=16,
        split_threshold=4,
        respect_sentence_boundary=True,
    )
    data = splitter.to_dict()
    assert DocumentSplitter.from_dict(data).to_dict() == data
    pipeline = Pipeline()
    pipeline.add_component("splitter", splitter)
    assert Pipeline.loads(pipeline.dumps()).get_component("splitter").to_dict() == data


def test_run_word_with_overlap_records_provenance() -> None:
    parent = Document(content="one two three four five six seven", meta={"source": "s.txt", "lang": "en"})
    chunks = DocumentSplitter(split_length=3, split_overlap=1).run(documents=[parent])["documents"]
    assert [c.content for c in chunks] == ["one two three ", "three four five ", "five six seven"]
    assert [c.meta["split_idx_start"] for c in chunks] == [0, 8, 19]
    assert [c.meta["split_id"] for c in chunks] == [0, 1, 2]
    for chunk in chunks:
        assert chunk.meta["source_id"] == parent.id
        assert chunk.meta["source"] == "s.txt" and chunk.meta["lang"] == "en"
        assert chunk.meta["page_number"] == 1
        start = chunk.meta["split_idx_start"]
        assert parent.content[start : start + len(chunk.content)] == chunk.content


UNIT_REGEX = {
    "word": r"\s*\S+\s*",
    "line": r"[^\n]*\n|[^\n]+",
    "page": r"[^\f]*\f|[^\f]+",
    "passage": r"[\s\S]+?(?:\n[ \t]*\n\s*|\f\s*|\Z)",
    "character": r"[\s\S]",
}


@pytest.mark.parametrize("unit", sorted(UNIT_REGEX))
@pytest.mark.parametrize(("length", "overlap"), [(1, 0), (2, 1), (3, 0), (4, 2), (5, 4)])
def test_run_overlap_is_exact_for_every_unit(unit: str, length: int, overlap: int) -> None:
    """Chunk k covers units [k*step, k*step+length): recompute that from an independent unit list."""
    text = TEXT * 2
    units = re.findall(UNIT_REGEX[unit], text)
    assert "".join(units) == text
    step = length - overlap
    expected = []
    for first in range(0, len(units), step):
        expected.append("".join(units[first : first + length]))
        if first + length >= len(units):
            break
    chunks = _split(text, split_by=unit, split_length=length, split_overlap=overlap)
    assert [c.content for c in chunks] == [e for e in expected if e.strip()]


def test_run_sentence_split_handles_abbreviations_and_breaks() -> None:
    chunks = _split(TEXT, split_by="sentence", split_length=1)
    assert [c.content.strip() for c in chunks] == [
        "Hay is dried grass.",
        "Mr. Smith cuts it in June!",
        "Does it rain?",
        "Balers tie the windrow.",
        "Second passage starts here.",
        "It has two sentences.",
        "Page two begins.",
        "It ends the text.",
    ]
    assert [c.meta["page_number"] for c in chunks] == [1, 1, 1, 1, 1, 1, 2, 2]
    pairs = _split(TEXT, split_by="sentence", split_length=2, split_overlap=1)
    assert pairs[1].content == "Mr. Smith cuts it in June! Does it rain?\n"


def test_run_page_numbers_follow_form_feeds_and_parent_page() -> None:
    text = "p1 words here\f\fp3 words\fp4"
    chunks = _split(text, split_by="word", split_length=2)
    assert [(c.content, c.meta["page_number"]) for c in chunks] == [
        ("p1 words ", 1),
        ("here\f\fp3 ", 1),
        ("words\fp4", 3),
    ]
    pages = _split(text, split_by="page", split_length=1)
    assert [(c.content, c.meta["page_number"]) for c in pages] == [
        ("p1 words here\f", 1),
        ("p3 words\f", 3),
        ("p4", 4),
    ]
    sheet = Document(content="a b\fc d", meta={"page_number": 5})
    chunks = DocumentSplitter(split_length=2).run(documents=[sheet])["documents"]
    assert [c.meta["page_number"] for c in chunks] == [5, 6]


def test_run_threshold_merges_a_short_tail() -> None:
    words = " ".join(f"w{i}" for i in range(11))
    chunks = _split(words, split_length=5, split_threshold=2)
    assert [len(c.content.split()) for c in chunks] == [5, 6]
    kept = _split(words, split_length=5, split_threshold=1)
    assert [len(c.content.split()) for c in kept] == [5, 5, 1]


def test_run_respect_sentence_boundary_packs_whole_sentences() -> None:
    text = "One two three. Four five six. Seven eight. Nine ten eleven twelve thirteen fourteen fifteen."
    chunks = _split(text, split_length=6, split_overlap=3, respect_sentence_boundary=True)
    assert [c.content for c in chunks] == [
        "One two three. Four five six. ",
        "Four five six. Seven eight. ",
        "Nine ten eleven twelve thirteen fourteen fifteen.",  # longer than split_length: stands alone
    ]
    assert [c.meta["split_idx_start"] for c in chunks] == [0, 15, 43]
    no_overlap = _split(text, split_length=6, respect_sentence_boundary=True)
    assert [c.content for c in no_overlap] == [
        "One two three. Four five six. ",
        "Seven eight. ",
        "Nine ten eleven twelve thirteen fourteen fifteen.",
    ]


def test_run_ids_are_deterministic_and_position_aware() -> None:
    text = "same words here. " * 8
    first = _split(text, split_length=3)
    second = _split(text, split_length=3)
    assert [c.id for c in first] == [c.id for c in second]
    assert first[0].content == first[1].content  # identical text at different positions ...
    assert len({c.id for c in first}) == len(first)  # ... still gets distinct ids


@pytest.mark.slow
def test_run_token_counts_match_the_embedding_models_tokenizer() -> None:
    from transformers import AutoTokenizer

    from haybale.components.preprocessors.document_splitter import default_tokenizer_path

    tokenizer = AutoTokenizer.from_pretrained(default_tokenizer_path())
    text = "Tokenization splits unbelievably long words into word-pieces; 12,345 bales!\n\n" * 30
    splitter = DocumentSplitter(split_by="token", split_length=32, split_overlap=8)
    splitter.warm_up()
    chunks = splitter.run(documents=[Document(content=text)])["documents"]
    counts = [len(tokenizer(c.content, add_special_tokens=False)["input_ids"]) for c in chunks]
    assert all(count == 32 for count in counts[:-1])
    assert 0 < counts[-1] <= 32
    assert sum(32 - 8 for _ in counts[:-1]) + counts[-1] == len(
        tokenizer(text, add_special_tokens=False)["input_ids"]
    )
    packed = DocumentSplitter(split_by="token", split_length=40, respect_sentence_boundary=True)
    for chunk in packed.run(documents=[Document(content=text)])["documents"]:
        assert len(tokenizer(chunk.content, add_special_tokens=False)["input_ids"]) <= 40


def test_bad_input_unknown_tokenizer_path_is_a_clear_error(tmp_path) -> None:
    splitter = DocumentSplitter(split_by="token", tokenizer=str(tmp_path / "no-tokenizer"))
    with pytest.raises(ComponentError, match="could not load tokenizer"):
        splitter.warm_up()


def test_bad_input_unsupported_language() -> None:
    with pytest.raises(ComponentError, match="does not support language 'xx'"):
        DocumentSplitter(split_by="sentence", language="xx").run(documents=[Document(content="A. B.")])


def test_bad_input_documents() -> None:
    splitter = DocumentSplitter()
    assert splitter.run(documents=[Document(content=""), Document(content="  \n")]) == {"documents": []}
    with pytest.raises(ComponentError, match="content=None"):
        splitter.run(documents=[Document(content=None)])
    with pytest.raises(ComponentError, match="expects Documents"):
        splitter.run(documents=["text"])  # type: ignore[list-item]


def test_bad_input_50_mb_text_splits_in_bounded_time_and_memory() -> None:
    sentence = "Balers compress dried grass into bales that farmers stack in barns. "
    text = sentence * (50 * 1024 * 1024 // len(sentence))
    parent = Document(content=text)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        chunks = DocumentSplitter(split_length=200, split_overlap=20).run(documents=[parent])["documents"]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    assert chunks[-1].content.endswith("barns. ")
    assert len(chunks) == -(-(len(text.split()) - 20) // 180)
    # Output chunks are ~1.1x the text (overlap) plus per-chunk metadata; nothing quadratic, no unit lists.
    assert peak < 2.5 * len(text), f"peak {peak / 1e6:.0f} MB for {len(text) / 1e6:.0f} MB of text"
    assert elapsed < 60


def test_cleaner_then_splitter_in_a_pipeline() -> None:
    pipeline = Pipeline()
    pipeline.add_component("cleaner", DocumentCleaner())
    pipeline.add_component("splitter", DocumentSplitter(split_length=2))
    pipeline.connect("cleaner.documents", "splitter.documents")
    result = pipeline.run({"cleaner": {"documents": [Document(content="  a   b \n\n c  d e ")]}})
    assert [c.content for c in result["splitter"]["documents"]] == ["a b\n", "c d ", "e"]


def test_run_concurrent_calls_match_sequential_results() -> None:
    from concurrent.futures import ThreadPoolExecutor

    splitter = DocumentSplitter(split_by="sentence", split_length=2, split_overlap=1)
    documents = [Document(content=f"Document {n}. " + TEXT * (n + 1)) for n in range(8)]
    expected = [[c.id for c in splitter.run(documents=[d])["documents"]] for d in documents]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda d: [c.id for c in splitter.run(documents=[d])["documents"]], documents * 4)
        )
    assert results == expected * 4


def test_character_chunks_can_end_at_word_boundaries() -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 30
    splitter = DocumentSplitter("character", 100, 20, respect_word_boundary=True)
    chunks = splitter.run(documents=[Document(content=text)])["documents"]
    assert all(len(c.content) <= 100 for c in chunks)
    for chunk in chunks:
        start = chunk.meta["split_idx_start"]
        assert text[start : start + len(chunk.content)] == chunk.content  # exact slices, offsets right
        assert start == 0 or text[start - 1] == " "  # starts at a word
        assert chunk.content.endswith(" ") or start + len(chunk.content) == len(text)  # ends after a word
    covered = max(c.meta["split_idx_start"] + len(c.content) for c in chunks)
    assert covered == len(text)
    overlaps = [
        chunks[i].meta["split_idx_start"] + len(chunks[i].content) - chunks[i + 1].meta["split_idx_start"]
        for i in range(len(chunks) - 1)
    ]
    assert all(0 < overlap <= 20 for overlap in overlaps)
    assert DocumentSplitter.from_dict(splitter.to_dict()).to_dict() == splitter.to_dict()


def test_word_boundary_needs_character_units() -> None:
    with pytest.raises(Exception, match="respect_word_boundary works with split_by='character'"):
        DocumentSplitter("word", 10, 2, respect_word_boundary=True)


def test_a_word_longer_than_half_a_chunk_is_cut() -> None:
    text = "x" * 250
    chunks = DocumentSplitter("character", 100, 10, respect_word_boundary=True).run(
        documents=[Document(content=text)]
    )["documents"]
    assert "".join(c.content for c in chunks) == text  # no overlap inside a word, nothing lost
