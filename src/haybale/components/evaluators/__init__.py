"""Evaluators: score retrieval (recall, MRR, nDCG, MAP), answers (exact match, semantic similarity) and, with
a chat model as judge, faithfulness and context relevance or any custom criterion (:class:`LLMEvaluator`).

Socket names follow Haystack's (``ground_truth_documents``, ``retrieved_documents``, ``ground_truth_answers``,
``predicted_answers``, ``questions``, ``contexts``), so evaluation pipelines port over. Every evaluator
returns ``score`` (the mean) and ``individual_scores`` (one per query or row).
"""

from haybale.components.evaluators.answer_exact_match import AnswerExactMatchEvaluator
from haybale.components.evaluators.context_relevance import ContextRelevanceEvaluator
from haybale.components.evaluators.document_map import DocumentMAPEvaluator
from haybale.components.evaluators.document_mrr import DocumentMRREvaluator
from haybale.components.evaluators.document_ndcg import DocumentNDCGEvaluator
from haybale.components.evaluators.document_recall import DocumentRecallEvaluator
from haybale.components.evaluators.faithfulness import FaithfulnessEvaluator
from haybale.components.evaluators.llm_evaluator import LLMEvaluator
from haybale.components.evaluators.sas import SASEvaluator

__all__ = [
    "AnswerExactMatchEvaluator",
    "ContextRelevanceEvaluator",
    "DocumentMAPEvaluator",
    "DocumentMRREvaluator",
    "DocumentNDCGEvaluator",
    "DocumentRecallEvaluator",
    "FaithfulnessEvaluator",
    "LLMEvaluator",
    "SASEvaluator",
]
