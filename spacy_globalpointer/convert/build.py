"""Turn RawRecords into Docs: tokenization, span alignment, doc.spans and doc.ents."""
from typing import List, Optional, Set, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from .records import (
    SKIP_DUPLICATE,
    SKIP_DUPLICATE_ALIGNED,
    SKIP_EMPTY_TEXT,
    SKIP_MISALIGNED,
    SKIP_NO_TOKENS,
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
