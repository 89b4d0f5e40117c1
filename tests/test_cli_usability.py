"""The command line as a new user meets it: help, exit codes, warnings, pipes, paths, modes."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from textig._utils import atomic_write_text
from textig.cli import _one_line_warning, build_parser, main
from textig.data import load_dataset

SMALL = {"num_learner": 3, "emb_iter": 3, "cls_iter": 3, "seed": 0}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    monkeypatch.setenv("TEXTIG_CACHE", str(cache))


@pytest.fixture(scope="module")
def glove_model(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> Path:
    from embeddings import get_embedder
    from textig.annexml import AnnexML
    from textig.features import embed_split

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEXTIG_CACHE", str(cache))
        dataset = load_dataset(None)
        embedder = get_embedder("glove")
        features = embed_split(embedder, dataset, "train", warn_skipped=False)
        model = AnnexML(**SMALL).fit(
            features.X, dataset.label_matrix("train"), labels=dataset.vocabulary, embedder=embedder
        )
        path = tmp_path_factory.mktemp("model") / "glove.npz"
        model.save(path)
        return path


def run_cli(capsys: pytest.CaptureFixture, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                for inner, subsub in _subparsers(sub):
                    yield f"{name} {inner}", subsub


def test_every_option_has_help_showing_its_default_and_choices() -> None:
    missing = []
    for name, parser in _subparsers(build_parser()):
        text = parser.format_help()
        for action in parser._actions:
            if not action.option_strings or action.help == argparse.SUPPRESS:
                continue
            if action.dest == "help":
                continue
            if not action.help:
                missing.append(f"{name} {action.option_strings[0]}: no help")
            shown = action.default not in (None, False, [], argparse.SUPPRESS)
            if shown and str(action.default) not in text:
                missing.append(f"{name} {action.option_strings[0]}: default not shown")
            if action.choices and "{" + ",".join(map(str, action.choices)) + "}" not in text:
                missing.append(f"{name} {action.option_strings[0]}: choices not shown")
    assert missing == []


def test_usage_errors_exit_2(capsys) -> None:
    code, _, err = run_cli(capsys, ["explain"])
    assert code == 2 and "CAPTION" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as raised:
        main(["explain", "--method", "nope"])
    assert raised.value.code == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["explain", "a dog", "--steps", "-3"],
        ["explain", "a dog", "--word-steps", "0"],
        ["explain", "--n", "x"],
        ["corpus", "run", "--out", "r", "--shard-size", "0"],
        ["corpus", "report", "r", "--words", "-1"],
        ["serve", "--port", "70000"],
    ],
)
def test_a_bad_count_is_a_usage_error_before_any_work(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)
    err = capsys.readouterr().err
    assert raised.value.code == 2 and "error: argument --" in err


def test_warnings_are_one_line() -> None:
    text = _one_line_warning("vectors missing\n  for 3 words", UserWarning, "/x/glove.py", 92)
    assert text == "textig: warning: vectors missing for 3 words\n"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    code = (
        "import warnings, sys\n"
        "from textig import cli\n"
        "cli.build_parser = lambda: type('P', (), {'parse_args': lambda s, a: type('A', (), "
        "{'func': staticmethod(lambda a: warnings.warn('careful')), 'command': 'x'})()})()\n"
        "sys.exit(cli.main([]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stderr == "textig: warning: careful\n"


def test_a_closed_stdout_is_not_an_error(tmp_path: Path) -> None:
    textig = shutil.which("textig", path=str(Path(sys.executable).parent))
    assert textig is not None
    process = subprocess.Popen(
        [textig, "data", "stats"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    process.stdout.close()  # like `| head` that has already exited
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0 and err == b""


def test_labels_true_on_free_text_says_how(glove_model: Path, capsys, tmp_path: Path) -> None:
    argv = ["explain", "a red bus in a street", "--model", str(glove_model), "--labels", "true"]
    code, _, err = run_cli(capsys, [*argv, "--out", str(tmp_path)])
    assert code == 1 and "--labels a,b" in err and "--data" in err


def test_a_baseline_the_embedder_lacks_is_refused_before_any_work(
    glove_model: Path, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import textig.explain

    def never(*args, **kwargs):
        raise AssertionError("explained before refusing")

    monkeypatch.setattr(textig.explain.Explainer, "explain", never)
    argv = ["explain", "a dog", "--model", str(glove_model), "--baseline", "mean",
            "--baseline", "neutral", "--out", str(tmp_path)]  # fmt: skip
    code, _, err = run_cli(capsys, argv)
    assert code == 1 and "no 'neutral' baseline" in err
    assert "offers: auto, mean, zero, text:CAPTION" in err
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_model_selects_its_embedder_and_a_conflict_is_an_error(
    glove_model: Path, capsys, tmp_path: Path
) -> None:
    from textig.annexml import AnnexML
    from textig.cli.explain import builtin_spec, recorded_embedder

    model = AnnexML.load(glove_model)
    assert builtin_spec(recorded_embedder(model)) == "glove"
    assert builtin_spec("sbert:all-MiniLM-L6-v2@abc") == "sbert"
    other = AnnexML(**SMALL).fit(
        np.random.default_rng(0).normal(size=(40, 8)),
        [[i % 3] for i in range(40)],
        labels=["a", "b", "c"],
        embedder="sbert:all-MiniLM-L6-v2@0123",
    )
    path = tmp_path / "sbert.npz"
    other.save(path)
    argv = ["explain", "a dog", "--model", str(path), "--embedder", "glove"]
    code, _, err = run_cli(capsys, [*argv, "--out", str(tmp_path / "out")])
    assert code == 1 and "--embedder glove conflicts with" in err and "sbert:" in err


def test_evaluate_json(glove_model: Path, capsys) -> None:
    code, out, err = run_cli(capsys, ["evaluate", "--model", str(glove_model), "--json"])
    assert code == 0, err
    data = json.loads(out)
    assert data["n_test"] > 0 and 0 <= data["metrics"]["P@1"] <= 1
    assert Path(data["model"]).is_absolute()


def test_data_stats_json(capsys) -> None:
    code, out, _ = run_cli(capsys, ["data", "stats", "--json"])
    assert code == 0 and json.loads(out)


def test_train_prints_an_absolute_path(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    params = [x for k, v in SMALL.items() for x in ("--param", f"{k}={v}")]
    code, out, err = run_cli(capsys, ["train", "--out", "m.npz", *params])
    assert code == 0, err
    assert f"wrote {tmp_path / 'm.npz'} " in out


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_atomic_writes_honour_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "f.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o666 & ~umask
    assert os.listdir(tmp_path) == ["f.txt"]
