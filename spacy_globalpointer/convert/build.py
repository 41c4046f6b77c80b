"""Turn RawRecords into Docs: tokenization, span alignment, doc.spans and doc.ents."""
from typing import Any, List, Optional, Set, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from ..extensions import EventRecord, RelationRecord, SpanRecord, set_event_records, set_relation_records
from .records import (
    ARGUMENT,
    EVENT,
    RELATION,
    SKIP_EVENT_SKIPPED,
    SKIP_TRIGGER,
    SKIP_DUPLICATE,
    SKIP_DUPLICATE_ALIGNED,
    SKIP_EMPTY_TEXT,
    SKIP_MISALIGNED,
    SKIP_NO_TOKENS,
    SKIP_SELF_RELATION,
    SKIP_WHITESPACE,
    ConversionStats,
    RawRecord,
)

ALIGNMENT_MODES = ("strict", "expand")
# Languages written without spaces between words: BIO tokens are joined directly.
NO_SPACE_LANGS = ("zh", "ja")


def build_doc(
    record: RawRecord,
    nlp: Language,
    stats: ConversionStats,
    spans_key: str,
    alignment: str,
    ents: bool,
) -> Optional[Doc]:
    """Tokenize one record and write its spans, relations and events to a Doc.

    record (RawRecord): The record; its spans in character or token offsets.
    nlp (Language): Supplies the tokenizer and vocab.
    stats (ConversionStats): Updated with everything read, written and skipped.
    spans_key (str): Key in `doc.spans` for the spans (and relation heads/tails).
    alignment (str): One of ALIGNMENT_MODES, for spans, relations and events alike.
    ents (bool): Also set `doc.ents` to a non-overlapping subset of the spans.
    RETURNS (Optional[Doc]): The Doc, or None for a record with empty text.
    """
    stats.spans_read += len(record.spans)
    stats.relations_read += len(record.relations)
    stats.events_read += len(record.events)
    stats.arguments_read += sum(len(event.arguments) for event in record.events)
    for kind, reason, example in record.skipped:
        stats.read_item(kind)
        stats.skip_item(kind, reason, example)
    if not record.labelled:
        stats.unlabelled_records += 1
    if record.words is not None:
        spaces = _token_spaces(len(record.words), nlp.lang)
        doc = Doc(nlp.vocab, words=record.words, spaces=spaces)
        spans = _token_spans(doc, record, stats)
    else:
        text = record.text or ""
        if not text.strip():
            stats.empty_texts += 1
            stats.example("empty text (record skipped)", record.where)
            if record.spans:
                stats.skip(SKIP_EMPTY_TEXT, n=len(record.spans))
            if record.relations:
                stats.skip_item(RELATION, SKIP_EMPTY_TEXT, n=len(record.relations))
            if record.events:
                stats.skip_item(EVENT, SKIP_EMPTY_TEXT, n=len(record.events))
                n_args = sum(len(event.arguments) for event in record.events)
                if n_args:
                    stats.skip_item(ARGUMENT, SKIP_EMPTY_TEXT, n=n_args)
            return None
        doc = nlp.make_doc(text)
        spans = _align_spans(doc, record, alignment, stats)
    if not record.labelled:
        # No key at all, so scorers treat the doc as unannotated rather than empty.
        return doc
    if record.spans_annotated:
        spans = sorted(spans, key=lambda sp: (sp.start, sp.end, sp.label_))
        doc.spans[spans_key] = spans
        stats.spans_written += len(spans)
        stats.spans_by_label.update(sp.label_ for sp in spans)
        _count_overlaps(spans, record.where, stats)
        if ents:
            _set_ents(doc, spans, record.where, stats)
    if record.relations:
        set_relation_records(doc, _relation_records(doc, record, alignment, stats))
    if record.events:
        set_event_records(doc, _event_records(doc, record, alignment, stats))
    return doc


def looks_space_separated(texts: List[str]) -> Tuple[bool, int]:
    """Whether texts read as a language written with spaces between words: at
    least 80% of their letters ASCII and on average a space every 20 characters.
    RETURNS (Tuple[bool, int]): The verdict and the percentage of ASCII letters."""
    letters = ascii_letters = spaces = chars = 0
    for text in texts:
        chars += len(text)
        spaces += text.count(" ")
        for char in text:
            if char.isalpha():
                letters += 1
                ascii_letters += char.isascii()
    if letters < 20:
        return False, 0
    pct = round(100 * ascii_letters / letters)
    return pct >= 80 and spaces * 20 >= chars, pct


def _token_spaces(n_words: int, lang: str) -> List[bool]:
    if lang in NO_SPACE_LANGS:
        return [False] * n_words
    return [True] * (n_words - 1) + [False] if n_words else []


def align_span(
    doc: Doc, start: int, end: int, label: str, alignment: str
) -> Tuple[Optional[Span], str]:
    """Map character offsets [start, end) to a token span.

    RETURNS (Tuple[Optional[Span], str]): The span and "" (its extent may be
        wider than asked with alignment "expand"), or None and the skip reason
        with a hint (the tokens nearby) appended after a tab.
    """
    span = doc.char_span(start, end, label=label, alignment_mode=alignment)
    if span is None and alignment == "strict":
        tokens = doc.char_span(start, end, alignment_mode="expand")
        near = f" (tokens: {[t.text for t in tokens]})" if tokens is not None else ""
        return None, SKIP_MISALIGNED + "\t" + near
    if span is None or len(span) == 0:
        return None, SKIP_NO_TOKENS
    if not span.text.strip():
        return None, SKIP_WHITESPACE
    return span, ""


def _token_spans(doc: Doc, record: RawRecord, stats: ConversionStats) -> List[Span]:
    """Spans in token offsets (already checked by the reader); duplicates counted."""
    seen: Set[Tuple[int, int, str]] = set()
    spans = []
    for start, end, label in record.spans:
        if (start, end, label) in seen:
            stats.skip(SKIP_DUPLICATE, f"{label} {doc[start:end].text!r} tokens [{start}:{end}] ({record.where})")
            continue
        seen.add((start, end, label))
        spans.append(Span(doc, start, end, label=label))
    return spans


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
        span, problem = align_span(doc, start, end, label, alignment)
        if span is None:
            reason, _, hint = problem.partition("\t")
            stats.skip(reason, shown + hint)
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


def _token_span(
    doc: Doc, record: RawRecord, start: int, end: int, label: str, alignment: str
) -> Tuple[Optional[SpanRecord], str, str, bool]:
    """(start, end, label) in tokens, or None and the reason; how it is shown; and
    whether alignment widened it."""
    if record.words is not None:
        shown = f"{label} {doc[start:end].text!r} tokens [{start}:{end}]"
        return (start, end, label), "", shown, False
    shown = f"{label} {doc.text[start:end]!r} [{start}:{end}]"
    span, problem = align_span(doc, start, end, label, alignment)
    if span is None:
        reason, _, hint = problem.partition("\t")
        return None, reason, shown + hint, False
    if (span.start_char, span.end_char) != (start, end):
        return (span.start, span.end, label), "", f"{shown} -> {span.text!r}", True
    return (span.start, span.end, label), "", shown, False


def _relation_records(
    doc: Doc, record: RawRecord, alignment: str, stats: ConversionStats
) -> List[RelationRecord]:
    """Align each relation's head and tail; count the skipped and the duplicates."""
    records: List[RelationRecord] = []
    seen: Set[Tuple[SpanRecord, str, SpanRecord]] = set()
    for rel in record.relations:
        head, head_reason, head_shown, head_wide = _token_span(doc, record, *rel.head, alignment)
        tail, tail_reason, tail_shown, tail_wide = _token_span(doc, record, *rel.tail, alignment)
        shown = f"{head_shown} --{rel.label}--> {tail_shown} ({record.where})"
        if head is None or tail is None:
            reason = f"head: {head_reason}" if head is None else f"tail: {tail_reason}"
            stats.skip_item(RELATION, reason, shown)
            continue
        if head[:2] == tail[:2]:
            stats.skip_item(RELATION, SKIP_SELF_RELATION, shown)
            continue
        if (head, rel.label, tail) in seen:
            stats.skip_item(RELATION, SKIP_DUPLICATE, shown)
            continue
        seen.add((head, rel.label, tail))
        if head_wide or tail_wide:
            stats.change("relation span expanded", shown)
        records.append((head, rel.label, tail, None))
        stats.relations_written += 1
        stats.relations_by_label[rel.label] += 1
    return records


def _event_records(
    doc: Doc, record: RawRecord, alignment: str, stats: ConversionStats
) -> List[EventRecord]:
    """Align triggers and arguments. An event whose trigger cannot be aligned is
    skipped with its arguments; an argument that cannot be aligned is skipped alone."""
    records: List[EventRecord] = []
    seen: Set[Any] = set()
    for event in record.events:
        trigger: Optional[SpanRecord] = None
        if event.trigger is not None:
            trigger, reason, shown, wide = _token_span(
                doc, record, *event.trigger, event.label, alignment
            )
            if trigger is None:
                stats.skip_item(EVENT, f"{SKIP_TRIGGER}: {reason}", f"{shown} ({record.where})")
                if event.arguments:
                    stats.skip_item(ARGUMENT, SKIP_EVENT_SKIPPED, n=len(event.arguments))
                continue
            if wide:
                stats.change("trigger expanded", f"{shown} ({record.where})")
        arguments: List[Tuple[str, SpanRecord]] = []
        for role, start, end in event.arguments:
            span, reason, shown, wide = _token_span(doc, record, start, end, role, alignment)
            shown = f"{event.label}: {shown} ({record.where})"
            if span is None:
                stats.skip_item(ARGUMENT, reason, shown)
                continue
            if (role, span) in arguments:
                stats.skip_item(ARGUMENT, SKIP_DUPLICATE, shown)
                continue
            if wide:
                stats.change("argument expanded", shown)
            arguments.append((role, span))
        key = (event.label, trigger, tuple(sorted(arguments)))
        if key in seen:
            stats.skip_item(EVENT, SKIP_DUPLICATE, f"{event.label} ({record.where})")
            if arguments:
                stats.skip_item(ARGUMENT, SKIP_EVENT_SKIPPED, n=len(arguments))
            continue
        seen.add(key)
        records.append((event.label, trigger, tuple(arguments), None))
        stats.events_written += 1
        stats.events_by_label[event.label] += 1
        stats.arguments_written += len(arguments)
        stats.arguments_by_role.update(role for role, _ in arguments)
    return records


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
