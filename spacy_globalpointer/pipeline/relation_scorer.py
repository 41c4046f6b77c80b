"""Scores for relations: strict and boundary micro P/R/F and per predicate.

`relations_micro_*` counts a predicted triple as correct when the head span
and its label, the predicate, and the tail span and its label all match a gold
triple exactly; `relations_boundary_*` ignores the entity labels (spans and
predicate only), as SpERT reports both. Predicted spans are mapped onto the
reference tokens through the Example's alignment, as spaCy's `Scorer` does for
spans, so differently tokenised predictions are scored correctly (a predicted
span that does not align counts as wrong).
"""
import warnings
from collections import Counter
from typing import Any, Dict, Iterable, List, Set, Tuple

from spacy.scorer import PRFScore
from spacy.training import Example

from ..errors import Warnings
from ..extensions import SpanRecord, install_extensions, relation_records
from .linking import LabelTriples, label_triples_of
from .matching import count_matches, to_reference, warn_about_gold

Triple = Tuple[SpanRecord, str, SpanRecord]


def score_relations(examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
    """relations_micro_p/r/f, relations_boundary_p/r/f and relations_per_type."""
    install_extensions()
    examples = list(examples)
    strict, boundary = PRFScore(), PRFScore()
    per_type: Dict[str, PRFScore] = {}
    gold_labels: Dict[str, int] = {}
    for eg in examples:
        gold = {(h, p, t) for h, p, t, _ in relation_records(eg.reference)}
        for _, predicate, _ in gold:
            gold_labels[predicate] = gold_labels.get(predicate, 0) + 1
        predicted: Set[Triple] = set()
        # One alignment per distinct span: an untrained model predicts up to
        # spans^2 x predicates triples over the same few spans.
        aligned: Dict[SpanRecord, SpanRecord] = {}
        for head, predicate, tail, _ in relation_records(eg.predicted):
            for record in (head, tail):
                if record not in aligned:
                    aligned[record] = _in_reference(eg, record)
            predicted.add((aligned[head], predicate, aligned[tail]))
        count_matches(strict, predicted, gold)
        count_matches(boundary, {_unlabelled(t) for t in predicted}, {_unlabelled(t) for t in gold})
        predicted_by: Dict[str, Set[Triple]] = {}
        gold_by: Dict[str, Set[Triple]] = {}
        for triples, by in ((predicted, predicted_by), (gold, gold_by)):
            for triple in triples:
                by.setdefault(triple[1], set()).add(triple)
        for predicate in set(predicted_by) | set(gold_by):
            count_matches(
                per_type.setdefault(predicate, PRFScore()),
                predicted_by.get(predicate, set()),
                gold_by.get(predicate, set()),
            )
    warn_about_gold(examples, gold_labels, kwargs.get("labels"), "relations", "predicates")
    if kwargs.get("label_triples") in ("seen", "typed") and kwargs.get("seen_label_triples") and kwargs.get("labels"):
        _warn_unseen_label_triples(examples, LabelTriples(kwargs["seen_label_triples"], kwargs["labels"]))
    return {
        "relations_micro_p": strict.precision,
        "relations_micro_r": strict.recall,
        "relations_micro_f": strict.fscore,
        "relations_boundary_p": boundary.precision,
        "relations_boundary_r": boundary.recall,
        "relations_boundary_f": boundary.fscore,
        "relations_per_type": {p: score.to_dict() for p, score in sorted(per_type.items())},
    }


def _warn_unseen_label_triples(examples: List[Example], triples: LabelTriples) -> None:
    """W011 where gold relations have a (head label, predicate, tail label)
    the training data never had: label_triples = "seen" or "typed" never predicts them."""
    unseen: Counter = Counter()
    total = 0
    for eg in examples:
        for head, predicate, tail in label_triples_of(relation_records(eg.reference)):
            total += 1
            if not triples.allows(head, predicate, tail):
                unseen[(head, predicate, tail)] += 1
    if unseen:
        listed = ", ".join(f"{h} {p} {t} ({n})" for (h, p, t), n in unseen.most_common(5))
        more = f" and {len(unseen) - 5} more" if len(unseen) > 5 else ""
        problem = (
            f"{sum(unseen.values())} of {total} gold relations whose (head label, predicate, tail label) "
            f"never occurs in the training data: {listed}{more}"
        )
        hint = (
            'With label_triples = "seen" or "typed" the model never predicts them, so they count as missed: '
            'train on data that has them, or set label_triples = "any".'
        )
        warnings.warn(Warnings.W011.format(problem=problem, hint=hint))


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
