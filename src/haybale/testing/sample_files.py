"""Real files for tests of OCR, vision retrieval and archives, generated on the fly (needs Pillow).

* :func:`text_image`: text rendered into a PNG/JPEG/TIFF/WebP/BMP image, as a screenshot or scan holds it;
* :func:`image_only_pdf`: a PDF whose pages are images of text and have no text layer (a scan);
* :func:`zip_archive`: a ZIP of given members; :func:`zip_bomb`: a small ZIP that expands enormously;
* :func:`outlook_message`: an Outlook ``.msg`` (an OLE compound file, :func:`compound_file`).
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

__all__ = [
    "compound_file",
    "image_only_pdf",
    "message_streams",
    "outlook_message",
    "render_text",
    "text_image",
    "zip_archive",
    "zip_bomb",
]


def render_text(lines: list[str], font_size: int = 40, width: int | None = None) -> Any:
    """A white Pillow RGB image with ``lines`` of black text (Pillow's built-in scalable font)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=font_size)
    longest = max((len(line) for line in lines), default=1)
    width = width or max(200, int(longest * font_size * 0.62) + 2 * font_size)
    height = (len(lines) * 2 + 1) * font_size
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((font_size, font_size + index * 2 * font_size), line, fill="black", font=font)
    return image


def text_image(lines: list[str], image_format: str = "PNG", font_size: int = 40) -> bytes:
    """``lines`` rendered into an image file of ``image_format`` (PNG, JPEG, TIFF, WEBP, BMP, GIF)."""
    image = render_text(lines, font_size)
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def image_only_pdf(pages: list[list[str]], font_size: int = 40) -> bytes:
    """A PDF with one page per entry of ``pages``, each an image of its lines: no text layer at all."""
    images = [render_text(lines, font_size, width=1400) for lines in pages]
    buffer = io.BytesIO()
    images[0].save(buffer, format="PDF", save_all=True, append_images=images[1:], resolution=150.0)
    return buffer.getvalue()


def zip_archive(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP archive holding ``members`` (path -> bytes), in the given order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for path, data in members.items():
            archive.writestr(path, data)
    return buffer.getvalue()


def zip_bomb(expanded_mib: int = 64, member: str = "payload.txt") -> bytes:
    """A ZIP of a few dozen KiB whose one member expands to ``expanded_mib`` MiB of zeros (ratio ~1000)."""
    buffer = io.BytesIO()
    zeros = bytes(1024 * 1024)
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(member, "w", force_zip64=True) as stream,
    ):
        for _ in range(expanded_mib):
            stream.write(zeros)
    return buffer.getvalue()


_FREE, _END, _FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
_SECTOR, _MINI, _CUTOFF = 512, 64, 4096


def _chain(table: list[int], data_len: int, unit: int) -> int:
    """Append a chain of sectors for ``data_len`` bytes to ``table``; return its first index."""
    count = max(1, -(-data_len // unit))
    start = len(table)
    table.extend([*range(start + 1, start + count), _END])
    return start


def _tree(streams: dict[str, bytes]) -> list[dict[str, Any]]:
    """Directory nodes: the root, then storages and streams in path order, each with its children."""
    nodes: list[dict[str, Any]] = [{"name": "Root Entry", "type": 5, "children": [], "data": None}]
    paths: dict[str, int] = {"": 0}
    for path, data in streams.items():
        parent = ""
        parts = path.split("/")
        for depth, part in enumerate(parts):
            key = "/".join(parts[: depth + 1])
            if key not in paths:
                paths[key] = len(nodes)
                kind = 2 if depth == len(parts) - 1 else 1
                nodes.append({"name": part, "type": kind, "children": [], "data": None})
                nodes[paths[parent]]["children"].append(paths[key])
            parent = key
        nodes[paths[path]]["data"] = data
    return nodes


def _directory(nodes: list[dict[str, Any]]) -> bytes:
    """128-byte directory entries; a storage's children hang off its first child as a right-sibling chain."""
    import itertools
    import struct

    right: dict[int, int] = {}
    for node in nodes:
        right.update(itertools.pairwise(node["children"]))
    entries = bytearray()
    for index, node in enumerate(nodes):
        name = node["name"].encode("utf-16-le")
        child = node["children"][0] if node["children"] else _FREE
        entries += struct.pack(
            "<64sHBBIII16sIQQIQ",
            *(name, len(name) + 2, node["type"], 1, _FREE, right.get(index, _FREE), child),
            *(bytes(16), 0, 0, 0, node["start"], node["size"]),
        )
    return bytes(entries + bytes(-len(entries) % _SECTOR))


def _header(
    fat_sectors: int, first_fat: int, directory_start: int, minifat_start: int, minifat: bool
) -> bytes:
    import struct

    difat = [first_fat + i for i in range(fat_sectors)] + [_FREE] * (109 - fat_sectors)
    fields = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", bytes(16), 0x3E, 3, 0xFFFE, 9, 6, bytes(6), 0, fat_sectors)
    rest = (directory_start, 0, _CUTOFF, minifat_start, 1 if minifat else 0, _END, 0)
    return struct.pack("<8s16sHHHHH6sIIIIIIIII", *fields, *rest) + struct.pack("<109I", *difat)


def compound_file(streams: dict[str, bytes]) -> bytes:
    """An OLE2 compound file (version 3, what Outlook .msg and Excel .xls files are) holding ``streams``
    (``"storage/sub/stream"`` -> bytes). Small streams go to the mini stream, as the format requires."""
    import struct

    nodes = _tree(streams)
    fat: list[int] = []
    minifat: list[int] = []
    body = bytearray()
    ministream = bytearray()
    for node in nodes:
        data = node["data"]
        node["start"], node["size"] = (_END, 0)
        if node["type"] != 2 or not data:
            continue
        if len(data) < _CUTOFF:
            node["start"] = _chain(minifat, len(data), _MINI)
            ministream += data + bytes(-len(data) % _MINI)
        else:
            node["start"] = _chain(fat, len(data), _SECTOR)
            body += data + bytes(-len(data) % _SECTOR)
        node["size"] = len(data)
    if ministream:
        nodes[0]["start"], nodes[0]["size"] = _chain(fat, len(ministream), _SECTOR), len(ministream)
        body += ministream + bytes(-len(ministream) % _SECTOR)
    minifat_start = _END
    if minifat:
        raw = struct.pack(f"<{len(minifat)}I", *minifat)
        minifat_start = _chain(fat, len(raw), _SECTOR)
        body += raw + bytes(-len(raw) % _SECTOR)
    entries = _directory(nodes)
    directory_start = _chain(fat, len(entries), _SECTOR)
    body += entries
    fat_sectors = 1
    while len(fat) + fat_sectors > fat_sectors * 128:
        fat_sectors += 1
    first_fat = len(fat)
    fat.extend([_FATSECT] * fat_sectors)
    fat.extend([_FREE] * (fat_sectors * 128 - len(fat)))
    body += struct.pack(f"<{len(fat)}I", *fat)
    return _header(fat_sectors, first_fat, directory_start, minifat_start, bool(minifat)) + bytes(body)


def message_streams(
    subject: str,
    sender: str,
    to: str,
    body: str,
    attachments: dict[str, bytes | dict[str, bytes]] | None = None,
) -> dict[str, bytes]:
    """The MAPI property streams of an Outlook message. An attachment given as a dict of streams (another
    :func:`message_streams`) is stored as an embedded message, as Outlook stores attached mails."""

    def text(value: str) -> bytes:
        return value.encode("utf-16-le")

    streams = {
        "__properties_version1.0": bytes(32),
        "__substg1.0_0037001F": text(subject),
        "__substg1.0_0C1A001F": text(sender),
        "__substg1.0_0E04001F": text(to),
        "__substg1.0_1000001F": text(body),
    }
    for index, (name, data) in enumerate((attachments or {}).items()):
        folder = f"__attach_version1.0_#{index:08X}"
        streams[f"{folder}/__properties_version1.0"] = bytes(8)
        streams[f"{folder}/__substg1.0_3707001F"] = text(name)
        if isinstance(data, dict):
            streams.update({f"{folder}/__substg1.0_3701000D/{path}": value for path, value in data.items()})
        else:
            streams[f"{folder}/__substg1.0_37010102"] = data
    return streams


def outlook_message(
    subject: str,
    sender: str,
    to: str,
    body: str,
    attachments: dict[str, bytes | dict[str, bytes]] | None = None,
) -> bytes:
    """An Outlook ``.msg`` file (a compound file of MAPI property streams) with text and attachments."""
    return compound_file(message_streams(subject, sender, to, body, attachments))
