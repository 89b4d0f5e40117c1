"""Per-caption explain latency of both embedders: feature IG vs back-projection vs total.

Usage: python bench/explain_latency.py [--data DIR] [--n 10] [--embedders glove,sbert]
       [--against REV]
Models are trained (or loaded from the cache) on the data's train split; the first caption is
explained once untimed (warm-up), then n test captions are timed. Prints medians in ms, the
largest word gap and the largest completeness error of the feature IG over all (caption, label)
pairs ("ig" is exact IG where the model offers path jumps: the GloVe AnnexML model).
``--against REV`` runs the same measurement on revision REV (a temporary git worktree) in a
second process, caption by caption in alternating order, and prints the before/after ratio of
each figure and the largest difference between the two sides' feature attributions.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np
from _against import REPO, Worker, describe, revision_tree, serve

PARTS = ("encode", "baseline", "ig", "words", "total")


class Session:
    """One embedder's explainer over the bench captions (runs in whichever tree is imported)."""

    def __init__(self, spec: str, data: str | None, n: int) -> None:
        from embeddings import get_embedder
        from textig.data import load_dataset
        from textig.explain import Explainer
        from textig.features import embed_split
        from textig.training import train_or_load

        dataset = load_dataset(data)
        self.name = dataset.name
        self.captions = [c.text for c in dataset.test if c.text.strip()][: n + 1]
        embedder = get_embedder(spec)
        model = train_or_load(embedder, dataset)
        train = embed_split(embedder, dataset, "train", warn_skipped=False)
        self.explainer = Explainer(
            embedder, model, training_features=train, labels=dataset.vocabulary
        )

    def measure(self, index: int) -> dict[str, Any]:
        """Timings (s) of one caption's explanation, its largest word gap and completeness
        error, and each label's top feature attributions (to compare two revisions)."""
        explanation = self.explainer.explain(self.captions[index])
        labels = explanation.labels
        gaps = [label.word_gap for label in labels if label.word_gap is not None]
        return {
            "timings": explanation.timings,
            "gap": max(gaps, default=0.0),
            "completeness": max(label.completeness_error for label in labels),
            "features": {label.label: [list(f) for f in label.features] for label in labels},
        }


def _worker(args: argparse.Namespace) -> None:
    sessions: dict[str, Session] = {}

    def handle(request: dict[str, Any]) -> dict[str, Any]:
        if request["op"] == "open":
            session = Session(request["spec"], args.data, args.n)
            sessions[request["spec"]] = session
            return {"name": session.name, "captions": len(session.captions)}
        return sessions[request["spec"]].measure(request["index"])

    serve(handle)


def _summary(results: list[dict[str, Any]]) -> dict[str, float]:
    timed = results[1:]  # the first caption is the warm-up
    summary = {
        p: 1000 * float(np.median([r["timings"].get(p, np.nan) for r in timed])) for p in PARTS
    }
    summary["gap"] = max(r["gap"] for r in timed)
    summary["completeness"] = max(r["completeness"] for r in timed)
    return summary


def _difference(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> float:
    """Largest |after - before| of a label's top feature attributions, relative to the
    label's largest; inf where the two sides explain other labels or rank other features."""
    worst = 0.0
    for old, new in zip(before, after, strict=True):
        if old["features"].keys() != new["features"].keys():
            return float("inf")
        for label, features in old["features"].items():
            a = np.array(features, dtype=float).reshape(-1, 2)
            b = np.array(new["features"][label], dtype=float).reshape(-1, 2)
            if a.shape != b.shape or np.any(a[:, 0] != b[:, 0]):
                return float("inf")
            if a.size:
                scale = float(np.max(np.abs(a[:, 1])))
                worst = max(worst, float(np.max(np.abs(a[:, 1] - b[:, 1]))) / scale)
    return worst


def _header(first: str) -> str:
    return f"{first:18}" + "".join(f"{p:>10}" for p in PARTS) + "     max gap  max compl."


def _row(label: str, values: dict[str, float]) -> str:
    times = "".join(f"{values[p]:10.1f}" for p in PARTS)
    return f"{label:18}{times}{values['gap']:12.3%}{values['completeness']:12.1e}"


def _compare(args: argparse.Namespace) -> None:
    script = Path(__file__).resolve()
    data = ["--data", str(Path(args.data).resolve())] if args.data else []  # workers run elsewhere
    worker_args = ["--n", str(args.n), *data]
    with revision_tree(args.against) as old_tree:
        sides = [
            Worker(script, worker_args, old_tree, "before"),
            Worker(script, worker_args, REPO, "after"),
        ]
        try:
            for number, spec in enumerate(args.embedders.split(",")):
                opened = [side.ask({"op": "open", "spec": spec}) for side in sides]
                if number == 0:
                    print(
                        f"{opened[0]['name']}: {opened[0]['captions'] - 1} test captions, top-5 "
                        "labels, median ms; max word gap and completeness error over all pairs"
                    )
                    print(f"before = {describe(args.against)}; after = this tree ({REPO})")
                    print(_header("embedder/code"))
                results: list[list[dict[str, Any]]] = [[], []]
                for index in range(opened[0]["captions"]):
                    order = (0, 1) if index % 2 else (1, 0)
                    for side in order:
                        request = {"op": "measure", "spec": spec, "index": index}
                        results[side].append(sides[side].ask(request))
                before, after = (_summary(r) for r in results)
                print(_row(f"{spec} before", before))
                print(_row(f"{spec} after", after))
                ratios = "".join(f"{before[p] / after[p]:9.2f}x" for p in PARTS)
                print(f"{spec + ' speed-up':18}" + ratios)
                change = _difference(results[0][1:], results[1][1:])
                note = "max |after - before| / max |before|"
                print(f"{spec + ' attributions':18}  {note} {change:.1e}")
        finally:
            for side in sides:
                side.close()


def _alone(args: argparse.Namespace) -> None:
    for number, spec in enumerate(args.embedders.split(",")):
        session = Session(spec, args.data, args.n)
        if number == 0:
            print(
                f"{session.name}: {len(session.captions) - 1} test captions, top-5 labels, "
                "median ms; max word gap and completeness error over all pairs"
            )
            print(_header("embedder"))
        results = [session.measure(i) for i in range(len(session.captions))]
        print(_row(spec, _summary(results)))


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="data dir (default: the demo corpus)")
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--embedders", default="glove,sbert")
    parser.add_argument("--against", metavar="REV", help="also time git revision REV, side by side")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
    elif args.against:
        _compare(args)
    else:
        _alone(args)


if __name__ == "__main__":
    main()
