"""Render explanations, comparisons and report indexes to self-contained HTML files.

Views (segments, chart geometry) are computed here so the templates only lay them out. Every
file is written atomically; a report's HTML and JSON are written together or not at all.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textig import __version__
from textig._utils import atomic_write_text
from textig.baseline_study import BaselineStudy
from textig.explanation import Explanation, LabelExplanation
from textig.report.colors import NEGATIVE, POSITIVE, caption_segments
from textig.report.compare import Comparison
from textig.report.svg import bar_chart
from textig.report.templates import environment


@dataclass(frozen=True)
class IndexEntry:
    """One line of a batch index: a written report, or a caption that could not be explained."""

    name: str
    caption: str
    caption_id: str | None = None
    labels: tuple[str, ...] = ()
    true_labels: tuple[str, ...] = ()
    error: str | None = None

    @property
    def href(self) -> str:
        """Relative link to the report (reports sit beside the index)."""
        return f"{self.name}.html"


def slugify(text: str, limit: int = 48) -> str:
    """A file-name-safe name: ASCII letters/digits joined by '-' (never empty)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = "-".join(words)[:limit].strip("-")
    return slug or "caption"


def _label_view(label: LabelExplanation, text: str) -> dict[str, Any]:
    limit = max((abs(v) for _, v in [*label.features, *label.gradient_x_input]), default=0.0)
    return {
        "item": label,
        "segments": caption_segments(text, label.words),
        "ig_chart": bar_chart(label.features, limit),
        "gxi_chart": bar_chart(label.gradient_x_input, limit),
        "strongest": label.features[0] if label.features else None,
    }


def explanation_view(explanation: Explanation) -> dict[str, Any]:
    """Template context of one explanation."""
    labels = [_label_view(label, explanation.caption) for label in explanation.labels]
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
    shared = [
        {
            "label": label.label,
            "agreement": agreement[label.label],
            "left": _label_view(label, comparison.left.caption),
            "right": _label_view(right[label.label], comparison.left.caption),
        }
        for label in comparison.left.labels
        if label.label in right
    ]
    return _render(
        "compare.html.j2",
        c=comparison,
        sides=[explanation_view(comparison.left), explanation_view(comparison.right)],
        shared=shared,
    )


def render_baseline_study(study: BaselineStudy) -> str:
    """One caption explained from several baselines: a row per label, a caption per baseline."""
    first = study.explanations[0]
    rows = []
    for row, label in enumerate(first.labels):
        views = [
            {**_label_view(e.labels[row], study.caption), "baseline": e.baseline["kind"]}
            for e in study.explanations
        ]
        rows.append(
            {"label": label.label, "score": label.score, "true": label.true, "views": views}
        )
    notes = list(dict.fromkeys(n for e in study.explanations for n in e.notes))
    total = sum(e.timings.get("total", 0.0) for e in study.explanations)
    return _render("baselines.html.j2", s=study, rows=rows, notes=notes, total_time=total)


def render_index(entries: Sequence[IndexEntry], title: str) -> str:
    """An index page linking every report of a batch."""
    return _render("index.html.j2", entries=list(entries), title=title)


def write_explanation(explanation: Explanation, out_dir: Path, name: str) -> tuple[Path, Path]:
    """Write ``out_dir/name.html`` and ``.json``; both are rendered before either is written."""
    html, data = render_explanation(explanation), explanation.to_json()
    return _write_pair(out_dir, name, html, data)


def write_comparison(comparison: Comparison, out_dir: Path, name: str) -> tuple[Path, Path]:
    """Write ``out_dir/name.html`` and ``.json`` of a comparison."""
    return _write_pair(out_dir, name, render_comparison(comparison), _json(comparison.to_dict()))


def write_baseline_study(study: BaselineStudy, out_dir: Path, name: str) -> tuple[Path, Path]:
    """Write ``out_dir/name.html`` and ``.json`` of a baseline study."""
    return _write_pair(out_dir, name, render_baseline_study(study), _json(study.to_dict()))


def write_index(entries: Sequence[IndexEntry], out_dir: Path, title: str) -> Path:
    """Write ``out_dir/index.html``."""
    path = Path(out_dir) / "index.html"
    atomic_write_text(path, render_index(entries, title))
    return path


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)


def _write_pair(out_dir: Path, name: str, html: str, data: str) -> tuple[Path, Path]:
    html_path, json_path = Path(out_dir) / f"{name}.html", Path(out_dir) / f"{name}.json"
    atomic_write_text(json_path, data + "\n")
    atomic_write_text(html_path, html)
    return html_path, json_path
