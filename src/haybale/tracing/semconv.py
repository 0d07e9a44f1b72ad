"""The span vocabulary haybale writes: span kinds and the attribute names of the conventions it follows.

Kinds follow OpenInference (``openinference.span.kind``: CHAIN, EMBEDDING, RETRIEVER, RERANKER, LLM, TOOL,
AGENT, EVALUATOR), so Phoenix and other OpenInference readers draw the tree with the right icons. Model calls
carry the OpenTelemetry GenAI semantic-convention attributes (``gen_ai.*``): request model and parameters,
response model, finish reasons and token usage. Retrieved documents are listed OpenInference-style
(``retrieval.documents.<i>.document.id`` / ``.score``; ``.content`` only with content tracing on).
"""

from __future__ import annotations

__all__ = [
    "AGENT",
    "AGENT_STEP",
    "CHAIN",
    "EMBEDDING",
    "EVALUATION",
    "EVALUATOR",
    "KINDS",
    "LLM",
    "LLM_CALL",
    "RERANKER",
    "RETRIEVER",
    "SPAN_KIND",
    "TOOL",
    "TOOL_CALL",
]

#: the tag holding a span's kind
SPAN_KIND = "openinference.span.kind"

CHAIN = "CHAIN"
EMBEDDING = "EMBEDDING"
RETRIEVER = "RETRIEVER"
RERANKER = "RERANKER"
LLM = "LLM"
TOOL = "TOOL"
AGENT = "AGENT"
EVALUATOR = "EVALUATOR"
KINDS = (CHAIN, EMBEDDING, RETRIEVER, RERANKER, LLM, TOOL, AGENT, EVALUATOR)

# span names haybale opens besides the engine's pipeline and component spans
TOOL_CALL = "haybale.tool.call"
TOOL_CONFIRMATION = "haybale.tool.confirmation"
AGENT_STEP = "haybale.agent.step"
LLM_CALL = "haybale.llm.call"
EVALUATION = "haybale.evaluation"

# OpenTelemetry GenAI semantic conventions
GEN_AI_OPERATION = "gen_ai.operation.name"
GEN_AI_PROVIDER = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"
GEN_AI_TOOL_ARGUMENTS = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_RESULT = "gen_ai.tool.call.result"
ERROR_TYPE = "error.type"
#: request parameters copied from generation kwargs: kwarg name -> attribute
GEN_AI_REQUEST_PARAMETERS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "seed": "gen_ai.request.seed",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
}

# OpenInference document lists
RETRIEVAL_DOCUMENTS = "retrieval.documents"
RERANKER_INPUT_DOCUMENTS = "reranker.input_documents"
RERANKER_OUTPUT_DOCUMENTS = "reranker.output_documents"
RERANKER_MODEL = "reranker.model_name"
EMBEDDING_MODEL = "embedding.model_name"

# haybale's own
AGENT_STEP_INDEX = "haybale.agent.step"
LLM_TOOL_CALLS = "haybale.llm.tool_calls"
TOOL_ERROR = "haybale.tool.error"
TOOL_CONFIRMATION_POLICY = "haybale.tool.confirmation.policy"
TOOL_CONFIRMATION_APPROVED = "haybale.tool.confirmation.approved"
TOOL_CONFIRMATION_DECIDED_BY = "haybale.tool.confirmation.decided_by"
TOOL_CONFIRMATION_REASON = "haybale.tool.confirmation.reason"
EVALUATION_PREFIX = "haybale.eval."
