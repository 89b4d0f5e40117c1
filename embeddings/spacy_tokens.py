"""spaCy tokenisation for the GloVe embedder, imported without dragging torch in.

spaCy imports thinc, and thinc imports torch eagerly when it is installed (~2 s and a large
memory footprint) although tokenising never uses it. While spaCy is first imported, torch is
hidden so thinc records "no torch"; it stays importable for everything else afterwards.
"""

from __future__ import annotations

import functools
import importlib.metadata
import sys
from types import ModuleType
from typing import Any

TOKENIZER_NAME = "spacy-blank-en"


def import_spacy() -> ModuleType:
    """Import spaCy; if torch is not loaded yet, keep it unloaded."""
    if "spacy" in sys.modules or "torch" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail
    try:
        import spacy
    finally:
        del sys.modules["torch"]
    return spacy


@functools.cache
def english_tokenizer() -> Any:
    """spaCy's rule-based English tokenizer (``spacy.blank("en")``), the same on every machine.

    An installed full pipeline (en_core_web_sm, ...) is deliberately not used: its serialised
    tokenizer rules would make the features depend on which extra packages a machine has.
    """
    return import_spacy().blank("en").tokenizer


def tokenizer_version() -> str:
    """The installed spaCy version (read without importing spaCy): its rules may change."""
    return f"spacy-{importlib.metadata.version('spacy')}"
