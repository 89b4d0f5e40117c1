"""The one settings object of an explanation: every choice that changes its numbers.

Resolved once per (embedder, model) by ``Explainer``: "auto" and "default" become what runs,
so a report's ``settings`` are the settings that ran. The CLI takes its defaults from here,
and ``Explainer.with_baseline`` is a ``dataclasses.replace``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from embeddings.base import DEVICES
from textig.attribution.ig import BUDGET_FACTOR
from textig.errors import TextigError

METHODS = ("auto", "exact", "gradients", "estimate")
METHOD_HELP = (
    "auto: exact where the model offers path jumps (AnnexML votes, kNN), autograd where it is "
    "differentiable (torch), else the black-box estimate; exact, gradients, estimate force one"
)

DEVICE_HELP = (
    "where SBERT's torch work runs: auto (CUDA when torch sees a device, else the CPU; "
    "default), cpu, cuda (an error when torch sees none)"
)


@dataclass(frozen=True)
class ExplainSettings:
    """How an explanation is computed.

    method: see ``METHODS``. steps: path nodes of the black-box estimator (its scan of 4 x steps
    cells; its node budget per label is BUDGET_FACTOR x steps, reported with each label's use)
    and of autograd IG. quadrature: the node rule (None: the method's default). word_method: the
    embedder's back-projection ("default": its first). word_steps: starting path points of
    token-level word IG (SBERT; None: the embedder's default). baseline: "auto", "mean",
    "neutral", "text:CAPTION" or a (dim,) array. top_features: features listed per label. seed:
    the estimator's random nodes. device: where the embedder's torch work runs ("auto": CUDA
    when torch sees a device, else the CPU; see ``embeddings.base.DEVICES``); resolved to the
    device that ran.
    """

    method: str = "auto"
    steps: int = 50
    quadrature: str | None = None
    word_method: str = "default"
    word_steps: int | None = None
    baseline: Any = "auto"
    top_features: int = 10
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise TextigError(f"unknown IG method {self.method!r} (known: {', '.join(METHODS)})")
        if self.device not in DEVICES:
            raise TextigError(f"unknown device {self.device!r} (known: {', '.join(DEVICES)})")
        for name in ("steps", "top_features"):
            _check_count(name, getattr(self, name))
        if self.word_steps is not None:
            _check_count("word_steps", self.word_steps)

    def but(self, **changes: Any) -> ExplainSettings:
        """A copy with some fields changed (validated again)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise TextigError(f"unknown explanation setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the report (an array baseline is named, not listed)."""
        data = asdict(self)
        if isinstance(self.baseline, np.ndarray):
            data["baseline"] = "array"
        return data


def _check_count(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise TextigError(f"{name} must be a positive integer, got {value!r}")


DEFAULTS = ExplainSettings()
# Captions per batch and per Parquet shard of a corpus run: what a killed run can lose at most.
DEFAULT_SHARD_SIZE = 32
STEPS_HELP = (
    f"IG path points (default {DEFAULTS.steps}); the black-box estimate scans 4x as many path "
    f"cells and may spend up to {BUDGET_FACTOR}x as many nodes per label (its budget, "
    "reported per label)"
)
