"""Run the corpus comparison of GloVe and SBERT on real IAPR TC-12 and print its tables.

Usage: python bench/evaluate_corpus.py [--data /work/shared/iaprtc12] [--n 200] [--out DIR]
Bars (issue 8): comprehensiveness AOPC of the default methods >= 2x the random order for both
embedders; the label's own word in the top 3 for >= 70% of the pairs where it occurs.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from textig.data import load_dataset
from textig.evaluation import compare_corpus

SHARED = Path(__file__).resolve().parents[2] / "shared" / "iaprtc12"


def _fmt(value: float | None, pattern: str = "{:.3f}") -> str:
    return "-" if value is None else pattern.format(value)


def print_tables(summary: dict) -> None:
    """The precision, completeness, faithfulness and plausibility tables as plain text."""
    print(
        f"\n{summary['n_captions']} captions of {summary['dataset']['name']}, seed "
        f"{summary['seed']}"
    )
    for name, e in summary["embedders"].items():
        c, p = e["completeness"], e["plausibility"]
        print(f"\n== {name} ({e['methods']['default']} vs original {e['methods']['original']})")
        print("  " + "  ".join(f"{k} {_fmt(v)}" for k, v in e["precision"].items()))
        print(
            f"  completeness: {_fmt(c['share_within_5pct'], '{:.1%}')} of {c['n']} pairs "
            f"within 5%, median {_fmt(c['median'])}, undefined {c['n_undefined']}"
        )
        print(f"  {'AOPC':10}{'compr k':>10}{'compr %':>10}{'suff k':>10}{'suff %':>10}")
        for method, row in e["faithfulness"].items():
            cells = (
                row[f"{m}_{g}"]
                for m in ("comprehensiveness", "sufficiency")
                for g in ("words", "percent")
            )
            print(f"  {method:10}" + "".join(f"{_fmt(v):>10}" for v in cells))
        ratio = e["comprehensiveness_ratio"]
        print(
            f"  default/random comprehensiveness: words {_fmt(ratio['words'], '{:.2f}x')}, "
            f"percent {_fmt(ratio['percent'], '{:.2f}x')}"
        )
        print(
            f"  plausibility: {p['n_pairs']} pairs; top 3 default "
            f"{_fmt(p['top3_default'], '{:.1%}')}, original {_fmt(p['top3_original'], '{:.1%}')}"
            f", random {_fmt(p['top3_random'], '{:.1%}')}"
        )
        print(f"  bars: {e['bars']}; {e['seconds_per_caption']:.2f} s/caption")
    print(f"\n{len(summary['disagreements'])} labels where the top-5 predictions differ")


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED))
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="compare-iapr")
    args = parser.parse_args()
    summary = compare_corpus(load_dataset(args.data), n=args.n, out_dir=args.out, seed=args.seed)
    print_tables(summary)
    print(f"\nwrote {Path(args.out) / 'summary.html'}")


if __name__ == "__main__":
    main()
