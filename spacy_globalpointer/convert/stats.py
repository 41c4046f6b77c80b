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
    _print_relations_and_events(stats, msg)
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
        show = msg.info if kind in _INFO_EXAMPLES or kind.endswith("expanded") else msg.warn
        show(f"Examples: {kind}")
        for example in examples:
            msg.text(f"  {example}")
    if not stats.docs_written:
        msg.warn("No docs were written: check the input file, --format and --start/--end")
    elif stats.output_path:
        msg.good(f"Wrote {stats.docs_written} docs to {stats.output_path}")


_INFO_EXAMPLES = ("nested", "ambiguous string: nearest occurrences paired")


def _print_relations_and_events(stats: ConversionStats, msg: Printer) -> None:
    """Relations per predicate, events per type, arguments per role, skips and changes."""
    parts = [
        ("relations", stats.relations_read, stats.relations_written, stats.relations_skipped_total),
        ("events", stats.events_read, stats.events_written, stats.events_skipped_total),
        ("event arguments", stats.arguments_read, stats.arguments_written, stats.arguments_skipped_total),
    ]
    if not any(read for _, read, _, _ in parts):
        return
    rows = [("", "read", "written", "skipped")] + [p for p in parts if p[1]]
    msg.table(rows[1:], header=rows[0], aligns=("l", "r", "r", "r"), widths=_widths(rows))
    tables = [
        ("Relations written by predicate:", ("predicate", "relations"), stats.relations_by_label),
        ("Relations skipped by reason:", ("reason", "relations"), stats.relations_skipped),
        ("Events written by type:", ("event type", "events"), stats.events_by_label),
        ("Events skipped by reason:", ("reason", "events"), stats.events_skipped),
        ("Event arguments written by role:", ("role", "arguments"), stats.arguments_by_role),
        ("Event arguments skipped by reason:", ("reason", "arguments"), stats.arguments_skipped),
        ("Changes (made while reading or aligning):", ("change", "count"), stats.changes),
    ]
    for title, header, counts in tables:
        if counts:
            msg.text(title)
            rows = [header] + counts.most_common()
            msg.table(rows[1:], header=header, aligns=("l", "r"), widths=_widths(rows))


def _widths(rows: List[Tuple[Any, ...]]) -> Tuple[int, ...]:
    return tuple(max(len(str(row[i])) for row in rows) for i in range(len(rows[0])))

