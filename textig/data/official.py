"""Importer for the official IAPR TC-12 layout with the TagProp 291-label split.

Inputs: ``annotations_complete_eng/DD/N.eng`` (SGML-like; the caption is the
``<DESCRIPTION>`` field with whitespace runs collapsed), the TagProp image lists and
dictionary, and one 0/1 label matrix per split (row i = line i of the split's list) from the
course ``.mat`` files (MATLAB cell ``I_z_tr`` / ``I_z_te``) or the TagProp
``iaprtc12_{split}_annot.csv``. The official ``.eng`` files are ISO-8859-1, re-saved copies
often UTF-8: each file's encoding is detected (``decode_eng``) and the counts are reported.

An image listed twice, or in both lists, is refused: the JSONL loader would refuse the dataset
written from it. Images of a list whose ``.eng`` file is absent are skipped and returned by id
in ``OfficialImport.missing``, so the caller always reports them; an ``.eng`` without a
description is an error, since that means the file is damaged rather than absent.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from textig.caption_text import check_caption
from textig.data.jsonl import read_dictionary, read_lines
from textig.data.model import SPLITS, Caption
from textig.errors import TextigError

ANNOTATION_DIRS: tuple[str, ...] = ("annotations_complete_eng", "annotations")
LIST_NAMES: dict[str, tuple[str, ...]] = {
    "train": ("iaprtc12_train_list.txt", "iapr_train_list.txt"),
    "test": ("iaprtc12_test_list.txt", "iapr_test_list.txt"),
}
DICTIONARY_NAMES: tuple[str, ...] = ("iaprtc12_dictionary.txt", "dictionary.txt")
MAT_FILES: dict[str, tuple[str, str]] = {
    "train": ("IAPRTC-12_TrainLabels.mat", "I_z_tr"),
    "test": ("IAPRTC-12_TestLabels.mat", "I_z_te"),
}
LABEL_SOURCES: tuple[str, ...] = ("auto", "mat", "csv")
_DESCRIPTION = re.compile(r"<DESCRIPTION>(.*?)</DESCRIPTION>", re.DOTALL | re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class OfficialImport:
    """Result of an import: captions per split, and the listed images that had no ``.eng``."""

    vocabulary: list[str]
    train: list[Caption]
    test: list[Caption]
    missing: dict[str, list[str]]
    label_files: dict[str, Path]
    encodings: dict[str, int]  # .eng files read per detected encoding


def _find(directories: list[Path], names: tuple[str, ...], what: str) -> Path:
    """First existing file among names x directories, or an error saying where we looked."""
    for directory in directories:
        for name in names:
            if (directory / name).is_file():
                return directory / name
    where = ", ".join(str(d) for d in directories)
    raise TextigError(f"{what} not found: looked for {' or '.join(names)} in {where}")


def read_image_list(path: Path) -> list[str]:
    """Image ids ("DD/N") of a TagProp list, in order; blank lines at the end are ignored."""
    ids = [line.strip() for line in read_lines(path)]
    while ids and not ids[-1]:
        ids.pop()
    first: dict[str, int] = {}
    for number, image_id in enumerate(ids, start=1):
        if not re.fullmatch(r"\d+/\d+", image_id):
            raise TextigError(f"{path}:{number}: expected an image id like 00/25, got {image_id!r}")
        if image_id in first:
            raise TextigError(f"{path}:{number}: image {image_id} repeats line {first[image_id]}")
        first[image_id] = number
    return ids


def decode_eng(data: bytes) -> tuple[str, str]:
    """Text and encoding of an ``.eng`` file: UTF-8 when the bytes are valid UTF-8 (text in
    ISO-8859-1 with accents practically never is), else ISO-8859-1, else Windows-1252 when
    bytes 0x80-0x9f occur (control characters in ISO-8859-1, quotes and dashes in 1252)."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff"), "UTF-8"
    except UnicodeDecodeError:
        pass
    if not re.search(rb"[\x80-\x9f]", data):
        return data.decode("iso-8859-1"), "ISO-8859-1"
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as error:
        raise ValueError(
            f"neither UTF-8, ISO-8859-1 nor Windows-1252 text (byte 0x{data[error.start]:02x} "
            f"at {error.start})"
        ) from None


def read_description(path: Path) -> tuple[str, str]:
    """The ``<DESCRIPTION>`` text of one ``.eng`` file, whitespace runs collapsed to one space,
    and the file's detected encoding."""
    try:
        text, encoding = decode_eng(path.read_bytes())
    except OSError as error:
        raise TextigError(f"{path}: cannot read ({error.strerror})") from None
    except ValueError as error:
        raise TextigError(f"{path}: {error}") from None
    match = _DESCRIPTION.search(text)
    if match is None:
        raise TextigError(f"{path}: no <DESCRIPTION>...</DESCRIPTION> field")
    description = _WHITESPACE.sub(" ", match.group(1)).strip()
    return check_caption(description, f"{path}: the description"), encoding


def _check_matrix(matrix: np.ndarray, shape: tuple[int, int], path: Path) -> np.ndarray:
    if matrix.ndim != 2 or matrix.shape != shape:
        raise TextigError(
            f"{path}: label matrix is {'x'.join(map(str, matrix.shape))}, expected "
            f"{shape[0]}x{shape[1]} (list length x dictionary size)"
        )
    if not np.isin(matrix, (0, 1)).all():
        raise TextigError(f"{path}: label matrix has values other than 0 and 1")
    return matrix.astype(bool)


def read_mat_labels(path: Path, variable: str, shape: tuple[int, int]) -> np.ndarray:
    """0/1 matrix from a MATLAB file; the variable is a matrix or a cell whose first entry is."""
    from scipy.io import loadmat

    try:
        content = loadmat(path)
    except NotImplementedError:  # scipy reads MATLAB files up to v7; v7.3 is HDF5
        raise TextigError(
            f"{path}: a MATLAB v7.3 (HDF5) file, which textig does not read: save it with "
            "-v7 in MATLAB, or use the TagProp csv files (--labels csv)"
        ) from None
    except (OSError, ValueError, TypeError) as error:
        raise TextigError(f"{path}: not a readable MATLAB file ({error})") from None
    if variable not in content:
        raise TextigError(f"{path}: no variable {variable!r}")
    value = content[variable]
    if value.dtype == object:
        if value.size == 0:
            raise TextigError(f"{path}: cell {variable!r} is empty")
        value = value.flat[0]
    return _check_matrix(np.asarray(value), shape, path)


def read_csv_labels(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """0/1 matrix from a TagProp csv (one image a line, comma-separated)."""
    rows = []
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        try:
            rows.append([int(value) for value in line.split(",")])
        except ValueError:
            raise TextigError(f"{path}:{number}: expected comma-separated 0/1 values") from None
        if len(rows[-1]) != shape[1]:
            raise TextigError(f"{path}:{number}: {len(rows[-1])} columns, expected {shape[1]}")
    matrix = np.array(rows, dtype=np.int64).reshape(len(rows), shape[1])
    return _check_matrix(matrix, shape, path)


def _label_file(src: Path, split: str, source: str) -> Path:
    mat = src / MAT_FILES[split][0]
    csv = src / f"iaprtc12_{split}_annot.csv"
    order = {"auto": (mat, csv), "mat": (mat,), "csv": (csv,)}[source]
    for candidate in order:
        if candidate.is_file():
            return candidate
    raise TextigError(f"{split} labels not found: looked for {' or '.join(map(str, order))}")


def read_split_labels(path: Path, split: str, shape: tuple[int, int]) -> np.ndarray:
    """The (n_images, n_labels) bool label matrix of one split from a .mat or .csv file."""
    if path.suffix.lower() == ".mat":
        return read_mat_labels(path, MAT_FILES[split][1], shape)
    return read_csv_labels(path, shape)


def _annotation_dir(src: Path) -> Path:
    for name in ANNOTATION_DIRS:
        if (src / name).is_dir():
            return src / name
    raise TextigError(f"{src}: no annotation folder ({' or '.join(ANNOTATION_DIRS)})")


def _split_captions(
    ids: list[str],
    labels: np.ndarray,
    vocabulary: list[str],
    annotations: Path,
    split: str,
    encodings: Counter[str],
) -> tuple[list[Caption], list[str]]:
    """Captions for the listed images that have an ``.eng``, and the ids of those that do not;
    counts the encodings read into ``encodings``."""
    captions, missing = [], []
    for image_id, row in zip(
        tqdm(ids, desc=f"import {split}", unit="image", disable=None), labels, strict=True
    ):
        path = annotations / f"{image_id}.eng"
        if not path.is_file():
            missing.append(image_id)
            continue
        label_ids = tuple(int(i) for i in np.flatnonzero(row))
        names = tuple(vocabulary[i] for i in label_ids)
        description, encoding = read_description(path)
        encodings[encoding] += 1
        captions.append(Caption(image_id, description, names, label_ids))
    return captions, missing


def import_official(
    src: str | Path, *, lists: str | Path | None = None, labels: str = "auto"
) -> OfficialImport:
    """Read the official layout under ``src``.

    The TagProp lists and dictionary are looked up in ``lists`` if given, else in ``src`` and
    then its parent. ``labels`` picks the label files: "mat", "csv", or "auto" (.mat first).
    """
    if labels not in LABEL_SOURCES:
        raise TextigError(f"unknown label source {labels!r}; expected {', '.join(LABEL_SOURCES)}")
    root = Path(src).expanduser()
    if not root.is_dir():
        raise TextigError(f"{root}: source directory not found")
    annotations = _annotation_dir(root)
    search = [Path(lists).expanduser()] if lists is not None else [root, root.parent]
    vocabulary = read_dictionary(_find(search, DICTIONARY_NAMES, "label dictionary"))
    result: dict[str, list[Caption]] = {}
    missing: dict[str, list[str]] = {}
    label_files: dict[str, Path] = {}
    lists = {
        split: read_image_list(_find(search, LIST_NAMES[split], f"{split} image list"))
        for split in SPLITS
    }
    both = sorted(set(lists["train"]).intersection(lists["test"]))
    if both:
        raise TextigError(
            f"{len(both)} image(s) are in both the train and the test list, e.g. {both[0]}"
        )
    encodings: Counter[str] = Counter()
    for split, ids in lists.items():
        label_files[split] = _label_file(root, split, labels)
        matrix = read_split_labels(label_files[split], split, (len(ids), len(vocabulary)))
        result[split], missing[split] = _split_captions(
            ids, matrix, vocabulary, annotations, split, encodings
        )
    return OfficialImport(
        vocabulary, result["train"], result["test"], missing, label_files, dict(encodings)
    )
