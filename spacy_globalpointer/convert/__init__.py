"""Convert NER corpora into spaCy `.spacy` files for the globalpointer component.

Every input format is first read into the same plain `RawRecord` (a text with
character offsets, or a list of words with token offsets), and one builder turns
records into Docs. Alignment, de-duplication, `doc.ents` selection and counting
therefore live in one place, and every span read is accounted for in
`ConversionStats`: it is either written or skipped with a named reason.

Formats (all offsets 0-based):
- `jsonl`: `{"text", "spans": [{"start", "end", "label"}]}`, end exclusive.
- `cmeee`: one JSON array of `{"text", "entities": [{"start_idx", "end_idx", "type",
  "entity"}]}`, end inclusive (CBLUE CMeEE).
- `cluener`: JSON lines `{"text", "label": {type: {entity_text: [[start, end]]}}}`,
  end inclusive (CLUENER2020).
- `bio`: CoNLL columns `token<whitespace>tag`, blank line between sentences, tags
  BIO/IOB2 or BIOES (`M-` is read as `I-`, BILOU's `L-`/`U-` as `E-`/`S-`).
- `genia`: JSON lines `{"text", "entities": [{"start", "end", "type"}]}` (or
  `label`), end exclusive.
- `duie`: JSON lines `{"text", "spo_list": [{"subject", "subject_type", "predicate",
  "object", "object_type"}]}` without offsets (DuIE); subject and object are found
  in the text (see `readers._read_duie` for how ambiguous strings are paired).
- `spert`: a JSON list or JSON lines of `{"tokens", "entities": [{"type", "start",
  "end"}], "relations": [{"type", "head", "tail"}]}`, token offsets, end exclusive.
- `duee`: JSON lines `{"text", "event_list": [{"event_type", "trigger",
  "trigger_start_index", "arguments": [{"role", "argument",
  "argument_start_index"}]}]}` (DuEE), optionally checked against a schema.

With `relations=True` / `events=True` the jsonl format also reads `relations`
(`{"head", "tail", "label"}`, indices into `spans`) and `events` (`{"label",
"trigger": {"start", "end"}, "arguments": [{"role", "start", "end"}]}`). Relations go to `doc._.relations` and their spans to
`doc.spans[spans_key]`; events go to `doc._.events` only (see `extensions.py`).
"""
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Union

import spacy
from spacy.tokens import Doc, DocBin

from .build import ALIGNMENT_MODES, NO_SPACE_LANGS, build_doc
from .readers import EVENT_FORMATS, FORMATS, READERS, RELATION_FORMATS, read_duee_schema
from .records import (
    MAX_EXAMPLES,
    SKIP_DUPLICATE,
    SKIP_DUPLICATE_ALIGNED,
    SKIP_EMPTY_TEXT,
    SKIP_MISALIGNED,
    SKIP_NO_TOKENS,
    SKIP_WHITESPACE,
    ConversionError,
    ConversionStats,
    RawEvent,
    RawRecord,
    RawRelation,
)
from .stats import print_stats

__all__ = [
    "ALIGNMENT_MODES",
    "EVENT_FORMATS",
    "FORMATS",
    "RELATION_FORMATS",
    "MAX_EXAMPLES",
    "NO_SPACE_LANGS",
    "SKIP_DUPLICATE",
    "SKIP_DUPLICATE_ALIGNED",
    "SKIP_EMPTY_TEXT",
    "SKIP_MISALIGNED",
    "SKIP_NO_TOKENS",
    "SKIP_WHITESPACE",
    "ConversionError",
    "ConversionStats",
    "RawEvent",
    "RawRecord",
    "RawRelation",
    "build_doc",
    "convert",
    "iter_docs",
    "print_stats",
    "read_duee_schema",
]


def convert(
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    *,
    format: str = "jsonl",
    lang: str = "zh",
    spans_key: str = "sc",
    alignment: str = "strict",
    ents: bool = False,
    start: int = 0,
    end: Optional[int] = None,
    schema: Optional[Union[str, Path]] = None,
    relations: bool = False,
    events: bool = False,
) -> ConversionStats:
    """Convert one input file into a `.spacy` DocBin.

    input_path (Union[str, Path]): The corpus file.
    output_path (Union[str, Path]): Where to write the DocBin; parents are created.
    format (str): One of FORMATS.
    lang (str): Language code for `spacy.blank` (tokenizer and vocab).
    spans_key (str): Key in `doc.spans` for the spans.
    alignment (str): "strict" skips spans not on token boundaries, "expand" widens them.
    ents (bool): Also set `doc.ents` to a non-overlapping subset (longest first).
    start (int): First record index to convert (0-based, inclusive).
    end (Optional[int]): Record index to stop at (exclusive); None for all.
    schema (Optional[Union[str, Path]]): DuEE event schema (format "duee" only):
        events of unknown types and arguments with unknown roles are skipped.
    relations (bool): Read jsonl `relations` (duie and spert always have them).
    events (bool): Read jsonl `events` (duee always has them).
    RETURNS (ConversionStats): What was read, written, changed and skipped.
    """
    stats = ConversionStats(output_path=str(output_path))
    doc_bin = DocBin(store_user_data=True)
    for doc in iter_docs(
        input_path,
        stats,
        format=format,
        lang=lang,
        spans_key=spans_key,
        alignment=alignment,
        ents=ents,
        start=start,
        end=end,
        schema=schema,
        relations=relations,
        events=events,
    ):
        doc_bin.add(doc)
    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    doc_bin.to_disk(output_path)
    return stats


def iter_docs(
    input_path: Union[str, Path],
    stats: ConversionStats,
    *,
    format: str = "jsonl",
    lang: str = "zh",
    spans_key: str = "sc",
    alignment: str = "strict",
    ents: bool = False,
    start: int = 0,
    end: Optional[int] = None,
    schema: Optional[Union[str, Path]] = None,
    relations: bool = False,
    events: bool = False,
) -> Iterator[Doc]:
    """Yield converted Docs, updating `stats` as they go (see `convert` for args)."""
    if format not in FORMATS:
        raise ConversionError(f"Unknown format {format!r}: choose one of {', '.join(FORMATS)}")
    if alignment not in ALIGNMENT_MODES:
        raise ConversionError(
            f"Unknown alignment {alignment!r}: choose one of {', '.join(ALIGNMENT_MODES)}"
        )
    if start < 0 or (end is not None and end < start):
        raise ConversionError(f"Invalid record range start={start}, end={end}")
    if schema is not None and format != "duee":
        raise ConversionError(f"A schema is read for the duee format only, not {format}")
    if relations and format not in RELATION_FORMATS:
        raise ConversionError(
            f"The {format} format has no relations: use one of {', '.join(RELATION_FORMATS)}"
        )
    if events and format not in EVENT_FORMATS:
        raise ConversionError(
            f"The {format} format has no events: use one of {', '.join(EVENT_FORMATS)}"
        )
    path = Path(input_path)
    if not path.is_file():
        raise ConversionError(f"{path}: input file not found")
    stats.input_path = str(path)
    stats.format = format
    nlp = spacy.blank(lang)
    total = 0
    options: Dict[str, Any] = {}
    if format == "jsonl":
        options = {"relations": relations, "events": events}
    if schema is not None:
        options["schema"] = read_duee_schema(Path(schema))
    records = READERS[format](path, stats, **options)
    for record in records:
        total += 1
        if record.index < start or (end is not None and record.index >= end):
            stats.records_out_of_range += 1
            continue
        stats.records_read += 1
        doc = build_doc(record, nlp, stats, spans_key, alignment, ents)
        if doc is not None:
            stats.docs_written += 1
            stats.tokens += len(doc)
            yield doc
    if end is not None and end > total:
        stats.warnings.append(f"--end {end} is past the last record: {path} has {total} records")
