"""What a job carries about how to index, so every worker chunks and embeds exactly as its submitter asked.

A worker takes its store, credentials and model servers from its own settings (nothing secret travels through
the broker), but the chunking and embedding choices come with each job: ``haybale index --chunk-size 200
--queue URL`` works with workers started with the defaults. The job also names the store it was planned
against (:func:`~haybale.stores.url.store_identity`: password masked, SQLite path absolute); a worker
configured for another store refuses the job instead of writing somewhere else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from haybale.app.settings import SPLIT_UNITS, Settings
from haybale.errors import UsageError

__all__ = ["IndexingOptions", "JobPayloadError", "WrongStoreError"]


class JobPayloadError(UsageError):
    """A job's payload is malformed (it was not produced by haybale's submitters, or by another version)."""


class WrongStoreError(UsageError):
    """A job was submitted for another store than the one this worker writes to; nothing was written."""


@dataclass(frozen=True)
class IndexingOptions:
    """The settings that decide what chunks (and so which chunk ids) a source yields.

    Attributes:
        split_by / chunk_size / chunk_overlap: the chunking.
        embed: whether chunks get embeddings.
        embedding_model: the embedding model (resolved name).
        store: the identity of the store the job was planned against.
    """

    split_by: str
    chunk_size: int
    chunk_overlap: int
    embed: bool
    embedding_model: str
    store: str

    @classmethod
    def from_settings(cls, settings: Settings) -> IndexingOptions:
        """The options ``settings`` describe (the submitter's).

        Raises:
            DocumentStoreUsageError: the store cannot be shared between processes (``memory``).
        """
        from haybale.stores.url import store_identity

        return cls(
            split_by=settings.split_by,
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
            embed=settings.embed,
            embedding_model=settings.resolved_embedding_model,
            store=store_identity(settings.store_url),
        )

    def to_dict(self) -> dict[str, Any]:
        """The options as they travel in a job."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> IndexingOptions:
        """Options read from a job.

        Raises:
            JobPayloadError: a field is missing or has the wrong type.
        """
        if not isinstance(data, dict):
            raise JobPayloadError(f"The job's indexing options must be an object, got {type(data).__name__}.")
        try:
            options = cls(**{name: data[name] for name in cls.__dataclass_fields__})
        except KeyError as exc:
            raise JobPayloadError(f"The job's indexing options lack {exc.args[0]!r}.") from None
        numbers_ok = all(
            isinstance(v, int) and not isinstance(v, bool)
            for v in (options.chunk_size, options.chunk_overlap)
        )
        if options.split_by not in SPLIT_UNITS or not numbers_ok or not isinstance(options.embed, bool):
            raise JobPayloadError(f"The job's indexing options are malformed: {data!r}.")
        return options

    def settings_for(self, settings: Settings) -> Settings:
        """``settings`` (a worker's) with this job's chunking and embedding choices.

        Raises:
            WrongStoreError: the worker's store is not the one the job was planned against.
        """
        from haybale.stores.url import store_identity

        mine = store_identity(settings.store_url)
        if mine != self.store:
            raise WrongStoreError(
                f"This job was submitted for the store {self.store}, but this worker writes to {mine}. Start "
                "the workers with the same store (HAYBALE_STORE_URL, or --store), so that they all share it."
            )
        return settings.model_copy(
            update={
                "split_by": self.split_by,
                "chunk_size": self.chunk_size,
                "chunk_overlap": self.chunk_overlap,
                "embed": self.embed,
                "embedding_model": self.embedding_model,
            }
        )
