"""A long SBERT caption (300 words, past the model's 256-piece window): time and words.

Usage: /usr/bin/time -v python bench/long_caption.py --data ../shared/iaprtc12 [--words 300]
The caption joins IAPR test captions up to the word count. Prints the explain time, its word
step, the process CPU time of the explanation (the work, apart from the machine's load, with
``OMP_NUM_THREADS=1``), the largest word gap and how many words were marked "truncated"; peak
memory is /usr/bin/time's "Maximum resident set size" (this script also prints ru_maxrss).
Bars (issue 20/16): <= 10 s, <= 1.5 GB.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from embeddings import get_embedder
from textig.data import load_dataset
from textig.explain import Explainer
from textig.features import embed_split
from textig.training import train_or_load


def long_caption(texts: list[str], words: int) -> str:
    """The first ``words`` words of the captions joined in order."""
    joined = " ".join(texts).split()
    return " ".join(joined[:words])


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="data dir (default: the demo corpus)")
    parser.add_argument("--words", type=int, default=300)
    args = parser.parse_args()
    dataset = load_dataset(args.data)
    embedder = get_embedder("sbert")
    model = train_or_load(embedder, dataset)
    train = embed_split(embedder, dataset, "train", warn_skipped=False)
    explainer = Explainer(embedder, model, training_features=train, labels=dataset.vocabulary)
    text = long_caption([c.text for c in dataset.test], args.words)
    started = time.process_time()
    explanation = explainer.explain(text)
    cpu = time.process_time() - started
    words = explanation.labels[0].words
    gaps = [label.word_gap for label in explanation.labels if label.word_gap is not None]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        f"{len(text.split())} words: explain {explanation.timings['total']:.1f} s, CPU "
        f"{cpu:.1f} s (words "
        f"{explanation.timings['words']:.1f} s), max word gap {max(gaps, default=0):.3%}, "
        f"{sum(w.kind == 'truncated' for w in words)} words marked truncated, "
        f"peak RSS {peak:.2f} GB"
    )


if __name__ == "__main__":
    main()
