"""Span records across an Example's two docs, and counting matches for scores.

Gold annotations live on the reference doc, predictions on the predicted doc,
and the two may be tokenised differently. The components map gold spans onto
the predicted tokens to place training cells; the scorers map predicted spans
onto the reference tokens to compare them, as spaCy's `Scorer` does.
"""
from typing import Any, Optional, Set, Tuple

from spacy.scorer import PRFScore
from spacy.tokens import Span
from spacy.training import Example

SpanRecord = Tuple[int, int, str]


def to_predicted(eg: Example, record: SpanRecord) -> Optional[Tuple[int, int]]:
    """A reference span (start, end, label) in the predicted doc's tokens, or None."""
    start, end, label = record
    aligned = eg.get_aligned_spans_y2x([Span(eg.reference, start, end, label=label)], allow_overlap=True)
    return (aligned[0].start, aligned[0].end) if len(aligned) == 1 else None


def to_reference(eg: Example, record: SpanRecord) -> Optional[Tuple[int, int]]:
    """A predicted span (start, end, label) in the reference doc's tokens, or None."""
    start, end, label = record
    aligned = eg.get_aligned_spans_x2y([Span(eg.predicted, start, end, label=label)], allow_overlap=True)
    return (aligned[0].start, aligned[0].end) if len(aligned) == 1 else None


def count_matches(score: PRFScore, predicted: Set[Any], gold: Set[Any]) -> None:
    """Add one doc's true positives, false positives and false negatives."""
    score.tp += len(predicted & gold)
    score.fp += len(predicted - gold)
    score.fn += len(gold - predicted)
