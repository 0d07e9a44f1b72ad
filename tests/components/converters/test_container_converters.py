"""ZIP archives (safe expansion, bombs, traversal, nesting), e-mails with attachments, and the other formats
users upload (RTF, ODT, ODS, XLS, EPUB), on real files built here."""

from __future__ import annotations

import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from haybale.components.converters import (
    EMLToDocument,
    EPUBToDocument,
    MultiFileConverter,
    ODSToDocument,
    ODTToDocument,
    RTFToDocument,
    XLSToDocument,
    ZIPToDocument,
)
from haybale.components.converters.file_types import detect_mime_type
from haybale.dataclasses import ByteStream
from haybale.errors import ComponentError
from haybale.testing.sample_files import zip_archive, zip_bomb


def _stream(name: str, data: bytes) -> ByteStream:
    return ByteStream(data, meta={"file_name": name})


def _odf(mimetype: str, content: str) -> bytes:
    body = f'<?xml version="1.0" encoding="UTF-8"?>{content}'
    members = {"mimetype": mimetype.encode(), "content.xml": body.encode()}
    manifest = '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>'
    members["META-INF/manifest.xml"] = manifest.encode()
    return zip_archive(members, compression=zipfile.ZIP_STORED)


_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
)
ODT = _odf(
    "application/vnd.oasis.opendocument.text",
    f"<office:document-content {_NS}><office:body><office:text>"
    "<text:h>Harvest plan</text:h><text:p>Cut<text:s text:c='2'/>the north field<text:tab/>first.</text:p>"
    "<table:table><table:table-row><table:table-cell><text:p>field</text:p></table:table-cell>"
    "<table:table-cell><text:p>bales</text:p></table:table-cell></table:table-row></table:table>"
    "</office:text></office:body></office:document-content>",
)
ODS = _odf(
    "application/vnd.oasis.opendocument.spreadsheet",
    f"<office:document-content {_NS}><office:body><office:spreadsheet>"
    "<table:table table:name='Yields'><table:table-row>"
    "<table:table-cell><text:p>north</text:p></table:table-cell>"
    "<table:table-cell office:value='120'><text:p>120</text:p></table:table-cell>"
    "<table:table-cell table:number-columns-repeated='16384'/></table:table-row>"
    "<table:table-row table:number-rows-repeated='1048576'><table:table-cell/></table:table-row>"
    "</table:table><table:table table:name='Empty'/></office:spreadsheet></office:body>"
    "</office:document-content>",
)
RTF = (
    rb"{\rtf1\ansi\deff0 {\fonttbl {\f0 Times;}}\f0 Hay bales \b stored\b0  in the barn.\par "
    rb"Caf\'e9 open.\par}"
)


def _epub(chapters: list[str], encrypted: bool = False) -> bytes:
    container = (
        '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
        '<rootfile full-path="OEBPS/book.opf"/></rootfiles></container>'
    )
    items = "".join(f'<item id="c{i}" href="c{i}.xhtml"/>' for i in range(len(chapters)))
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
    opf = (
        '<package xmlns="http://www.idpf.org/2007/opf" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<metadata><dc:title>Farm Tales</dc:title><dc:creator>A. Farmer</dc:creator></metadata>"
        f"<manifest>{items}</manifest><spine>{spine}</spine></package>"
    )
    members = {"mimetype": b"application/epub+zip", "META-INF/container.xml": container.encode()}
    members["OEBPS/book.opf"] = opf.encode()
    for i, text in enumerate(chapters):
        members[f"OEBPS/c{i}.xhtml"] = (
            f"<html><body><h1>Chapter {i + 1}</h1><p>{text}</p></body></html>".encode()
        )
    if encrypted:
        members["META-INF/encryption.xml"] = b"<encryption/>"
    return zip_archive(members)


def _xls(rows: list[list[object]]) -> bytes:
    import io

    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Stock")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _mail(attachments: dict[str, bytes], html: bool = False) -> bytes:
    message = EmailMessage()
    message["Subject"] = "Harvest invoice"
    message["From"] = "Farmer <farmer@example.org>"
    message["To"] = "office@example.org"
    message["Date"] = "Mon, 03 Mar 2025 10:00:00 +0000"
    if html:
        message.set_content(
            "<html><body><p>Please pay the <b>invoice</b> by Friday.</p></body></html>", subtype="html"
        )
    else:
        message.set_content("Please pay the invoice by Friday.")
    for name, data in attachments.items():
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes()


def test_types_are_detected_by_content() -> None:
    assert detect_mime_type(_stream("x.bin", ODT)) == "application/vnd.oasis.opendocument.text"
    assert detect_mime_type(_stream("x", ODS)) == "application/vnd.oasis.opendocument.spreadsheet"
    assert detect_mime_type(_stream("book", _epub(["a"]))) == "application/epub+zip"
    assert detect_mime_type(_stream("notes.txt", RTF)) == "application/rtf"
    assert detect_mime_type(_stream("data", zip_archive({"a.txt": b"a"}))) == "application/zip"
    assert detect_mime_type(_stream("old.xls", _xls([["a"]]))) == "application/vnd.ms-excel"
    assert detect_mime_type(ByteStream(b"x", mime_type="application/x-zip-compressed")) == "application/zip"


def test_init_validation_and_round_trip(assert_round_trip) -> None:
    with pytest.raises(ComponentError, match="max_ratio"):
        ZIPToDocument(max_ratio=0)
    for converter in (
        ZIPToDocument(max_depth=2, max_total_mb=64),
        EMLToDocument(max_depth=2),
        RTFToDocument(),
    ):
        assert_round_trip(converter)
    for converter in (ODTToDocument(), ODSToDocument(), XLSToDocument(), EPUBToDocument()):
        assert_round_trip(converter)


def test_mixed_zip_converts_every_member_and_reports_bad_ones() -> None:
    inner = zip_archive({"deep/notes.md": b"# Deep\n\nnested markdown member"})
    archive = zip_archive(
        {
            "docs/readme.txt": b"the readme of the archive",
            "sheets/yields.ods": ODS,
            "letter.rtf": RTF,
            "inner.zip": inner,
            "../../etc/passwd": b"root:x:0:0",
            "broken.pdf": b"%PDF-1.4 garbage",
        }
    )
    result = MultiFileConverter().run(
        sources=[_stream("bundle.zip", archive)], meta={"source": "kb/bundle.zip"}
    )
    by_path = {d.meta["container_path"]: d for d in result["documents"]}
    assert set(by_path) == {
        "bundle.zip/docs/readme.txt",
        "bundle.zip/sheets/yields.ods",
        "bundle.zip/letter.rtf",
        "bundle.zip/inner.zip/deep/notes.md",
    }
    assert all(d.meta["source"] == "kb/bundle.zip" for d in result["documents"])
    assert by_path["bundle.zip/sheets/yields.ods"].meta["file_name"] == "yields.ods"
    failures = {f["source"]: f["error"] for f in result["failures"]}
    assert "climbs out of the archive" in failures["bundle.zip/../../etc/passwd"]
    assert "corrupt" in failures["bundle.zip/broken.pdf"]


def test_zip_bombs_are_refused_whole_even_when_nested() -> None:
    bomb = zip_bomb(48)
    assert len(bomb) < 200_000
    nested = zip_archive({"ok.txt": b"harmless", "payload.zip": bomb}, compression=zipfile.ZIP_STORED)
    converter = MultiFileConverter()
    for name, data in (("bomb.zip", bomb), ("nested.zip", nested)):
        result = converter.run(sources=[_stream(name, data)])
        assert result["documents"] == []
        [failure] = [f for f in result["failures"] if f["source"] == name]
        assert "likely zip bomb" in failure["error"] and name in failure["error"]


def test_zip_limits_on_depth_members_and_encryption() -> None:
    level3 = zip_archive({"c.txt": b"too deep"})
    level2 = zip_archive({"level3.zip": level3, "b.txt": b"second level"})
    level1 = zip_archive({"level2.zip": level2, "a.txt": b"first level"})
    result = ZIPToDocument(max_depth=2).run(sources=[_stream("level1.zip", level1)])
    assert sorted(d.content for d in result["documents"]) == ["first level", "second level"]
    assert any("nested 3 levels deep" in f["error"] for f in result["failures"])
    many = zip_archive({f"f{i}.txt": b"x" for i in range(20)})
    assert (
        "more than 10 files"
        in ZIPToDocument(max_members=10).run(sources=[_stream("m.zip", many)])["failures"][0]["error"]
    )
    encrypted = bytearray(zip_archive({"secret.txt": b"s"}, compression=zipfile.ZIP_STORED))
    encrypted[6] |= 0x1  # general purpose flag, local header
    central = encrypted.rfind(b"PK\x01\x02")
    encrypted[central + 8] |= 0x1  # and central directory
    result = ZIPToDocument().run(sources=[_stream("locked.zip", bytes(encrypted))])
    assert result["documents"] == [] and "encrypted" in result["failures"][0]["error"]
    assert (
        "not a valid ZIP"
        in ZIPToDocument().run(sources=[_stream("x.zip", b"PK\x03\x04junk")])["failures"][0]["error"]
    )


def test_rtf_odt_ods_xls_and_epub_text() -> None:
    converter = MultiFileConverter()
    files = {
        "a.rtf": RTF,
        "b.odt": ODT,
        "c.ods": ODS,
        "d.xls": _xls([["crop", "tons"], ["wheat", 12.0], ["barley", 7.5]]),
        "e.epub": _epub(["The cows came home.", "The end of summer."]),
    }
    result = converter.run(sources=[_stream(name, data) for name, data in files.items()])
    assert result["failures"] == []
    docs = {d.meta["file_name"]: d for d in result["documents"]}
    assert docs["a.rtf"].content == "Hay bales stored in the barn.\nCafé open."
    assert docs["b.odt"].content == "Harvest plan\n\nCut  the north field\tfirst.\n\nfield | bales"
    assert docs["c.ods"].content == "north,120\n" and docs["c.ods"].meta["sheet_name"] == "Yields"
    assert (
        docs["d.xls"].content == "crop,tons\nwheat,12\nbarley,7.5\n"
        and docs["d.xls"].meta["page_number"] == 1
    )
    assert docs["e.epub"].content == "Chapter 1\n\nThe cows came home.\n\nChapter 2\n\nThe end of summer."
    assert docs["e.epub"].meta["title"] == "Farm Tales" and docs["e.epub"].meta["author"] == "A. Farmer"


def test_corrupt_encrypted_and_empty_files_name_the_file() -> None:
    bad = {
        "locked.epub": _epub(["secret"], encrypted=True),
        "broken.odt": ODT[: len(ODT) // 2],
        "fake.rtf": b"{\\rtf1 }",
        "nothing.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
        "not-mail.eml": b"just some words without headers",
    }
    result = MultiFileConverter().run(sources=[_stream(name, data) for name, data in bad.items()])
    assert result["documents"] == []
    errors = {f["source"]: f["error"] for f in result["failures"]}
    assert set(errors) == set(bad)
    assert "DRM" in errors["locked.epub"]
    assert "broken.odt" in errors["broken.odt"]
    assert "no extractable text" in errors["fake.rtf"]
    assert "nothing.xls" in errors["nothing.xls"]
    assert "not an e-mail message" in errors["not-mail.eml"]


def test_email_body_headers_and_attachments(tmp_path: Path) -> None:
    inner_mail = _mail({"inner.txt": b"attached to the attached mail"})
    raw = _mail(
        {"invoice.rtf": RTF, "archive.zip": zip_archive({"list.txt": b"zipped list"}), "fwd.eml": inner_mail}
    )
    path = tmp_path / "message.eml"
    path.write_bytes(raw)
    result = MultiFileConverter().run(sources=[path])
    assert result["failures"] == []
    body = result["documents"][0]
    assert body.content.startswith("Subject: Harvest invoice\nFrom: Farmer <farmer@example.org>\n")
    assert body.content.endswith("Please pay the invoice by Friday.")
    assert body.meta["email_subject"] == "Harvest invoice"
    assert body.meta["attachments"] == ["invoice.rtf", "archive.zip", "fwd.eml"]
    paths = {d.meta.get("container_path") for d in result["documents"][1:]}
    assert paths == {
        "message.eml/invoice.rtf",
        "message.eml/archive.zip/list.txt",
        "message.eml/fwd.eml",
        "message.eml/fwd.eml/inner.txt",
    }
    assert all(d.meta["source"] == str(path) for d in result["documents"])
    html = EMLToDocument().run(sources=[_stream("h.eml", _mail({}, html=True))])["documents"][0]
    assert html.content.endswith("Please pay the invoice by Friday.")
    bomb_mail = _mail({"bomb.zip": zip_bomb(48)})
    failure = EMLToDocument().run(sources=[_stream("b.eml", bomb_mail)])["failures"][0]
    assert failure["source"] == "b.eml" and "likely zip bomb" in failure["error"]


def test_outlook_msg_with_attachments_and_an_embedded_message() -> None:
    from haybale.components.converters import MSGToDocument
    from haybale.testing.sample_files import message_streams, outlook_message

    inner = message_streams(
        "Re: bales", "Office", "Farmer", "Confirmed for Monday.", {"note.txt": b"inner note"}
    )
    raw = outlook_message(
        "Hay delivery", "Farmer Joe", "Office", "Please deliver 40 bales.", {"list.rtf": RTF, "reply": inner}
    )
    assert detect_mime_type(_stream("mail.msg", raw)) == "application/vnd.ms-outlook"
    result = MultiFileConverter().run(sources=[_stream("mail.msg", raw)])
    assert result["failures"] == []
    docs = {d.meta.get("container_path"): d for d in result["documents"]}
    assert docs[None].content == (
        "Subject: Hay delivery\nFrom: Farmer Joe\nTo: Office\nAttachments: list.rtf, reply.msg\n\n"
        "Please deliver 40 bales."
    )
    assert docs["mail.msg/list.rtf"].content.startswith("Hay bales stored")
    assert docs["mail.msg/reply.msg"].meta["email_subject"] == "Re: bales"
    assert docs["mail.msg/reply.msg/note.txt"].content == "inner note"
    assert_round_trip = MSGToDocument.from_dict(MSGToDocument(max_depth=2).to_dict())
    assert assert_round_trip.max_depth == 2
    not_mail = MSGToDocument().run(sources=[_stream("x.msg", _xls([["a"]]))])["failures"][0]["error"]
    assert "not an Outlook message" in not_mail
    garbage = MSGToDocument().run(sources=[_stream("y.msg", b"not ole at all")])["failures"][0]["error"]
    assert "not a readable Outlook message" in garbage
