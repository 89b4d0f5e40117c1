"""Every back-projection method of each embedder on the same captions and labels, side by side.

The corpus comparison (``bench/evaluate_corpus.py``) sets the default against the original
reports' variant; this adds every other method an embedder offers (e.g. ``occlusion``), all
explaining the same top-5 labels with the same feature IG: comprehensiveness and sufficiency
AOPC (k = 1..3 words), and how often a label's own word ranks in the top 3.

    python bench/word_methods.py --data ../shared/iaprtc12 --n 100 [--embedders glove,sbert]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from embeddings import get_embedder
from textig.annexml.fast_path import BruteForceScorer
from textig.data import load_dataset
from textig.evaluation.corpus import TOP_K, choose_captions
from textig.evaluation.faithfulness import RANDOM, caption_faithfulness
from textig.evaluation.plausibility import caption_plausibility, random_top_share, top_share
from textig.explain import Explainer
from textig.features import embed_split
from textig.training import train_or_load

SHARED = Path(__file__).resolve().parents[2] / "shared" / "iaprtc12"


def evaluate_methods(embedder_spec: str, dataset, n: int, seed: int) -> None:
    """Print one row per method (and random order) for one embedder."""
    embedder = get_embedder(embedder_spec)
    model = train_or_load(embedder, dataset)
    train = embed_split(embedder, dataset, "train", warn_skipped=False)
    methods = embedder.back_projection_methods
    explainers = {
        m: Explainer(embedder, model, training_features=train, word_method=m) for m in methods
    }
    scorer = BruteForceScorer.for_model(model)
    captions = choose_captions(dataset.test, n, [embedder], seed)
    curves, records, seconds = [], [], {m: 0.0 for m in methods}
    for caption in tqdm(captions, desc=f"methods {embedder.name}", unit="caption"):
        default = explainers[methods[0]].explain(caption.text, labels=f"top{TOP_K}")
        label_ids = [label.label_id for label in default.labels]
        words = {}
        for m, explainer in explainers.items():
            explanation = (
                default if m == methods[0] else explainer.explain(caption.text, labels=label_ids)
            )
            seconds[m] += explanation.timings["words"]
            words[m] = [label.words for label in explanation.labels]
        baseline = explainers[methods[0]].baseline_for(caption.text)
        curves += caption_faithfulness(
            embedder, scorer, caption.text, label_ids, words, empty_features=baseline, seed=seed
        )
        records += caption_plausibility(
            caption.id, [label.label for label in default.labels], words
        )
    print(f"\n== {embedder.name}: {len(captions)} captions, {len(curves)} (caption, label) pairs")
    print(f"{'method':15}{'compr k':>10}{'suff k':>10}{'top 3':>9}{'words ms':>10}")
    for m in (*methods, RANDOM):
        compr = np.mean([c.curves[m].aopc("comprehensiveness", "words") for c in curves])
        suff = np.mean([c.curves[m].aopc("sufficiency", "words") for c in curves])
        share = random_top_share(records) if m == RANDOM else top_share(records, m)
        ms = f"{1000 * seconds[m] / len(captions):10.0f}" if m in seconds else f"{'':10}"
        print(f"{m:15}{compr:10.2f}{suff:10.2f}{share:9.1%}{ms}")
    print(f"label word in the caption: {len(records)} pairs")


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED))
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--embedders", default="glove,sbert")
    args = parser.parse_args()
    dataset = load_dataset(args.data)
    started = time.perf_counter()
    for spec in args.embedders.split(","):
        evaluate_methods(spec, dataset, args.n, args.seed)
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
