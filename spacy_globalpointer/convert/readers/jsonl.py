"""`jsonl`: our own format, `{"text", "spans": [{"start", "end", "label"}]}` per line,
character offsets, end exclusive; with `relations` / `events` options also those keys."""
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, Tuple

from ..parsing import as_dict, check_offsets, get_int, get_label, get_list, get_text, note_ignored_keys, read_json_lines
from ..records import ConversionError, ConversionStats, RawEvent, RawRecord, RawRelation
from .base import Reader

if TYPE_CHECKING:
    from ..options import ConvertOptions


def read_offset_json_lines(
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


def read_jsonl(path: Path, stats: ConversionStats, options: "ConvertOptions") -> Iterator[RawRecord]:
    """Our jsonl: `spans`; with `options.relations`, also `relations` ({"head",
    "tail", "label"}, head and tail index `spans`); with `options.events`, also
    `events` ({"label", "trigger": {"start", "end"}, "arguments": [{"role",
    "start", "end"}]}); all in character offsets. Keys not asked for are counted
    as ignored."""
    relations, events = options.relations, options.events
    extra = (("relations",) if relations else ()) + (("events",) if events else ())
    records = read_offset_json_lines(path, stats, "spans", ("label",), extra)
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


READER = Reader("jsonl", read_jsonl, relations=True, events=True)
