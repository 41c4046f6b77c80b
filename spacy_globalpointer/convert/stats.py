"""Printing a ConversionStats summary."""
from typing import Any, List, Optional, Tuple

from wasabi import Printer

from .records import ConversionStats


def print_stats(stats: ConversionStats, msg: Optional[Printer] = None) -> None:
    """Print a summary with wasabi: counts, labels, skips and examples of each."""
    msg = msg or Printer()
    msg.divider(f"Conversion summary: {stats.input_path}")
    rows = [
        ("format", stats.format),
        ("records read", stats.records_read),
        ("records outside --start/--end", stats.records_out_of_range),
        ("empty texts skipped", stats.empty_texts),
        ("unlabelled records (no annotation key)", stats.unlabelled_records),
        ("docs written", stats.docs_written),
        ("tokens", stats.tokens),
        ("spans read", stats.spans_read),
        ("spans written", stats.spans_written),
        ("spans expanded", stats.spans_expanded),
        ("spans skipped", stats.spans_skipped_total),
        ("entity text mismatches (kept by offsets)", stats.text_mismatches),
        ("BIO tags repaired", stats.bio_repaired),
        ("nested span pairs", stats.nested_pairs),
        ("crossing span pairs", stats.crossing_pairs),
        ("same span, two labels", stats.same_extent_pairs),
        ("docs with nested/overlapping spans", stats.docs_with_overlap),
        ("doc.ents written", stats.ents_written),
        ("spans left out of doc.ents", stats.ents_left_out),
    ]
    msg.table(rows, aligns=("l", "r"), widths=_widths(rows))
    if stats.spans_by_label:
        msg.text("Spans written by label:")
        rows = [("label", "spans")] + stats.spans_by_label.most_common()
        msg.table(rows[1:], header=rows[0], aligns=("l", "r"), widths=_widths(rows))
    if stats.spans_skipped:
        msg.text("Spans skipped by reason:")
        rows = [("reason", "spans")] + stats.spans_skipped.most_common()
        msg.table(rows[1:], header=rows[0], aligns=("l", "r"), widths=_widths(rows))
    if stats.ignored_keys:
        keys = ", ".join(f"{k} ({n} records)" for k, n in stats.ignored_keys.most_common())
        msg.info(f"Ignored keys: {keys}")
    if stats.unlabelled_records:
        msg.warn(
            f"{stats.unlabelled_records} records have no annotations key (unlabelled data, "
            "e.g. a test split): written as docs without spans"
        )
    for warning in stats.warnings:
        msg.warn(warning)
    for kind, examples in stats.examples.items():
        show = msg.info if kind in ("nested", "expanded") else msg.warn
        show(f"Examples: {kind}")
        for example in examples:
            msg.text(f"  {example}")
    if not stats.docs_written:
        msg.warn("No docs were written: check the input file, --format and --start/--end")
    elif stats.output_path:
        msg.good(f"Wrote {stats.docs_written} docs to {stats.output_path}")


def _widths(rows: List[Tuple[Any, ...]]) -> Tuple[int, ...]:
    return tuple(max(len(str(row[i])) for row in rows) for i in range(len(rows[0])))

