"""Joiners: combine the outputs of several components (documents, answers, strings, lists, branches)."""

from haybale.components.joiners.answer_joiner import AnswerJoiner
from haybale.components.joiners.branch_joiner import BranchJoiner
from haybale.components.joiners.document_joiner import DocumentJoiner
from haybale.components.joiners.list_joiner import ListJoiner
from haybale.components.joiners.string_joiner import StringJoiner

__all__ = ["AnswerJoiner", "BranchJoiner", "DocumentJoiner", "ListJoiner", "StringJoiner"]
