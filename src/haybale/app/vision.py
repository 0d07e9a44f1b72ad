"""Vision retrieval: page images indexed in a vision store beside the text index, searched densely.

What ``POST /process-vision`` and ``POST /query-vision`` run. Each PDF page (rendered with PDFium) or image
page becomes one *image document* (``blob`` = the page image, meta = the upload's metadata plus
``page_number``, ``page_count``, ``image_width``, ``image_height``, ``chunk_id`` =
``<document_id>-page-<n>``), embedded and stored in the vision store (:mod:`haybale.stores.vision_url`: a
second SQLite file, a second in-memory store, or the ``<table>_vision`` table of PostgreSQL). Queries are
dense only.

Where the embeddings come from, by the settings:

* ``vision_base_url`` (``RAG_VISION_BASE_URL``) set: the multimodal model ``vision_embeddings_model``
  (``RAG_VISION_EMBEDDINGS_MODEL``, DSE-Qwen2 by default) behind vLLM's chat-style ``/v1/embeddings``: page
  images and text queries in one vector space (``mode == "multimodal"``);
* otherwise the **OCR text path** (``mode == "ocr-text"``): no image-text model ships inside a PyPI package
  (none was found), so each page's text is read by OCR and embedded with the text embedding model, and the
  query with the same model. Same routes, same response shape; pages without legible text cannot be found
  by meaning in this mode, and the response says which mode answered.

Re-uploading a document (same ``document_id`` within its ``data_entity_id``) replaces its pages in one atomic
store call; an unchanged upload is not re-processed.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from typing import Any

from haybale.app.settings import Settings
from haybale.dataclasses import ByteStream, Document
from haybale.errors import ConversionError
from haybale.indexing.source_tracker import stored_whole
from haybale.indexing.sources import CHUNK_COUNT_META

__all__ = ["VISION_NOT_ENABLED", "VisionIndex", "VisionOutcome"]

#: The message (and HTTP 400 detail) when vision retrieval is switched off.
VISION_NOT_ENABLED = (
    "Vision RAG is not enabled. Set RAG_VISION_ENABLED=true (or HAYBALE_VISION_ENABLED=true) to index and "
    "query page images."
)
#: Helix's vision table holds vectors of this size (DSE-Qwen2 with Matryoshka truncation).
_REMOTE_VISION_DIMENSION = 1536


@dataclass(frozen=True)
class VisionOutcome:
    """What happened to one source: "indexed" (``pages`` stored), "unchanged" or "failed" (``error``)."""

    key: str
    status: str
    pages: int = 0
    replaced: int = 0
    error: str | None = None


class VisionIndex:
    """The vision store and the models that fill and search it (see the module docstring).

    Args:
        settings: the settings (``store_url``, ``vision_*``, ``embedding_*``).
        text_document_embedder: the text chunk embedder (OCR text path), or None when embedding is off.
        text_query_embedder: the text query embedder (OCR text path).
        tenant_scoped: put the vision store behind a TenantScopedStore, like the text store.
    """

    def __init__(
        self,
        settings: Settings,
        text_document_embedder: Any,
        text_query_embedder: Any,
        *,
        tenant_scoped: bool = False,
    ) -> None:
        from haybale.app.embedding import expected_embedding_dimension
        from haybale.stores.url import open_store_url
        from haybale.stores.vision_url import vision_store_url

        self.settings = settings
        self.mode = "multimodal" if settings.vision_url else "ocr-text"
        dimension = (
            settings.embedding_dim or _REMOTE_VISION_DIMENSION
            if self.mode == "multimodal"
            else expected_embedding_dimension(settings)
        )
        self.opened = open_store_url(vision_store_url(settings.store_url), embedding_dimension=dimension)
        self.store: Any = self.opened.store
        if tenant_scoped:
            from haybale.stores.tenant_scope import TenantScopedStore

            self.store = TenantScopedStore(self.opened.store)
        self._text_documents = text_document_embedder
        self._text_query = text_query_embedder
        self._lock = threading.Lock()
        self.write_lock = threading.Lock()
        self._parts: dict[str, Any] = {}

    # ------------------------------------------------------------------------------------------ models
    @property
    def model_name(self) -> str:
        """The model whose vectors the vision store holds (recorded on every page)."""
        if self.mode == "multimodal":
            return self.settings.vision_embeddings_model
        return f"ocr-text:{self.settings.resolved_embedding_model}"

    def _part(self, name: str) -> Any:
        with self._lock:
            if name not in self._parts:
                self._parts[name] = self._build(name)
            return self._parts[name]

    def _build(self, name: str) -> Any:
        from haybale.components.converters import ImageFileToImages, PDFToImages

        if name == "pdf":
            return PDFToImages(max_pages=self.settings.vision_max_pages)
        if name == "images":
            return ImageFileToImages(max_pages=self.settings.vision_max_pages)
        from haybale.components.embedders import OpenAIDocumentImageEmbedder, OpenAIMultimodalTextEmbedder
        from haybale.core.secret import Secret

        remote: dict[str, Any] = {
            "api_key": Secret.from_env_var(self.settings.embedding_api_key_envs, strict=False),
            "model": self.settings.vision_embeddings_model,
            "base_url": self.settings.vision_url,
            "truncate_dim": self.settings.embedding_dim,
            "max_retries": 2,
        }
        if name == "image_embedder":
            return OpenAIDocumentImageEmbedder(**remote)
        return OpenAIMultimodalTextEmbedder(**remote)

    # ---------------------------------------------------------------------------------------- indexing
    def page_images(self, stream: ByteStream, meta: dict[str, Any]) -> list[Document]:
        """The page images of an uploaded PDF or image file, as image documents carrying ``meta``.

        Raises:
            ConversionError: the file is neither a PDF nor an image, or cannot be read.
        """
        from haybale.components.converters.file_types import detect_mime_type
        from haybale.dataclasses.image_content import IMAGE_MIME_TYPES

        name = str(stream.meta.get("file_name") or "upload")
        mime = detect_mime_type(ByteStream(stream.data, stream.meta), trust_declared=False)
        if mime == "application/pdf":
            converter = self._part("pdf")
        elif mime in IMAGE_MIME_TYPES:
            converter = self._part("images")
        else:
            raise ConversionError(
                f"'{name}' is {'of type ' + mime if mime else 'of an unknown type'}, not a PDF or an image: "
                "vision retrieval indexes page images. Send other files to /process for their text."
            )
        result = converter.run(sources=[stream], meta=[meta])
        if result["failures"]:
            raise ConversionError(str(result["failures"][0]["error"]))
        return list(result["documents"])

    def embed_pages(self, pages: list[Document]) -> list[Document]:
        """``pages`` with embeddings (and, on the OCR text path, their OCR text as content)."""
        if not pages:
            return []
        if self.mode == "multimodal":
            embedded: list[Document] = self._part("image_embedder").run(documents=pages)["documents"]
            return embedded
        if self._text_documents is None:
            raise ConversionError(
                "Vision retrieval on the OCR text path needs text embeddings, which are turned off "
                "(HAYBALE_EMBED=false). Turn them on, or set RAG_VISION_BASE_URL to a multimodal model."
            )
        from PIL import Image

        from haybale.components.converters.ocr_engine import get_ocr_engine

        engine = get_ocr_engine()
        read = []
        for page in pages:
            with Image.open(io.BytesIO(page.blob.data if page.blob else b"")) as image:
                result = engine.recognize(image)
            meta = {**page.meta, "ocr": True, "ocr_boxes": result.boxes()}
            read.append(Document(content=result.text, meta=meta, blob=page.blob))
        documents: list[Document] = self._text_documents.run(documents=read)["documents"]
        return documents

    def index_sources(self, sources: list[Any]) -> list[VisionOutcome]:
        """Index :class:`~haybale.indexing.indexer.SourceInput` items whose content is a ByteStream (call
        inside the caller's tenant scope). Each source's pages replace its earlier pages atomically; a source
        that fails changes nothing."""
        outcomes = []
        for item in sources:
            try:
                outcomes.append(self._index_one(item))
            except ConversionError as exc:
                outcomes.append(VisionOutcome(item.key, "failed", error=str(exc)))
        return outcomes

    def _index_one(self, item: Any) -> VisionOutcome:
        scope = item.replace_filter
        if stored_whole(self.store, scope, item.sha256, CHUNK_COUNT_META):
            return VisionOutcome(item.key, "unchanged", pages=self.store.count_documents(scope))
        prefix = str(item.meta.get("document_id") or item.key)
        meta = {**item.meta, "source_hash": item.sha256, "vision_model": self.model_name}
        pages = self.page_images(item.content, meta)
        for page in pages:
            page.meta["chunk_id"] = f"{prefix}-page-{page.meta['page_number']}"
            page.meta[CHUNK_COUNT_META] = len(pages)
        stored = [Document(content=p.content, meta=p.meta, blob=p.blob, embedding=p.embedding) for p in pages]
        embedded = self.embed_pages(stored)
        with self.write_lock:
            replaced, _ = self.store.replace_documents(scope, embedded)
            self.opened.flush()
        return VisionOutcome(item.key, "indexed", pages=len(embedded), replaced=int(replaced))

    # ------------------------------------------------------------------------------------------ search
    def embed_query(self, query: str) -> list[float]:
        """The query's vector in the vision store's space."""
        if self.mode == "multimodal":
            vector: list[float] = self._part("query_embedder").run(text=query)["embedding"]
            return vector
        embedder = self._text_query
        warm_up = getattr(embedder, "warm_up", None)
        if callable(warm_up):
            warm_up()
        vector = embedder.run(text=query)["embedding"]
        return vector

    def search(self, query: str, top_k: int, filters: dict[str, Any] | None) -> list[Document]:
        """Dense search of the vision store (call inside the caller's tenant scope); scores are cosine
        similarities scaled to 0..1."""
        embedding = self.embed_query(query)
        documents: list[Document] = self.store.embedding_search(embedding, top_k, filters, scale_score=True)
        return documents

    def close(self) -> None:
        """Release the vision store's connections."""
        close = getattr(self.opened.store, "close", None)
        if callable(close):
            close()
