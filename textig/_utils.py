"""Small shared helpers: atomic file writes and file hashing, defined once in
``embeddings.files`` (the lower layer, which must not import textig)."""

from embeddings.files import atomic_open, atomic_write_text, sha256_file

__all__ = ["atomic_open", "atomic_write_text", "sha256_file"]
