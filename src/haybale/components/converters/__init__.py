"""Converters: turn files (paths or byte streams) into Documents.

Every converter takes ``sources`` and optional ``meta`` and returns ``documents`` plus ``failures`` — one
``{"source", "error"}`` entry per file it had to skip — so one bad file never takes a batch down.
"""

from haybale.components.converters.csv_converter import CSVToDocument
from haybale.components.converters.docx_converter import DOCXToDocument
from haybale.components.converters.email_converter import EMLToDocument
from haybale.components.converters.epub_converter import EPUBToDocument
from haybale.components.converters.html_converter import HTMLToDocument
from haybale.components.converters.image_converter import ImageToDocument
from haybale.components.converters.json_converter import JSONToDocument
from haybale.components.converters.markdown_converter import MarkdownToDocument
from haybale.components.converters.msg_converter import MSGToDocument
from haybale.components.converters.multi_file_converter import MultiFileConverter
from haybale.components.converters.odf_converter import ODSToDocument, ODTToDocument
from haybale.components.converters.page_images import ImageFileToImages, PDFToImages
from haybale.components.converters.pdf_converter import PDFToDocument
from haybale.components.converters.pptx_converter import PPTXToDocument
from haybale.components.converters.rtf_converter import RTFToDocument
from haybale.components.converters.text_converter import TextFileToDocument
from haybale.components.converters.xls_converter import XLSToDocument
from haybale.components.converters.xlsx_converter import XLSXToDocument
from haybale.components.converters.zip_converter import ZIPToDocument

__all__ = [
    "CSVToDocument",
    "DOCXToDocument",
    "EMLToDocument",
    "EPUBToDocument",
    "HTMLToDocument",
    "ImageFileToImages",
    "ImageToDocument",
    "JSONToDocument",
    "MSGToDocument",
    "MarkdownToDocument",
    "MultiFileConverter",
    "ODSToDocument",
    "ODTToDocument",
    "PDFToDocument",
    "PDFToImages",
    "PPTXToDocument",
    "RTFToDocument",
    "TextFileToDocument",
    "XLSToDocument",
    "XLSXToDocument",
    "ZIPToDocument",
]
