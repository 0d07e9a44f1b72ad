"""Chat generators: :class:`OpenAIChatGenerator` (any OpenAI-compatible server) and
:class:`LlamaCppChatGenerator` (a local GGUF model, in-process)."""

from haybale.components.generators.llama_cpp_chat import LlamaCppChatGenerator, default_gguf_model_path
from haybale.components.generators.openai_chat import OpenAIChatGenerator
from haybale.components.generators.openai_format import StreamingCallback

__all__ = ["LlamaCppChatGenerator", "OpenAIChatGenerator", "StreamingCallback", "default_gguf_model_path"]
