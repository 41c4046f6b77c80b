"""`duee` (DuEE): `{"text", "event_list": [{"event_type", "trigger",
"trigger_start_index", "arguments": [{"role", "argument", "argument_start_index"}]}]}`
per line, optionally checked against a schema."""
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterator, Optional, Set, Tuple

from ..parsing import as_dict, find_all, get_int, get_list, get_string, get_text, note_ignored_keys, read_json_lines
from ..records import (
    ARGUMENT,
    EVENT,
    SKIP_EVENT_SKIPPED,
    SKIP_NOT_FOUND,
    SKIP_UNKNOWN_ROLE,
    SKIP_UNKNOWN_TYPE,
    ConversionError,
    ConversionStats,
    RawEvent,
    RawRecord,
)
from .base import Reader

if TYPE_CHECKING:
    from ..options import ConvertOptions


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


def read_duee(path: Path, stats: ConversionStats, options: "ConvertOptions") -> Iterator[RawRecord]:
    """DuEE: `event_list` of triggers and arguments given as text and start index.
    An index whose text differs is repaired to the nearest occurrence (counted) or,
    if the text does not occur, the trigger's event or the argument is skipped.
    With a schema, unknown event types and roles are skipped (counted)."""
    schema = read_duee_schema(Path(options.schema)) if options.schema is not None else None
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


READER = Reader("duee", read_duee, events=True, schema=True)
