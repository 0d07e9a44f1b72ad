"""The service's settings are the application's: :class:`haybale.app.settings.Settings`.

``ServiceSettings`` is the same class under the name the service has always exported; the variables it reads
(the Helix service's ``PGVECTOR_DSN``, ``RAG_HAYSTACK_*``, ``VLLM_BASE_URL``, ``RAG_VISION_*``,
``HELIX_EMBEDDINGS_SOCKET``, ``LOG_LEVEL`` and haybale's ``HAYBALE_*``) are listed in docs/service.md.
"""

from __future__ import annotations

from haybale.app.settings import DEFAULT_MAX_UPLOAD_BYTES, Settings, parse_api_keys
from haybale.errors import SettingsError

__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "ServiceSettings", "SettingsError", "parse_api_keys"]

ServiceSettings = Settings
