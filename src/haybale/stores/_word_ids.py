"""Texts to BM25 term ids in bulk: the analysis step every store's write path runs over a whole batch.

:func:`token_ids` turns a batch of texts into one term id per kept token plus the index of its text. The
straightforward way -- split the texts into Python strings and look each one up in a dict -- creates and
hashes one Python object per token (about ten million for 100k documents of 100 words), and that was most
of a BM25 write. For ASCII text it now works on the bytes with numpy instead:

1. the batch is joined, case-folded (``str.lower`` is ``casefold`` on ASCII) and viewed as bytes; a 256-entry
   table marks word bytes (``[0-9A-Za-z_]``, what ``\\w`` matches in ASCII) and the edges of the runs of
   word bytes are the words -- exactly the words :meth:`Analyzer.split` yields;
2. every word of up to 8 bytes is packed into one ``uint64`` (its bytes, zero-padded: word bytes are never
   zero, so the key is the word) and found in a sorted table of the keys this lookup has seen
   (``searchsorted``); only keys seen for the first time are decoded back to a string and analysed, once,
   all of a batch's new words together (:meth:`WordIds.register_words`);
3. longer words (rare in prose) take the dict path.

The ids, and the order of the tokens, are those of the dict path (a property test compares the two). Small
batches, and text that is not ASCII, use the dict path directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from haybale.stores.text_analysis import TEXT_SEPARATOR, Analyzer

__all__ = ["SEPARATOR_ID", "WordIds", "token_ids"]

#: The id a :class:`WordIds` lookup gives :data:`TEXT_SEPARATOR` (stop words get -1).
SEPARATOR_ID = -2
#: Batches with fewer characters than this use the dict path (the tables cost more than they save there).
_VECTOR_MIN_CHARS = 65_536
_KEY_BYTES = 8
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: 2**64 / golden ratio, odd
#: ``_KEY_MASKS[n]`` keeps the low ``n`` bytes of a uint64.
_KEY_MASKS = np.array([(1 << (8 * n)) - 1 for n in range(_KEY_BYTES + 1)], dtype=np.uint64)
_WORD_BYTES = np.zeros(256, dtype=bool)
_WORD_BYTES[list(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")] = True


class WordIds(dict[str, int]):
    """Raw word -> term id (-1 for a stop word, :data:`SEPARATOR_ID` for the text separator).

    Subclasses register a word the lookup has not seen in ``__missing__``. The lookup also keeps the ids of
    the short ASCII words it has seen in an open-addressing hash table of packed words (numpy arrays, linear
    probing, at most half full), so :func:`token_ids` looks up a whole batch with a few vectorised probes.
    """

    def __init__(self) -> None:
        super().__init__()
        self[TEXT_SEPARATOR] = SEPARATOR_ID
        self._shift = 64 - 12
        self._keys: Any = np.zeros(1 << 12, dtype=np.uint64)  # 0 = empty (no word packs to 0)
        self._ids: Any = np.zeros(1 << 12, dtype=np.int64)
        self._count = 0

    def ids_of_keys(self, keys: Any) -> Any:
        """Term ids of packed short words (see the module docstring); registers the new ones."""
        ids, unknown = self._probe(keys)
        if len(unknown):
            new = np.unique(keys[unknown])
            words = [key.to_bytes(_KEY_BYTES, "little").rstrip(b"\0").decode("ascii") for key in new.tolist()]
            self._insert(new, np.asarray(self.register_words(words), dtype=np.int64))
            ids[unknown], _none = self._probe(keys[unknown])
        return ids

    def register_words(self, words: list[str]) -> list[int]:
        """Ids of distinct ``words`` this lookup has not seen, registering them (one ``__missing__`` call per
        word here; subclasses analyse the whole list at once)."""
        return [self[word] for word in words]

    def _slots(self, keys: Any) -> Any:
        return (keys * _HASH_MULTIPLIER) >> np.uint64(self._shift)

    def _probe(self, keys: Any) -> tuple[Any, Any]:
        """(ids of ``keys`` -- undefined where unknown --, positions of the unknown keys)."""
        mask = np.uint64(len(self._keys) - 1)
        slots = self._slots(keys)
        ids = np.empty(len(keys), dtype=np.int64)
        todo = np.arange(len(keys))
        unknown = []
        while len(todo):
            found = self._keys[slots]
            hit = found == keys[todo]
            ids[todo[hit]] = self._ids[slots[hit]]
            empty = found == 0
            unknown.append(todo[empty])
            again = ~(hit | empty)
            todo = todo[again]
            slots = (slots[again] + np.uint64(1)) & mask
        return ids, np.concatenate(unknown) if unknown else np.zeros(0, dtype=np.int64)

    def _insert(self, keys: Any, ids: Any) -> None:
        """Add distinct keys the table does not hold yet (growing it to stay at most half full)."""
        if 2 * (self._count + len(keys)) > len(self._keys):
            live = np.flatnonzero(self._keys)
            keys, ids = np.concatenate([self._keys[live], keys]), np.concatenate([self._ids[live], ids])
            bits = max(12, int(4 * len(keys) - 1).bit_length())
            self._shift = 64 - bits
            self._keys = np.zeros(1 << bits, dtype=np.uint64)
            self._ids = np.zeros(1 << bits, dtype=np.int64)
            self._count = 0
        mask = np.uint64(len(self._keys) - 1)
        slots = self._slots(keys)
        todo = np.arange(len(keys))
        while len(todo):
            free = self._keys[slots] == 0
            # Keys probing the same free slot: the first one takes it, the others probe on.
            taken, first = np.unique(slots[free], return_index=True)
            winners = todo[free][first]
            self._keys[taken] = keys[winners]
            self._ids[taken] = ids[winners]
            placed = np.zeros(len(todo), dtype=bool)
            placed[np.flatnonzero(free)[first]] = True
            todo = todo[~placed]
            slots = (slots[~placed] + np.uint64(1)) & mask
        self._count += len(keys)


def token_ids(
    analyzer: Analyzer, texts: Sequence[str], lookup: Mapping[str, int], analyzed: bool = False
) -> tuple[Any, Any]:
    """Analyse ``texts``: (term id per kept token, index of its text), stop words dropped.

    ``lookup`` maps a token to its term id (-1 for a stop word) and must map :data:`TEXT_SEPARATOR` to
    :data:`SEPARATOR_ID`; a ``dict`` subclass with ``__missing__`` registers new words as they come (a
    :class:`WordIds` gets the vectorised path). With ``analyzed``, each text is already its terms joined by
    spaces (the output of the analyzer).
    """
    if not analyzed and isinstance(lookup, WordIds):
        fast = _ascii_token_ids(analyzer, texts, lookup)
        if fast is not None:
            return fast
    # One str.split over all texts joined by a separator word that no text can produce ("\x00" is not a
    # word character): far fewer Python-level calls than splitting text by text.
    if analyzed:
        tokens = f" {TEXT_SEPARATOR} ".join(texts).split()
    else:
        tokens = analyzer.spaced_words_of_many(texts).split()
    if isinstance(lookup, WordIds):  # the batch's new words are analysed together, not one miss at a time
        new = [token for token in dict.fromkeys(tokens) if token not in lookup]
        if new:
            lookup.register_words(new)
    # A list then one conversion: about a third faster than np.fromiter over the same map.
    ids = np.array(list(map(lookup.__getitem__, tokens)), dtype=np.int64)
    owner = np.cumsum(ids == SEPARATOR_ID)
    keep = ids >= 0
    return ids[keep], owner[keep]


def _ascii_token_ids(analyzer: Analyzer, texts: Sequence[str], lookup: WordIds) -> tuple[Any, Any] | None:
    """The vectorised path of :func:`token_ids`; None when the batch is small or not ASCII."""
    joined = TEXT_SEPARATOR.join(texts)
    if len(joined) < _VECTOR_MIN_CHARS or not joined.isascii():
        return None
    if analyzer.lowercase:
        joined = joined.lower()
    data = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    edges = np.flatnonzero(np.diff(_WORD_BYTES[data].view(np.int8), prepend=np.int8(0), append=np.int8(0)))
    starts, ends = edges[0::2], edges[1::2]
    text_ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1) - 1
    words_per_text = np.diff(np.searchsorted(starts, text_ends), prepend=0)
    owner = np.repeat(np.arange(len(texts)), words_per_text)
    lengths = ends - starts
    ids = np.empty(len(starts), dtype=np.int64)
    short = lengths <= _KEY_BYTES
    # Eight bytes from every offset of the batch, as one unaligned little-endian uint64 view (no copy).
    padded = np.concatenate([data, np.zeros(_KEY_BYTES, dtype=np.uint8)])
    eights = np.ndarray(shape=(len(data) + 1,), dtype="<u8", buffer=padded, strides=(1,))
    ids[short] = lookup.ids_of_keys(eights[starts[short]] & _KEY_MASKS[lengths[short]])
    long = ~short
    if long.any():
        words = [joined[a:b] for a, b in zip(starts[long].tolist(), ends[long].tolist(), strict=True)]
        ids[long] = list(map(lookup.__getitem__, words))
    keep = ids >= 0
    return ids[keep], owner[keep]
