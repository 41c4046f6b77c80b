"""Relations and events on the Doc: immutable records, stored as plain data.

`doc._.relations` and `doc._.events` read and write lists of `Relation` and
`Event` records. What the Doc keeps is plain data in `doc.user_data` (token
offsets, labels and scores as ints, strings and floats), never Span objects, so
the annotations survive `DocBin(store_user_data=True)`, `Doc.to_bytes`,
pickling, `nlp.pipe(n_process=2)` and `spacy.load`. Spans are rebuilt by the
getters. Entities are keyed by (start, end, label), never by start token alone,
so nested entities that share a start never collide.
"""
from dataclasses import dataclass
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span

from .errors import Errors

RELATIONS_ATTR = "relations"
EVENTS_ATTR = "events"
# Keys of doc.user_data. Plain strings: msgpack keeps them as they are.
RELATIONS_KEY = "spacy_globalpointer.relations"
EVENTS_KEY = "spacy_globalpointer.events"

# Plain forms (what user_data holds): a span is (start, end, label), ends exclusive.
SpanRecord = Tuple[int, int, str]
RelationRecord = Tuple[SpanRecord, str, SpanRecord, Optional[float]]
EventRecord = Tuple[str, Optional[SpanRecord], Tuple[Tuple[str, SpanRecord], ...], Optional[float]]


@dataclass(frozen=True)
class Relation:
    """A directed relation `head --label--> tail` between two spans of one Doc.

    head (Span): the subject span (its label is the entity type).
    label (str): the predicate.
    tail (Span): the object span.
    score (Optional[float]): the model's probability; None for gold relations.
    """

    head: Span
    label: str
    tail: Span
    score: Optional[float] = None


@dataclass(frozen=True)
class Event:
    """An event: its type, its trigger and its (role, span) arguments.

    label (str): the event type.
    trigger (Optional[Span]): the trigger span (None only in gold data that
        lacks one; predicted events always have a trigger).
    arguments (Tuple[Tuple[str, Span], ...]): (role, span) pairs; spans may
        overlap, nest, and recur in other events.
    score (Optional[float]): the model's probability; None for gold events.
    """

    label: str
    trigger: Optional[Span]
    arguments: Tuple[Tuple[str, Span], ...] = ()
    score: Optional[float] = None


def install_extensions() -> None:
    """Register `Doc._.relations` and `Doc._.events` once (idempotent).

    Another package's extension of the same name is never overwritten: that
    raises E013 instead, naming the clash.
    """
    for attr, getter, setter in (
        (RELATIONS_ATTR, get_relations, set_relations),
        (EVENTS_ATTR, get_events, set_events),
    ):
        if Doc.has_extension(attr):
            _, _, current_getter, _ = Doc.get_extension(attr)
            if not _is_ours(current_getter, getter):
                raise ValueError(Errors.E013.format(attr=attr, getter=current_getter))
            continue
        Doc.set_extension(attr, getter=getter, setter=setter)


def _is_ours(found: Optional[Callable], ours: Callable) -> bool:
    """Same function, or the same function from a reloaded copy of this module."""
    if found is None:
        return False
    return found is ours or (
        getattr(found, "__module__", None) == ours.__module__
        and getattr(found, "__qualname__", None) == ours.__qualname__
    )


# ---------------------------------------------------------------------------
# Relations


def get_relations(doc: Doc) -> List[Relation]:
    """The relations stored on the Doc, as records with Span objects."""
    return [
        Relation(
            head=_span(doc, head), label=str(label), tail=_span(doc, tail),
            score=None if score is None else float(score),
        )
        for head, label, tail, score in relation_records(doc)
    ]


def set_relations(doc: Doc, relations: Optional[Iterable[Relation]]) -> None:
    """Store relations (None or [] clears them). Spans must belong to `doc`."""
    records = []
    for relation in relations or []:
        if not isinstance(relation, Relation):
            raise TypeError(Errors.E014.format(kind="Relation", value=relation))
        head = _span_record(doc, relation.head, "relation head")
        tail = _span_record(doc, relation.tail, "relation tail")
        if not isinstance(relation.label, str) or not relation.label:
            raise ValueError(Errors.E009.format(label=relation.label))
        records.append(_plain_relation(head, relation.label, tail, relation.score))
    set_relation_records(doc, records)


def relation_records(doc: Doc) -> List[RelationRecord]:
    """The stored relations as plain tuples ((start, end, label), predicate, (...), score)."""
    return [
        (_as_span_record(head), str(label), _as_span_record(tail), score)
        for head, label, tail, score in doc.user_data.get(RELATIONS_KEY, ())
    ]


def set_relation_records(doc: Doc, records: Sequence[RelationRecord]) -> None:
    """Store plain relation tuples (what converters and the component write)."""
    plain = [_plain_relation(_as_span_record(h), str(p), _as_span_record(t), s) for h, p, t, s in records]
    for head, _, tail, _ in plain:
        _check_bounds(doc, head, "relation head")
        _check_bounds(doc, tail, "relation tail")
    if plain:
        doc.user_data[RELATIONS_KEY] = plain
    else:
        doc.user_data.pop(RELATIONS_KEY, None)


def _plain_relation(
    head: SpanRecord, label: str, tail: SpanRecord, score: Optional[float]
) -> Any:
    return [list(head), label, list(tail), None if score is None else float(score)]


# ---------------------------------------------------------------------------
# Events


def get_events(doc: Doc) -> List[Event]:
    """The events stored on the Doc, as records with Span objects."""
    return [
        Event(
            label=label,
            trigger=None if trigger is None else _span(doc, trigger),
            arguments=tuple((role, _span(doc, span)) for role, span in arguments),
            score=score,
        )
        for label, trigger, arguments, score in event_records(doc)
    ]


def set_events(doc: Doc, events: Optional[Iterable[Event]]) -> None:
    """Store events (None or [] clears them). Spans must belong to `doc`."""
    records: List[EventRecord] = []
    for event in events or []:
        if not isinstance(event, Event):
            raise TypeError(Errors.E014.format(kind="Event", value=event))
        if not isinstance(event.label, str) or not event.label:
            raise ValueError(Errors.E009.format(label=event.label))
        trigger = None if event.trigger is None else _span_record(doc, event.trigger, "event trigger")
        arguments = []
        for argument in event.arguments:
            if not (isinstance(argument, (tuple, list)) and len(argument) == 2):
                raise TypeError(Errors.E015.format(value=argument))
            role, span = argument
            if not isinstance(role, str) or not role:
                raise ValueError(Errors.E009.format(label=role))
            arguments.append((role, _span_record(doc, span, f"argument '{role}'")))
        records.append((event.label, trigger, tuple(arguments), event.score))
    set_event_records(doc, records)


def event_records(doc: Doc) -> List[EventRecord]:
    """The stored events as plain tuples (type, trigger, ((role, span), ...), score)."""
    return [
        (
            str(label),
            None if trigger is None else _as_span_record(trigger),
            tuple((str(role), _as_span_record(span)) for role, span in arguments),
            None if score is None else float(score),
        )
        for label, trigger, arguments, score in doc.user_data.get(EVENTS_KEY, ())
    ]


def set_event_records(doc: Doc, records: Sequence[EventRecord]) -> None:
    """Store plain event tuples (what converters and the component write)."""
    plain = []
    for label, trigger, arguments, score in records:
        if trigger is not None:
            trigger = _as_span_record(trigger)
            _check_bounds(doc, trigger, "event trigger")
        args = []
        for role, span in arguments:
            span = _as_span_record(span)
            _check_bounds(doc, span, f"argument '{role}'")
            args.append([str(role), list(span)])
        plain.append([
            str(label),
            None if trigger is None else list(trigger),
            args,
            None if score is None else float(score),
        ])
    if plain:
        doc.user_data[EVENTS_KEY] = plain
    else:
        doc.user_data.pop(EVENTS_KEY, None)


# ---------------------------------------------------------------------------
# Spans <-> plain data


def _span(doc: Doc, record: SpanRecord) -> Span:
    start, end, label = record
    return Span(doc, start, end, label=label)


def _as_span_record(value: Sequence[Any]) -> SpanRecord:
    start, end, label = value
    return (int(start), int(end), str(label))


def _span_record(doc: Doc, span: Any, what: str) -> SpanRecord:
    if not isinstance(span, Span):
        raise TypeError(Errors.E016.format(what=what, value=span))
    if span.doc is not doc:
        raise ValueError(
            Errors.E017.format(what=what, text=span.text, doc=_doc_name(doc))
        )
    return (span.start, span.end, span.label_)


def _check_bounds(doc: Doc, record: SpanRecord, what: str) -> None:
    start, end, _ = record
    if not 0 <= start < end <= len(doc):
        raise ValueError(
            Errors.E018.format(what=what, start=start, end=end, n=len(doc), doc=_doc_name(doc))
        )


def _doc_name(doc: Doc, limit: int = 60) -> str:
    text = doc.text if len(doc.text) <= limit else doc.text[: limit - 3] + "..."
    return repr(text)
