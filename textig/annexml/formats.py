"""The reference tool's files: multi-label svmlight input and ``true<TAB>lab:score`` output.

svmlight lines read ``l1,l2 fid:val fid:val``; feature ids start at 1 (as AnnexML writes them)
unless ``zero_based``. The ``N F L`` header of Extreme Classification Repository files is
skipped. Unlike the reference, a line without features is never dropped: it becomes a zero
row, and its line number is returned so the caller can report it.

Both readers treat the file as untrusted: a line is at most ``MAX_LINE_CHARS`` long, feature
ids are below ``MAX_FEATURES`` and label ids below ``MAX_LABELS`` (``textig.limits``), values
and scores are finite, and the dense matrix a file asks for must fit ``MAX_DENSE_BYTES``, all
checked before anything is allocated: an id of 10^12 is one line naming file and line, never
an allocation of terabytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from textig._utils import atomic_open
from textig.errors import TextigError
from textig.limits import MAX_DENSE_BYTES, MAX_FEATURES, MAX_LABELS, MAX_LINE_CHARS


@dataclass(frozen=True)
class SvmlightData:
    """Rows of a multi-label svmlight file, in file order."""

    X: np.ndarray  # (n, d) float32
    labels: list[tuple[int, ...]]
    featureless_lines: list[int]  # 1-based line numbers of rows without any feature


def _is_header(fields: list[str]) -> bool:
    return len(fields) == 3 and all(f.isdigit() for f in fields)


def _label_ids(text: str, where: str) -> tuple[int, ...]:
    """Comma-separated label ids, each in 0..MAX_LABELS-1."""
    try:
        labels = tuple(int(t) for t in text.split(",") if t)
    except ValueError:
        raise TextigError(f"{where}: labels must be comma-separated integers") from None
    if any(not 0 <= label < MAX_LABELS for label in labels):
        raise TextigError(f"{where}: label ids must be in 0..{MAX_LABELS - 1} (textig's cap)")
    return labels


def _lines(path: Path) -> list[str]:
    """The file's lines, none longer than MAX_LINE_CHARS."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise TextigError(f"cannot read {path}: {error}") from None
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE_CHARS:
            raise TextigError(
                f"{path}:{number}: line of {len(line)} characters, more than {MAX_LINE_CHARS}"
            )
    return lines


def _parse_line(line: str, where: str, offset: int) -> tuple[tuple[int, ...], dict[int, float]]:
    fields = line.split()
    labels: tuple[int, ...] = ()
    if fields and ":" not in fields[0]:
        labels = _label_ids(fields.pop(0), where)
    features: dict[int, float] = {}
    for field in fields:
        key, sep, value = field.partition(":")
        try:
            fid, val = int(key) - offset, float(value)
        except ValueError:
            raise TextigError(f"{where}: bad feature {field!r} (expected id:value)") from None
        if not sep or fid < 0 or not np.isfinite(val):
            raise TextigError(f"{where}: bad feature {field!r}")
        if fid >= MAX_FEATURES:
            raise TextigError(
                f"{where}: feature id {key} is beyond textig's cap of {MAX_FEATURES} features"
            )
        features[fid] = val
    return labels, features


def read_svmlight(
    path: str | Path, *, n_features: int | None = None, zero_based: bool = False
) -> SvmlightData:
    """Read a multi-label svmlight file into a dense matrix (features are small and dense)."""
    path = Path(path)
    lines = _lines(path)
    rows, labels, featureless = [], [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or (number == 1 and _is_header(line.split())):
            continue
        y, feats = _parse_line(line, f"{path}:{number}", 0 if zero_based else 1)
        rows.append(feats)
        labels.append(y)
        if not feats:
            featureless.append(number)
    width = max((max(r) + 1 for r in rows if r), default=0)
    if n_features is not None:
        if width > n_features:
            raise TextigError(f"{path}: feature id {width} exceeds the {n_features} expected")
        width = n_features
    if len(rows) * width * 4 > MAX_DENSE_BYTES:
        raise TextigError(
            f"{path}: {len(rows)} rows of {width} features would take "
            f"{len(rows) * width * 4 / 1e9:.1f} GB densely, more than {MAX_DENSE_BYTES / 1e9:.1f}"
        )
    X = np.zeros((len(rows), width), dtype=np.float32)
    for i, feats in enumerate(rows):
        if feats:
            X[i, list(feats)] = list(feats.values())
    return SvmlightData(X, labels, featureless)


def write_svmlight(
    path: str | Path, X: np.ndarray, labels: Sequence[Sequence[int]], *, zero_based: bool = False
) -> None:
    """Write rows as ``l1,l2 fid:val ...`` (non-zero features only), atomically."""
    X = np.asarray(X)
    if len(X) != len(labels):
        raise TextigError(f"{len(X)} feature rows but {len(labels)} label rows")
    offset = 0 if zero_based else 1
    with atomic_open(path, "w", encoding="utf-8") as handle:
        for row, y in zip(X, labels, strict=True):
            nz = np.flatnonzero(row)
            feats = " ".join(f"{j + offset}:{float(row[j]):.9g}" for j in nz)
            handle.write(
                ",".join(str(int(label)) for label in y) + (" " + feats if feats else "") + "\n"
            )


def _format_score(score: float) -> str:
    return f"{score:.1f}" if float(score).is_integer() else f"{score:.6g}"


def write_predictions(
    path: str | Path,
    true_labels: Sequence[Sequence[int]],
    top_labels: np.ndarray,
    top_scores: np.ndarray,
) -> None:
    """One line per sample: ``true,ids<TAB>lab:score,lab:score`` (the reference's output)."""
    if not len(true_labels) == len(top_labels) == len(top_scores):
        raise TextigError("true labels, predicted labels and scores differ in length")
    with atomic_open(path, "w", encoding="utf-8") as handle:
        for y, labs, scores in zip(true_labels, top_labels, top_scores, strict=True):
            pairs = zip(labs, scores, strict=True)
            preds = ",".join(f"{int(lab)}:{_format_score(s)}" for lab, s in pairs if lab >= 0)
            handle.write(",".join(str(int(t)) for t in y) + "\t" + preds + "\n")


def read_predictions(
    path: str | Path,
) -> tuple[list[tuple[int, ...]], list[list[tuple[int, float]]]]:
    """True label ids and (label, score) predictions per line of a prediction file."""
    path = Path(path)
    truths, predictions = [], []
    for number, line in enumerate(_lines(path), start=1):
        where = f"{path}:{number}"
        true_part, tab, pred_part = line.partition("\t")
        if not tab:
            raise TextigError(f"{where}: expected 'true<TAB>lab:score,...'")
        truths.append(_label_ids(true_part, where))
        predictions.append([_prediction(pair, where) for pair in pred_part.split(",") if pair])
    return truths, predictions


def _prediction(pair: str, where: str) -> tuple[int, float]:
    """One ``label:score`` pair: a label id in range and a finite score."""
    label, sep, score = pair.partition(":")
    try:
        (label_id,), value = _label_ids(label, where), float(score)
    except ValueError:
        raise TextigError(f"{where}: bad prediction {pair[:40]!r} (expected label:score)") from None
    if not sep or not np.isfinite(value):
        raise TextigError(f"{where}: bad prediction {pair[:40]!r} (expected label:score)")
    return label_id, value
