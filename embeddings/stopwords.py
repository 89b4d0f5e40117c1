"""English stopwords for the GloVe preprocessing: NLTK's list, else spaCy's (with a warning)."""

from __future__ import annotations

import functools
import os
import sys
import warnings
from pathlib import Path

from embeddings.spacy_tokens import import_spacy

_CORPUS_FILE = Path("corpora", "stopwords", "english")


def _nltk_search_path() -> list[Path]:
    """NLTK's data folders in its own search order (``NLTK_DATA`` first)."""
    env = [Path(p) for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    prefixes = [Path(sys.prefix) / sub for sub in ("nltk_data", "share/nltk_data", "lib/nltk_data")]
    system = [Path(p) for p in ("/usr/share", "/usr/local/share", "/usr/lib", "/usr/local/lib")]
    return [*env, Path.home() / "nltk_data", *prefixes, *(p / "nltk_data" for p in system)]


def _read_nltk_list() -> frozenset[str] | None:
    """Read NLTK's plain-text list directly: importing nltk costs about a second."""
    for folder in _nltk_search_path():
        corpus = folder / _CORPUS_FILE
        if corpus.is_file():
            return frozenset(corpus.read_text(encoding="utf-8").split())
    try:  # a zipped corpus or a custom nltk.data.path: let nltk find it
        from nltk.corpus import stopwords

        return frozenset(stopwords.words("english"))
    except (LookupError, ImportError):
        return None


@functools.cache
def english_stopwords() -> frozenset[str]:
    """NLTK's English stopwords, as the original study used.

    Offline machines often lack the NLTK corpus; spaCy's larger built-in list is then used and
    a single warning says so, because the features change with the list.
    """
    words = _read_nltk_list()
    if words is not None:
        return words
    import_spacy()
    from spacy.lang.en.stop_words import STOP_WORDS

    warnings.warn(
        "NLTK English stopwords not found (set NLTK_DATA to a folder holding "
        "corpora/stopwords/english); using spaCy's stopword list instead",
        UserWarning,
        stacklevel=2,
    )
    return frozenset(STOP_WORDS)
