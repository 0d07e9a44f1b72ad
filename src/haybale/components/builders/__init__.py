"""Builders: prompts from templates (sandboxed Jinja2) and answers from replies."""

from haybale.components.builders.answer_builder import AnswerBuilder
from haybale.components.builders.chat_prompt_builder import ChatPromptBuilder
from haybale.components.builders.prompt_builder import PromptBuilder
from haybale.components.builders.sandbox import TemplateLimitError, TemplateRenderError, TemplateSecurityError

__all__ = [
    "AnswerBuilder",
    "ChatPromptBuilder",
    "PromptBuilder",
    "TemplateLimitError",
    "TemplateRenderError",
    "TemplateSecurityError",
]
