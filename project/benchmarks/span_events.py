"""Event baseline for the benchmark: what a spaCy user builds from spaCy's own parts.

`spancat_singlelabel` labels spans with the events' (event type, role) labels
(the trigger is one more role, as `globalpointer_events` labels them), and
`benchmark_span_events` groups what it predicts into events the simplest way:
all arguments of one event type in one sentence form one event, which needs a
trigger of that type (the links' ablation of `globalpointer_events`, from the
same function, `group_events(grouping="types")`). Multilabel `spancat` at its
0.5 threshold predicted nothing at all on 73 such labels after 2,000 steps in
an independent run; the single-label variant has no threshold to miss.

Training reads the gold spans from the events themselves
(`spacy-globalpointer-benchmarks.EventSpans.v1`, a `spacy.Corpus` that copies
each reference doc's events into doc.spans[spans_key]), so the baseline trains
on the same DocBins as `globalpointer_events`. Scores come from the package's
events scorer, so its figures compare. Load it with `spacy train --code`.
"""
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional

import numpy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Corpus, Example
from spacy.util import registry

from spacy_globalpointer.extensions import event_records, install_extensions, set_event_records
from spacy_globalpointer.pipeline.event_scorer import score_events
from spacy_globalpointer.pipeline.event_structure import TRIGGER_ROLE, event_label, group_events, split_label
from spacy_globalpointer.pipeline.linking import link_windows, span_windows

SPANS_KEY = "events"


def write_event_spans(doc: Doc, spans_key: str = SPANS_KEY) -> None:
    """doc.spans[spans_key] = every trigger and argument of doc._.events,
    labelled (event type, role), each (span, label) once."""
    seen = set()
    spans: List[Span] = []
    for event_type, trigger, arguments, _ in event_records(doc):
        members = ([(TRIGGER_ROLE, trigger)] if trigger is not None else []) + list(arguments)
        for role, (start, end, _) in members:
            label = event_label(event_type, role)
            if (start, end, label) not in seen:
                seen.add((start, end, label))
                spans.append(Span(doc, start, end, label=label))
    doc.spans[spans_key] = spans


@registry.readers("spacy-globalpointer-benchmarks.EventSpans.v1")
def event_spans_corpus(
    path: Optional[Path], spans_key: str = SPANS_KEY, max_length: int = 0, gold_preproc: bool = False, limit: int = 0
) -> Callable[[Language], Iterable[Example]]:
    """spacy.Corpus.v1 whose reference docs also hold their events as spans."""
    corpus = Corpus(path, max_length=max_length, gold_preproc=gold_preproc, limit=limit)

    def read(nlp: Language) -> Iterator[Example]:
        for eg in corpus(nlp):
            write_event_spans(eg.reference, spans_key)
            yield eg

    return read


@Language.factory(
    "benchmark_span_events",
    assigns=["doc._.events"],
    requires=["doc.spans"],
    default_config={"spans_key": SPANS_KEY},
    default_score_weights={"events_f": 1.0, "events_argument_cls_f": 0.0, "events_trigger_cls_f": 0.0},
)
def make_span_events(nlp: Language, name: str, spans_key: str) -> "SpanEvents":
    """Group the (type, role) spans in doc.spans[spans_key] into one event per
    event type and sentence."""
    return SpanEvents(name, spans_key)


class SpanEvents:
    def __init__(self, name: str, spans_key: str) -> None:
        install_extensions()
        self.name = name
        self.spans_key = spans_key

    def __call__(self, doc: Doc) -> Doc:
        group = doc.spans.get(self.spans_key, [])
        spans = list(group)
        probabilities = group.attrs.get("scores") if spans else None
        if probabilities is None or len(probabilities) != len(spans):
            probabilities = numpy.full(len(spans), 0.5)
        # (spancat_singlelabel keeps one score per span as a column.)
        p = numpy.asarray(probabilities, dtype="float64").reshape(len(spans), -1).max(axis=1) if spans else numpy.zeros(0)
        p = numpy.clip(p, 1e-6, 1 - 1e-6)
        # group_events scores an event by sigmoid(2 * logit) of its weakest member.
        logits = numpy.log(p / (1 - p)) / 2
        arguments = [(split_label(s.label_), (s.start, s.end), float(z)) for s, z in zip(spans, logits)]
        starts = numpy.asarray([s.start for s in spans], dtype="int64")
        ends = numpy.asarray([s.end for s in spans], dtype="int64")
        windows = span_windows(link_windows(doc, "sentence"), starts, ends)
        set_event_records(doc, group_events(arguments, windows, {}, grouping="types"))
        return doc

    def score(self, examples: Iterable[Example], **kwargs) -> Dict[str, object]:
        return score_events(examples, **kwargs)
