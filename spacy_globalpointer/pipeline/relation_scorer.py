"""Scores for relations: strict and boundary micro P/R/F and per predicate.

`relations_micro_*` counts a predicted triple as correct when the head span
and its label, the predicate, and the tail span and its label all match a gold
triple exactly; `relations_boundary_*` ignores the entity labels (spans and
predicate only), as SpERT reports both. Predicted spans are mapped onto the
reference tokens through the Example's alignment, as spaCy's `Scorer` does for
spans, so differently tokenised predictions are scored correctly (a predicted
span that does not align counts as wrong).
"""
from typing import Any, Dict, Iterable, Set, Tuple

from spacy.scorer import PRFScore
from spacy.training import Example

from ..extensions import SpanRecord, install_extensions, relation_records
from .matching import count_matches, to_reference

Triple = Tuple[SpanRecord, str, SpanRecord]


def score_relations(examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
    """relations_micro_p/r/f, relations_boundary_p/r/f and relations_per_type."""
    install_extensions()
    strict, boundary = PRFScore(), PRFScore()
    per_type: Dict[str, PRFScore] = {}
    for eg in examples:
        gold = {(h, p, t) for h, p, t, _ in relation_records(eg.reference)}
        predicted: Set[Triple] = set()
        for head, predicate, tail, _ in relation_records(eg.predicted):
            predicted.add((_in_reference(eg, head), predicate, _in_reference(eg, tail)))
        count_matches(strict, predicted, gold)
        count_matches(boundary, {_unlabelled(t) for t in predicted}, {_unlabelled(t) for t in gold})
        for predicate in {p for _, p, _ in gold | predicted}:
            count_matches(
                per_type.setdefault(predicate, PRFScore()),
                {t for t in predicted if t[1] == predicate},
                {t for t in gold if t[1] == predicate},
            )
    return {
        "relations_micro_p": strict.precision,
        "relations_micro_r": strict.recall,
        "relations_micro_f": strict.fscore,
        "relations_boundary_p": boundary.precision,
        "relations_boundary_r": boundary.recall,
        "relations_boundary_f": boundary.fscore,
        "relations_per_type": {p: score.to_dict() for p, score in sorted(per_type.items())},
    }


def _unlabelled(triple: Triple) -> Tuple[Tuple[int, int], str, Tuple[int, int]]:
    head, predicate, tail = triple
    return (head[0], head[1]), predicate, (tail[0], tail[1])


def _in_reference(eg: Example, record: SpanRecord) -> SpanRecord:
    """A predicted span in reference tokens. One that does not align keeps a
    negative stand-in of its own predicted offsets: it matches no gold span, so
    its triple is a false positive (never dropped, never merged with another)."""
    aligned = to_reference(eg, record)
    if aligned is None:
        return (-1 - record[0], -1 - record[1], record[2])
    return (aligned[0], aligned[1], record[2])
