"""textig: Integrated Gradients explanations for AnnexML caption classifiers.

The public API is re-exported lazily so that ``import textig`` stays cheap and the GloVe
path never imports torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "AnnexML": "textig.annexml",
    "integrated_gradients": "textig.attribution",
    "Explainer": "textig.explain",
    "Explanation": "textig.explanation",
    "baseline_study": "textig.study",
    "BaselineStudy": "textig.study",
    "TextigError": "textig.errors",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    """Import public names on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'textig' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
