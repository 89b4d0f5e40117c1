"""Shared fixtures: the real IAPR TC-12 data lives in ../shared when available."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TEXTIG_SHARED", REPO.parent / "shared"))
IAPR = SHARED / "iaprtc12"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``shared`` when the real data is not beside the repository."""
    if IAPR.is_dir():
        return
    skip = pytest.mark.skip(reason=f"real IAPR TC-12 data not found at {IAPR}")
    for item in items:
        if "shared" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder (``TEXTIG_SHARED``); it may not exist."""
    return SHARED


@pytest.fixture(scope="session")
def iapr_dir() -> Path:
    """Directory with the real IAPR TC-12 JSONL files (tests using it are marked ``shared``)."""
    return IAPR


IAPR_TRAIN_SUBSET = 12000  # two clusters per learner (K = N // 6000), so partitions switch


@pytest.fixture(scope="session")
def iapr_glove(iapr_dir: Path):
    """(embedder, dataset, small AnnexML, its training features) on a real IAPR subset.

    Three short-trained learners keep CI fast while exercising everything a full model has:
    two clusters per learner, real label statistics, real GloVe features.
    """
    from embeddings import get_embedder
    from textig.annexml import AnnexML
    from textig.data import load_dataset

    dataset = load_dataset(iapr_dir)
    embedder = get_embedder("glove")
    train = dataset.train[:IAPR_TRAIN_SUBSET]
    train = [c for c in train if embedder.unusable_reason(c.text) is None]
    X = embedder.encode([c.text for c in train])
    model = AnnexML(num_learner=3, emb_iter=3, cls_iter=3, seed=0).fit(
        X, [list(c.label_ids) for c in train], labels=dataset.vocabulary, embedder=embedder
    )
    return embedder, dataset, model, X
