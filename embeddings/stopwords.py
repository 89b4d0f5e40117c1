"""The English stopword list every embedder uses, shipped with the package.

It is NLTK's English list (provenance in the file's header), read from package data so that
features are the same on every machine, with or without NLTK data installed.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

STOPWORDS_FILE = Path(__file__).with_name("english_stopwords.txt")


def read_word_list(path: Path) -> frozenset[str]:
    """Words of a one-word-per-line list; blank lines and ``#`` comments are skipped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w for line in lines if (w := line.strip()) and not w.startswith("#"))


@functools.cache
def english_stopwords() -> frozenset[str]:
    """The shipped English stopwords (NLTK's list, as the original study used)."""
    return read_word_list(STOPWORDS_FILE)


def stopwords_digest() -> str:
    """A short hash of the word set, for cache keys and embedder identities."""
    joined = "\n".join(sorted(english_stopwords()))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]
