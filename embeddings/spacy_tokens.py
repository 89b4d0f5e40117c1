"""spaCy tokenisation for the GloVe embedder, imported without dragging torch in.

spaCy imports thinc, and thinc imports torch eagerly when it is installed (~2 s and a large
memory footprint) although tokenising never uses it. While spaCy is first imported, torch is
hidden so thinc records "no torch"; it stays importable for everything else afterwards.
"""

from __future__ import annotations

import functools
import sys
from types import ModuleType
from typing import Any

_FULL_MODELS = ("en_core_web_sm", "en_core_web_md", "en_core_web_lg")


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
    """The tokenizer of an installed full English pipeline, else of ``spacy.blank("en")``.

    Only the tokenizer is used, so a full model changes nothing but its tokenizer exceptions.
    """
    spacy = import_spacy()
    for name in _FULL_MODELS:
        if spacy.util.is_package(name):
            return spacy.load(name, exclude=["tagger", "parser", "ner", "lemmatizer"]).tokenizer
    return spacy.blank("en").tokenizer
