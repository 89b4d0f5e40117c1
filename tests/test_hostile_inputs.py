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
