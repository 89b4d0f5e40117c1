"""Reports written as a unit (``textig.report.files``): names, full disks, concurrent writers,
killed runs, and the umask."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from textig.errors import TextigError
from textig.report import files
from textig.report.files import check_name, report_name, write_unit

REPO = Path(__file__).resolve().parents[1]


def pair(tag: str) -> dict[str, str]:
    return {"r.json": json.dumps({"tag": tag}) + "\n", "r.html": f"<p>{tag}</p>"}


def read_pair(folder: Path) -> tuple[str, str]:
    data = json.loads((folder / "r.json").read_text(encoding="utf-8"))["tag"]  # padding: ok
    html = (folder / "r.html").read_text(encoding="utf-8")[3:-4]
    return data, html


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != files.LOCK_NAME)


# --- names --------------------------------------------------------------------------------


def test_names_are_stable_and_distinct() -> None:
    text = "a palm tree on a sandy beach"
    assert report_name(None, text) == report_name(None, text)
    assert report_name(None, text).startswith("a-palm-tree-on-a-sandy-beach-")
    assert report_name("img/1", text) != report_name("img-1", text)  # same slug, other id
    long = "two people standing in front of a white church with a red roof"
    assert report_name(None, long + " a") != report_name(None, long + " b")
    assert report_name("00/26", text) != report_name("00/26", text + " !")
    assert all(
        report_name(i, t) not in files.RESERVED_NAMES
        for i in ("index", "summary", None)
        for t in ("index", "")
    )


def test_reserved_and_unsafe_names_are_refused() -> None:
    for name in ("index", "summary", "../x", "a/b", ".hidden", ""):
        with pytest.raises(TextigError):
            check_name(name)
    assert check_name("my-report") == "my-report"


# --- a unit -------------------------------------------------------------------------------


def test_unit_replaces_all_files_and_leaves_nothing_else(tmp_path: Path) -> None:
    write_unit(tmp_path, pair("old"))
    paths = write_unit(tmp_path, pair("new"))
    assert read_pair(tmp_path) == ("new", "new")
    assert all(p.is_absolute() for p in paths)
    assert visible(tmp_path) == ["r.html", "r.json"]


def test_disk_full_midway_keeps_the_previous_report_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_unit(tmp_path, pair("old"))
    real = files._write_new
    calls = []

    def full_on_second(path: Path, text: str) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(path, text)

    monkeypatch.setattr(files, "_write_new", full_on_second)
    with pytest.raises(OSError, match="No space"):
        write_unit(tmp_path, pair("new"))
    assert read_pair(tmp_path) == ("old", "old")
    assert visible(tmp_path) == ["r.html", "r.json"]  # no temporaries left


def test_a_failed_rename_rolls_back_what_was_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_unit(tmp_path, pair("old"))
    real = os.replace
    renames = []

    def fail_second(src, dst) -> None:
        renames.append(dst)
        if len(renames) == 2:
            raise OSError(5, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(files.os, "replace", fail_second)
    with pytest.raises(OSError):
        write_unit(tmp_path, pair("new"))
    monkeypatch.setattr(files.os, "replace", real)
    assert read_pair(tmp_path) == ("old", "old")  # r.json had been replaced: restored
    assert visible(tmp_path) == ["r.html", "r.json"]


def test_a_failed_first_report_leaves_no_file(tmp_path: Path, monkeypatch) -> None:
    real = os.replace
    calls = []

    def fail_second(src, dst) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(files.os, "replace", fail_second)
    with pytest.raises(OSError):
        write_unit(tmp_path, pair("new"))
    assert visible(tmp_path) == []


# --- concurrent writers -------------------------------------------------------------------


def _writer(folder: str, tag: str, rounds: int) -> None:
    padding = "\n" * 200_000  # big enough that unlocked writes would interleave
    for i in range(rounds):
        files = pair(f"{tag}{i}")
        write_unit(folder, {"r.json": files["r.json"] + padding, "r.html": files["r.html"]})


def test_concurrent_writers_end_with_a_consistent_pair(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_writer, args=(str(tmp_path), tag, 40)) for tag in ("a", "b", "c")
    ]
    for worker in workers:
        worker.start()
    seen = set()
    while any(worker.is_alive() for worker in workers):  # a reader that takes the lock too
        with files.folder_lock(tmp_path):
            if (tmp_path / "r.html").exists():
                data, html = read_pair(tmp_path)
                assert data == html, "a mixed pair"
                seen.add(data)
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    assert len(seen) > 1  # the reader ran between the writers
    data, html = read_pair(tmp_path)
    assert data == html and data in {"a39", "b39", "c39"}
    assert visible(tmp_path) == ["r.html", "r.json"]


# --- killed runs --------------------------------------------------------------------------

_KILL_BETWEEN_RENAMES = """
import os, signal, sys
from textig.report import files
real = os.replace
count = []
def replace(src, dst):
    real(src, dst)
    count.append(dst)
    if len(count) == 1:
        os.kill(os.getpid(), signal.SIGKILL)
files.os.replace = replace
files.write_unit(sys.argv[1], {"r.json": '{"tag": "new"}\\n', "r.html": "<p>new</p>"})
"""


def _run_killed(folder: Path) -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", _KILL_BETWEEN_RENAMES, str(folder)], env=env, check=False
    )
    return done.returncode


def test_a_run_killed_between_renames_is_rolled_back_by_the_next(tmp_path: Path) -> None:
    write_unit(tmp_path, pair("old"))
    assert _run_killed(tmp_path) == -signal.SIGKILL
    assert json.loads((tmp_path / "r.json").read_text())["tag"] == "new"  # half a unit
    assert any(n.endswith((".tmp", ".old", ".journal")) for n in os.listdir(tmp_path))
    write_unit(tmp_path, {"other.json": "{}\n", "other.html": "<p></p>"})  # next run there
    assert read_pair(tmp_path) == ("old", "old")
    assert visible(tmp_path) == ["other.html", "other.json", "r.html", "r.json"]


def test_a_killed_first_report_is_removed_by_the_next_run(tmp_path: Path) -> None:
    assert _run_killed(tmp_path) == -signal.SIGKILL
    files.recover(tmp_path)
    assert visible(tmp_path) == []


def test_orphans_of_dead_processes_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    pid = int(dead.stdout)
    orphans = [f".r.json.{pid}.tmp", f".r.html.{pid}.old"]
    live = f".r.json.{os.getppid()}.tmp"
    for name in [*orphans, live, "keep.txt", ".keep"]:
        (tmp_path / name).write_text("x")
    write_unit(tmp_path, pair("new"))
    names = set(os.listdir(tmp_path))
    assert not names & set(orphans)
    assert {live, "keep.txt", ".keep"} <= names


# --- permissions --------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_files_honour_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        paths = write_unit(tmp_path, pair("x"))
    finally:
        os.umask(old)
    assert {p.stat().st_mode & 0o777 for p in paths} == {0o666 & ~umask}
