"""Convert an NER corpus into a `.spacy` file (thin CLI over spacy_globalpointer.convert).

With --relations (jsonl only) the records' `relations` ({"head": i, "tail": j,
"label"}, indices into the record's `spans`) are also written to doc._.relations.
With --events (jsonl only) the records' `events` ({"label", "trigger": {"start",
"end"}, "arguments": [{"role", "start", "end"}]}, character offsets) are written
to doc._.events: the trigger span's label is the event type, an argument's its
role. Both are stopgaps in the project script until spacy_globalpointer.convert
reads relations and events itself.
"""
import json
from collections import Counter
from enum import Enum
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional

import typer
from wasabi import msg

from spacy.tokens import Doc, DocBin

from spacy_globalpointer.convert import ConversionError, ConversionStats, convert, iter_docs, print_stats
from spacy_globalpointer.extensions import set_event_records, set_relation_records

MAX_EXAMPLES = 5


class Format(str, Enum):
    jsonl = "jsonl"
    cmeee = "cmeee"
    cluener = "cluener"
    bio = "bio"
    genia = "genia"


class Alignment(str, Enum):
    strict = "strict"
    expand = "expand"


def main(
    # fmt: off
    input_path: Path = typer.Argument(..., help="Corpus file to convert", exists=True, dir_okay=False),
    output_path: Path = typer.Argument(..., help="Output .spacy file"),
    format: Format = typer.Option(Format.jsonl, "--format", "-f", help="Input format"),
    lang: str = typer.Option("zh", "--lang", "-l", help="Language code for spacy.blank (zh splits per character)"),
    spans_key: str = typer.Option("sc", "--spans-key", "-k", help="Key in doc.spans for the spans"),
    alignment: Alignment = typer.Option(Alignment.strict, "--alignment", "-a", help="strict: skip spans off token boundaries; expand: widen them"),
    ents: bool = typer.Option(False, "--ents/--no-ents", help="Also set doc.ents (non-overlapping subset, longest first)"),
    start: int = typer.Option(0, "--start", help="First record index to convert (0-based, inclusive)"),
    end: Optional[int] = typer.Option(None, "--end", help="Record index to stop before (exclusive); default: to the end"),
    stats_json: Optional[Path] = typer.Option(None, "--stats-json", help="Also write the counts as JSON here"),
    relations: bool = typer.Option(False, "--relations", help="Also read each record's 'relations' into doc._.relations (jsonl only)"),
    events: bool = typer.Option(False, "--events", help="Also read each record's 'events' into doc._.events (jsonl only)"),
    # fmt: on
) -> None:
    """Convert INPUT_PATH to OUTPUT_PATH and print what was written, changed and skipped.

    Example: CMeEE_dev.json records 0-3,999 as train:
    python scripts/convert.py CMeEE_dev.json train.spacy --format cmeee --end 4000
    """
    rel_stats: Dict[str, Any] = {}
    ev_stats: Dict[str, Any] = {}
    try:
        if relations or events:
            flag = "--relations" if relations else "--events"
            if format != Format.jsonl:
                raise ConversionError(f"{flag} reads the jsonl format only, not {format.value}")
            stats = ConversionStats(output_path=str(output_path))
            options = dict(format="jsonl", lang=lang, spans_key=spans_key, alignment=alignment.value, ents=ents)
            docs = iter_docs(input_path, stats, start=start, end=end, **options)
            if relations:
                docs = add_relations(docs, input_path, alignment.value, rel_stats)
            if events:
                docs = add_events(docs, input_path, alignment.value, ev_stats)
            doc_bin = DocBin(store_user_data=True)
            for doc in docs:
                doc_bin.add(doc)
            output_path.parent.mkdir(parents=True, exist_ok=True)
            doc_bin.to_disk(output_path)
            for key, used in (("relations", relations), ("events", events)):
                if used:
                    stats.ignored_keys.pop(key, None)
        else:
            stats = convert(
                input_path,
                output_path,
                format=format.value,
                lang=lang,
                spans_key=spans_key,
                alignment=alignment.value,
                ents=ents,
                start=start,
                end=end,
            )
    except ConversionError as err:
        msg.fail(str(err), exits=1)
    print_stats(stats)
    if relations:
        print_relation_stats(rel_stats)
    if events:
        print_event_stats(ev_stats)
    if stats_json is not None:
        result = stats.to_dict()
        if relations:
            result["relations"] = rel_stats
        if events:
            result["events"] = ev_stats
        stats_json.parent.mkdir(parents=True, exist_ok=True)
        stats_json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf8")


def add_relations(docs: Iterable[Doc], input_path: Path, alignment: str, rel_stats: Dict[str, Any]) -> Iterator[Doc]:
    """Set doc._.relations on the converted docs from the records' `relations`.

    The converter skips records with empty text, so each doc is matched to the
    next record with the same text. A relation whose head or tail span does not
    map to tokens is skipped, counted and shown, never dropped silently.
    """
    by_label: Counter = Counter()
    read = written = 0
    skipped: List[str] = []
    records = _records(input_path)
    for doc in docs:
        where, rec = next(records)
        while rec.get("text") != doc.text:
            where, rec = next(records)
        spans = rec.get("spans") or []
        triples = []
        for i, rel in enumerate(rec.get("relations") or []):
            read += 1
            ends = []
            for role in ("head", "tail"):
                index = rel.get(role) if isinstance(rel, dict) else None
                if not isinstance(index, int) or not 0 <= index < len(spans):
                    raise ConversionError(f"{where}: relations[{i}].{role} must index 'spans' (0-{len(spans) - 1}), got {index!r}")
                sp = spans[index]
                ends.append(doc.char_span(sp["start"], sp["end"], label=sp["label"], alignment_mode=alignment))
            label = rel.get("label")
            if not isinstance(label, str) or not label:
                raise ConversionError(f"{where}: relations[{i}] needs a non-empty string 'label'")
            head, tail = ends
            if head is None or tail is None or not len(head) or not len(tail):
                skipped.append(f"{label} ({where}): head or tail span not on token boundaries")
                continue
            triples.append(((head.start, head.end, head.label_), label, (tail.start, tail.end, tail.label_), None))
        triples = list(dict.fromkeys(triples))
        set_relation_records(doc, triples)
        written += len(triples)
        by_label.update(p for _, p, _, _ in triples)
        yield doc
    rel_stats.update(
        relations_read=read,
        relations_written=written,
        relations_skipped=len(skipped),
        relations_by_label=dict(sorted(by_label.items())),
        skipped_examples=skipped[:MAX_EXAMPLES],
    )


def add_events(docs: Iterable[Doc], input_path: Path, alignment: str, ev_stats: Dict[str, Any]) -> Iterator[Doc]:
    """Set doc._.events on the converted docs from the records' `events`.

    Docs are matched to records as in add_relations. An argument off token
    boundaries is skipped; so is an event whose trigger is (its arguments
    then have nothing to attach to). Both are counted and shown, never dropped
    silently. A record's `"trigger": null` keeps the event without a trigger.
    """
    by_label: Counter = Counter()
    read = written = args_read = args_written = 0
    skipped: List[str] = []
    records = _records(input_path)
    for doc in docs:
        where, rec = next(records)
        while rec.get("text") != doc.text:
            where, rec = next(records)
        found = []
        for i, event in enumerate(rec.get("events") or []):
            read += 1
            label = event.get("label") if isinstance(event, dict) else None
            if not isinstance(label, str) or not label:
                raise ConversionError(f"{where}: events[{i}] needs a non-empty string 'label'")
            trigger = None
            if event.get("trigger") is not None:
                span = _char_span(doc, event["trigger"], label, alignment, where, f"events[{i}].trigger")
                if span is None:
                    skipped.append(f"{label} event ({where}): trigger {_text(doc, event['trigger'])!r} not on token boundaries")
                    args_read += len(event.get("arguments") or [])
                    continue
                trigger = (span.start, span.end, label)
            arguments = []
            for j, arg in enumerate(event.get("arguments") or []):
                args_read += 1
                role = arg.get("role") if isinstance(arg, dict) else None
                if not isinstance(role, str) or not role:
                    raise ConversionError(f"{where}: events[{i}].arguments[{j}] needs a non-empty string 'role'")
                span = _char_span(doc, arg, role, alignment, where, f"events[{i}].arguments[{j}]")
                if span is None:
                    skipped.append(f"{label}.{role} ({where}): {_text(doc, arg)!r} not on token boundaries")
                    continue
                arguments.append((role, (span.start, span.end, role)))
            found.append((label, trigger, tuple(dict.fromkeys(arguments)), None))
        found = list(dict.fromkeys(found))
        set_event_records(doc, found)
        written += len(found)
        args_written += sum(len(e[2]) for e in found)
        by_label.update(e[0] for e in found)
        yield doc
    ev_stats.update(
        events_read=read,
        events_written=written,
        events_skipped=read - written,
        arguments_read=args_read,
        arguments_written=args_written,
        arguments_skipped=args_read - args_written,
        events_by_label=dict(sorted(by_label.items())),
        skipped_examples=skipped[:MAX_EXAMPLES],
    )


def _char_span(doc: Doc, obj: Any, label: str, alignment: str, where: str, desc: str) -> Any:
    """The token span of a {"start", "end"} object, or None if it is off token boundaries."""
    if not isinstance(obj, dict) or not all(isinstance(obj.get(k), int) for k in ("start", "end")):
        raise ConversionError(f"{where}: {desc} needs integer 'start' and 'end'")
    if not 0 <= obj["start"] < obj["end"] <= len(doc.text):
        raise ConversionError(f"{where}: {desc} (start={obj['start']}, end={obj['end']}) is outside the text")
    span = doc.char_span(obj["start"], obj["end"], label=label, alignment_mode=alignment)
    return span if span is not None and len(span) else None


def _text(doc: Doc, obj: Dict[str, int]) -> str:
    return doc.text[obj["start"]:obj["end"]]


def _records(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8-sig") as file_:
        for lineno, line in enumerate(file_, start=1):
            if line.strip():
                yield f"{path}:{lineno}", json.loads(line)


def print_relation_stats(rel_stats: Dict[str, Any]) -> None:
    msg.divider("Relations")
    msg.info(
        f"{rel_stats['relations_read']} read, {rel_stats['relations_written']} written, "
        f"{rel_stats['relations_skipped']} skipped"
    )
    rows = list(rel_stats["relations_by_label"].items())
    if rows:
        msg.table(rows, header=("predicate", "relations"), aligns=("l", "r"))
    for example in rel_stats["skipped_examples"]:
        msg.warn(f"Skipped: {example}")


def print_event_stats(ev_stats: Dict[str, Any]) -> None:
    msg.divider("Events")
    msg.info(
        f"{ev_stats['events_read']} events read, {ev_stats['events_written']} written, "
        f"{ev_stats['events_skipped']} skipped; {ev_stats['arguments_read']} arguments read, "
        f"{ev_stats['arguments_written']} written, {ev_stats['arguments_skipped']} skipped"
    )
    rows = list(ev_stats["events_by_label"].items())
    if rows:
        msg.table(rows, header=("event type", "events"), aligns=("l", "r"))
    for example in ev_stats["skipped_examples"]:
        msg.warn(f"Skipped: {example}")


if __name__ == "__main__":
    typer.run(main)
