"""Render explanations, comparisons and report indexes to self-contained HTML files.

Views (segments, chart geometry) are computed here so the templates only lay them out. A
report's HTML and JSON are written as a unit (``textig.report.files.write_unit``): both change,
or neither does.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import fmean
from typing import Any

from textig import __version__
from textig.explanation import Explanation, LabelExplanation
from textig.report.colors import NEGATIVE, POSITIVE, caption_segments, mark_flips, scale_of
from textig.report.compare import RELIABLE_WORDS, Comparison
from textig.report.files import write_unit
from textig.report.svg import bar_chart
from textig.report.templates import environment, printable
from textig.study import BaselineStudy, sign_flips

PRECISION_KS = (1, 3, 5)


@dataclass(frozen=True)
class IndexEntry:
    """One line of a batch index: a written report, or a caption that could not be explained.

    ``predicted`` holds, per embedder, the caption's top predictions ``{label, score, true}``
    (``true`` is None when the caption's true labels are unknown).
    """

    name: str
    caption: str
    caption_id: str | None = None
    labels: tuple[str, ...] = ()  # the labels the report explains
    true_labels: tuple[str, ...] | None = None
    predicted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    error: str | None = None
    line: int | None = None  # line number in a --captions file

    @classmethod
    def of(cls, name: str, *explanations: Explanation, line: int | None = None) -> IndexEntry:
        """The entry of a report explaining one caption (one explanation per embedder)."""
        first = explanations[0]
        truth = first.true_labels
        return cls(
            name,
            first.caption,
            first.caption_id,
            tuple(label.label for label in first.labels),
            None if truth is None else tuple(truth),
            {_side_name(e, explanations): _hits(e) for e in explanations},
            line=line,
        )

    @property
    def href(self) -> str:
        """Relative link to the report (reports sit beside the index)."""
        return f"{self.name}.html"

    def precision(self) -> dict[str, dict[str, float]]:
        """P@1/3/5 of each embedder's predictions (empty when true labels are unknown)."""
        if self.true_labels is None or self.error:
            return {}
        return {
            embedder: {f"P@{k}": sum(bool(p["true"]) for p in hits[:k]) / k for k in PRECISION_KS}
            for embedder, hits in self.predicted.items()
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; ``html``/``json`` link the report relative to the index."""
        data = asdict(self)
        data["labels"] = list(self.labels)
        data["true_labels"] = None if self.true_labels is None else list(self.true_labels)
        ok = self.error is None
        data |= {key: printable(data[key]) for key in ("caption", "caption_id", "error")}
        return data | {
            "html": self.href if ok else None,
            "json": f"{self.name}.json" if ok else None,
            "precision": self.precision(),
        }


def _side_name(explanation: Explanation, all_sides: Sequence[Explanation]) -> str:
    """The embedder's name, or its identity when two sides share a name (glove vs glove:…)."""
    name = explanation.embedder["name"]
    shared = sum(e.embedder["name"] == name for e in all_sides) > 1
    return str(explanation.embedder["identity"]) if shared else name


def _hits(explanation: Explanation) -> list[dict[str, Any]]:
    truth = None if explanation.true_labels is None else set(explanation.true_labels)
    return [
        {
            "label": p["label"],
            "score": p["score"],
            "true": None if truth is None else p["label"] in truth,
        }
        for p in explanation.predicted
    ]


def index_summary(entries: Sequence[IndexEntry], title: str) -> dict[str, Any]:
    """The batch index as JSON-ready data: every entry, and the mean P@k per embedder over the
    captions whose true labels are known."""
    scored = [p for p in (entry.precision() for entry in entries) if p]
    embedders = list(dict.fromkeys(name for p in scored for name in p))
    mean = {
        name: {
            f"P@{k}": fmean(p[name][f"P@{k}"] for p in scored if name in p) for k in PRECISION_KS
        }
        for name in embedders
    }
    return {
        "title": title,
        "textig_version": __version__,
        "n_captions": len(entries),
        "n_reports": sum(entry.error is None for entry in entries),
        "n_failed": sum(entry.error is not None for entry in entries),
        "n_with_true_labels": len(scored),
        "mean_precision": mean,
        "entries": [entry.to_dict() for entry in entries],
    }


def report_scale(explanations: Sequence[Explanation]) -> float:
    """The one colour scale of a report: the largest |word score| of any label it shows."""
    return max((scale_of(label.words) for e in explanations for label in e.labels), default=0.0)


def shows_gradient_x_input(explanation: Explanation) -> bool:
    """Whether gradient times input says anything here: not for a model whose scores are step
    functions (exact IG runs on path jumps), where the gradient is zero almost everywhere."""
    return explanation.settings.get("estimator") != "exact"


def _label_view(label: LabelExplanation, e: Explanation, scale: float) -> dict[str, Any]:
    gxi = label.gradient_x_input if shows_gradient_x_input(e) else []
    limit = max((abs(v) for _, v in [*label.features, *gxi]), default=0.0)
    return {
        "item": label,
        "segments": caption_segments(e.caption, label.words, scale),
        "ig_chart": bar_chart(label.features, limit),
        "gxi_chart": bar_chart(gxi, limit) if gxi else None,
        "strongest": label.features[0] if label.features else None,
        "phrase": baseline_phrase(e.baseline["kind"]),
        # nothing to show: no feature and no word moved the score
        "flat": not label.features and not any(w.score for w in label.words),
    }


def baseline_phrase(kind: str) -> str:
    """What a baseline kind means, in a reader's words."""
    if kind.startswith("text:"):
        return f"the caption “{kind[5:]}”"
    return {
        "mean": "the mean feature vector of the model's training captions",
        "neutral": "this caption with its content words masked",
        "array": "a feature vector given by the caller",
    }.get(kind, kind)


def _steps(used) -> str:
    """Path points the labels used: one count, or the range when refinement gave some more."""
    if not isinstance(used, list):
        return str(used)
    low, high = (min(used), max(used)) if used else (0, 0)
    return str(low) if low == high else f"{low} to {high} (per label)"


def settings_rows(e: Explanation) -> list[tuple[str, str]]:
    """The settings that ran, as (name, what it means) rows; the JSON keeps the raw values."""
    s = e.settings
    method = s.get("estimator") or s.get("method")
    if method == "exact":
        how = (
            f"exact: the score's {s.get('path_jumps')} jumps along the path, each split over "
            f"the features ({s.get('n_evaluations')} model evaluations)"
        )
    elif s.get("quadrature") == "located":
        how = (
            f"{method}: jumps located from the scores, {_steps(s.get('steps_used'))} "
            f"axis-nudged probe points (budget {s.get('step_budget')} per label), "
            f"{s.get('n_evaluations')} model evaluations"
        )
    else:
        how = (
            f"{method}: {s.get('quadrature')} rule, {_steps(s.get('steps_used'))} path points "
            f"(started from {s.get('steps')}), {s.get('n_evaluations')} model evaluations"
        )
    words = s.get("word_method")
    rule = (
        "word scores add up to Σ features"
        if s.get("word_sum_rule")
        else "no sum rule: word scores need not add up to Σ features"
    )
    rows = [
        ("IG method", how),
        ("baseline", f"{e.baseline['kind']}: {baseline_phrase(e.baseline['kind'])}"),
        ("word method", f"{words} ({rule})"),
    ]
    if s.get("word_steps") is not None:
        rows.append(("word IG path points", str(s["word_steps"])))
    rows.append(("scores explained", str(s.get("scores"))))
    rows.append(("features listed per label", str(s.get("top_features"))))
    if method == "estimate":
        rows.append(("seed", str(s.get("seed"))))
    return rows


def explanation_view(explanation: Explanation, scale: float | None = None) -> dict[str, Any]:
    """Template context of one explanation (``scale``: the colour scale of the whole report)."""
    scale = report_scale([explanation]) if scale is None else scale
    labels = [_label_view(label, explanation, scale) for label in explanation.labels]
    by_strength = sorted(
        (view for view in labels if view["strongest"]),
        key=lambda view: -abs(view["strongest"][1]),
    )
    predicted = {p["label"] for p in explanation.predicted}
    missed = [t for t in explanation.true_labels or [] if t not in predicted]
    return {
        "e": explanation,
        "labels": labels,
        "by_strength": by_strength,
        "true_set": set(explanation.true_labels or []),
        "missed": missed,
        "scale": scale,
        "max_score": explanation.model.get("max_score"),
        "settings": settings_rows(explanation),
    }


def _render(template: str, **context: Any) -> str:
    colours = {"positive": f"rgb{POSITIVE}", "negative": f"rgb{NEGATIVE}"}
    return (
        environment().get_template(template).render(version=__version__, colours=colours, **context)
    )


def render_explanation(explanation: Explanation) -> str:
    """One caption's report as a self-contained HTML page."""
    return _render("explanation.html.j2", **explanation_view(explanation))


def render_comparison(comparison: Comparison) -> str:
    """Side-by-side report of two embedders' explanations of one caption."""
    agreement = {a.label: a for a in comparison.agreement}
    right = {label.label: label for label in comparison.right.labels}
    scale = report_scale([comparison.left, comparison.right])
    shared = [
        {
            "label": label.label,
            "agreement": agreement[label.label],
            "left": _label_view(label, comparison.left, scale),
            "right": _label_view(right[label.label], comparison.right, scale),
        }
        for label in comparison.left.labels
        if label.label in right
    ]
    kinds = [comparison.left.baseline["kind"], comparison.right.baseline["kind"]]
    return _render(
        "compare.html.j2",
        c=comparison,
        sides=[explanation_view(e, scale) for e in (comparison.left, comparison.right)],
        shared=shared,
        scale=scale,
        same_baseline=kinds[0] == kinds[1],
        baseline_phrases=[baseline_phrase(k) for k in kinds],
        min_words=RELIABLE_WORDS,
    )


def render_baseline_study(study: BaselineStudy) -> str:
    """One caption explained from several baselines: a row per label, a caption per baseline."""
    first = study.explanations[0]
    scale = report_scale(study.explanations)
    flipped = study.sign_flips()
    rows = []
    for row, label in enumerate(first.labels):
        views = [
            {
                **_label_view(e.labels[row], e, scale),
                "baseline": e.baseline["kind"],
            }
            for e in study.explanations
        ]
        flips = sign_flips([e.labels[row] for e in study.explanations])
        for view in views:
            view["segments"] = mark_flips(view["segments"], flips)
        rows.append(
            {
                "label": label.label,
                "score": label.score,
                "true": label.true,
                "views": views,
                "flips": flipped[label.label],
            }
        )
    notes = list(dict.fromkeys(n for e in study.explanations for n in e.notes))
    total = sum(e.timings.get("total", 0.0) for e in study.explanations)
    return _render(
        "baselines.html.j2",
        s=study,
        rows=rows,
        notes=notes,
        total_time=total,
        scale=scale,
        max_score=first.model.get("max_score"),
        settings=settings_rows(first),
    )


def render_index(entries: Sequence[IndexEntry], title: str) -> str:
    """An index page linking every report of a batch, with each caption's predictions."""
    summary = index_summary(entries, title)
    return _render("index.html.j2", entries=list(entries), title=title, summary=summary)


def notebook_html(page: str, height: int = 900) -> str:
    """A report page for a notebook cell: in an iframe, so its styles stay inside it and the
    notebook's stay out; the page is escaped into ``srcdoc`` (it stays inert text until the
    browser parses it as the frame's own document)."""
    fit = "this.style.height=(this.contentDocument.body.scrollHeight+40)+'px'"
    return (
        f'<iframe srcdoc="{html.escape(page, quote=True)}" style="width: 100%; border: 0; '
        f'height: {height}px" sandbox="allow-same-origin" onload="{fit}"></iframe>'
    )


def write_explanation(explanation: Explanation, out_dir: Path, name: str) -> tuple[Path, Path]:
    """Write ``out_dir/name.html`` and ``.json`` as a unit; returns their absolute paths."""
    html, data = render_explanation(explanation), explanation.to_json()
    return _write_pair(out_dir, name, html, data)


def write_comparison(comparison: Comparison, out_dir: Path, name: str) -> tuple[Path, Path]:
    """Write ``out_dir/name.html`` and ``.json`` of a comparison as a unit."""
    return _write_pair(out_dir, name, render_comparison(comparison), _json(comparison.to_dict()))


def write_baseline_study(study: BaselineStudy, out_dir: Path, name: str) -> tuple[Path, Path]:
    """Write ``out_dir/name.html`` and ``.json`` of a baseline study as a unit."""
    return _write_pair(out_dir, name, render_baseline_study(study), _json(study.to_dict()))


def write_index(entries: Sequence[IndexEntry], out_dir: Path, title: str) -> tuple[Path, Path]:
    """Write ``out_dir/index.html`` and its JSON twin ``index.json`` as a unit."""
    data = _json(index_summary(entries, title))
    return _write_pair(out_dir, "index", render_index(entries, title), data)


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)


def _write_pair(out_dir: Path, name: str, html: str, data: str) -> tuple[Path, Path]:
    """Both files are rendered before either is written; then they change together."""
    files = {f"{name}.json": data + "\n", f"{name}.html": html}
    json_path, html_path = write_unit(out_dir, files)
    return html_path, json_path
