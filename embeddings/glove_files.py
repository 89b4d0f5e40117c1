"""User GloVe text files (``word v1 … vd`` per line) converted once into a fast binary cache.

Parsing a 400k-line text file takes tens of seconds; the converted ``vectors.npy`` loads
memory-mapped in milliseconds. The cache folder is keyed by the text file's sha256.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embeddings.assets import cache_dir
from embeddings.errors import TextigError
from embeddings.files import atomic_open, atomic_write_text


def read_vocabulary(path: Path) -> list[str]:
    """Words of a converted vocabulary file, one per line, row order."""
    return path.read_text(encoding="utf-8").split("\n")


def _parse(source: Path) -> tuple[list[str], np.ndarray]:
    """Words (first occurrence kept) and their float32 vectors; bad lines raise TextigError."""
    words: list[str] = []
    rows: list[np.ndarray] = []
    seen: set[str] = set()
    dim = None
    from tqdm.auto import tqdm  # only a conversion needs it; every cold start would pay

    with open(source, encoding="utf-8", errors="strict") as handle:
        for number, line in enumerate(tqdm(handle, desc="reading GloVe", unit=" words"), 1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").rstrip(" ").split(" ")
            dim = dim or len(parts) - 1
            word, values = " ".join(parts[:-dim]), parts[-dim:]
            try:
                vector = np.array(values, dtype=np.float32)
            except ValueError:
                vector = None
            if not word or vector is None or len(parts) <= dim or not np.isfinite(vector).all():
                raise TextigError(f"{source}:{number}: not a GloVe line of {dim} finite numbers")
            if word not in seen:
                seen.add(word)
                words.append(word)
                rows.append(vector)
    if not words:
        raise TextigError(f"{source} holds no GloVe vectors")
    return words, np.vstack(rows)


def convert_text_vectors(source: Path, digest: str) -> tuple[np.ndarray, Path]:
    """The vectors of ``source`` (memory-mapped, float32 (words, d)) and its vocabulary file,
    from the cache; converted first when the cache lacks them or holds a damaged pair."""
    folder = cache_dir() / "glove" / digest[:32]
    matrix_path, vocab_path = folder / "vectors.npy", folder / "vocab.txt"
    cached = _cached_matrix(matrix_path, vocab_path)
    if cached is not None:
        return cached, vocab_path
    if not source.is_file():
        raise TextigError(f"GloVe file not found: {source}")
    try:
        words, matrix = _parse(source)
    except UnicodeDecodeError as error:
        raise TextigError(f"{source} is not UTF-8 text: {error.reason}") from error
    if any("\n" in w for w in words):
        raise TextigError(f"{source} has a word containing a newline")
    atomic_write_text(vocab_path, "\n".join(words))
    with atomic_open(matrix_path, "wb") as handle:
        np.save(handle, matrix)
    return np.load(matrix_path, mmap_mode="r"), vocab_path


def _cached_matrix(matrix_path: Path, vocab_path: Path) -> np.ndarray | None:
    """The cached matrix if it is a float32 (words, d) array with one row per vocabulary line;
    else None (missing, or damaged: then it is converted again, never used)."""
    try:
        matrix = np.load(matrix_path, mmap_mode="r")  # never pickles: allow_pickle is False
        lines = vocab_path.read_bytes().count(b"\n") + 1
    except (OSError, ValueError, EOFError):
        return None
    if matrix.ndim != 2 or matrix.dtype != np.float32 or matrix.shape[0] != lines:
        return None
    return matrix
