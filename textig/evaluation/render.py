"""Files of a corpus comparison: per-caption reports (via ``textig.report``) and the summary."""

from __future__ import annotations

from pathlib import Path

from textig import __version__
from textig.explanation import Explanation
from textig.report import compare, report_name, write_comparison, write_explanation
from textig.report.colors import NEGATIVE, POSITIVE
from textig.report.templates import environment

COMPARE_DIR = "compare"


def write_caption_report(explanation: Explanation, out_dir: Path, caption_id: str) -> str:
    """Write one embedder's report of a caption; returns its path relative to ``out_dir``."""
    name = report_name(caption_id, explanation.caption)
    html, _ = write_explanation(explanation, Path(out_dir), name)
    return html.relative_to(Path(out_dir).resolve()).as_posix()


def write_caption_comparison(
    left: Explanation, right: Explanation, out_dir: Path, caption_id: str, figures: dict
) -> str:
    """Write the side-by-side report of a caption with its faithfulness figures; relative path."""
    comparison = compare(left, right, corpus=figures)
    name = report_name(caption_id, left.caption)
    html, _ = write_comparison(comparison, Path(out_dir) / COMPARE_DIR, name)
    return html.relative_to(Path(out_dir).resolve()).as_posix()


def render_summary(summary: dict) -> str:
    """The corpus summary page (``templates/corpus.html.j2``, shared report macros)."""
    colours = {"positive": f"rgb{POSITIVE}", "negative": f"rgb{NEGATIVE}"}
    template = environment().get_template("corpus.html.j2")
    return template.render(s=summary, colours=colours, version=__version__)
