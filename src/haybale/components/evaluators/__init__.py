"""Evaluators: score retrieval (recall, precision@k, MRR, nDCG, MAP, chunk attribution and utilization),
rankers (uplift: did the ranker move the relevant documents up?), prompts (coverage of the retrieved
context), answers (exact match, semantic similarity, groundedness and context adherence against the rendered
prompt, completeness, factual accuracy, refusal), agents (tool-call correctness, task completion) and, with a
chat model as judge, faithfulness, context relevance or any custom criterion (:class:`LLMEvaluator`).

Socket names follow Haystack's (``ground_truth_documents``, ``retrieved_documents``, ``ground_truth_answers``,
``predicted_answers``, ``questions``, ``contexts``), so evaluation pipelines port over. Every evaluator
returns ``score`` (the mean) and ``individual_scores`` (one per query or row). The rubric evaluators are
deterministic first and escalate unsure rows to a judge when one is configured (the cheap-first cascade of
:mod:`haybale.components.evaluators.rubric`); they also return ``confidences``, ``escalated`` and ``reasons``.
"""

from haybale.components.evaluators.answer_exact_match import AnswerExactMatchEvaluator
from haybale.components.evaluators.answer_refusal import AnswerRefusalEvaluator
from haybale.components.evaluators.chunk_attribution import ChunkAttributionEvaluator
from haybale.components.evaluators.chunk_utilization import ChunkUtilizationEvaluator
from haybale.components.evaluators.completeness import CompletenessEvaluator
from haybale.components.evaluators.context_adherence import ContextAdherenceEvaluator
from haybale.components.evaluators.context_relevance import ContextRelevanceEvaluator
from haybale.components.evaluators.document_map import DocumentMAPEvaluator
from haybale.components.evaluators.document_mrr import DocumentMRREvaluator
from haybale.components.evaluators.document_ndcg import DocumentNDCGEvaluator
from haybale.components.evaluators.document_precision import DocumentPrecisionEvaluator
from haybale.components.evaluators.document_recall import DocumentRecallEvaluator
from haybale.components.evaluators.factual_accuracy import FactualAccuracyEvaluator
from haybale.components.evaluators.faithfulness import FaithfulnessEvaluator
from haybale.components.evaluators.groundedness import GroundednessEvaluator
from haybale.components.evaluators.llm_evaluator import LLMEvaluator
from haybale.components.evaluators.prompt_coverage import PromptCoverageEvaluator
from haybale.components.evaluators.ranker_uplift import RankerUpliftEvaluator
from haybale.components.evaluators.sas import SASEvaluator
from haybale.components.evaluators.task_completion import TaskCompletionEvaluator
from haybale.components.evaluators.tool_call_correctness import ToolCallCorrectnessEvaluator

__all__ = [
    "AnswerExactMatchEvaluator",
    "AnswerRefusalEvaluator",
    "ChunkAttributionEvaluator",
    "ChunkUtilizationEvaluator",
    "CompletenessEvaluator",
    "ContextAdherenceEvaluator",
    "ContextRelevanceEvaluator",
    "DocumentMAPEvaluator",
    "DocumentMRREvaluator",
    "DocumentNDCGEvaluator",
    "DocumentPrecisionEvaluator",
    "DocumentRecallEvaluator",
    "FactualAccuracyEvaluator",
    "FaithfulnessEvaluator",
    "GroundednessEvaluator",
    "LLMEvaluator",
    "PromptCoverageEvaluator",
    "RankerUpliftEvaluator",
    "SASEvaluator",
    "TaskCompletionEvaluator",
    "ToolCallCorrectnessEvaluator",
]
