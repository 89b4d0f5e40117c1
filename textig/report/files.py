"""A report's files (JSON + HTML, or an index's pair) written as a unit, and their names.

``write_unit`` makes several files of one folder change together or not at all:

1. Under an exclusive lock (``fcntl.flock`` on ``OUT/.textig.lock``) — so two writers of the
   same name take turns and the last one's pair wins whole — every file is written to a
   temporary sibling ``.NAME.PID.tmp`` (created with mode 0666, so the umask decides).
2. Each existing target is hard-linked to ``.NAME.PID.old``; a journal ``.unit.PID.journal``
   then lists the targets; then the temporaries are renamed over the targets.
3. Deleting the journal is the commit point; the backups are dropped after it.

If anything fails before the commit, what this run renamed is rolled back from the backups (or
removed, where there was no previous file), so the previous report stays whole. A run killed
at any point leaves a journal and/or temporaries named with its pid: the next writer in that
folder (holding the lock, so no live writer is mid-unit) rolls back an uncommitted journal and
removes the leftovers of dead processes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path

from textig.errors import TextigError

LOCK_NAME = ".textig.lock"
RESERVED_NAMES = ("index", "summary")  # the batch index and the corpus summary
_JOURNAL = re.compile(r"^\.unit\.(\d+)\.journal$")
_LEFTOVER = re.compile(r"^\..+\.(\d+)\.(tmp|old)$")
_JOURNAL_END = "end"
_SLUG_LIMIT = 40
_HASH_HEX = 8


def slugify(text: str, limit: int = _SLUG_LIMIT) -> str:
    """A file-name-safe name: ASCII letters/digits joined by '-' (never empty)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = "-".join(words)[:limit].strip("-")
    return slug or "caption"


def report_name(caption_id: str | None, text: str, prefix: str = "") -> str:
    """Stable, unique file stem of a caption's report: a readable slug plus a content hash.

    The slug comes from the id (or the text when there is none); the hash covers both, so the
    same caption always gets the same name (and replaces its own report) while ids such as
    ``img/1`` and ``img-1``, or captions sharing their first words, never share one. A name
    always ends in ``-`` and 8 hex digits, so it is never a reserved name such as ``index``.
    """
    key = f"id\0{caption_id}\0{text}" if caption_id is not None else f"text\0{text}"
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_HEX]
    return f"{prefix}{slugify(caption_id if caption_id is not None else text)}-{digest}"


def check_name(name: str) -> str:
    """A user-chosen report name: a plain file stem that is not a reserved name."""
    if name in RESERVED_NAMES:
        raise TextigError(f"--name {name} is reserved (batch index / corpus summary)")
    if not name or name.startswith(".") or "/" in name or os.sep in name or "\0" in name:
        raise TextigError(f"--name must be a plain file name without extension, got {name!r}")
    return name


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Exclusive lock of an output folder (released when the process dies, too)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_unit(folder: str | os.PathLike[str], files: Mapping[str, str]) -> list[Path]:
    """Write ``files`` (file name -> UTF-8 text) into ``folder`` together; returns their paths.

    Either every file is replaced by its new content, or (on any failure, including a full
    disk) none is and the exception propagates.
    """
    out = Path(folder)
    with folder_lock(out):
        recover(out)
        pid = os.getpid()
        targets = [out / name for name in files]
        temps = [out / f".{name}.{pid}.tmp" for name in files]
        journal = out / f".unit.{pid}.journal"
        renamed: list[Path] = []
        try:
            for temp, text in zip(temps, files.values(), strict=True):
                _write_new(temp, text)
            for target in targets:
                with contextlib.suppress(FileNotFoundError):
                    os.link(target, _backup(target, pid))
            _write_new(journal, "".join(f"{name}\n" for name in files) + _JOURNAL_END)
            for temp, target in zip(temps, targets, strict=True):
                os.replace(temp, target)
                renamed.append(target)
            journal.unlink()  # commit
        except BaseException:
            _roll_back(renamed, pid)
            for path in [*temps, journal]:
                _unlink(path)
            raise
        finally:
            for target in targets:
                _unlink(_backup(target, pid))
    return [path.resolve() for path in targets]


def recover(folder: Path) -> None:
    """Undo the uncommitted unit of a killed writer and remove dead writers' temporaries.

    Call with the folder lock held (no live writer is then inside a unit in this folder).
    """
    with contextlib.suppress(FileNotFoundError):
        entries = [entry.name for entry in os.scandir(folder) if entry.name.startswith(".")]
        for name in entries:
            match = _JOURNAL.match(name)
            if match and not _alive(int(match[1])):
                journal = folder / name
                names = journal.read_text(encoding="utf-8").split("\n")
                if names[-1] == _JOURNAL_END:  # complete: renames may have begun
                    _roll_back([folder / n for n in names[:-1]], int(match[1]))
                _unlink(journal)
        for name in entries:
            match = _LEFTOVER.match(name)
            if match and not _alive(int(match[1])):
                _unlink(folder / name)


def _roll_back(targets: list[Path], pid: int) -> None:
    """Put each target back as it was before ``pid``'s unit: its backup, or no file."""
    for target in targets:
        backup = _backup(target, pid)
        if backup.exists():
            os.replace(backup, target)
        else:
            _unlink(target)


def _backup(target: Path, pid: int) -> Path:
    return target.with_name(f".{target.name}.{pid}.old")


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` (mode 0666 minus the umask) and write ``text`` to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    with open(fd, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a pid we may not signal still exists)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except OSError as error:
        return error.errno == errno.EPERM
    return True
