"""AnnexML model files: exact round trip, and every bad file is a one-line TextigError."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_annexml import SMALL, blobs

from textig.annexml import AnnexML
from textig.errors import TextigError


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[AnnexML, Path, np.ndarray]:
    X, Y, _ = blobs(20, noise=0.4)
    model = AnnexML(**SMALL).fit(X, Y, labels=list("abcdef"), embedder="glove@123")
    path = tmp_path_factory.mktemp("model") / "m.npz"
    model.save(path)
    return model, path, X


def test_round_trip_gives_identical_scores(saved) -> None:
    model, path, X = saved
    loaded = AnnexML.load(path)
    assert loaded.get_params() == model.get_params()
    assert loaded.labels_ == list("abcdef") and loaded.embedder_identity_ == "glove@123"
    for search in ("brute", "graph"):
        assert np.array_equal(
            loaded.decision_function(X, search=search), model.decision_function(X, search=search)
        )


def rewrite(path: Path, out: Path, edit) -> None:
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    edit(arrays)
    np.savez(out, **arrays)


def set_header(key: str, value):
    def edit(arrays):
        header = json.loads(str(arrays["header"]))
        header[key] = value
        arrays["header"] = np.array(json.dumps(header))

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (set_header("format_version", 99), "format version 99"),
        (set_header("format", "other"), "not a textig AnnexML model"),
        (lambda a: a.pop("l0_c0_W"), "corrupt"),
        (lambda a: a.update(l0_c0_E=a["l0_c0_E"][:, :3]), "corrupt"),
        (lambda a: a.update(l0_c0_ids=a["l0_c0_ids"] + 10_000), "corrupt"),
        (lambda a: a.pop("header"), "no header"),
        (lambda a: a.update(feature_mean=a["feature_mean"][:3]), "corrupt"),
        (lambda a: a.update(feature_mean=a["feature_mean"] * np.nan), "corrupt"),
    ],
)
def test_bad_files_are_refused(saved, tmp_path: Path, edit, message: str) -> None:
    _, path, _ = saved
    out = tmp_path / "bad.npz"
    rewrite(path, out, edit)
    with pytest.raises(TextigError, match=message):
        AnnexML.load(out)


def test_the_training_feature_mean_is_kept(saved, tmp_path: Path) -> None:
    model, path, X = saved
    expected = np.asarray(X, dtype=np.float32).mean(axis=0, dtype=np.float64)
    assert np.array_equal(model.feature_mean_, expected)
    assert np.array_equal(AnnexML.load(path).feature_mean_, expected)
    older = tmp_path / "older.npz"  # written before models kept it: still loads
    rewrite(path, older, lambda a: a.pop("feature_mean"))
    assert AnnexML.load(older).feature_mean_ is None


def test_truncated_missing_and_foreign_files(saved, tmp_path: Path) -> None:
    _, path, _ = saved
    truncated = tmp_path / "t.npz"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    text = tmp_path / "x.npz"
    text.write_text("hello")
    pickled = tmp_path / "p.npz"
    np.savez(pickled, header=np.array([{"a": 1}], dtype=object))
    for bad in (truncated, text, pickled, tmp_path / "missing.npz"):
        with pytest.raises(TextigError):
            AnnexML.load(bad)
    with pytest.raises(TextigError, match="not an npz archive") as refused:
        AnnexML.load(text)
    assert "pickle" not in str(refused.value)  # no advice to load it unsafely


def test_other_dimension_or_embedder_is_refused(saved) -> None:
    _, path, X = saved
    model = AnnexML.load(path)
    model.check_compatible("glove@123", X.shape[1])
    with pytest.raises(TextigError, match="384-d"):
        model.check_compatible("glove@123", 384)
    with pytest.raises(TextigError, match="sbert"):
        model.check_compatible("sbert@9", X.shape[1])
