"""`phee` (PHEE 1.0, pharmacovigilance events): JSON lines `{"id", "context",
"annotations": [{"events": [{"event_type", "Trigger", "Subject", "Treatment",
"Effect", ...}]}]}`.

An argument node holds `text` and `start`, each a list of mentions, each mention a
list of fragments (more than one: a discontinuous mention), with character offsets
into `context`. How they become events (`doc._.events`, as for `duee`):
- the event's type is `event_type`; its trigger the one `Trigger` fragment (an
  event whose trigger is not exactly one contiguous mention is skipped, counted);
- a main argument (`Subject`, `Treatment`, `Effect`) is an argument with that role;
- a sub-argument is an argument of its own, its role the dotted path
  (`Subject.Age`, `Treatment.Drug`, `Treatment.Disorder`), so the two `Disorder`s
  stay apart; the drugs of a `Treatment.Combination` sub-event are
  `Treatment.Combination.Drug`, and its trigger ("and") is skipped, counted;
- each fragment of a discontinuous mention is an argument with the mention's role
  (counted under changes);
- attribute cues (`Speculated`, `Negated`, `Severity`) are not arguments: skipped,
  counted.
A fragment whose text differs from `context` at its offset is kept by its offset
and counted as an entity text mismatch.
"""
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Tuple

from ..parsing import as_dict, check_entity_text, check_offsets, get_list, get_string, is_int, note_ignored_keys, read_json_lines
from ..records import (
    ARGUMENT,
    EVENT,
    SKIP_ATTRIBUTE,
    SKIP_COMBINATION_TRIGGER,
    SKIP_EVENT_SKIPPED,
    SKIP_TRIGGER_SHAPE,
    ConversionError,
    ConversionStats,
    RawEvent,
    RawRecord,
)
from .base import Reader

if TYPE_CHECKING:
    from ..options import ConvertOptions

ATTRIBUTES = ("Speculated", "Negated", "Severity")
# Keys of an argument node that are not sub-arguments.
_NODE_KEYS = ("text", "start", "entity_id", "value")
# Keys of an event that are neither its trigger nor arguments.
_EVENT_KEYS = ("event_id", "event_type")

Fragment = Tuple[int, int]


def read_phee(path: Path, stats: ConversionStats, options: "ConvertOptions") -> Iterator[RawRecord]:
    for index, where, obj in read_json_lines(path):
        text = get_string(obj, "context", where, "record")
        note_ignored_keys(obj, ("id", "context", "annotations", "is_mult_event"), stats)
        if "id" in obj:
            where = f"{where} ({obj['id']})"
        record = RawRecord(index, where, text=text, labelled="annotations" in obj)
        record.spans_annotated = False
        for i, annotation in enumerate(get_list(obj, "annotations", where)):
            annotation = as_dict(annotation, where, f"annotations[{i}]")
            for j, event in enumerate(get_list(annotation, "events", where)):
                desc = f"annotations[{i}].events[{j}]"
                _read_event(as_dict(event, where, desc), text, record, desc, stats)
        yield record


def _read_event(
    event: Dict[str, Any], text: str, record: RawRecord, desc: str, stats: ConversionStats
) -> None:
    where = record.where
    event_type = get_string(event, "event_type", where, desc)
    arguments: List[Tuple[str, int, int]] = []
    skipped: List[Tuple[str, str, str]] = []
    for key, value in event.items():
        if key in _EVENT_KEYS or key == "Trigger":
            continue
        node_desc = f"{desc}.{key}"
        if key in ATTRIBUTES:
            for start, end in _fragments(as_dict(value, where, node_desc), text, key, where, node_desc, stats):
                skipped.append((ARGUMENT, SKIP_ATTRIBUTE, f"{event_type}: {key} {text[start:end]!r} ({where})"))
            continue
        _read_argument(value, key, event_type, text, where, node_desc, arguments, skipped, stats)
    shown = f"{event_type} ({where})"
    trigger: Optional[Fragment] = None
    if "Trigger" in event:
        node = as_dict(event["Trigger"], where, f"{desc}.Trigger")
        mentions = _mentions(node, text, event_type, where, f"{desc}.Trigger", stats)
        if len(mentions) != 1 or len(mentions[0]) != 1:
            record.skipped.append((EVENT, SKIP_TRIGGER_SHAPE, f"{shown}: {node.get('text')!r}"))
            record.skipped.extend((ARGUMENT, SKIP_EVENT_SKIPPED, shown) for _ in arguments)
            record.skipped.extend(skipped)
            return
        trigger = mentions[0][0]
    record.events.append(RawEvent(event_type, trigger, arguments))
    record.skipped.extend(skipped)


def _read_argument(
    value: Any,
    role: str,
    event_type: str,
    text: str,
    where: str,
    desc: str,
    arguments: List[Tuple[str, int, int]],
    skipped: List[Tuple[str, str, str]],
    stats: ConversionStats,
) -> None:
    """A (main or sub-) argument node: its fragments, then its sub-arguments."""
    node = as_dict(value, where, desc)
    if "text" in node:
        for mention in _mentions(node, text, role, where, desc, stats):
            if len(mention) > 1:
                pieces = " / ".join(repr(text[s:e]) for s, e in mention)
                stats.change(
                    "discontinuous mention: one argument per fragment",
                    f"{event_type}: {role} {pieces} ({where})",
                )
            arguments.extend((role, start, end) for start, end in mention)
    for key, child in node.items():
        if key in _NODE_KEYS:
            continue
        if isinstance(child, dict):
            _read_argument(child, f"{role}.{key}", event_type, text, where, f"{desc}.{key}", arguments, skipped, stats)
        elif isinstance(child, list):  # sub-events, e.g. Treatment.Combination
            for i, sub in enumerate(child):
                sub_desc = f"{desc}.{key}[{i}]"
                for sub_key, sub_value in as_dict(sub, where, sub_desc).items():
                    sub_role = f"{role}.{key}.{sub_key}"
                    if sub_key == "Trigger":
                        trigger = as_dict(sub_value, where, f"{sub_desc}.Trigger")
                        for start, end in _fragments(trigger, text, sub_role, where, sub_desc, stats):
                            skipped.append(
                                (ARGUMENT, SKIP_COMBINATION_TRIGGER, f"{event_type}: {sub_role} {text[start:end]!r} ({where})")
                            )
                    elif isinstance(sub_value, dict):
                        _read_argument(
                            sub_value, sub_role, event_type, text, where, f"{sub_desc}.{sub_key}", arguments, skipped, stats
                        )
        else:
            raise ConversionError(f"{where}: {desc}.{key}: expected an argument object or a list of sub-events")


def _mentions(
    node: Dict[str, Any], text: str, label: str, where: str, desc: str, stats: ConversionStats
) -> List[List[Fragment]]:
    """[(start, end) per fragment] per mention, end exclusive, checked against `text`."""
    texts, starts = node.get("text"), node.get("start")
    if not isinstance(texts, list) or not isinstance(starts, list) or len(texts) != len(starts):
        raise ConversionError(f"{where}: {desc}: 'text' and 'start' must be lists of the same length")
    mentions = []
    for i, (pieces, offsets) in enumerate(zip(texts, starts)):
        if (
            not isinstance(pieces, list)
            or not isinstance(offsets, list)
            or len(pieces) != len(offsets)
            or not pieces
            or not all(isinstance(p, str) and p for p in pieces)
            or not all(is_int(o) for o in offsets)
        ):
            raise ConversionError(
                f"{where}: {desc}: mention {i}: expected a list of fragment strings and one of their "
                f"integer starts, got text={pieces!r}, start={offsets!r}"
            )
        mention = []
        for piece, start in zip(pieces, offsets):
            end = start + len(piece)
            check_offsets(start, end, text, where, f"{desc} {piece!r} (start={start})")
            check_entity_text(text, start, end, piece, label, where, stats)
            mention.append((start, end))
        mentions.append(mention)
    return mentions


def _fragments(
    node: Dict[str, Any], text: str, label: str, where: str, desc: str, stats: ConversionStats
) -> List[Fragment]:
    return [fragment for mention in _mentions(node, text, label, where, desc, stats) for fragment in mention]


READER = Reader("phee", read_phee, events=True)
