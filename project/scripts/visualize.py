"""Render predicted and gold spans of a few dev docs as one displaCy HTML page.

displaCy's "span" style draws overlapping spans on separate lines, so nested
entities stay visible. Docs with nested gold spans are shown first, and each
prediction is followed by its gold doc so they can be compared by eye.

With --relations the page shows doc._.relations instead: displaCy has no style
for arcs between spans, so each doc is drawn as an SVG of our own, with every
relation a labelled arrow from its head span to its tail span above the text
and the spans as stacked bars below it (nested spans on separate rows). Docs
with nested entities, relations in both directions and entities in several
relations come first.

With --events the same SVG shows doc._.events: each event is its trigger (a
bar labelled with the event type) with arcs to its arguments, labelled with
their roles. Docs with two events of one type, an argument in two events and
nested arguments come first.
"""
import html as html_lib
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import spacy
import typer
from spacy import displacy
from spacy.tokens import Doc, DocBin
from wasabi import msg

from spacy_globalpointer.extensions import event_records, install_extensions, relation_records

PALETTE = ["#7aecec", "#feca74", "#ff9561", "#aa9cfc", "#bfe1d9", "#e4e7d2", "#ff8197",
           "#c887fb", "#9cc9cc", "#ffeb80", "#f0d0ff", "#bfeeb7", "#e6c3a5", "#c3d9ff"]


def has_nesting(doc: Doc, spans_key: str) -> bool:
    spans = list(doc.spans.get(spans_key, []))
    return any(
        a is not b and a.start <= b.start and b.end <= a.end for a in spans for b in spans
    )


def pick_docs(docs: List[Doc], spans_key: str, n_docs: int) -> List[Doc]:
    """Nested docs first (in file order), then the others."""
    nested = [doc for doc in docs if has_nesting(doc, spans_key)]
    others = [doc for doc in docs if not has_nesting(doc, spans_key)]
    return (nested + others)[:n_docs]


def label_colors(docs: List[Doc], spans_key: str) -> Dict[str, str]:
    labels = sorted({sp.label_ for doc in docs for sp in doc.spans.get(spans_key, [])})
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


# ---------------------------------------------------------------------------
# Relations: one SVG per doc

CHAR_W = 9.0  # px per character; each token's text is stretched to fit exactly
ARC_STEP = 26  # px between arc heights
ROW_H = 24  # px per row of span bars
PAD = 12
MIN_ARC = 24  # px between an arc's ends at least


def relation_shapes(doc: Doc, spans_key: str) -> int:
    """How many of the sample's shapes a gold doc shows (nesting, both directions, shared entity)."""
    records = relation_records(doc)
    pairs = {(h, t) for h, _, t, _ in records}
    uses: Dict[Tuple, int] = {}
    for h, _, t, _ in records:
        uses[h] = uses.get(h, 0) + 1
        uses[t] = uses.get(t, 0) + 1
    return (
        has_nesting(doc, spans_key)
        + any((t, h) in pairs for h, t in pairs)
        + any(n > 1 for n in uses.values())
    )


def pick_relation_docs(docs: List[Doc], spans_key: str, n_docs: int) -> List[Doc]:
    """Docs with relations, the richest first (stable), then the others."""
    with_rel = [doc for doc in docs if relation_records(doc)]
    with_rel.sort(key=lambda doc: -relation_shapes(doc, spans_key))
    return (with_rel + [doc for doc in docs if not relation_records(doc)])[:n_docs]


def _rows(spans: Sequence[Tuple[int, int]]) -> List[int]:
    """Row per span (char ranges, longest first) so overlapping spans never share a row."""
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0], -(spans[i][1] - spans[i][0])))
    rows: List[int] = [0] * len(spans)
    placed: List[List[Tuple[int, int]]] = []
    for i in order:
        start, end = spans[i]
        row = 0
        while row < len(placed) and any(s < end and start < e for s, e in placed[row]):
            row += 1
        if row == len(placed):
            placed.append([])
        placed[row].append((start, end))
        rows[i] = row
    return rows


def _arc_levels(arcs: Sequence[Tuple[float, float]]) -> List[int]:
    """Level per arc (x ranges): narrow arcs low, an arc spanning or crossing another one above it."""
    order = sorted(range(len(arcs)), key=lambda i: abs(arcs[i][1] - arcs[i][0]))
    levels = [0] * len(arcs)
    done: List[int] = []
    for i in order:
        lo, hi = sorted(arcs[i])
        below = [levels[j] for j in done if min(arcs[j]) < hi and lo < max(arcs[j])]
        levels[i] = 1 + max(below, default=0)
        done.append(i)
    return levels


Bar = Tuple[int, int, str]  # a span as (start token, end token, label)
Arc = Tuple[Bar, str, Bar, str]  # (from, label, to, hover text)


def arc_svg(doc: Doc, bars: Sequence[Bar], arcs: Sequence[Arc], colors: Dict[str, str], kind: str) -> str:
    """The doc's text, `bars` stacked below it (overlapping ones on separate rows)
    and `arcs` as labelled arrows above it; SVG classes are `span-bar`,
    `<kind>-arc` and `<kind>-label`. Arc ends missing from `bars` are added."""
    esc = html_lib.escape
    bars = list(dict.fromkeys(bars))
    for source, _, target, _ in arcs:
        for bar in (source, target):
            if bar not in bars:
                bars.append(bar)
    char_ranges = [(doc[s].idx, doc[e - 1].idx + len(doc[e - 1].text)) for s, e, _ in bars]
    rows = _rows(char_ranges)

    def x_of(char: float) -> float:
        return PAD + char * CHAR_W

    def centre(bar: Bar) -> float:
        start, end, _ = bar
        return x_of((doc[start].idx + doc[end - 1].idx + len(doc[end - 1].text)) / 2)

    ends = []
    for source, _, target, _ in arcs:
        x1, x2 = centre(source), centre(target)
        if abs(x2 - x1) < MIN_ARC:  # nested spans with close centres: widen, keeping the direction
            mid, sign = (x1 + x2) / 2, (1 if x2 >= x1 else -1)
            x1, x2 = mid - sign * MIN_ARC / 2, mid + sign * MIN_ARC / 2
        ends.append((x1, x2))
    levels = _arc_levels(ends)
    top = PAD + 14 + ARC_STEP * max(levels, default=0)
    baseline = top + 16
    bar_top = baseline + 8
    width = x_of(len(doc.text)) + PAD
    height = bar_top + ROW_H * (max(rows, default=-1) + 1) + PAD
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{kind}s" width="{width:.0f}" height="{height:.0f}" '
        f'style="font-family: monospace; overflow: visible">'
    ]
    for token in doc:
        parts.append(
            f'<text x="{x_of(token.idx):.1f}" y="{baseline}" font-size="15" textLength="{len(token.text) * CHAR_W:.1f}" '
            f'lengthAdjust="spacingAndGlyphs">{esc(token.text)}</text>'
        )
    for (start, end, label), (c1, c2), row in zip(bars, char_ranges, rows):
        x1, x2 = x_of(c1), x_of(c2)
        y = bar_top + ROW_H * row
        parts.append(
            f'<rect class="span-bar" x="{x1:.1f}" y="{y}" width="{x2 - x1:.1f}" height="5" fill="{colors.get(label, "#ddd")}">'
            f"<title>{esc(label)}: {esc(doc[start:end].text)}</title></rect>"
            f'<text class="span-label" x="{x1:.1f}" y="{y + 17}" font-size="11" font-weight="bold" '
            f'fill="#555">{esc(label)}</text>'
        )
    for (_, label, _, title), (x1, x2), level in zip(arcs, ends, levels):
        y0 = top
        y_top = top - ARC_STEP * level
        # A cubic with both controls at c reaches 3/4 of the way: put c so the arc peaks at y_top.
        c = y0 - (y0 - y_top) * 4 / 3
        parts.append(
            f'<path class="{kind}-arc" d="M {x1:.1f} {y0} C {x1:.1f} {c:.1f}, {x2:.1f} {c:.1f}, {x2:.1f} {y0}" '
            f'fill="none" stroke="#333" stroke-width="1.5" marker-end="url(#arrow)"><title>{esc(title)}</title></path>'
            f'<text class="{kind}-label" x="{(x1 + x2) / 2:.1f}" y="{y_top - 3}" font-size="11" '
            f'text-anchor="middle" fill="#1a5fb4">{esc(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def relation_svg(doc: Doc, spans_key: str, colors: Dict[str, str]) -> str:
    """The doc's spans as stacked bars and its relations as arcs from head to tail."""
    bars = [(sp.start, sp.end, sp.label_) for sp in doc.spans.get(spans_key, [])]
    arcs = []
    for head, predicate, tail, score in relation_records(doc):
        title = f"{doc[head[0]:head[1]].text} --{predicate}--> {doc[tail[0]:tail[1]].text}"
        arcs.append((head, predicate, tail, title + ("" if score is None else f" ({score:.2f})")))
    return arc_svg(doc, bars, arcs, colors, "relation")


def event_svg(doc: Doc, colors: Dict[str, str]) -> str:
    """Each event as its trigger bar (labelled with the event type) and arcs
    from the trigger to its arguments, labelled with their roles."""
    bars: List[Bar] = []
    arcs: List[Arc] = []
    for label, trigger, arguments, score in event_records(doc):
        where = "" if score is None else f" ({score:.2f})"
        if trigger is None:  # gold events may lack a trigger: show the arguments only
            bars.extend(span for _, span in arguments)
            continue
        bars.append((trigger[0], trigger[1], label))
        for role, span in arguments:
            title = f"{label}: {doc[trigger[0]:trigger[1]].text} --{role}--> {doc[span[0]:span[1]].text}{where}"
            arcs.append(((trigger[0], trigger[1], label), role, span, title))
    return arc_svg(doc, bars, arcs, colors, "event")


def arc_page(title: str, docs: List[Tuple[str, str, str]], labels: Sequence[str], render) -> str:
    """One HTML page of SVGs: `docs` holds (heading, css class, doc) triples,
    `render(doc, colors)` draws one."""
    colors = {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(sorted(set(labels)))}
    body = [f'<h3>{heading}</h3><div class="doc {kind}">{render(doc, colors)}</div>' for heading, kind, doc in docs]
    legend = " ".join(
        f'<span style="background: {color}; padding: 2px 6px; margin-right: 4px">{html_lib.escape(label)}</span>'
        for label, color in colors.items()
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        "<style>body { font-family: sans-serif; margin: 2em; } .doc { overflow-x: auto; padding-bottom: 1em; "
        "border-bottom: 1px solid #eee; } h3 { font-size: 1em; color: #444; }</style></head><body>"
        '<svg width="0" height="0" style="position: absolute"><defs><marker id="arrow" viewBox="0 0 10 10" '
        'refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#333"/></marker></defs></svg>'
        f"<h2>{title}: prediction, then gold</h2><p>{legend}</p>" + "".join(body) + "</body></html>\n"
    )


def _n(count: int, noun: str) -> str:
    return f'{count} {noun}{"" if count == 1 else "s"}'


def relations_page(pairs: List[Tuple[Doc, Doc]], spans_key: str) -> str:
    """One page: per doc the prediction, then the gold annotation."""
    labels = [sp.label_ for pair in pairs for doc in pair for sp in doc.spans.get(spans_key, [])]
    docs = [
        (f"Doc {i + 1}: {kind} ({_n(len(relation_records(doc)), 'relation')}, "
         f"{_n(len(doc.spans.get(spans_key, [])), 'span')})", kind, doc)
        for i, pair in enumerate(pairs) for doc, kind in zip(pair, ("predicted", "gold"))
    ]
    return arc_page("Relations", docs, labels, lambda doc, colors: relation_svg(doc, spans_key, colors))


def events_page(pairs: List[Tuple[Doc, Doc]]) -> str:
    """One page: per doc the predicted events, then the gold ones."""
    labels = []
    for pair in pairs:
        for doc in pair:
            for label, _, arguments, _ in event_records(doc):
                labels.append(label)
                labels.extend(role for role, _ in arguments)
    docs = [
        (f"Doc {i + 1}: {kind} ({_n(len(event_records(doc)), 'event')})", kind, doc)
        for i, pair in enumerate(pairs) for doc, kind in zip(pair, ("predicted", "gold"))
    ]
    return arc_page("Events", docs, labels, event_svg)


def event_shapes(doc: Doc) -> int:
    """How many of the events sample's shapes a gold doc shows: two events of
    one type, an argument in two events, nested arguments."""
    records = event_records(doc)
    types = [label for label, _, _, _ in records]
    per_event = [{(s, e) for _, (s, e, _) in arguments} for _, _, arguments, _ in records]
    spans = set().union(*per_event) if per_event else set()
    return (
        (len(types) > len(set(types)))
        + (sum(len(p) for p in per_event) > len(spans))
        + any(a != b and a[0] <= b[0] and b[1] <= a[1] for a in spans for b in spans)
    )


def pick_event_docs(docs: List[Doc], n_docs: int) -> List[Doc]:
    """Docs with events, the richest first (stable), then the others."""
    with_events = [doc for doc in docs if event_records(doc)]
    with_events.sort(key=lambda doc: -event_shapes(doc))
    return (with_events + [doc for doc in docs if not event_records(doc)])[:n_docs]


def main(
    # fmt: off
    model: Path = typer.Argument(..., help="Trained pipeline directory", exists=True, file_okay=False),
    data: Path = typer.Argument(..., help="Gold .spacy file", exists=True, dir_okay=False),
    output_path: Path = typer.Argument(..., help="Output HTML file"),
    spans_key: str = typer.Option("sc", "--spans-key", "-k", help="Key in doc.spans to draw"),
    n_docs: int = typer.Option(6, "--n-docs", "-n", help="Number of docs to show"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, or -1 for CPU"),
    relations: bool = typer.Option(False, "--relations", help="Draw doc._.relations as arcs between the spans"),
    events: bool = typer.Option(False, "--events", help="Draw doc._.events: each trigger with arcs to its arguments"),
    # fmt: on
) -> None:
    """Write OUTPUT_PATH with MODEL's predictions and the gold spans for docs from DATA."""
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    install_extensions()
    nlp = spacy.load(model)
    if events:
        gold_docs = pick_event_docs(list(DocBin().from_disk(data).get_docs(nlp.vocab)), n_docs)
        if not gold_docs:
            msg.fail(f"{data} holds no docs", exits=1)
        predicted = list(nlp.pipe(doc.text for doc in gold_docs))
        output_path.parent.mkdir(parents=True, exist_ok=True)
        output_path.write_text(events_page(list(zip(predicted, gold_docs))), encoding="utf8")
        n_gold = sum(len(event_records(doc)) for doc in gold_docs)
        n_pred = sum(len(event_records(doc)) for doc in predicted)
        msg.good(f"Wrote {output_path}: {len(gold_docs)} docs, {n_pred} predicted and {n_gold} gold events")
        return
    if relations:
        gold_docs = pick_relation_docs(list(DocBin().from_disk(data).get_docs(nlp.vocab)), spans_key, n_docs)
        if not gold_docs:
            msg.fail(f"{data} holds no docs", exits=1)
        predicted = list(nlp.pipe(doc.text for doc in gold_docs))
        output_path.parent.mkdir(parents=True, exist_ok=True)
        output_path.write_text(relations_page(list(zip(predicted, gold_docs)), spans_key), encoding="utf8")
        n_gold = sum(len(relation_records(doc)) for doc in gold_docs)
        n_pred = sum(len(relation_records(doc)) for doc in predicted)
        msg.good(f"Wrote {output_path}: {len(gold_docs)} docs, {n_pred} predicted and {n_gold} gold relations")
        return
    gold_docs = pick_docs(list(DocBin().from_disk(data).get_docs(nlp.vocab)), spans_key, n_docs)
    if not gold_docs:
        msg.fail(f"{data} holds no docs", exits=1)
    predicted = list(nlp.pipe(doc.text for doc in gold_docs))
    shown = []
    for i, (pred, gold) in enumerate(zip(predicted, gold_docs)):
        n_pred = len(pred.spans.get(spans_key, []))
        n_gold = len(gold.spans.get(spans_key, []))
        pred.user_data["title"] = f"Doc {i + 1}: predicted ({n_pred} spans)"
        gold.user_data["title"] = f"Doc {i + 1}: gold ({n_gold} spans)"
        for doc in (pred, gold):
            if spans_key not in doc.spans:  # displaCy warns on a missing key
                doc.spans[spans_key] = []
        shown.extend([pred, gold])
    options = {"spans_key": spans_key, "colors": label_colors(shown, spans_key)}
    html = displacy.render(shown, style="span", options=options, page=True)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    output_path.write_text(html, encoding="utf8")
    n_nested = sum(has_nesting(doc, spans_key) for doc in gold_docs)
    msg.good(f"Wrote {output_path}: {len(gold_docs)} docs ({n_nested} with nested gold spans)")


if __name__ == "__main__":
    typer.run(main)
