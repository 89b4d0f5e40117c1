"""Corpus runs: local rows, resume after an interruption, and the Ray engine's identical rows."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from textig.corpus import CorpusJob, RayOptions, input_table, read_results, run_corpus
from textig.corpus.engines import plan_batches
from textig.corpus.job import resolve_model, select_captions
from textig.errors import TextigError

N = 20
SHARD = 8


@pytest.fixture(scope="module")
def demo():
    """(job, input table) for the first N demo test captions with the demo GloVe model."""
    from embeddings import get_embedder
    from textig.data import load_dataset

    dataset = load_dataset(None)
    model = resolve_model(get_embedder("glove"), dataset, None)
    job = CorpusJob(data=str(dataset.path), embedder="glove", model=model)
    return job, input_table(select_captions(dataset, "test", N), lambda c: "test")


def _caption_ids(shard: Path) -> set[str]:
    return set(pq.read_table(shard, columns=["caption_id"]).column("caption_id").to_pylist())


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([("caption_id", "ascending"), ("label_rank", "ascending")])


@pytest.fixture(scope="module")
def uninterrupted_dir(demo, tmp_path_factory) -> Path:
    job, captions = demo
    out = tmp_path_factory.mktemp("whole")
    stats = run_corpus(job, captions, out, shard_size=SHARD, progress=False)
    assert (stats.explained, stats.skipped, stats.shards) == (N, 0, 3)
    return out


@pytest.fixture(scope="module")
def uninterrupted(uninterrupted_dir) -> pa.Table:
    return _sorted(read_results(uninterrupted_dir))


def test_rows_describe_each_explained_label(uninterrupted):
    rows = uninterrupted.to_pylist()
    assert len({r["caption_id"] for r in rows}) == N
    explained = [r for r in rows if r["error"] is None]
    assert explained and all(r["label"] and r["word_text"] for r in explained)
    for r in explained:
        assert len(r["word_text"]) == len(r["word_score"]) == len(r["word_score_original"])
        assert r["method"] == "exact" and r["comprehensiveness_random"] is not None
        # words and features explain the same vote difference (GloVe's additive projection)
        assert r["word_sum"] == pytest.approx(r["attribution_sum"], rel=1e-4, abs=1e-4)
        assert r["attribution_sum"] == pytest.approx(r["score"] - r["baseline_score"], abs=1e-6)


def test_rerun_skips_done_and_other_settings_do_not_mix(demo, tmp_path):
    job, captions = demo
    first = run_corpus(job, captions.slice(0, 5), tmp_path, shard_size=SHARD, progress=False)
    again = run_corpus(job, captions.slice(0, 5), tmp_path, shard_size=SHARD, progress=False)
    assert (again.explained, again.skipped, again.shards) == (0, 5, 0)
    other = CorpusJob(**{**job.to_dict(), "top_k": 2, "evaluate": False})
    stats = run_corpus(other, captions.slice(0, 5), tmp_path, shard_size=SHARD, progress=False)
    assert stats.explained == 5 and stats.settings_hash != first.settings_hash
    rows = read_results(tmp_path)
    assert set(rows.column("settings_hash").to_pylist()) == {
        first.settings_hash,
        stats.settings_hash,
    }


def test_interrupted_run_resumes_to_the_same_rows(demo, uninterrupted, tmp_path):
    job, captions = demo

    def stop(path: Path) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_corpus(job, captions, tmp_path, shard_size=SHARD, progress=False, on_shard=stop)
    (first,) = tmp_path.glob("part-*.parquet")
    kept = len(_caption_ids(first))
    assert 0 < kept <= SHARD
    stats = run_corpus(job, captions, tmp_path, shard_size=SHARD, progress=False)
    assert (stats.skipped, stats.explained) == (kept, N - kept)
    resumed = _sorted(read_results(tmp_path))
    ids, ranks = (resumed.column(c).to_pylist() for c in ("caption_id", "label_rank"))
    keys = list(zip(ids, ranks, strict=True))
    assert len(keys) == len(set(keys))
    assert resumed.equals(uninterrupted)


@pytest.mark.parametrize(
    ("n", "shard", "workers", "sizes"),
    [
        (20, 8, 1, [6, 7, 7]),
        (20, 8, 2, [5, 5, 5, 5]),
        (224, 32, 2, [28] * 8),
        (64, 32, 2, [32, 32]),
        (3, 32, 4, [1, 1, 1]),
        (5, 1, 3, [1] * 5),
    ],
)
def test_batches_are_even_and_a_multiple_of_the_workers(n, shard, workers, sizes):
    ids = [f"c{i}" for i in range(n)]
    table = pa.table({"caption_id": ids})
    batches = plan_batches(table, shard, workers)
    assert [b.num_rows for b in batches] == sizes
    assert [i for b in batches for i in b.column("caption_id").to_pylist()] == ids
    assert plan_batches(table.slice(0, 0), shard, workers) == []


def test_the_steady_rate_leaves_out_the_start_up(monkeypatch):
    """Shards at 10 s (4 captions), 12 s (3, one with two rows) and 16 s (2): the start-up is
    the first shard's 10 s, and the steady rate counts the 5 later captions over 6 s."""
    from textig.corpus import engines

    clock = iter([100.0, 110.0, 112.0, 116.0])
    monkeypatch.setattr(engines.time, "perf_counter", lambda: next(clock))
    tally = engines._Tally(engines.time.perf_counter())
    assert tally.steady() == (None, None)
    for ids in (["a", "b", "c", "d"], ["e", "f", "g", "g"], ["h", "i"]):
        tally.add(pa.table({"caption_id": ids}))
    assert tally.rows == 10 and tally.captions == [4, 3, 2]
    assert tally.steady() == (10.0, 5 / 6)


def test_a_foreign_file_among_the_shards_is_refused(tmp_path):
    (tmp_path / "part-x.parquet").write_bytes(b"not parquet")
    with pytest.raises(TextigError, match=r"part-x\.parquet"):
        read_results(tmp_path)


@pytest.fixture(scope="module")
def ray_cluster():
    """One local 2-CPU Ray cluster for the module (starting Ray is slow)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_engine_gives_the_local_engines_rows(demo, uninterrupted, ray_cluster, tmp_path):
    job, captions = demo
    stats = run_corpus(
        job, captions, tmp_path, engine="ray", shard_size=SHARD, progress=False,
        ray=RayOptions(workers=2),
    )  # fmt: skip
    assert (stats.explained, stats.workers) == (N, 2)
    # 20 captions, at most 8 a shard, 2 workers: 4 shards of 5 (3 would leave a worker idle)
    sizes = [len(_caption_ids(p)) for p in tmp_path.glob("part-*.parquet")]
    assert stats.shards == 4 and sizes == [5, 5, 5, 5]
    assert _sorted(read_results(tmp_path)).equals(uninterrupted)


def _interrupt_after_first_shard(engine: str, out: Path) -> tuple[int, str]:
    """Run `textig corpus run` on the demo captions, send SIGINT (Ctrl-C) once its first shard
    is on disk; (exit code, stderr)."""
    cmd = [sys.executable, "-m", "textig", "corpus", "run", "--n", str(N), "--shard-size", "2",
           "--engine", engine, "--out", str(out)]  # fmt: skip
    if engine == "ray":
        cmd += ["--workers", "2", "--cpus-per-worker", "0.5"]
    log = out.with_suffix(".stderr")
    with log.open("w") as stderr:  # a file, not a pipe: Ray's logs would fill a pipe and block
        # SIGINT as a terminal delivers it (a shell's background job would inherit it ignored)
        child = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=stderr,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
        deadline = time.monotonic() + 600
        while not list(out.glob("part-*.parquet")) and child.poll() is None:
            assert time.monotonic() < deadline, "no shard written in 10 minutes"
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        try:
            code = child.wait(timeout=120)
        finally:
            child.kill()
    return code, log.read_text(encoding="utf-8")


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_ctrl_c_stops_a_run_with_whole_shards_that_resume(demo, uninterrupted, engine, tmp_path):
    if engine == "ray":
        pytest.importorskip("ray.data")
    out = tmp_path / "results"
    code, stderr = _interrupt_after_first_shard(engine, out)
    assert code == 130, stderr[-2000:]
    assert stderr.rstrip().endswith("textig: interrupted")
    written = list(out.glob("part-*.parquet"))
    assert 1 <= len(written) < N // 2  # it stopped early, with whole shards only
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    job, captions = demo
    stats = run_corpus(job, captions, out, shard_size=SHARD, progress=False)
    assert stats.skipped == 2 * len(written) and stats.explained == N - stats.skipped
    assert _sorted(read_results(out)).equals(uninterrupted)


def test_shards_and_run_records_honour_the_umask(uninterrupted_dir):
    umask = os.umask(0)
    os.umask(umask)
    files = [*uninterrupted_dir.glob("part-*.parquet"), *(uninterrupted_dir / "_runs").iterdir()]
    assert files and {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o666 & ~umask}


def _row(caption_id: str, words: dict[str, float]) -> dict:
    texts = list(words)
    starts = [sum(len(t) + 1 for t in texts[:i]) for i in range(len(texts))]
    return {
        "caption_id": caption_id, "caption": " ".join(texts), "label": "palm",
        "word_text": texts, "word_start": starts,
        "word_end": [s + len(t) for s, t in zip(starts, texts, strict=True)],
        "word_kind": ["word"] * len(texts), "word_score": list(words.values()),
    }  # fmt: skip


def test_label_words_sum_content_words_over_captions():
    from textig.corpus.report import label_words

    rows = [
        _row("a", {"Palm": 2.0, "the": 0.5, "beach": -1.0}),
        _row("b", {"palm": 1.0, "sky": 0.5, "beach": -0.5}),
    ]
    palm = label_words(rows, top=5)["palm"]
    assert palm["pairs"] == 2
    assert [(w["word"], w["sum"], w["mean"], w["count"]) for w in palm["up"]] == [
        ("palm", 3.0, 1.5, 2),
        ("sky", 0.5, 0.5, 1),
    ]  # "the" is a stopword
    assert [(w["word"], w["sum"]) for w in palm["down"]] == [("beach", -1.5)]
    assert [x["caption_id"] for x in palm["up"][0]["examples"]] == ["a", "b"]


def test_label_words_group_a_words_forms_and_show_them():
    from textig.corpus.report import label_words

    rows = [
        _row("a", {"palms": 2.0, "horses": 0.25, "beach": 1.5}),
        _row("b", {"Palm": 1.0, "palms": 0.5, "beach": 1.0}),
        _row("c", {"palm": 0.5, "news": 0.25, "new": 0.125}),
    ]
    up = {w["word"]: w for w in label_words(rows, top=5)["palm"]["up"]}
    # palms + palm are one entry; its forms keep their own sums and caption counts
    assert (up["palm"]["sum"], up["palm"]["count"]) == (4.0, 3)
    assert [(f["form"], f["sum"], f["count"]) for f in up["palm"]["forms"]] == [
        ("palms", 2.5, 2),
        ("palm", 1.5, 2),
    ]
    assert [w["word"] for w in label_words(rows, top=5)["palm"]["up"]][:2] == ["palm", "beach"]
    # a candidate singular that does not occur ("horse") never makes a group; news is not new's
    assert {"horses", "news", "new"} <= set(up)


def test_form_groups_join_only_forms_that_occur():
    from textig.evaluation.words import form_groups

    groups = form_groups(["Palms", "palm", "boxes", "box", "glass", "cities", "city", "men",
                          "man", "trees", "street", "shorts", "short", "horses"])  # fmt: skip
    assert groups["palms"] == groups["palm"] == "palm"
    assert groups["boxes"] == "box" and groups["cities"] == "city" and groups["men"] == "man"
    assert groups["trees"] == "trees" and groups["street"] == "street"
    assert groups["shorts"] == "shorts" and groups["horses"] == "horses"


def test_report_writes_html_and_json(uninterrupted_dir, tmp_path):
    from textig.corpus.report import write_report

    html, data = write_report(uninterrupted_dir, tmp_path)
    report = json.loads(data.read_text(encoding="utf-8"))
    glove = report["runs"]["glove"]
    assert glove["captions"] == N and glove["labels"]
    assert glove["evaluation"]["faithfulness"]["default"]["comprehensiveness_words"] is not None
    assert "What drives each label" in html.read_text(encoding="utf-8")


def test_the_device_that_ran_is_not_in_the_settings_hash(demo) -> None:
    """A Ray driver that sees a GPU and actors that do not must agree on the hash (workers
    refuse rows whose hash differs from the driver's)."""
    from types import SimpleNamespace

    from textig.corpus.job import resolved_settings, settings_hash
    from textig.data import load_dataset
    from textig.settings import DEFAULTS

    job, _ = demo
    dataset = load_dataset(None)
    embedder = SimpleNamespace(identity="glove-test")
    hashes = {
        settings_hash(
            resolved_settings(
                job, dataset, SimpleNamespace(embedder=embedder, settings=DEFAULTS.but(device=d)),
                None,
            )
        )
        for d in ("cpu", "cuda")
    }  # fmt: skip
    assert len(hashes) == 1
    steps = DEFAULTS.but(steps=DEFAULTS.steps + 1)
    explainer = SimpleNamespace(embedder=embedder, settings=steps)
    other = resolved_settings(job, dataset, explainer, None)
    assert settings_hash(other) not in hashes  # what changes the numbers still changes it
