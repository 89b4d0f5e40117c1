"""HTML reports: one caption's explanation, an embedder comparison, and a batch index."""

from textig.report.compare import Comparison, LabelAgreement, compare, word_agreement
from textig.report.files import check_name, report_name, slugify, write_unit
from textig.report.render import (
    IndexEntry,
    index_summary,
    render_baseline_study,
    render_comparison,
    render_explanation,
    render_index,
    write_baseline_study,
    write_comparison,
    write_explanation,
    write_index,
)

__all__ = [
    "Comparison",
    "IndexEntry",
    "LabelAgreement",
    "check_name",
    "compare",
    "index_summary",
    "render_baseline_study",
    "render_comparison",
    "render_explanation",
    "render_index",
    "report_name",
    "slugify",
    "word_agreement",
    "write_baseline_study",
    "write_comparison",
    "write_explanation",
    "write_index",
    "write_unit",
]
