"""What drives each label across a corpus run, and how the embedders agree (HTML + JSON).

Per run (one settings hash; named by its embedder) and label: over every explained (caption,
label) row, each content word's attributions are summed (``textig.evaluation.words`` decides
what a content word is; words are compared lowercased, and the forms of a word that occur in
the results are one entry, the same for every run, e.g. palms + palm, by ``form_groups``'
documented plural rule; each entry lists its forms with their own sums). An entry's ``sum``
ranks it: the total it added to the label's scores over the corpus (word scores are additive,
so sums over captions and forms are still shares of the explained scores), which weighs how
often a word occurs by how hard it pushes; ``mean`` (per caption it occurs in) would rank a
word seen once above one that drives the label everywhere, so it is shown, not ranked by.
``count`` counts the captions it occurs in, and its ``examples`` are the captions where it
pushed hardest. Agreement between two embedders, per label they both explained: the overlap of
their top words pushing up, and the rank correlation of the word sums over the words both saw.
The faithfulness, plausibility and completeness tables are ``textig.evaluation.summary``'s, fed
from the rows' deletion curves and word scores.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.base import WordScore
from textig import __version__
from textig._utils import atomic_write_text
from textig.corpus.rows import CURVE_METHODS
from textig.corpus.store import read_results
from textig.evaluation.faithfulness import DeletionCurve, LabelFaithfulness
from textig.evaluation.plausibility import caption_plausibility
from textig.evaluation.summary import DEFAULT, ORIGINAL, EmbedderRun, PairResult, embedder_summary
from textig.evaluation.words import form_groups, is_content_word

EXAMPLES = 3


def _words(row: dict[str, Any], column: str = "word_score") -> list[WordScore]:
    return [
        WordScore(text, start, end, score, kind)
        for text, start, end, score, kind in zip(
            row["word_text"], row["word_start"], row["word_end"], row[column], row["word_kind"],
            strict=True,
        )
    ]  # fmt: skip


def _run_names(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """settings hash -> run name: the embedder's, with the hash when an embedder ran twice."""
    embedders = {r["settings_hash"]: r["embedder"] for r in rows}
    counts = defaultdict(int)
    for name in embedders.values():
        counts[name] += 1
    return {
        h: name if counts[name] == 1 else f"{name}·{h[:8]}" for h, name in sorted(embedders.items())
    }


def word_groups(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """``form_groups`` over every content word of ``rows``."""
    return form_groups(w.text for row in rows for w in _words(row) if is_content_word(w))


def label_words(
    rows: Sequence[dict[str, Any]], top: int, groups: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Per label: pairs explained, and the word groups pushing it up and down over all captions.

    Words are grouped by their forms (``groups``, by default ``word_groups(rows)``: palms and
    palm are one entry when both occur); a group's attribution in a caption is the sum of its
    forms' there, and each form's own sum and count are kept for the reader.
    """
    groups = word_groups(rows) if groups is None else groups
    per_label: dict[str, dict[str, dict]] = defaultdict(dict)
    pairs: dict[str, int] = defaultdict(int)
    for row in rows:
        pairs[row["label"]] += 1
        seen: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for word in _words(row):
            if is_content_word(word):
                seen[groups[word.text.lower()]][word.text.lower()] += word.score
        for group, forms in seen.items():
            entry = per_label[row["label"]].setdefault(
                group, {"sum": 0.0, "count": 0, "ex": [], "forms": {}}
            )
            score = sum(forms.values())
            entry["sum"] += score
            entry["count"] += 1
            entry["ex"].append((score, row["caption_id"], row["caption"]))
            for form, value in forms.items():
                total, count = entry["forms"].get(form, (0.0, 0))
                entry["forms"][form] = (total + value, count + 1)
    return {
        label: {"pairs": pairs[label], "sums": {w: e["sum"] for w, e in words.items()},
                "up": _side(words, top, up=True), "down": _side(words, top, up=False)}
        for label, words in sorted(per_label.items(), key=lambda kv: (-pairs[kv[0]], kv[0]))
    }  # fmt: skip


def _side(words: dict[str, dict], top: int, *, up: bool) -> list[dict[str, Any]]:
    sign = 1.0 if up else -1.0
    chosen = sorted((w for w in words.items() if sign * w[1]["sum"] > 0),
                    key=lambda w: (-sign * w[1]["sum"], w[0]))[:top]  # fmt: skip
    return [
        {
            "word": word,
            "sum": e["sum"],
            "mean": e["sum"] / e["count"],
            "count": e["count"],
            "forms": [
                {"form": form, "sum": total, "count": count}
                for form, (total, count) in sorted(
                    e["forms"].items(), key=lambda f: (-sign * f[1][0], f[0])
                )
            ],
            "examples": [
                {"caption_id": cid, "caption": text, "score": score}
                for score, cid, text in sorted(e["ex"], key=lambda x: (-sign * x[0], x[1]))[
                    :EXAMPLES
                ]
            ],
        }
        for word, e in chosen
    ]


def agreement(left: dict[str, Any], right: dict[str, Any], top: int) -> dict[str, Any]:
    """Two runs' agreement on one label: top-word overlap and rank correlation of word sums."""
    up_left = {w["word"] for w in left["up"][:top]}
    up_right = {w["word"] for w in right["up"][:top]}
    union = up_left | up_right
    shared = sorted(set(left["sums"]) & set(right["sums"]))
    rho = None
    if len(shared) >= 3:
        from scipy.stats import spearmanr

        value = spearmanr([left["sums"][w] for w in shared], [right["sums"][w] for w in shared])
        rho = None if np.isnan(value.statistic) else float(value.statistic)
    return {
        "top_overlap": len(up_left & up_right) / len(union) if union else None,
        "shared_top": sorted(up_left & up_right),
        "spearman": rho,
        "shared_words": len(shared),
    }


def evaluation_summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """``textig.evaluation.summary``'s tables for one run's rows (None without evaluation)."""
    evaluated = [r for r in rows if r["faithfulness_sizes"] is not None]
    if not evaluated:
        return None
    first = evaluated[0]
    run = EmbedderRun(
        first["embedder"], first["embedder_identity"],
        {DEFAULT: first["word_method"], ORIGINAL: "original"}, {},
    )  # fmt: skip
    by_caption: dict[str, list[dict]] = defaultdict(list)
    for row in evaluated:
        curves = {
            m: DeletionCurve(tuple(row["faithfulness_sizes"]), tuple(row[f"comprehensiveness_{m}"]),
                             tuple(row[f"sufficiency_{m}"]))
            for m in CURVE_METHODS
        }  # fmt: skip
        faithfulness = LabelFaithfulness(
            row["label_id"], row["faithfulness_full_score"], row["faithfulness_empty_score"],
            row["faithfulness_n_content"], curves,
        )  # fmt: skip
        run.pairs.append(
            PairResult(row["caption_id"], row["label"], row["score"], bool(row["true"]),
                       row["completeness_error"], faithfulness)
        )  # fmt: skip
        by_caption[row["caption_id"]].append(row)
    for caption_id, labels in by_caption.items():
        words = {
            DEFAULT: [_words(r) for r in labels],
            ORIGINAL: [_words(r, "word_score_original") for r in labels],
        }
        run.plausibility.extend(
            caption_plausibility(caption_id, [r["label"] for r in labels], words)
        )
    summary = embedder_summary(run)
    summary.pop("precision")
    summary.pop("seconds_per_caption")
    return summary


def build_report(results: Path, top: int = 10) -> dict[str, Any]:
    """The report's JSON-ready content."""
    table = read_results(results)
    rows = table.sort_by([("caption_id", "ascending"), ("label_rank", "ascending")]).to_pylist()
    names = _run_names(rows)
    groups = word_groups([r for r in rows if r["error"] is None])  # one grouping for every run
    runs: dict[str, dict[str, Any]] = {}
    for run_hash, name in names.items():
        mine = [r for r in rows if r["settings_hash"] == run_hash]
        explained = [r for r in mine if r["error"] is None]
        first = mine[0]
        runs[name] = {
            "settings_hash": run_hash,
            "embedder": first["embedder_identity"],
            "model": first["model"],
            "method": next((r["method"] for r in explained), None),
            "word_method": first["word_method"],
            "captions": len({r["caption_id"] for r in mine}),
            "failed": sorted({r["caption_id"] for r in mine if r["error"] is not None}),
            "pairs": len(explained),
            "labels": label_words(explained, top, groups),
            "evaluation": evaluation_summary(explained),
        }
    return {
        "results": str(results.resolve()),
        "textig_version": __version__,
        "runs": runs,
        "agreement": _agreements(runs, top),
    }


def _agreements(runs: dict[str, dict[str, Any]], top: int) -> list[dict[str, Any]]:
    """Per pair of runs with different embedders: per shared label, their agreement."""
    names = list(runs)
    found = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if runs[a]["embedder"] == runs[b]["embedder"]:
                continue
            shared = [label for label in runs[a]["labels"] if label in runs[b]["labels"]]
            per_label = {
                label: agreement(runs[a]["labels"][label], runs[b]["labels"][label], top)
                for label in shared
            }
            found.append({"runs": [a, b], "labels": per_label})
    return found


def write_report(results: Path, out: Path, *, words: int = 10) -> list[Path]:
    """Write ``corpus-report.json`` and ``corpus-report.html`` into ``out``; their paths."""
    from textig.report.colors import NEGATIVE, POSITIVE
    from textig.report.templates import environment

    report = build_report(results, words)
    for run in report["runs"].values():  # the JSON keeps word sums only in the lists
        for label in run["labels"].values():
            label.pop("sums")
    colours = {"positive": f"rgb{POSITIVE}", "negative": f"rgb{NEGATIVE}"}
    html = (
        environment()
        .get_template("corpus_report.html.j2")
        .render(r=report, colours=colours, version=__version__)
    )
    json_path, html_path = out / "corpus-report.json", out / "corpus-report.html"
    atomic_write_text(json_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(html_path, html)
    return [html_path, json_path]
