"""The service's JSON response: Starlette's, except that text which is not valid Unicode cannot break it.

A Python string may hold an unpaired surrogate (JSON's ``"\\ud800"`` decodes to one), and UTF-8 cannot
encode it: Starlette's ``JSONResponse`` then raises while rendering, and an answer that should have been a
422 or a search result becomes a 500. Input checks refuse such strings where they enter (metadata, run
inputs); this response is the backstop for every other path (an echoed validation input, a stored value):
an unpaired surrogate is written as its ``\\udXXX`` escape.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse

__all__ = ["SafeJSONResponse"]


class SafeJSONResponse(JSONResponse):
    """``JSONResponse`` that writes unpaired surrogates as ``\\udXXX`` escapes instead of failing."""

    def render(self, content: Any) -> bytes:
        """Compact UTF-8 JSON, as Starlette writes it."""
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
        return text.encode("utf-8", "backslashreplace")
