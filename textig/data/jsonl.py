"""Our on-disk format: ``train.jsonl`` and ``test.jsonl`` plus a dictionary (line k = label k).

Each JSONL record is ``{"id", "caption", "labels", "label_ids"}``. The loader checks every
record against the dictionary, so a corrupt or mismatched file fails with one line naming the
file and line number instead of producing silently wrong label matrices later.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from textig import safe_json
from textig._utils import atomic_open
from textig.caption_text import caption_problem
from textig.data.demo import demo_data_dir
from textig.data.model import SPLITS, Caption, Dataset
from textig.errors import TextigError

DICTIONARY_NAMES: tuple[str, ...] = ("dictionary.txt", "iaprtc12_dictionary.txt")
_FIELDS = ("id", "caption", "labels", "label_ids")


def find_dictionary(directory: Path) -> Path:
    """The dictionary file of a data directory (``dictionary.txt`` preferred)."""
    for name in DICTIONARY_NAMES:
        if (directory / name).is_file():
            return directory / name
    raise TextigError(f"{directory}: no label dictionary ({' or '.join(DICTIONARY_NAMES)})")


def read_lines(path: Path) -> list[str]:
    """All lines of a UTF-8 text file, with a one-line error when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise TextigError(f"{path}: file not found") from None
    except UnicodeDecodeError as error:
        raise TextigError(
            f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None
    except OSError as error:
        raise TextigError(f"{path}: cannot read ({error.strerror})") from None


def read_dictionary(path: Path) -> list[str]:
    """Label names, line k = label id k; blank or repeated names are errors."""
    names = [line.strip() for line in read_lines(path)]
    while names and not names[-1]:
        names.pop()
    seen: dict[str, int] = {}
    for number, name in enumerate(names, start=1):
        if not name:
            raise TextigError(f"{path}:{number}: empty label name")
        if name in seen:
            raise TextigError(f"{path}:{number}: label {name!r} repeats line {seen[name]}")
        seen[name] = number
    if not names:
        raise TextigError(f"{path}: the dictionary has no labels")
    return names


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_record(text: str, vocabulary: Sequence[str]) -> Caption:
    """One JSONL line -> Caption; raises ValueError with the reason (the caller adds file:line).

    The line's length and nesting depth are bounded before it is parsed, and the caption's
    text must be valid Unicode within the caption cap that ``explain`` applies.
    """
    record = safe_json.loads(text)
    if not isinstance(record, dict):
        raise ValueError("expected a JSON object")
    missing = [name for name in _FIELDS if name not in record]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    caption_id, text_, labels, label_ids = (record[name] for name in _FIELDS)
    if not isinstance(caption_id, str) or not caption_id:
        raise ValueError("'id' must be a non-empty string")
    if problem := caption_problem(caption_id):
        raise ValueError(f"'id' {problem}")
    if not isinstance(text_, str):
        raise ValueError(f"{caption_id}: 'caption' must be a string")
    if problem := caption_problem(text_):
        raise ValueError(f"caption {caption_id!r} {problem}")
    if not isinstance(labels, list) or not all(isinstance(name, str) for name in labels):
        raise ValueError(f"{caption_id}: 'labels' must be a list of strings")
    if not isinstance(label_ids, list) or not all(_is_int(i) for i in label_ids):
        raise ValueError(f"{caption_id}: 'label_ids' must be a list of integers")
    if len(labels) != len(label_ids):
        raise ValueError(f"{caption_id}: {len(labels)} labels but {len(label_ids)} label_ids")
    if len(set(label_ids)) != len(label_ids):
        raise ValueError(f"{caption_id}: repeated label id")
    for name, label_id in zip(labels, label_ids, strict=True):
        if not 0 <= label_id < len(vocabulary):
            raise ValueError(
                f"{caption_id}: label id {label_id} is outside the dictionary "
                f"(0..{len(vocabulary) - 1})"
            )
        if vocabulary[label_id] != name:
            raise ValueError(
                f"{caption_id}: label {name!r} does not match dictionary entry "
                f"{label_id} {vocabulary[label_id]!r}"
            )
    return Caption(caption_id, text_, tuple(labels), tuple(label_ids))


def read_captions(path: Path, vocabulary: Sequence[str]) -> list[Caption]:
    """The captions of one JSONL file, in file order; blank lines are ignored."""
    captions: list[Caption] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        try:
            caption = _parse_record(line, vocabulary)
        except ValueError as error:
            raise TextigError(f"{path}:{number}: {error}") from None
        if caption.id in first_line:
            raise TextigError(
                f"{path}:{number}: id {caption.id!r} repeats line {first_line[caption.id]}"
            )
        first_line[caption.id] = number
        captions.append(caption)
    return captions


def load_dataset(path: str | Path | None = None) -> Dataset:
    """Read a data directory (train.jsonl, test.jsonl, dictionary); None -> the demo corpus."""
    directory = demo_data_dir() if path is None else Path(path).expanduser()
    if not directory.is_dir():
        raise TextigError(f"{directory}: data directory not found")
    dictionary = find_dictionary(directory)
    vocabulary = read_dictionary(dictionary)
    files = {split: directory / f"{split}.jsonl" for split in SPLITS}
    splits = {split: read_captions(file, vocabulary) for split, file in files.items()}
    shared = {c.id for c in splits["train"]}.intersection(c.id for c in splits["test"])
    if shared:
        raise TextigError(
            f"{directory}: {len(shared)} id(s) are in both train and test, e.g. {min(shared)}"
        )
    name = "demo" if path is None else directory.resolve().name
    return Dataset(
        name=name,
        path=directory.resolve(),
        vocabulary=vocabulary,
        train=splits["train"],
        test=splits["test"],
        files={**files, "dictionary": dictionary},
    )


def _record_line(caption: Caption) -> str:
    record = dict(
        zip(_FIELDS, (caption.id, caption.text, caption.labels, caption.label_ids), strict=True)
    )
    return json.dumps(record, ensure_ascii=False) + "\n"


def write_captions(path: Path, captions: Iterable[Caption]) -> None:
    """Write captions as JSONL (UTF-8, one record a line) atomically."""
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(_record_line(c) for c in captions)


def write_dataset(
    directory: str | Path,
    vocabulary: Sequence[str],
    train: Iterable[Caption],
    test: Iterable[Caption],
) -> Path:
    """Write train.jsonl, test.jsonl and dictionary.txt into ``directory``; returns it.

    Each file is replaced atomically, so an interrupted write never leaves a half file.
    """
    out = Path(directory).expanduser()
    if out.exists() and not out.is_dir():
        raise TextigError(f"{out}: exists and is not a directory")
    write_captions(out / "train.jsonl", train)
    write_captions(out / "test.jsonl", test)
    with atomic_open(out / "dictionary.txt", "w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(f"{name}\n" for name in vocabulary)
    return out
