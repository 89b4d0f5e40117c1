"""Word-level completeness of the default back-projections on real IAPR TC-12 captions.

For n test captions and their top-5 labels (default explainer: estimator, baseline auto), the
gap |Σ word scores - Σ feature attributions| / |Σ feature attributions| per (caption, label).
Bar (issue 7): <= 1% for the default methods.

    python bench/word_gap.py --model glove=GLOVE.npz --model sbert=SBERT.npz [--n 50]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from embeddings import get_embedder
from textig.annexml import AnnexML
from textig.data import load_dataset
from textig.explain import Explainer
from textig.features import embed_split

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="NAME=PATH, repeatable")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "iaprtc12")
    parser.add_argument("--n", type=int, default=50)
    args = parser.parse_args()
    dataset = load_dataset(args.data)
    for spec in args.model:
        name, _, path = spec.partition("=")
        embedder = get_embedder(name)
        train = embed_split(embedder, dataset, "train", warn_skipped=False)
        explainer = Explainer(embedder, AnnexML.load(path), training_features=train)
        captions = [c for c in dataset.test if embedder.unusable_reason(c.text) is None]
        gaps, undefined = [], 0
        for caption in captions[: args.n]:
            for label in explainer.explain(caption.text).labels:
                if label.word_gap is None:
                    undefined += 1
                else:
                    gaps.append(label.word_gap)
        gaps = np.asarray(gaps)
        print(
            f"{name}: {len(gaps)} (caption, label) pairs on {args.n} captions: word gap median "
            f"{np.median(gaps):.3%}, max {gaps.max():.3%}, <= 1% for {np.mean(gaps <= 0.01):.1%}"
            f" (undefined, feature sum ~0: {undefined})"
        )


if __name__ == "__main__":
    main()
