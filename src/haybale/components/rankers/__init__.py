"""Rankers: re-order retrieved documents."""

from haybale.components.rankers.lost_in_the_middle import LostInTheMiddleRanker
from haybale.components.rankers.meta_field import MetaFieldRanker
from haybale.components.rankers.sentence_transformers_similarity import SentenceTransformersSimilarityRanker

__all__ = ["LostInTheMiddleRanker", "MetaFieldRanker", "SentenceTransformersSimilarityRanker"]
