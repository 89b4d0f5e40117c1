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
if (SHARED / "nltk_data").is_dir():
    os.environ.setdefault("NLTK_DATA", str(SHARED / "nltk_data"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``shared`` when the real data is not beside the repository."""
    if IAPR.is_dir():
        return
    skip = pytest.mark.skip(reason=f"real IAPR TC-12 data not found at {IAPR}")
    for item in items:
        if "shared" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def iapr_dir() -> Path:
    """Directory with the real IAPR TC-12 JSONL files (tests using it are marked ``shared``)."""
    return IAPR
