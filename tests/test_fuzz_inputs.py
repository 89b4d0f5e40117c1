"""Property-based fuzzing of every reader of untrusted files (issue 16).

Each reader, given mutated or arbitrary input, either returns a result or raises textig's own
``TextigError``: never another exception, a crash or a hang. A model file that loads must also
score (brute force and the bucket index), so nothing reaches native indexing unchecked. The
number of examples is bounded and the examples are derandomized, so CI stays fast and stable.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from _feature_files import embed_arrays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_annexml import SMALL, blobs

from textig.annexml import AnnexML
from textig.annexml.fast_path import BruteForceScorer
from textig.annexml.feature_files import load_features
from textig.annexml.formats import read_predictions, read_svmlight
from textig.data import load_dataset
from textig.data.official import read_description
from textig.errors import TextigError

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_WORK = Path(tempfile.mkdtemp(prefix="textig-fuzz-"))


def _valid_model() -> tuple[Path, dict[str, np.ndarray], np.ndarray]:
    X, Y, _ = blobs(10, noise=0.4)
    path = _WORK / "valid.npz"
    AnnexML(**SMALL).fit(X, Y, labels=list("abcdef"), embedder="glove@1").save(path)
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    return path, arrays, X


VALID_PATH, VALID_ARRAYS, QUERIES = _valid_model()
MEMBERS = sorted(VALID_ARRAYS)
HEADER = json.loads(str(VALID_ARRAYS["header"]))

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)
small_arrays = hnp.arrays(
    dtype=st.sampled_from(["<i8", "<i4", "<u4", "<f4", "<f8", ">f8", "<i2", "|b1", "<c8"]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
)


@st.composite
def mutated_models(draw) -> dict[str, np.ndarray]:
    """The valid model's members with one to three mutations of members or header fields."""
    arrays = dict(VALID_ARRAYS)
    header = json.loads(json.dumps(HEADER))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["header", "param", "replace", "perturb", "drop", "add"]))
        name = draw(st.sampled_from(MEMBERS))
        present = name in arrays and name != "header"  # an earlier mutation may have dropped it
        if kind == "header":
            header[draw(st.sampled_from(sorted(HEADER)))] = draw(json_values)
        elif kind == "param" and isinstance(header.get("params"), dict):
            header["params"][draw(st.sampled_from(sorted(HEADER["params"])))] = draw(json_values)
        elif kind == "replace" and present:
            arrays[name] = draw(small_arrays)
        elif kind == "perturb" and present and arrays[name].size:
            values = arrays[name].copy()
            flat = values.reshape(-1)
            index = draw(st.integers(0, flat.size - 1))
            if values.dtype.kind == "f":
                flat[index] = draw(st.floats(allow_nan=True, allow_infinity=True, width=32))
            else:
                flat[index] = draw(st.integers(-(2**31), 2**31 - 1))
            arrays[name] = values
        elif kind == "drop":
            arrays.pop(name, None)
        elif kind == "add":
            arrays[draw(st.sampled_from(["extra", "l9_centers", "l0_c7_W"]))] = draw(small_arrays)
    if "header" in arrays:
        arrays["header"] = np.array(json.dumps(header))
    return arrays


def _load_and_score(path: Path) -> None:
    """Load; a model that loads must score without anything but a TextigError."""
    try:
        model = AnnexML.load(path)
        for search in ("brute", "graph"):
            model.decision_function(QUERIES[:4], search=search)
        BruteForceScorer(model)(QUERIES[:4])
    except TextigError:
        pass


@FUZZ
@given(mutated_models())
def test_mutated_model_members_and_headers(arrays: dict[str, np.ndarray]) -> None:
    path = _WORK / "mutated.npz"
    np.savez(path, **arrays)
    _load_and_score(path)


INDEX_MEMBERS = [name for name in MEMBERS if VALID_ARRAYS[name].dtype.kind in "iu"]
FLOAT_MEMBERS = [name for name in MEMBERS if VALID_ARRAYS[name].dtype.kind == "f"]
edge_ints = st.sampled_from([-(2**40), -1, 0, 1, 5, 6, 39, 40, 41, 2**31 - 1]) | st.integers()


@FUZZ
@given(st.data())
def test_perturbed_indices_and_floats(data) -> None:
    """One entry of an index member set to an edge value, or one float to NaN/inf/huge."""
    arrays = dict(VALID_ARRAYS)
    if data.draw(st.booleans()):
        name = data.draw(st.sampled_from(INDEX_MEMBERS))
        values = arrays[name].astype(np.int64)
        value = data.draw(edge_ints.filter(lambda v: -(2**63) <= v < 2**63))
    else:
        name = data.draw(st.sampled_from(FLOAT_MEMBERS))
        values = arrays[name].astype(np.float64)
        value = data.draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e300, -1e300, 0.0]))
    if values.size:
        values.reshape(-1)[data.draw(st.integers(0, values.size - 1))] = value
    arrays[name] = values
    path = _WORK / "perturbed.npz"
    np.savez(path, **arrays)
    _load_and_score(path)


@FUZZ
@given(st.data())
def test_corrupted_model_bytes(data) -> None:
    raw = bytearray(VALID_PATH.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(raw) // 2, len(raw)))
    path = _WORK / "bytes.npz"
    path.write_bytes(bytes(raw[:cut]))
    _load_and_score(path)


def _embed_dataset() -> tuple[Path, dict[str, np.ndarray]]:
    """A two-caption data folder and the members of a valid `textig embed` npz of it."""
    data = _WORK / "embed-data"
    data.mkdir()
    (data / "dictionary.txt").write_text("tree\nsky\n")
    records = [{"id": i, "caption": i, "labels": [], "label_ids": []} for i in ("a", "b")]
    (data / "train.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    (data / "test.jsonl").write_text("")
    arrays = embed_arrays(data, ["a", "b"], [True, False])
    return data, arrays


EMBED_DATA, EMBED_ARRAYS = _embed_dataset()


@FUZZ
@given(st.data())
def test_embed_feature_files(data) -> None:
    """A `textig embed` npz with members replaced, perturbed, dropped or added."""
    arrays = dict(EMBED_ARRAYS)
    for _ in range(data.draw(st.integers(1, 3))):
        name = data.draw(st.sampled_from([*sorted(EMBED_ARRAYS), "X_test", "evil"]))
        kind = data.draw(st.sampled_from(["replace", "perturb", "drop"]))
        if kind == "replace":
            arrays[name] = data.draw(small_arrays | json_values.map(lambda v: np.array(str(v))))
        elif kind == "perturb" and name in arrays and arrays[name].dtype.kind == "f":
            values = arrays[name].copy()
            values.reshape(-1)[0] = data.draw(st.floats(allow_nan=True, width=32))
            arrays[name] = values
        elif kind == "drop":
            arrays.pop(name, None)
    path = _WORK / "features.npz"
    np.savez_compressed(path, **arrays)
    with contextlib.suppress(TextigError):
        found = load_features(path, "train", load_dataset(EMBED_DATA))
        assert np.isfinite(found.X).all() and found.X.shape[0] == found.Y.shape[0]


record_values = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values | st.text(max_size=6),
        "caption": json_values | st.text(max_size=40),
        "labels": json_values | st.lists(st.sampled_from(["tree", "sky", "x"]), max_size=3),
        "label_ids": json_values | st.lists(st.integers(-2, 3), max_size=3),
    },
)
jsonl_lines = st.one_of(
    record_values.map(json.dumps),
    record_values.map(lambda r: json.dumps(r, ensure_ascii=False)),
    st.text(max_size=60),
    st.integers(1, 40).map(lambda n: "[" * n + "]" * n),
)


@FUZZ
@given(st.lists(jsonl_lines, max_size=5))
def test_jsonl_loader(lines: list[str]) -> None:
    data = _WORK / "jsonl"
    data.mkdir(exist_ok=True)
    (data / "dictionary.txt").write_text("tree\nsky\n")
    (data / "train.jsonl").write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    (data / "test.jsonl").write_text("")
    with contextlib.suppress(TextigError):
        load_dataset(data)


numbers = st.one_of(
    st.integers(-5, 30).map(str),
    st.integers(0, 10**13).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet="0123456789-.eE+naif_", max_size=6),
)
svm_lines = st.one_of(
    st.builds(
        lambda labels, feats: ",".join(labels) + " " + " ".join(f"{a}:{b}" for a, b in feats),
        st.lists(numbers, max_size=3),
        st.lists(st.tuples(numbers, numbers), max_size=4),
    ),
    st.text(alphabet="0123456789:, \t.-nae", max_size=40),
    st.text(max_size=30),
)


@FUZZ
@given(st.lists(svm_lines, max_size=6), st.booleans())
def test_svmlight_reader(lines: list[str], zero_based: bool) -> None:
    path = _WORK / "x.svm"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    with contextlib.suppress(TextigError):
        read_svmlight(path, zero_based=zero_based)


prediction_lines = st.one_of(
    st.builds(
        lambda true, preds: ",".join(true) + "\t" + ",".join(f"{a}:{b}" for a, b in preds),
        st.lists(numbers, max_size=3),
        st.lists(st.tuples(numbers, numbers), max_size=4),
    ),
    st.text(alphabet="0123456789:,\t.-nae", max_size=40),
    st.text(max_size=30),
)


@FUZZ
@given(st.lists(prediction_lines, max_size=6))
def test_prediction_reader(lines: list[str]) -> None:
    path = _WORK / "p.txt"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    with contextlib.suppress(TextigError):
        read_predictions(path)


eng_files = st.one_of(
    st.binary(max_size=200),
    st.binary(max_size=120).map(lambda b: b"<DOC><DESCRIPTION>" + b + b"</DESCRIPTION></DOC>"),
    st.text(max_size=80).map(
        lambda t: f"<DESCRIPTION>{t}</DESCRIPTION>".encode("utf-8", "surrogatepass")
    ),
)


@FUZZ
@given(eng_files)
def test_eng_parser(data: bytes) -> None:
    path = _WORK / "x.eng"
    path.write_bytes(data)
    try:
        text, encoding = read_description(path)
    except TextigError:
        return
    assert encoding in ("UTF-8", "ISO-8859-1", "Windows-1252")
    assert isinstance(text, str)


@pytest.fixture(autouse=True, scope="module")
def _cleanup():
    yield
    import shutil

    shutil.rmtree(_WORK, ignore_errors=True)
