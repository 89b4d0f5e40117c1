"""HTML reports: one caption's explanation, an embedder comparison, and a batch index."""

from textig.report.compare import Comparison, LabelAgreement, compare, word_agreement
from textig.report.render import (
    IndexEntry,
    render_baseline_study,
    render_comparison,
    render_explanation,
    render_index,
    slugify,
    write_baseline_study,
    write_comparison,
    write_explanation,
    write_index,
)

__all__ = [
    "Comparison",
    "IndexEntry",
    "LabelAgreement",
    "compare",
    "render_baseline_study",
    "render_comparison",
    "render_explanation",
    "render_index",
    "slugify",
    "word_agreement",
    "write_baseline_study",
    "write_comparison",
    "write_explanation",
    "write_index",
]
