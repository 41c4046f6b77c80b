"""Span records across an Example's two docs, and counting matches for scores.

Gold annotations live on the reference doc, predictions on the predicted doc,
and the two may be tokenised differently. The components map gold spans onto
the predicted tokens to place training cells; the scorers map predicted spans
onto the reference tokens to compare them, as spaCy's `Scorer` does.
"""
import warnings
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from spacy.scorer import PRFScore
from spacy.tokens import Span
from spacy.training import Example

from ..errors import Warnings

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


def warn_about_gold(
    examples: List[Example], gold_labels: Dict[str, int], known: Optional[Sequence[str]], what: str, kind: str
) -> None:
    """W011 where the evaluation data cannot measure the model: no gold at all
    (another pipeline's data, or a DocBin saved without store_user_data=True),
    or gold labels the component was never trained on (always missed)."""
    if not examples:
        return
    if not gold_labels:
        hint = (
            f"Check that the data holds doc._.{what} (DocBins need `store_user_data=True`) and "
            "that it is the data this pipeline was trained for."
        )
        warnings.warn(Warnings.W011.format(problem=f"no gold {what} in {len(examples)} docs", hint=hint))
        return
    if known:
        unseen = {label: n for label, n in gold_labels.items() if label not in set(known)}
        if unseen:
            listed = ", ".join(f"{label!r} ({n})" for label, n in sorted(unseen.items()))
            hint = "They count as missed: train on data that has them, or leave them out of the evaluation."
            warnings.warn(
                Warnings.W011.format(
                    problem=f"gold {kind} the model was never trained on: {listed}", hint=hint
                )
            )
