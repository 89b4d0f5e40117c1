"""The members of a valid `textig embed` npz, written for tests that spoil them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from textig.data import load_dataset


def embed_arrays(data: Path, ids: list[str], valid: list[bool]) -> dict[str, np.ndarray]:
    """A GloVe-like train split of ``data`` (one 4-d row per id) as `textig embed` writes it."""
    return {
        "identity": np.array("glove@1"),
        "checksum": np.array(load_dataset(data).checksum()),
        "X_train": np.ones((len(ids), 4), dtype=np.float32),
        "ids_train": np.array(ids),
        "valid_train": np.array(valid),
    }
