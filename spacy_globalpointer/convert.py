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
"""
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span
from spacy.util import filter_spans
from wasabi import Printer

FORMATS = ("jsonl", "cmeee", "cluener", "bio", "genia")
ALIGNMENT_MODES = ("strict", "expand")
# Languages written without spaces between words: BIO tokens are joined directly.
NO_SPACE_LANGS = ("zh", "ja")
MAX_EXAMPLES = 5

# Reasons a span read from the input is not written (keys of `spans_skipped`).
SKIP_EMPTY_TEXT = "empty text"
SKIP_DUPLICATE = "duplicate"
SKIP_MISALIGNED = "misaligned (strict)"
SKIP_NO_TOKENS = "no token in range"
SKIP_WHITESPACE = "whitespace only"
SKIP_DUPLICATE_ALIGNED = "duplicate after alignment"

_BIO_PREFIXES = {"B": "B", "I": "I", "M": "I", "E": "E", "S": "S", "L": "E", "U": "S"}
_COLUMN_SEP = re.compile(r"[ \t]+")


class ConversionError(ValueError):
    """Input or arguments that cannot be converted. For malformed input the message
    starts with the file and line (or, for a JSON array, the record index)."""


@dataclass
class RawRecord:
    """One input record before tokenization.

    Exactly one of `text` (spans in character offsets) and `words` (spans in token
    offsets) is set. Span ends are exclusive here whatever the input format says.
    """

    index: int
    where: str
    text: Optional[str] = None
    words: Optional[List[str]] = None
    spans: List[Tuple[int, int, str]] = field(default_factory=list)
    labelled: bool = True


@dataclass
class ConversionStats:
    """Counts of what a conversion read, wrote, changed and skipped.

    Invariant: `spans_read == spans_written + sum(spans_skipped.values())`.
    """

    input_path: str = ""
    output_path: str = ""
    format: str = ""
    records_read: int = 0
    records_out_of_range: int = 0
    empty_texts: int = 0
    unlabelled_records: int = 0
    docs_written: int = 0
    tokens: int = 0
    spans_read: int = 0
    spans_written: int = 0
    spans_expanded: int = 0
    spans_by_label: Counter = field(default_factory=Counter)
    spans_skipped: Counter = field(default_factory=Counter)
    text_mismatches: int = 0
    bio_repaired: int = 0
    nested_pairs: int = 0
    crossing_pairs: int = 0
    same_extent_pairs: int = 0
    docs_with_overlap: int = 0
    ents_written: int = 0
    ents_left_out: int = 0
    ignored_keys: Counter = field(default_factory=Counter)
    examples: Dict[str, List[str]] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)

    def example(self, kind: str, text: str) -> None:
        """Keep up to MAX_EXAMPLES examples of one kind of change or skip."""
        found = self.examples.setdefault(kind, [])
        if len(found) < MAX_EXAMPLES:
            found.append(text)

    def skip(self, reason: str, example: Optional[str] = None, n: int = 1) -> None:
        self.spans_skipped[reason] += n
        if example is not None:
            self.example(reason, example)

    @property
    def spans_skipped_total(self) -> int:
        return sum(self.spans_skipped.values())

    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON-serializable view (Counters become dicts)."""
        result: Dict[str, Any] = {}
        for key, value in self.__dict__.items():
            result[key] = dict(value) if isinstance(value, Counter) else value
        result["spans_skipped_total"] = self.spans_skipped_total
        return result


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
    path = Path(input_path)
    if not path.is_file():
        raise ConversionError(f"{path}: input file not found")
    stats.input_path = str(path)
    stats.format = format
    nlp = spacy.blank(lang)
    total = 0
    for record in _READERS[format](path, stats):
        total += 1
        if record.index < start or (end is not None and record.index >= end):
            stats.records_out_of_range += 1
            continue
        stats.records_read += 1
        doc = _build_doc(record, nlp, stats, spans_key, alignment, ents)
        if doc is not None:
            stats.docs_written += 1
            stats.tokens += len(doc)
            yield doc
    if end is not None and end > total:
        stats.warnings.append(f"--end {end} is past the last record: {path} has {total} records")


# ---------------------------------------------------------------------------
# Building Docs


def _build_doc(
    record: RawRecord,
    nlp: Language,
    stats: ConversionStats,
    spans_key: str,
    alignment: str,
    ents: bool,
) -> Optional[Doc]:
    stats.spans_read += len(record.spans)
    if not record.labelled:
        stats.unlabelled_records += 1
    if record.words is not None:
        spaces = _token_spaces(len(record.words), nlp.lang)
        doc = Doc(nlp.vocab, words=record.words, spaces=spaces)
        spans = [Span(doc, s, e, label=label) for s, e, label in record.spans]
    else:
        text = record.text or ""
        if not text.strip():
            stats.empty_texts += 1
            stats.example("empty text (record skipped)", record.where)
            if record.spans:
                stats.skip(SKIP_EMPTY_TEXT, n=len(record.spans))
            return None
        doc = nlp.make_doc(text)
        spans = _align_spans(doc, record, alignment, stats)
    if not record.labelled:
        # No key at all, so scorers treat the doc as unannotated rather than empty.
        return doc
    spans = sorted(spans, key=lambda sp: (sp.start, sp.end, sp.label_))
    doc.spans[spans_key] = spans
    stats.spans_written += len(spans)
    stats.spans_by_label.update(sp.label_ for sp in spans)
    _count_overlaps(spans, record.where, stats)
    if ents:
        _set_ents(doc, spans, record.where, stats)
    return doc


def _token_spaces(n_words: int, lang: str) -> List[bool]:
    if lang in NO_SPACE_LANGS:
        return [False] * n_words
    return [True] * (n_words - 1) + [False] if n_words else []


def _align_spans(
    doc: Doc, record: RawRecord, alignment: str, stats: ConversionStats
) -> List[Span]:
    """Map character offsets to token spans, counting every skip and change."""
    text = doc.text
    seen_chars: Set[Tuple[int, int, str]] = set()
    seen_tokens: Set[Tuple[int, int, str]] = set()
    spans = []
    for start, end, label in record.spans:
        shown = f"{label} {text[start:end]!r} [{start}:{end}] ({record.where})"
        if (start, end, label) in seen_chars:
            stats.skip(SKIP_DUPLICATE, shown)
            continue
        seen_chars.add((start, end, label))
        span = doc.char_span(start, end, label=label, alignment_mode=alignment)
        if span is None and alignment == "strict":
            tokens = doc.char_span(start, end, alignment_mode="expand")
            near = f" (tokens: {[t.text for t in tokens]})" if tokens is not None else ""
            stats.skip(SKIP_MISALIGNED, shown + near)
            continue
        if span is None or len(span) == 0:
            stats.skip(SKIP_NO_TOKENS, shown)
            continue
        if not span.text.strip():
            stats.skip(SKIP_WHITESPACE, shown)
            continue
        if (span.start_char, span.end_char) != (start, end):
            stats.spans_expanded += 1
            stats.example("expanded", f"{shown} -> {span.text!r}")
        if (span.start, span.end, label) in seen_tokens:
            stats.skip(SKIP_DUPLICATE_ALIGNED, shown)
            continue
        seen_tokens.add((span.start, span.end, label))
        spans.append(span)
    return spans


def _count_overlaps(spans: List[Span], where: str, stats: ConversionStats) -> None:
    """Count pairs of spans that nest, cross or share an extent. `spans` is sorted."""
    found = False
    for i, outer in enumerate(spans):
        for inner in spans[i + 1 :]:
            if inner.start >= outer.end:
                break
            found = True
            pair = f"{outer.label_} {outer.text!r} / {inner.label_} {inner.text!r} ({where})"
            if (inner.start, inner.end) == (outer.start, outer.end):
                stats.same_extent_pairs += 1
                stats.example("same extent, two labels", pair)
            elif inner.end <= outer.end or inner.start == outer.start:
                # Sorted by (start, end): a later span with the same start is longer.
                stats.nested_pairs += 1
                stats.example("nested", pair)
            else:
                stats.crossing_pairs += 1
                stats.example("crossing", pair)
    if found:
        stats.docs_with_overlap += 1


def _set_ents(doc: Doc, spans: List[Span], where: str, stats: ConversionStats) -> None:
    """Set doc.ents to a non-overlapping subset, longest first; count what is left out."""
    kept = filter_spans(spans)
    doc.ents = kept
    stats.ents_written += len(kept)
    if len(kept) < len(spans):
        kept_ids = {(sp.start, sp.end, sp.label_) for sp in kept}
        for sp in spans:
            if (sp.start, sp.end, sp.label_) not in kept_ids:
                stats.ents_left_out += 1
                stats.example(
                    "left out of doc.ents",
                    f"{sp.label_} {sp.text!r} [{sp.start_char}:{sp.end_char}] ({where})",
                )


# ---------------------------------------------------------------------------
# Readers: one per format, each yielding RawRecords and raising ConversionError.


def _read_json_lines(path: Path) -> Iterator[Tuple[int, str, Dict[str, Any]]]:
    """Yield (record index, location, object) for each non-blank line."""
    index = 0
    with path.open(encoding="utf-8-sig") as file_:
        for lineno, line in enumerate(file_, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise ConversionError(
                    f"{where}: invalid JSON ({err.msg} at column {err.colno})"
                ) from None
            if not isinstance(obj, dict):
                raise ConversionError(
                    f"{where}: expected a JSON object, got {type(obj).__name__}"
                )
            yield index, where, obj
            index += 1


def _read_offset_json_lines(
    path: Path, stats: ConversionStats, spans_field: str, label_fields: Tuple[str, ...]
) -> Iterator[RawRecord]:
    """JSON lines with character-offset spans (end exclusive): our jsonl and GENIA-style."""
    for index, where, obj in _read_json_lines(path):
        text = _get_text(obj, where)
        _note_ignored_keys(obj, ("text", spans_field), stats)
        record = RawRecord(index, where, text=text, labelled=spans_field in obj)
        for i, span in enumerate(_get_list(obj, spans_field, where)):
            desc = f"{spans_field}[{i}]"
            span = _as_dict(span, where, desc)
            start = _get_int(span, "start", where, desc)
            end = _get_int(span, "end", where, desc)
            label = _get_label(span, label_fields, where, desc)
            _check_offsets(start, end, text, where, f"{desc} (start={start}, end={end})")
            record.spans.append((start, end, label))
        yield record


def _read_jsonl(path: Path, stats: ConversionStats) -> Iterator[RawRecord]:
    return _read_offset_json_lines(path, stats, "spans", ("label",))


def _read_genia(path: Path, stats: ConversionStats) -> Iterator[RawRecord]:
    return _read_offset_json_lines(path, stats, "entities", ("type", "label"))


def _read_cluener(path: Path, stats: ConversionStats) -> Iterator[RawRecord]:
    for index, where, obj in _read_json_lines(path):
        text = _get_text(obj, where)
        _note_ignored_keys(obj, ("text", "label"), stats)
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
                        or not all(_is_int(x) for x in pair)
                    ):
                        raise ConversionError(f"{where}: {desc}: expected [start, end] integers")
                    start, end = pair[0], pair[1] + 1  # end inclusive in CLUENER
                    _check_offsets(start, end, text, where, f"{desc} (end inclusive)")
                    _check_entity_text(text, start, end, entity, label, where, stats)
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
        text = _get_text(obj, where)
        _note_ignored_keys(obj, ("text", "entities"), stats)
        record = RawRecord(index, where, text=text, labelled="entities" in obj)
        for i, ent in enumerate(_get_list(obj, "entities", where)):
            desc = f"entities[{i}]"
            ent = _as_dict(ent, where, desc)
            start = _get_int(ent, "start_idx", where, desc)
            end_idx = _get_int(ent, "end_idx", where, desc)
            label = _get_label(ent, ("type",), where, desc)
            end = end_idx + 1  # end inclusive in CMeEE
            _check_offsets(
                start, end, text, where, f"{desc} (start_idx={start}, end_idx={end_idx}, end inclusive)"
            )
            if "entity" in ent:
                _check_entity_text(text, start, end, ent["entity"], label, where, stats)
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


_READERS = {
    "jsonl": _read_jsonl,
    "cmeee": _read_cmeee,
    "cluener": _read_cluener,
    "bio": _read_bio,
    "genia": _read_genia,
}


# ---------------------------------------------------------------------------
# Validation helpers


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _get_text(obj: Dict[str, Any], where: str) -> str:
    if "text" not in obj:
        raise ConversionError(f"{where}: missing key 'text'")
    if not isinstance(obj["text"], str):
        raise ConversionError(f"{where}: 'text' must be a string, got {type(obj['text']).__name__}")
    return obj["text"]


def _get_list(obj: Dict[str, Any], key: str, where: str) -> List[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConversionError(f"{where}: '{key}' must be a list, got {type(value).__name__}")
    return value


def _as_dict(value: Any, where: str, desc: str) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise ConversionError(f"{where}: {desc} must be an object, got {type(value).__name__}")
    return value


def _get_int(obj: Dict[str, Any], key: str, where: str, desc: str) -> int:
    if key not in obj:
        raise ConversionError(f"{where}: {desc}: missing key '{key}'")
    if not _is_int(obj[key]):
        raise ConversionError(f"{where}: {desc}: '{key}' must be an integer, got {obj[key]!r}")
    return obj[key]


def _get_label(obj: Dict[str, Any], keys: Tuple[str, ...], where: str, desc: str) -> str:
    for key in keys:
        if key in obj:
            if not isinstance(obj[key], str) or not obj[key]:
                raise ConversionError(f"{where}: {desc}: '{key}' must be a non-empty string")
            return obj[key]
    names = " or ".join(f"'{k}'" for k in keys)
    raise ConversionError(f"{where}: {desc}: missing key {names}")


def _check_offsets(start: int, end: int, text: str, where: str, desc: str) -> None:
    """`end` is exclusive here; the description shows the input's own values."""
    if start < 0 or end > len(text) or start >= end:
        raise ConversionError(
            f"{where}: {desc}: offsets out of range for a text of {len(text)} characters"
        )


def _check_entity_text(
    text: str, start: int, end: int, entity: Any, label: str, where: str, stats: ConversionStats
) -> None:
    """Count annotations whose stated text differs from the offsets; the offsets win."""
    if text[start:end] != entity:
        stats.text_mismatches += 1
        stats.example(
            "entity text mismatch (kept by offsets)",
            f"{label} {entity!r} but text[{start}:{end}] is {text[start:end]!r} ({where})",
        )


def _note_ignored_keys(obj: Dict[str, Any], known: Tuple[str, ...], stats: ConversionStats) -> None:
    for key in obj:
        if key not in known:
            stats.ignored_keys[key] += 1


# ---------------------------------------------------------------------------
# Reporting


def print_stats(stats: ConversionStats, msg: Optional[Printer] = None) -> None:
    """Print a summary with wasabi: counts, labels, skips and examples of each."""
    msg = msg or Printer()
    msg.divider(f"Conversion summary: {stats.input_path}")
    rows = [
        ("format", stats.format),
        ("records read", stats.records_read),
        ("records outside --start/--end", stats.records_out_of_range),
        ("empty texts skipped", stats.empty_texts),
        ("unlabelled records (no annotation key)", stats.unlabelled_records),
        ("docs written", stats.docs_written),
        ("tokens", stats.tokens),
        ("spans read", stats.spans_read),
        ("spans written", stats.spans_written),
        ("spans expanded", stats.spans_expanded),
        ("spans skipped", stats.spans_skipped_total),
        ("entity text mismatches (kept by offsets)", stats.text_mismatches),
        ("BIO tags repaired", stats.bio_repaired),
        ("nested span pairs", stats.nested_pairs),
        ("crossing span pairs", stats.crossing_pairs),
        ("same span, two labels", stats.same_extent_pairs),
        ("docs with nested/overlapping spans", stats.docs_with_overlap),
        ("doc.ents written", stats.ents_written),
        ("spans left out of doc.ents", stats.ents_left_out),
    ]
    msg.table(rows, aligns=("l", "r"), widths=_widths(rows))
    if stats.spans_by_label:
        msg.text("Spans written by label:")
        rows = [("label", "spans")] + stats.spans_by_label.most_common()
        msg.table(rows[1:], header=rows[0], aligns=("l", "r"), widths=_widths(rows))
    if stats.spans_skipped:
        msg.text("Spans skipped by reason:")
        rows = [("reason", "spans")] + stats.spans_skipped.most_common()
        msg.table(rows[1:], header=rows[0], aligns=("l", "r"), widths=_widths(rows))
    if stats.ignored_keys:
        keys = ", ".join(f"{k} ({n} records)" for k, n in stats.ignored_keys.most_common())
        msg.info(f"Ignored keys: {keys}")
    if stats.unlabelled_records:
        msg.warn(
            f"{stats.unlabelled_records} records have no annotations key (unlabelled data, "
            "e.g. a test split): written as docs without spans"
        )
    for warning in stats.warnings:
        msg.warn(warning)
    for kind, examples in stats.examples.items():
        show = msg.info if kind in ("nested", "expanded") else msg.warn
        show(f"Examples: {kind}")
        for example in examples:
            msg.text(f"  {example}")
    if not stats.docs_written:
        msg.warn("No docs were written: check the input file, --format and --start/--end")
    elif stats.output_path:
        msg.good(f"Wrote {stats.docs_written} docs to {stats.output_path}")


def _widths(rows: List[Tuple[Any, ...]]) -> Tuple[int, ...]:
    return tuple(max(len(str(row[i])) for row in rows) for i in range(len(rows[0])))
