"""Converters: turn files (paths or byte streams) into Documents.

Every converter takes ``sources`` and optional ``meta`` and returns ``documents`` plus ``failures`` — one
``{"source", "error"}`` entry per file it had to skip — so one bad file never takes a batch down.
"""

from haybale.components.converters.csv_converter import CSVToDocument
from haybale.components.converters.docx_converter import DOCXToDocument
from haybale.components.converters.html_converter import HTMLToDocument
from haybale.components.converters.json_converter import JSONToDocument
from haybale.components.converters.markdown_converter import MarkdownToDocument
from haybale.components.converters.multi_file_converter import MultiFileConverter
from haybale.components.converters.pdf_converter import PDFToDocument
from haybale.components.converters.pptx_converter import PPTXToDocument
from haybale.components.converters.text_converter import TextFileToDocument
from haybale.components.converters.xlsx_converter import XLSXToDocument

__all__ = [
    "CSVToDocument",
    "DOCXToDocument",
    "HTMLToDocument",
    "JSONToDocument",
    "MarkdownToDocument",
    "MultiFileConverter",
    "PDFToDocument",
    "PPTXToDocument",
    "TextFileToDocument",
    "XLSXToDocument",
]
