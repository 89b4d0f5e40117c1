"""Embedder speed: cold GloVe encode (bar < 2 s), no torch with GloVe, SBERT on all IAPR captions.

Usage: python bench/embedder_speed.py [--data ../shared/iaprtc12] [--skip-sbert]
Each cold figure runs in a fresh interpreter so imports and vector loading are counted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_COLD_GLOVE = """
import sys, time
start = time.perf_counter()
from embeddings import get_embedder
glove = get_embedder("glove")
glove.encode(["a large building on the left, a palm tree in centre of picture"])
print(time.perf_counter() - start, "torch" in sys.modules)
"""


def _captions(data: Path) -> list[str]:
    texts = []
    for split in ("train", "test"):
        with open(data / f"{split}.jsonl", encoding="utf-8") as handle:
            texts += [json.loads(line)["caption"] for line in handle]
    return texts


def cold_glove() -> None:
    """One caption in a fresh process: import, pinned-file check, vectors, tokenizer, encode."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", _COLD_GLOVE], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    print(f"glove cold encode (fresh process, 1 caption): {float(out[0]):.2f} s (bar < 2 s)")
    print(f"glove imported torch: {out[1]} (bar: False)")


def corpus(name: str, texts: list[str]) -> None:
    """Whole-corpus encode time with the model already loaded (usable captions only)."""
    from embeddings import get_embedder

    embedder = get_embedder(name)
    usable = [t for t in texts if embedder.unusable_reason(t) is None]
    embedder.encode(usable[:8])  # load weights/vectors outside the timing
    start = time.perf_counter()
    X = embedder.encode(usable)
    seconds = time.perf_counter() - start
    print(
        f"{name}: {X.shape[0]} of {len(texts)} captions in {seconds:.1f} s "
        f"({X.shape[0] / seconds:.0f} captions/s)"
    )


def sbert_completeness(texts: list[str], n: int, labels: int = 3) -> None:
    """Word-level gap of the default "ig" back-projection on n captions, synthetic label heads.

    Heads = a random multiple of (x - x')/|x - x'|^2 plus noise, so gbar·(x - x') is not ~0.
    """
    import numpy as np

    from embeddings import get_embedder

    sbert = get_embedder("sbert")
    rng = np.random.default_rng(0)
    gaps, start = [], time.perf_counter()
    for text in texts[:n]:
        x = sbert.encode([text])[0].astype(np.float64)
        base = sbert.neutral_baseline(text).astype(np.float64)
        gbar = (x - base) / np.linalg.norm(x - base) ** 2 * rng.uniform(1, 3, (labels, 1))
        gbar += rng.normal(scale=0.05, size=gbar.shape)
        rows = sbert.word_attributions(text, gbar, base)
        totals = np.array([sum(w.score for w in row) for row in rows])
        gaps += list(np.abs(totals - gbar @ (x - base)) / np.abs(gbar @ (x - base)))
    seconds = (time.perf_counter() - start) / n
    print(
        f"sbert ig word gap on {n} captions x {labels} heads ({sbert.ig_steps} steps): median "
        f"{np.median(gaps):.2%}, max {np.max(gaps):.2%} (bar <= 1%); {seconds:.2f} s/caption"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "iaprtc12")
    parser.add_argument("--skip-sbert", action="store_true")
    parser.add_argument("--completeness", type=int, default=0, help="sbert gap on N test captions")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    sys.path.insert(0, str(REPO))
    cold_glove()
    texts = _captions(args.data)
    corpus("glove", texts)
    if not args.skip_sbert:
        import torch

        print(f"torch threads: {torch.get_num_threads()}")
        corpus("sbert", texts)
        print("(sbert bar: all 19,627 IAPR captions < 180 s on 2 cores)")
    if args.completeness:
        sbert_completeness(texts[-1962:], args.completeness)


if __name__ == "__main__":
    main()
