"""Caption embedders (GloVe, SBERT, plug-ins) and their back-projection onto words.

``GloveEmbedder`` and ``SbertEmbedder`` are resolved lazily, so importing this package stays
cheap (a cold start pays only for what it uses) and never imports torch.
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
    if name == "GloveEmbedder":
        from embeddings.glove import GloveEmbedder

        return GloveEmbedder
    if name == "SbertEmbedder":
        from embeddings.sbert import SbertEmbedder

        return SbertEmbedder
    raise AttributeError(f"module 'embeddings' has no attribute {name!r}")
