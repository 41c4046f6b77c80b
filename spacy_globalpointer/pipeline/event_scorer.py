"""Scores for events: the figures event-extraction papers report.

- trigger identification (`events_trigger_id_*`): the trigger span matches;
- trigger classification (`events_trigger_cls_*`): span and event type match;
- argument identification (`events_argument_id_*`): event type and span match;
- argument classification (`events_argument_cls_*`): event type, role and span;
- event exact match (`events_p/r/f`): type, trigger and every argument;
- co-event argument pairs (`events_coevent_pair_*`): every pair of (role, span)
  members of one event (trigger included), with the event type: whether the
  links put the right arguments together, which exact match hides when one
  argument is missing;
- `events_per_type`: event exact match per event type.

Predicted spans are mapped onto the reference tokens through the Example's
alignment (as spaCy's `Scorer` does for spans); one that does not align can
match nothing.
"""
from typing import Any, Dict, FrozenSet, Iterable, Optional, Set, Tuple

from spacy.scorer import PRFScore
from spacy.training import Example

from ..extensions import EventRecord, event_records, install_extensions
from .event_structure import TRIGGER_ROLE, event_label, predictable_labels
from .matching import count_matches, to_reference, warn_about_gold

Tokens = Tuple[int, int]


def score_events(examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
    install_extensions()
    examples = list(examples)
    kinds = ("trigger_id", "trigger_cls", "argument_id", "argument_cls", "event", "coevent_pair")
    totals = {kind: PRFScore() for kind in kinds}
    per_type: Dict[str, PRFScore] = {}
    gold_labels: Dict[str, int] = {}
    for eg in examples:
        records = event_records(eg.reference)
        for event_type, trigger, arguments, _ in records:
            roles = ([TRIGGER_ROLE] if trigger is not None else []) + [role for role, _ in arguments]
            for role in roles:
                label = event_label(event_type, role)
                gold_labels[label] = gold_labels.get(label, 0) + 1
        gold = _facts(records, None)
        predicted = _facts(event_records(eg.predicted), eg)
        for kind in kinds:
            count_matches(totals[kind], predicted[kind], gold[kind])
        for event_type in {e[0] for e in gold["event"] | predicted["event"]}:
            count_matches(
                per_type.setdefault(event_type, PRFScore()),
                {e for e in predicted["event"] if e[0] == event_type},
                {e for e in gold["event"] if e[0] == event_type},
            )
    known = predictable_labels(kwargs.get("labels"), kwargs.get("argument_labels", "typed"), kwargs.get("event_roles"))
    warn_about_gold(examples, gold_labels, known, "events", "(event type, role) labels")
    scores: Dict[str, Any] = {}
    for kind in kinds:
        prefix = "events" if kind == "event" else f"events_{kind}"
        scores[f"{prefix}_p"] = totals[kind].precision
        scores[f"{prefix}_r"] = totals[kind].recall
        scores[f"{prefix}_f"] = totals[kind].fscore
    scores["events_per_type"] = {t: s.to_dict() for t, s in sorted(per_type.items())}
    return scores


def coevent_pairs(records: Iterable[EventRecord], eg: Optional[Example] = None) -> Set[Any]:
    """The co-event argument pairs of event records, as `events_coevent_pair_*`
    counts them: gold records (eg None) in their own tokens, predicted ones
    mapped onto the reference tokens of `eg`."""
    return _facts(records, eg)["coevent_pair"]


def _facts(records: Iterable[EventRecord], eg: Optional[Example]) -> Dict[str, Set[Any]]:
    """The sets each score compares; predicted spans mapped to reference tokens."""
    facts: Dict[str, Set[Any]] = {
        k: set() for k in ("trigger_id", "trigger_cls", "argument_id", "argument_cls", "event", "coevent_pair")
    }
    for event_type, trigger, arguments, _ in records:
        trigger_tokens = None if trigger is None else _tokens(eg, trigger)
        if trigger_tokens is not None:
            facts["trigger_id"].add(trigger_tokens)
            facts["trigger_cls"].add((event_type, trigger_tokens))
        members: Set[Tuple[str, Optional[Tokens]]] = set()
        for role, span in arguments:
            tokens = _tokens(eg, span)
            members.add((role, tokens))
            if tokens is not None:
                facts["argument_id"].add((event_type, tokens))
                facts["argument_cls"].add((event_type, role, tokens))
        event: Tuple[str, Optional[Tokens], FrozenSet[Any]] = (event_type, trigger_tokens, frozenset(members))
        facts["event"].add(event)
        together = sorted(members | ({(TRIGGER_ROLE, trigger_tokens)} if trigger_tokens is not None else set()), key=str)
        for k, a in enumerate(together):
            for b in together[k + 1 :]:
                facts["coevent_pair"].add((event_type, frozenset((a, b))))
    return facts


def _tokens(eg: Optional[Example], record: Tuple[int, int, str]) -> Optional[Tokens]:
    """Gold spans as they are; predicted ones in reference tokens. One that does not
    align keeps a negative stand-in of its own offsets: it matches nothing, so it
    counts as a false positive instead of being left out."""
    if eg is None:
        return (record[0], record[1])
    aligned = to_reference(eg, record)
    return aligned if aligned is not None else (-1 - record[0], -1 - record[1])
