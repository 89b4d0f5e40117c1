"""Caption embedders (GloVe, SBERT, plug-ins) and their back-projection onto words.

``SbertEmbedder`` is resolved lazily so that importing this package never imports torch.
"""

from __future__ import annotations

from typing import Any

from embeddings.base import (
    ENTRY_POINT_GROUP,
    Embedder,
    Token,
    WordScore,
    available_embedders,
    get_embedder,
)
from embeddings.glove import GloveEmbedder

__all__ = [
    "ENTRY_POINT_GROUP",
    "Embedder",
    "GloveEmbedder",
    "SbertEmbedder",
    "Token",
    "WordScore",
    "available_embedders",
    "get_embedder",
]


def __getattr__(name: str) -> Any:
    if name == "SbertEmbedder":
        from embeddings.sbert import SbertEmbedder

        return SbertEmbedder
    raise AttributeError(f"module 'embeddings' has no attribute {name!r}")
