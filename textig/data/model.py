"""The typed data model: a caption with its labels, and a dataset of train/test captions.

Everything downstream (features, AnnexML, explanations) sees captions only through these two
classes, so the on-disk formats (our JSONL, the official IAPR TC-12 files) stay in the loaders.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix

from textig._utils import sha256_file
from textig.errors import TextigError

SPLITS: tuple[str, ...] = ("train", "test")


@dataclass(frozen=True)
class Caption:
    """One image description; ``labels[i]`` is the name of label id ``label_ids[i]``."""

    id: str
    text: str
    labels: tuple[str, ...]
    label_ids: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test captions over one label vocabulary (label id -> name).

    ``files`` maps each role ("train", "test", "dictionary") to the file it was read from; the
    checksum hashes their contents, so a cache keyed by it is invalidated by any data change.
    """

    name: str
    path: Path
    vocabulary: list[str]
    train: list[Caption]
    test: list[Caption]
    files: dict[str, Path] = field(default_factory=dict, repr=False)

    def split(self, name: str) -> list[Caption]:
        """The captions of split ``name`` ("train" or "test")."""
        if name not in SPLITS:
            raise TextigError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        return self.train if name == "train" else self.test

    def label_matrix(self, split: str) -> csr_matrix:
        """(n, L) 0/1 float64 matrix of the split's labels, row i = caption i."""
        captions = self.split(split)
        indptr = np.zeros(len(captions) + 1, dtype=np.int64)
        np.cumsum([len(c.label_ids) for c in captions], out=indptr[1:])
        indices = np.fromiter(
            (i for c in captions for i in c.label_ids), dtype=np.int64, count=int(indptr[-1])
        )
        data = np.ones(len(indices), dtype=np.float64)
        matrix = csr_matrix((data, indices, indptr), shape=(len(captions), len(self.vocabulary)))
        matrix.sort_indices()
        return matrix

    def checksum(self) -> str:
        """sha256 over the contents of the dataset's files (file names do not matter)."""
        return self._checksum

    @cached_property
    def _checksum(self) -> str:
        if not self.files:
            raise TextigError(f"dataset {self.name!r} was not read from files: it has no checksum")
        digest = hashlib.sha256()
        for role in sorted(self.files):
            digest.update(f"{role}\t{sha256_file(self.files[role])}\n".encode())
        return digest.hexdigest()
