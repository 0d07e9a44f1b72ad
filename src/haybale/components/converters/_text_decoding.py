"""Decoding text files of unknown encoding, in bounded memory, and refusing binary data.

The encoding is chosen from a sample of the first bytes: a byte-order mark wins; otherwise the preferred
encoding (UTF-8 by default) when the sample decodes cleanly; otherwise charset-normalizer's best guess. The
file is then decoded incrementally in 1 MiB chunks with undecodable bytes replaced by U+FFFD, and NUL bytes
are dropped, so a large file costs about twice its size in memory (the decoded pieces plus the joined text).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from haybale.components.converters.source_reading import check_readable_file, describe_source
from haybale.dataclasses import ByteStream, Source
from haybale.errors import ConversionError, optional_dependency

__all__ = [
    "BINARY_CONTROL_RATIO",
    "BINARY_NUL_RATIO",
    "CHUNK_SIZE",
    "SAMPLE_SIZE",
    "DecodedText",
    "choose_encoding",
    "decode_source",
]

SAMPLE_SIZE = 64 * 1024
CHUNK_SIZE = 1024 * 1024
#: Share of control bytes (other than NUL, tab, newline, carriage return, form feed, escape) above which a
#: sample is considered binary. Real text has almost none; random binary data has about 10%.
BINARY_CONTROL_RATIO = 0.05
#: Share of NUL bytes above which a sample is binary. Stray NULs in text are dropped, not fatal.
BINARY_NUL_RATIO = 0.3

#: Preferred on a detection tie, in this order (charset-normalizer's codec names).
_WESTERN_ENCODINGS = ("cp1252", "latin_1", "iso8859_15")
_CONTROL_BYTES = bytes(b for b in range(1, 32) if b not in (9, 10, 12, 13, 27))
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_KNOWN_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "an ELF executable"),
)


@dataclass(frozen=True)
class DecodedText:
    """Text decoded from a source, with the encoding that was used."""

    text: str
    encoding: str


def choose_encoding(sample: bytes, preferred: str | None, source_name: str) -> str:
    """Pick the encoding of a text sample.

    Raises:
        ConversionError: when the sample looks like binary data or no encoding fits it.
    """
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    for signature, kind in _KNOWN_BINARY_SIGNATURES:
        if sample.startswith(signature):
            raise ConversionError(
                f"'{source_name}' looks like {kind}, not text. Give it its proper file extension, "
                "or convert it with the matching converter (MultiFileConverter picks one by content)."
            )
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    nuls = sample.count(0)
    many_nuls = len(sample) >= 32 and nuls / len(sample) > BINARY_NUL_RATIO  # tiny samples prove nothing
    if sample and (controls / len(sample) > BINARY_CONTROL_RATIO or many_nuls):
        raise ConversionError(
            f"'{source_name}' looks like binary data, not text ({controls} control and {nuls} NUL bytes in "
            f"the first {len(sample)} bytes). Convert it with a converter for its real format, or remove it."
        )
    if preferred:
        try:
            codecs.getincrementaldecoder(preferred)("strict").decode(sample, final=False)
            return preferred
        except UnicodeDecodeError:
            pass
        except LookupError:
            raise ConversionError(
                f"Unknown encoding '{preferred}' requested for '{source_name}'. Use a Python codec name such "
                "as 'utf-8' or 'latin-1', or None to detect it."
            ) from None
    with optional_dependency("charset-normalizer", extra="converters", feature="Detecting text encodings"):
        from charset_normalizer import from_bytes
    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        raise ConversionError(
            f"'{source_name}' is not text in any known encoding (it may be binary data). "
            "Convert it with a converter for its real format, or pass the right `encoding`."
        )
    # Short Western European texts decode equally well as cp1250, cp1252, cp1257, ...; the detector then picks
    # one arbitrarily and "crème" comes back as "crčme". On a tie, the Western encodings win: they are by far
    # the most common non-UTF-8 text (Windows and Latin-1 files). A text only cp1250 explains still gets it.
    tied = {m.encoding for m in matches if m.chaos <= best.chaos and m.coherence >= best.coherence}
    for western in _WESTERN_ENCODINGS:
        if western in tied:
            return western
    return str(best.encoding)


def decode_source(source: Source, preferred_encoding: str | None) -> DecodedText:
    """Decode a text source in bounded memory.

    Args:
        source: a path or a byte stream; a byte stream's ``meta["encoding"]`` overrides the preferred one.
        preferred_encoding: tried first when no byte-order mark is present; None means detect.

    Raises:
        ConversionError: when the source is unreadable, empty, binary, or of an unknown encoding.
    """
    name = describe_source(source)
    if isinstance(source, ByteStream):
        data = source.data
        if not data:
            raise ConversionError(f"'{name}' is empty (0 bytes): there is nothing to convert.")
        preferred = source.meta.get("encoding") or preferred_encoding
        encoding = choose_encoding(data[:SAMPLE_SIZE], preferred, name)
        text = codecs.decode(data, encoding, errors="replace")
        return DecodedText(_drop_nul(text), encoding)
    path = Path(source)
    if check_readable_file(path) == 0:
        raise ConversionError(f"'{name}' is empty (0 bytes): there is nothing to convert.")
    try:
        with path.open("rb") as handle:
            sample = handle.read(SAMPLE_SIZE)
            encoding = choose_encoding(sample, preferred_encoding, name)
            decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
            pieces = [_drop_nul(decoder.decode(sample))]
            while chunk := handle.read(CHUNK_SIZE):
                pieces.append(_drop_nul(decoder.decode(chunk)))
            pieces.append(_drop_nul(decoder.decode(b"", final=True)))
    except OSError as exc:
        raise ConversionError(f"'{name}' cannot be read: {exc.strerror or exc}.") from None
    text = "".join(pieces)
    del pieces
    return DecodedText(text, encoding)


def _drop_nul(text: str) -> str:
    return text.replace("\x00", "") if "\x00" in text else text
