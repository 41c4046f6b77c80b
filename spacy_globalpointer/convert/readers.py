"""One reader per input format, each yielding RawRecords and raising ConversionError."""
import json
import re
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

from .parsing import (
    as_dict,
    check_entity_text,
    check_offsets,
    get_int,
    get_label,
    get_list,
    get_text,
    is_int,
    note_ignored_keys,
    read_json_lines,
)
from .records import ConversionError, ConversionStats, RawRecord

_BIO_PREFIXES = {"B": "B", "I": "I", "M": "I", "E": "E", "S": "S", "L": "E", "U": "S"}
_COLUMN_SEP = re.compile(r"[ \t]+")


def _read_offset_json_lines(
    path: Path, stats: ConversionStats, spans_field: str, label_fields: Tuple[str, ...]
) -> Iterator[RawRecord]:
    """JSON lines with character-offset spans (end exclusive): our jsonl and GENIA-style."""
    for index, where, obj in read_json_lines(path):
        text = get_text(obj, where)
        note_ignored_keys(obj, ("text", spans_field), stats)
        record = RawRecord(index, where, text=text, labelled=spans_field in obj)
        for i, span in enumerate(get_list(obj, spans_field, where)):
            desc = f"{spans_field}[{i}]"
            span = as_dict(span, where, desc)
            start = get_int(span, "start", where, desc)
            end = get_int(span, "end", where, desc)
            label = get_label(span, label_fields, where, desc)
            check_offsets(start, end, text, where, f"{desc} (start={start}, end={end})")
            record.spans.append((start, end, label))
        yield record


def _read_jsonl(path: Path, stats: ConversionStats) -> Iterator[RawRecord]:
    return _read_offset_json_lines(path, stats, "spans", ("label",))


def _read_genia(path: Path, stats: ConversionStats) -> Iterator[RawRecord]:
    return _read_offset_json_lines(path, stats, "entities", ("type", "label"))


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


READERS = {
    "jsonl": _read_jsonl,
    "cmeee": _read_cmeee,
    "cluener": _read_cluener,
    "bio": _read_bio,
    "genia": _read_genia,
}

FORMATS = tuple(READERS)
