"""One reader per input format, each yielding RawRecords and raising ConversionError."""
import json
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from .parsing import (
    as_dict,
    check_entity_text,
    check_offsets,
    find_all,
    get_string,
    get_int,
    get_label,
    get_list,
    get_text,
    is_int,
    note_ignored_keys,
    read_json_lines,
)
from .records import (
    ARGUMENT,
    EVENT,
    RELATION,
    SKIP_EVENT_SKIPPED,
    SKIP_NOT_FOUND,
    SKIP_UNKNOWN_ROLE,
    SKIP_UNKNOWN_TYPE,
    ConversionError,
    ConversionStats,
    RawEvent,
    RawRecord,
    RawRelation,
)

_BIO_PREFIXES = {"B": "B", "I": "I", "M": "I", "E": "E", "S": "S", "L": "E", "U": "S"}
_COLUMN_SEP = re.compile(r"[ \t]+")


def _read_offset_json_lines(
    path: Path,
    stats: ConversionStats,
    spans_field: str,
    label_fields: Tuple[str, ...],
    extra_fields: Tuple[str, ...] = (),
) -> Iterator[Tuple[Dict[str, Any], RawRecord]]:
    """JSON lines with character-offset spans (end exclusive): our jsonl and GENIA-style.
    Yields each object with its record, for the caller to read `extra_fields`."""
    for index, where, obj in read_json_lines(path):
        text = get_text(obj, where)
        note_ignored_keys(obj, ("text", spans_field) + extra_fields, stats)
        labelled = any(key in obj for key in (spans_field,) + extra_fields)
        record = RawRecord(index, where, text=text, labelled=labelled)
        record.spans_annotated = spans_field in obj or ("relations" in obj and "relations" in extra_fields)
        for i, span in enumerate(get_list(obj, spans_field, where)):
            desc = f"{spans_field}[{i}]"
            span = as_dict(span, where, desc)
            start = get_int(span, "start", where, desc)
            end = get_int(span, "end", where, desc)
            label = get_label(span, label_fields, where, desc)
            check_offsets(start, end, text, where, f"{desc} (start={start}, end={end})")
            record.spans.append((start, end, label))
        yield obj, record


def _read_jsonl(
    path: Path, stats: ConversionStats, relations: bool = False, events: bool = False
) -> Iterator[RawRecord]:
    """Our jsonl: `spans`; with `relations`, also `relations` ({"head", "tail",
    "label"}, head and tail index `spans`); with `events`, also `events` ({"label",
    "trigger": {"start", "end"}, "arguments": [{"role", "start", "end"}]}); all in
    character offsets. Keys not asked for are counted as ignored."""
    extra = (("relations",) if relations else ()) + (("events",) if events else ())
    records = _read_offset_json_lines(path, stats, "spans", ("label",), extra)
    for obj, record in records:
        where, text = record.where, record.text or ""
        for i, rel in enumerate(get_list(obj, "relations", where) if relations else []):
            desc = f"relations[{i}]"
            rel = as_dict(rel, where, desc)
            ends = []
            for role in ("head", "tail"):
                index = get_int(rel, role, where, desc)
                if not 0 <= index < len(record.spans):
                    raise ConversionError(
                        f"{where}: {desc}: '{role}' must index 'spans' "
                        f"(0-{len(record.spans) - 1}), got {index}"
                    )
                ends.append(record.spans[index])
            label = get_label(rel, ("label",), where, desc)
            record.relations.append(RawRelation(ends[0], label, ends[1]))
        for i, event in enumerate(get_list(obj, "events", where) if events else []):
            desc = f"events[{i}]"
            event = as_dict(event, where, desc)
            label = get_label(event, ("label",), where, desc)
            trigger = None
            if event.get("trigger") is not None:
                trig = as_dict(event["trigger"], where, f"{desc}.trigger")
                start = get_int(trig, "start", where, f"{desc}.trigger")
                end = get_int(trig, "end", where, f"{desc}.trigger")
                check_offsets(start, end, text, where, f"{desc}.trigger (start={start}, end={end})")
                trigger = (start, end)
            raw = RawEvent(label, trigger)
            for j, arg in enumerate(get_list(event, "arguments", where)):
                arg_desc = f"{desc}.arguments[{j}]"
                arg = as_dict(arg, where, arg_desc)
                role = get_label(arg, ("role",), where, arg_desc)
                start = get_int(arg, "start", where, arg_desc)
                end = get_int(arg, "end", where, arg_desc)
                check_offsets(start, end, text, where, f"{arg_desc} (start={start}, end={end})")
                raw.arguments.append((role, start, end))
            record.events.append(raw)
        yield record


def _read_genia(path: Path, stats: ConversionStats) -> Iterator[RawRecord]:
    for _, record in _read_offset_json_lines(path, stats, "entities", ("type", "label")):
        yield record


def _read_cluener(path: Path, stats: ConversionStats) -> Iterator[RawRecord]:
    for index, where, obj in read_json_lines(path):
        text = get_text(obj, where)
        note_ignored_keys(obj, ("text", "label"), stats)
        record = RawRecord(index, where, text=text, labelled="label" in obj)
        labels = obj.get("label") or {}
        if not isinstance(labels, dict):
            raise ConversionError(f"{where}: 'label' must be an object {{type: {{text: [[start, end]]}}}}")
        for label, mentions in labels.items():
            if not isinstance(mentions, dict):
                raise ConversionError(f"{where}: label[{label!r}] must map entity text to [[start, end], ...]")
            for entity, offsets in mentions.items():
                if not isinstance(offsets, list):
                    raise ConversionError(f"{where}: label[{label!r}][{entity!r}] must be a list of [start, end]")
                for pair in offsets:
                    desc = f"label[{label!r}][{entity!r}] {pair!r}"
                    if (
                        not isinstance(pair, list)
                        or len(pair) != 2
                        or not all(is_int(x) for x in pair)
                    ):
                        raise ConversionError(f"{where}: {desc}: expected [start, end] integers")
                    start, end = pair[0], pair[1] + 1  # end inclusive in CLUENER
                    check_offsets(start, end, text, where, f"{desc} (end inclusive)")
                    check_entity_text(text, start, end, entity, label, where, stats)
                    record.spans.append((start, end, str(label)))
        yield record


def _read_cmeee(path: Path, stats: ConversionStats) -> Iterator[RawRecord]:
    try:
        with path.open(encoding="utf-8-sig") as file_:
            data = json.load(file_)
    except json.JSONDecodeError as err:
        raise ConversionError(
            f"{path}:{err.lineno}: invalid JSON ({err.msg} at column {err.colno})"
        ) from None
    if not isinstance(data, list):
        raise ConversionError(f"{path}: expected one JSON array of records, got {type(data).__name__}")
    for index, obj in enumerate(data):
        where = f"{path}: record {index}"
        if not isinstance(obj, dict):
            raise ConversionError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        text = get_text(obj, where)
        note_ignored_keys(obj, ("text", "entities"), stats)
        record = RawRecord(index, where, text=text, labelled="entities" in obj)
        for i, ent in enumerate(get_list(obj, "entities", where)):
            desc = f"entities[{i}]"
            ent = as_dict(ent, where, desc)
            start = get_int(ent, "start_idx", where, desc)
            end_idx = get_int(ent, "end_idx", where, desc)
            label = get_label(ent, ("type",), where, desc)
            end = end_idx + 1  # end inclusive in CMeEE
            check_offsets(
                start, end, text, where, f"{desc} (start_idx={start}, end_idx={end_idx}, end inclusive)"
            )
            if "entity" in ent:
                check_entity_text(text, start, end, ent["entity"], label, where, stats)
            record.spans.append((start, end, label))
        yield record


def _read_bio(path: Path, stats: ConversionStats) -> Iterator[RawRecord]:
    words: List[str] = []
    tags: List[Tuple[str, Optional[str], int]] = []  # (prefix, type, line number)
    first_line = 0
    index = 0
    with path.open(encoding="utf-8-sig") as file_:
        for lineno, line in enumerate(file_, start=1):
            line = line.rstrip("\r\n")
            fields = _COLUMN_SEP.split(line.strip(" \t"))
            is_break = not line.strip() or fields[0] == "-DOCSTART-"
            if is_break:
                if words:
                    yield _bio_record(index, f"{path}:{first_line}", words, tags, stats)
                    index += 1
                    words, tags = [], []
                continue
            if len(fields) < 2:
                raise ConversionError(
                    f"{path}:{lineno}: expected 'token<whitespace>tag', got {line!r}"
                )
            if not words:
                first_line = lineno
            words.append(fields[0])
            tags.append(_parse_tag(fields[-1], f"{path}:{lineno}") + (lineno,))
    if words:
        yield _bio_record(index, f"{path}:{first_line}", words, tags, stats)


def _parse_tag(tag: str, where: str) -> Tuple[str, Optional[str]]:
    if tag == "O":
        return "O", None
    prefix, sep, label = tag.partition("-")
    if not sep or prefix not in _BIO_PREFIXES or not label:
        raise ConversionError(
            f"{where}: unknown tag {tag!r}: expected 'O' or B-/I-/E-/S-/M- followed by a type"
        )
    return _BIO_PREFIXES[prefix], label


def _bio_record(
    index: int,
    where: str,
    words: List[str],
    tags: List[Tuple[str, Optional[str], int]],
    stats: ConversionStats,
) -> RawRecord:
    """Decode BIO/BIOES tags into token spans. An I-/E- that does not continue an
    open entity of its type starts a new one (counted as repaired)."""
    record = RawRecord(index, where, words=list(words))
    open_start: Optional[int] = None
    open_label: Optional[str] = None

    def close(end: int) -> None:
        nonlocal open_start, open_label
        if open_start is not None and open_label is not None:
            record.spans.append((open_start, end, open_label))
        open_start, open_label = None, None

    for i, (prefix, label, lineno) in enumerate(tags):
        if prefix in ("I", "E") and open_label != label:
            close(i)
            stats.bio_repaired += 1
            prev = tags[i - 1] if i else None
            prev_tag = "start of sentence" if prev is None else (
                "O" if prev[0] == "O" else f"{prev[0]}-{prev[1]}"
            )
            stats.example(
                "BIO repaired",
                f"{prefix}-{label} after {prev_tag} at {where.rsplit(':', 1)[0]}:{lineno}"
                f" ({words[i]!r}): started a new entity",
            )
            open_start, open_label = i, label
        elif prefix in ("B", "S", "O"):
            close(i)
            if prefix != "O":
                open_start, open_label = i, label
        if prefix in ("E", "S"):
            close(i + 1)
    close(len(tags))
    return record


def _read_duie(path: Path, stats: ConversionStats) -> Iterator[RawRecord]:
    """DuIE: `spo_list` of strings without offsets. Every occurrence of subject and
    object is found; a relation takes the pair of occurrences nearest each other
    (fewest characters between them; overlapping pairs only when there is no
    other; ties: the earliest subject, then the earliest object) and is counted as
    ambiguous when either string occurs more than once. A string not in the text
    skips the relation."""
    fields = ("subject", "subject_type", "predicate", "object", "object_type")
    for index, where, obj in read_json_lines(path):
        text = get_text(obj, where)
        note_ignored_keys(obj, ("text", "spo_list", "postag"), stats)
        record = RawRecord(index, where, text=text, labelled="spo_list" in obj)
        seen_spans: Set[Tuple[int, int, str]] = set()
        for i, spo in enumerate(get_list(obj, "spo_list", where)):
            desc = f"spo_list[{i}]"
            spo = as_dict(spo, where, desc)
            subject, subject_type, predicate, object_, object_type = (
                get_string(spo, key, where, desc) for key in fields
            )
            shown = f"{subject!r} --{predicate}--> {object_!r} ({where})"
            subjects = find_all(text, subject)
            objects = find_all(text, object_)
            if not subjects or not objects:
                role = "subject" if not subjects else "object"
                record.skipped.append((RELATION, f"{role}: {SKIP_NOT_FOUND}", shown))
                continue
            s_start, o_start = _nearest_pair(subjects, len(subject), objects, len(object_))
            if len(subjects) > 1 or len(objects) > 1:
                stats.change(
                    "ambiguous string: nearest occurrences paired",
                    f"{shown}: subject at {subjects}, object at {objects}; "
                    f"chose {s_start} and {o_start}",
                )
            head = (s_start, s_start + len(subject), subject_type)
            tail = (o_start, o_start + len(object_), object_type)
            for span in (head, tail):
                if span not in seen_spans:
                    seen_spans.add(span)
                    record.spans.append(span)
            record.relations.append(RawRelation(head, predicate, tail))
        yield record


def _nearest_pair(
    subjects: List[int], s_len: int, objects: List[int], o_len: int
) -> Tuple[int, int]:
    """The closest (subject start, object start): fewest characters between them;
    overlapping pairs (a name inside a title) only if no other pair exists; ties:
    the earliest subject, then the earliest object."""
    best: Optional[Tuple[Tuple[bool, int], int, int]] = None
    for s in subjects:
        for o in objects:
            gap = max(s, o) - min(s + s_len, o + o_len)
            key = (gap < 0, max(0, gap))
            if best is None or key < best[0]:
                best = (key, s, o)
    assert best is not None
    return best[1], best[2]


def _read_spert(path: Path, stats: ConversionStats) -> Iterator[RawRecord]:
    """SpERT: `tokens`, `entities` ({"type", "start", "end"}, token offsets, end
    exclusive) and `relations` ({"type", "head", "tail"}, indices into `entities`);
    one JSON list or JSON lines."""
    for index, where, obj in _read_json_list_or_lines(path):
        tokens = obj.get("tokens")
        if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
            raise ConversionError(f"{where}: 'tokens' must be a list of non-empty strings")
        note_ignored_keys(obj, ("tokens", "entities", "relations"), stats)
        labelled = "entities" in obj or "relations" in obj
        if not tokens:
            yield RawRecord(index, where, text="", labelled=labelled)
            continue
        record = RawRecord(index, where, words=list(tokens), labelled=labelled)
        entities = []
        for i, ent in enumerate(get_list(obj, "entities", where)):
            desc = f"entities[{i}]"
            ent = as_dict(ent, where, desc)
            start = get_int(ent, "start", where, desc)
            end = get_int(ent, "end", where, desc)
            label = get_label(ent, ("type",), where, desc)
            if not 0 <= start < end <= len(tokens):
                raise ConversionError(
                    f"{where}: {desc} (start={start}, end={end}): token offsets out of range "
                    f"for {len(tokens)} tokens"
                )
            entities.append((start, end, label))
        record.spans = list(dict.fromkeys(entities))
        for i, rel in enumerate(get_list(obj, "relations", where)):
            desc = f"relations[{i}]"
            rel = as_dict(rel, where, desc)
            ends = []
            for role in ("head", "tail"):
                index_ = get_int(rel, role, where, desc)
                if not 0 <= index_ < len(entities):
                    raise ConversionError(
                        f"{where}: {desc}: '{role}' must index 'entities' "
                        f"(0-{len(entities) - 1}), got {index_}"
                    )
                ends.append(entities[index_])
            label = get_label(rel, ("type",), where, desc)
            record.relations.append(RawRelation(ends[0], label, ends[1]))
        yield record


def _read_json_list_or_lines(path: Path) -> Iterator[Tuple[int, str, Dict[str, Any]]]:
    with path.open(encoding="utf-8-sig") as file_:
        head = file_.read(4096).lstrip()
    if not head.startswith("["):
        yield from read_json_lines(path)
        return
    try:
        with path.open(encoding="utf-8-sig") as file_:
            data = json.load(file_)
    except json.JSONDecodeError as err:
        raise ConversionError(
            f"{path}:{err.lineno}: invalid JSON ({err.msg} at column {err.colno})"
        ) from None
    for index, obj in enumerate(data):
        where = f"{path}: record {index}"
        yield index, where, as_dict(obj, where, "record")


def read_duee_schema(path: Path) -> Dict[str, Set[str]]:
    """Event types and their roles from a DuEE schema (JSON lines
    `{"event_type", "role_list": [{"role"}]}`)."""
    path = Path(path)
    if not path.is_file():
        raise ConversionError(f"{path}: schema file not found")
    schema: Dict[str, Set[str]] = {}
    for _, where, obj in read_json_lines(path):
        event_type = get_string(obj, "event_type", where, "schema")
        roles = schema.setdefault(event_type, set())
        for i, role in enumerate(get_list(obj, "role_list", where)):
            roles.add(get_string(as_dict(role, where, f"role_list[{i}]"), "role", where, f"role_list[{i}]"))
    return schema


def _read_duee(
    path: Path, stats: ConversionStats, schema: Optional[Dict[str, Set[str]]] = None
) -> Iterator[RawRecord]:
    """DuEE: `event_list` of triggers and arguments given as text and start index.
    An index whose text differs is repaired to the nearest occurrence (counted) or,
    if the text does not occur, the trigger's event or the argument is skipped.
    With a schema, unknown event types and roles are skipped (counted)."""
    for index, where, obj in read_json_lines(path):
        text = get_text(obj, where)
        note_ignored_keys(obj, ("text", "event_list", "id"), stats)
        record = RawRecord(index, where, text=text, labelled="event_list" in obj)
        record.spans_annotated = False
        for i, event in enumerate(get_list(obj, "event_list", where)):
            desc = f"event_list[{i}]"
            event = as_dict(event, where, desc)
            event_type = get_string(event, "event_type", where, desc)
            arguments = [
                as_dict(arg, where, f"{desc}.arguments[{j}]")
                for j, arg in enumerate(get_list(event, "arguments", where))
            ]
            shown = f"{event_type} {event.get('trigger')!r} ({where})"
            reason = None
            if schema is not None and event_type not in schema:
                reason = SKIP_UNKNOWN_TYPE
            else:
                trigger = _locate(
                    text,
                    get_string(event, "trigger", where, desc),
                    get_int(event, "trigger_start_index", where, desc),
                    "trigger",
                    shown,
                    stats,
                )
                if trigger is None:
                    reason = f"trigger: {SKIP_NOT_FOUND}"
            if reason is not None:
                record.skipped.append((EVENT, reason, shown))
                record.skipped.extend((ARGUMENT, SKIP_EVENT_SKIPPED, shown) for _ in arguments)
                continue
            raw = RawEvent(event_type, trigger)
            for j, arg in enumerate(arguments):
                arg_desc = f"{desc}.arguments[{j}]"
                role = get_string(arg, "role", where, arg_desc)
                value = get_string(arg, "argument", where, arg_desc)
                arg_shown = f"{event_type}: {role} {value!r} ({where})"
                if schema is not None and role not in schema[event_type]:
                    record.skipped.append((ARGUMENT, SKIP_UNKNOWN_ROLE, arg_shown))
                    continue
                found = _locate(
                    text,
                    value,
                    get_int(arg, "argument_start_index", where, arg_desc),
                    "argument",
                    arg_shown,
                    stats,
                )
                if found is None:
                    record.skipped.append((ARGUMENT, SKIP_NOT_FOUND, arg_shown))
                    continue
                raw.arguments.append((role, found[0], found[1]))
            record.events.append(raw)
        yield record


def _locate(
    text: str, value: str, start: int, what: str, shown: str, stats: ConversionStats
) -> Optional[Tuple[int, int]]:
    """(start, end) of `value` at `start`, else at its nearest occurrence (counted
    as repaired; ties: the earlier), else None. Whitespace around `value` (DuEE
    has arguments like " 奔驰") is trimmed first and counted, since a span cannot
    start or end in the whitespace after a token."""
    trimmed = value.strip()
    if trimmed and trimmed != value:
        stats.change(f"{what} whitespace trimmed", f"{shown}: {value!r} -> {trimmed!r}")
        start += len(value) - len(value.lstrip())
        value = trimmed
    if value and start >= 0 and text[start : start + len(value)] == value:
        return start, start + len(value)
    found = find_all(text, value)
    if not found:
        return None
    best = min(found, key=lambda i: abs(i - start))
    stats.change(f"{what} offset repaired", f"{shown}: index {start} -> {best}")
    return best, best + len(value)


READERS = {
    "jsonl": _read_jsonl,
    "cmeee": _read_cmeee,
    "cluener": _read_cluener,
    "bio": _read_bio,
    "genia": _read_genia,
    "duie": _read_duie,
    "spert": _read_spert,
    "duee": _read_duee,
}

FORMATS = tuple(READERS)
RELATION_FORMATS = ("jsonl", "duie", "spert")
EVENT_FORMATS = ("jsonl", "duee")
