"""The embedder interface, the word-level result types, and the embedder registry.

An embedder turns captions into AnnexML features and, for explanations, carries a
feature-level path-averaged gradient back onto the caption's words (back-projection).
"""

from __future__ import annotations

import importlib.metadata
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from embeddings.errors import TextigError

ENTRY_POINT_GROUP = "textig.embedders"
WORD_KINDS = ("word", "stopword", "oov", "truncated", "frame")
# truncated: past the model's window; frame: the share of the masked caption itself, which is
# no single word's (SBERT "ig" words under a baseline other than the masked caption)
FRAME_TEXT = "(sentence frame)"


@dataclass(frozen=True)
class Token:
    """A unit an embedder uses, with its character span in the original caption."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class WordScore:
    """A word of the original caption with its attribution score (0 for stopwords and OOV)."""

    text: str
    start: int
    end: int
    score: float
    kind: str = "word"


DEVICES = ("auto", "cpu", "cuda")  # where an embedder's torch work runs ("auto": CUDA if seen)


def describe_caption(text: str, limit: int = 60) -> str:
    """A short quoted form of a caption for error messages."""
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return repr(shown)


class Embedder(ABC):
    """Maps captions to dense features; subclasses add their back-projection methods.

    ``back_projection_methods`` lists the ``method`` names ``word_attributions`` accepts, the
    first being the default (the complete, additive one for the built-in embedders);
    ``complete_back_projections`` names those whose word scores sum to the feature attribution
    total (reports mark the others' word gap as expected).
    """

    name: str = "embedder"
    back_projection_methods: tuple[str, ...] = ()
    complete_back_projections: tuple[str, ...] = ()

    @property
    @abstractmethod
    def identity(self) -> str:
        """A string pinning the exact vectors/model (file hashes included)."""

    @property
    def cache_key(self) -> str:
        """What keys cached features and models: the identity, extended by embedders whose
        features also depend on installed code that the identity leaves out (a tokenizer
        library's version), so upgrading that code re-embeds instead of reusing stale rows."""
        return self.identity

    @property
    @abstractmethod
    def dim(self) -> int:
        """Feature dimension."""

    @abstractmethod
    def tokens(self, text: str) -> list[Token]:
        """The units this embedder uses, with spans on the original text."""

    @abstractmethod
    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        """Encode captions already known to be usable."""

    def unusable_reason(self, text: str) -> str | None:
        """Why ``text`` cannot be encoded (e.g. "is empty"), or None if it can."""
        return "is empty" if not text.strip() else None

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Features (n, dim) float32; refuses, naming them, captions with no usable word."""
        texts = list(texts)
        bad = [(i, reason) for i, t in enumerate(texts) if (reason := self.unusable_reason(t))]
        if bad:
            named = "; ".join(f"caption {i} {describe_caption(texts[i])} {r}" for i, r in bad[:3])
            more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
            raise TextigError(f"{self.name} cannot encode {named}{more}")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._encode(texts, progress), dtype=np.float32)

    def neutral_baseline(self, text: str) -> np.ndarray:
        """A per-caption "no information" feature baseline, where the embedder has one."""
        raise TextigError(f"the {self.name} embedder has no neutral baseline; use another baseline")

    def use_device(self, device: str) -> str:
        """Run this embedder's work on ``device`` (one of ``DEVICES``) and return the device
        that runs it. Embedders without torch work run on the CPU whatever is asked."""
        if device not in DEVICES:
            raise TextigError(f"unknown device {device!r} (known: {', '.join(DEVICES)})")
        return "cpu"

    def back_projection(self, method: str = "default") -> str:
        """The back-projection ``method`` names ("default": the first listed), or a TextigError."""
        if not self.back_projection_methods:
            raise TextigError(f"the {self.name} embedder has no back-projection onto words")
        chosen = self.back_projection_methods[0] if method == "default" else method
        if chosen not in self.back_projection_methods:
            known = ", ".join(self.back_projection_methods)
            raise TextigError(f"unknown {self.name} back-projection {method!r} (known: {known})")
        return chosen

    def word_attributions(
        self,
        text: str,
        gbar: np.ndarray,
        baseline: np.ndarray,
        *,
        method: str = "default",
        steps: int | None = None,
    ) -> list[list[WordScore]]:
        """Project path-averaged feature gradients (one row per label) onto the caption's words.

        ``steps``: starting path points of back-projections that integrate (None: the
        embedder's default); exact ones ignore it.
        """
        gbar = np.atleast_2d(np.asarray(gbar, dtype=np.float64))
        baseline = np.asarray(baseline, dtype=np.float64)
        if gbar.ndim != 2 or gbar.shape[1] != self.dim:
            raise TextigError(f"gbar must have shape (labels, {self.dim}), got {gbar.shape}")
        if baseline.shape != (self.dim,):
            raise TextigError(f"baseline must have shape ({self.dim},), got {baseline.shape}")
        chosen = self.back_projection(method)
        if reason := self.unusable_reason(text):
            caption = describe_caption(text)
            raise TextigError(f"{self.name} cannot explain caption {caption} {reason}")
        return self._word_attributions(text, gbar, baseline, chosen, steps)

    def _word_attributions(
        self, text: str, gbar: np.ndarray, baseline: np.ndarray, method: str, steps: int | None
    ) -> list[list[WordScore]]:
        """Back-projection proper; embedders that list methods override it."""
        raise NotImplementedError


def _builtin_factories() -> dict[str, Callable[[str | None], Embedder]]:
    """Built-in embedders, imported on demand (GloVe must not pull torch in)."""

    def glove(arg: str | None) -> Embedder:
        from embeddings.glove import GloveEmbedder

        return GloveEmbedder(arg)

    def sbert(arg: str | None) -> Embedder:
        from embeddings.sbert import SbertEmbedder

        return SbertEmbedder(arg)

    return {"glove": glove, "sbert": sbert}


def available_embedders() -> list[str]:
    """Names usable in ``get_embedder``: built-ins, then entry points."""
    plugins = sorted(ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
    return [*_builtin_factories(), *(p for p in plugins if p not in _builtin_factories())]


def get_embedder(spec: str) -> Embedder:
    """Build an embedder from ``NAME`` or ``NAME:ARG`` (e.g. ``glove:/path/glove.txt``).

    Third-party embedders register a factory (a class or callable taking an optional string
    argument) under the ``textig.embedders`` entry-point group.
    """
    name, _, arg = spec.partition(":")
    builtins = _builtin_factories()
    if name in builtins:
        return builtins[name](arg or None)
    matches = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not matches:
        known = ", ".join(available_embedders())
        raise TextigError(f"unknown embedder {name!r} (available: {known})")
    factory = next(iter(matches)).load()
    embedder = factory(arg) if arg else factory()
    if not isinstance(embedder, Embedder):
        raise TextigError(f"entry point {name!r} did not produce an embeddings.Embedder")
    return embedder
