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
  in the text (see `readers/duie.py` for how ambiguous strings are paired).
- `spert`: a JSON list or JSON lines of `{"tokens", "entities": [{"type", "start",
  "end"}], "relations": [{"type", "head", "tail"}]}`, token offsets, end exclusive.
- `scierc`: SciERC as SpERT distributes it (`scierc_{train,dev,test}.json`); the
  `spert` reader under its own name.
- `duee`: JSON lines `{"text", "event_list": [{"event_type", "trigger",
  "trigger_start_index", "arguments": [{"role", "argument",
  "argument_start_index"}]}]}` (DuEE), optionally checked against a schema.
- `phee`: JSON lines `{"id", "context", "annotations": [{"events": [...]}]}` (PHEE
  1.0); sub-arguments become arguments with dotted roles (`Treatment.Drug`) and
  each fragment of a discontinuous mention its own argument (see `readers/phee.py`).

Each format is a module of `readers/` declaring a `Reader`; the settings of one
conversion are one `ConvertOptions`.

With `relations=True` / `events=True` the jsonl format also reads `relations`
(`{"head", "tail", "label"}`, indices into `spans`) and `events` (`{"label",
"trigger": {"start", "end"}, "arguments": [{"role", "start", "end"}]}`). Relations go to `doc._.relations` and their spans to
`doc.spans[spans_key]`; events go to `doc._.events` only (see `extensions.py`).
"""
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator, List, Optional, Union

import spacy
from spacy.tokens import Doc, DocBin

from ..errors import Errors, Warnings
from .build import ALIGNMENT_MODES, NO_SPACE_LANGS, build_doc, looks_space_separated
from .options import ConvertOptions
from .readers import EVENT_FORMATS, FORMATS, READERS, RELATION_FORMATS, Reader, read_duee_schema
from .records import (
    MAX_EXAMPLES,
    SKIP_ATTRIBUTE,
    SKIP_COMBINATION_TRIGGER,
    SKIP_DUPLICATE,
    SKIP_DUPLICATE_ALIGNED,
    SKIP_EMPTY_TEXT,
    SKIP_MISALIGNED,
    SKIP_NO_TOKENS,
    SKIP_SELF_RELATION,
    SKIP_TRIGGER_SHAPE,
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
    "READERS",
    "SKIP_ATTRIBUTE",
    "SKIP_COMBINATION_TRIGGER",
    "SKIP_DUPLICATE",
    "SKIP_DUPLICATE_ALIGNED",
    "SKIP_EMPTY_TEXT",
    "SKIP_MISALIGNED",
    "SKIP_NO_TOKENS",
    "SKIP_SELF_RELATION",
    "SKIP_TRIGGER_SHAPE",
    "SKIP_WHITESPACE",
    "ConversionError",
    "ConversionStats",
    "ConvertOptions",
    "RawEvent",
    "RawRecord",
    "RawRelation",
    "Reader",
    "build_doc",
    "convert",
    "iter_docs",
    "print_stats",
    "read_duee_schema",
]


# Records sampled for the W120 check (space-separated text with a no-space lang).
LANG_CHECK_RECORDS = 200


def convert(
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    options: Optional[ConvertOptions] = None,
    **settings: Any,
) -> ConversionStats:
    """Convert one input file into a `.spacy` DocBin.

    input_path (Union[str, Path]): The corpus file.
    output_path (Union[str, Path]): Where to write the DocBin; parents are created.
    options (Optional[ConvertOptions]): The settings; None for the defaults.
    **settings: ConvertOptions fields (`format="cmeee", lang="zh", ...`), made
        into options or replacing those of `options`.
    RETURNS (ConversionStats): What was read, written, changed and skipped.
    """
    options = _options(options, settings)
    stats = ConversionStats(output_path=str(output_path))
    doc_bin = DocBin(store_user_data=True)
    for doc in iter_docs(input_path, stats, options):
        doc_bin.add(doc)
    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside it and renamed: a reader (a training run started at the
    # same time, two benchmark runs converting the same corpus) sees the old
    # file or the new one whole, never a half-written DocBin.
    partial = output_path.with_name(f".{output_path.name}.{os.getpid()}.partial")
    try:
        doc_bin.to_disk(partial)
        os.replace(partial, output_path)
    finally:
        if partial.exists():
            partial.unlink()
    return stats


def iter_docs(
    input_path: Union[str, Path],
    stats: ConversionStats,
    options: Optional[ConvertOptions] = None,
    **settings: Any,
) -> Iterator[Doc]:
    """Yield converted Docs, updating `stats` as they go (see `convert` for args)."""
    options = _options(options, settings)
    path = Path(input_path)
    if not path.is_file():
        raise ConversionError(f"{path}: input file not found")
    stats.input_path = str(path)
    stats.format = options.format
    nlp = spacy.blank(options.lang)
    total = 0
    sample: List[str] = []
    given_tokens = False
    for record in options.reader.read(path, stats, options):
        total += 1
        if len(sample) < LANG_CHECK_RECORDS:
            given_tokens = given_tokens or record.words is not None
            sample.append(record.text or "" if record.words is None else " ".join(record.words))
        if record.index < options.start or (options.end is not None and record.index >= options.end):
            stats.records_out_of_range += 1
            continue
        stats.records_read += 1
        doc = build_doc(record, nlp, stats, options.spans_key, options.alignment, options.ents)
        if doc is not None:
            stats.docs_written += 1
            stats.tokens += len(doc)
            yield doc
    if total == 0:
        raise ConversionError(Errors.E120.format(path=path, format=options.format))
    if options.lang in NO_SPACE_LANGS:
        spaced, pct = looks_space_separated(sample)
        if spaced:
            effect = (
                "joins the given tokens without spaces" if given_tokens
                else "cuts the text into single characters"
            )
            stats.warnings.append(
                Warnings.W120.format(ascii_pct=pct, n_records=len(sample), lang=options.lang, effect=effect)
            )
    if options.end is not None and options.end > total:
        stats.warnings.append(f"--end {options.end} is past the last record: {path} has {total} records")


def _options(options: Optional[ConvertOptions], settings: Any) -> ConvertOptions:
    if options is None:
        return ConvertOptions(**settings)
    return replace(options, **settings) if settings else options
