"""The `globalpointer_events` component: GPLinker event extraction.

GPLinker (Su, 2022) reads events as arguments plus links. One GlobalPointer
scores argument spans for every (event type, role) label, the trigger being
one more role; two single-channel matrices score whether two argument spans
belong to one event, one over their start tokens and one over their end
tokens. At inference, two arguments are linked where both pass the link
threshold, and per event type the events are the maximal cliques of linked
arguments; a clique without a trigger is no event. One argument may belong to
several events.

The component owns the whole model: its (type, role) labels are an encoding,
not spans users want, so users set and read `doc._.events`. It also writes
the predicted arguments to doc.spans[spans_key] (label = role, kb_id = event
type) so that displaCy and the span scorer can show them.
"""
import warnings
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import numpy
from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import registry
from spacy.vocab import Vocab
from thinc.api import Model
from thinc.types import Floats3d

from ..calibration import cell_decisions
from ..decoding import decode_band, linked_groups, max_spans_for, span_probability, to_numpy
from ..errors import Errors, Warnings
from ..extensions import EventRecord, event_records, install_extensions, set_event_records
from ..layouts import PairLayout
from ..ml.pair_loss import Cell, pair_loss
from .base import PairComponent, check_positive_int, check_threshold, default_model
from .event_scorer import score_events
from .matching import to_predicted

TRIGGER_ROLE = "trigger"
LABEL_SEPARATOR = "::"
DEFAULT_SPANS_KEY = "events"
DEFAULT_MAX_ARGUMENT_WIDTH = 64
# Docs up to this many tokens get the full link matrices; see relations.py.
DEFAULT_MAX_PAIR_DISTANCE = 256
# At most this many arguments per doc are linked (the best-scoring ones): an
# untrained model that floods a doc with arguments stays bounded in time.
DEFAULT_MAX_ARGUMENTS = 64

default_model_config = """
[model]
@architectures = "spacy-globalpointer.GPLinkerEvents.v1"
head_size = 64
efficient = true
pooling_size = 32

"""
DEFAULT_MODEL = default_model(default_model_config)

ARGUMENTS, START_LINKS, END_LINKS = 0, 1, 2


def event_label(event_type: str, role: str) -> str:
    """The head's label for one role of one event type, e.g. 'Attack::trigger'."""
    return f"{event_type}{LABEL_SEPARATOR}{role}"


def split_label(label: str) -> Tuple[str, str]:
    event_type, _, role = label.rpartition(LABEL_SEPARATOR)
    return event_type, role


@Language.factory(
    "globalpointer_events",
    assigns=["doc._.events", "doc.spans"],
    default_config={
        "model": DEFAULT_MODEL,
        "spans_key": DEFAULT_SPANS_KEY,
        "threshold": 0.0,
        "link_threshold": 0.0,
        "max_argument_width": DEFAULT_MAX_ARGUMENT_WIDTH,
        "max_pair_distance": DEFAULT_MAX_PAIR_DISTANCE,
        "max_arguments": DEFAULT_MAX_ARGUMENTS,
        "loss_rows": "doc",
        "calibrate_threshold": True,
        "calibration": "heldout",
        "torch_threads": 1,
        "scorer": {"@scorers": "spacy-globalpointer.events_scorer.v1"},
    },
    default_score_weights={
        "events_argument_cls_f": 1.0,
        "events_argument_cls_p": 0.0,
        "events_argument_cls_r": 0.0,
        "events_trigger_cls_f": 0.0,
        "events_f": 0.0,
    },
)
def make_globalpointer_events(
    nlp: Language,
    name: str,
    model: Model,
    spans_key: str,
    threshold: float,
    link_threshold: float,
    max_argument_width: Optional[int],
    max_pair_distance: Optional[int],
    max_arguments: int,
    loss_rows: str,
    calibrate_threshold: bool,
    calibration: str,
    torch_threads: Optional[int],
    scorer: Optional[Callable],
) -> "GlobalPointerEvents":
    """Create a GPLinker event extractor.

    model (Model): tok2vec >> argument GlobalPointer + start/end link matrices.
    spans_key (str): where the predicted arguments are written (label = role,
        kb_id = event type).
    threshold (float): an argument is predicted where its logit exceeds this.
    link_threshold (float): two arguments are linked where both their start
        and their end link logits exceed this.
    max_argument_width (Optional[int]): longest argument in tokens.
    max_pair_distance (Optional[int]): arguments whose starts (or ends) lie
        this far apart or more are never linked; None = unbounded.
    max_arguments (int): at most this many arguments per doc are linked.
    loss_rows (str): how the argument head's ZLPR loss groups cells, as for
        `globalpointer`: "doc" (a row per doc, the default) or "label" (a row
        per doc and (event type, role) label). With DuEE's 217 labels most
        label rows hold negatives only and push every score down: after 750
        steps on the CNN, argument F1 was 0.0 with "label" and 4.4 with "doc",
        trigger F1 7.8 against 28.2.
    calibrate_threshold (bool): move both thresholds to their best F1 on the
        training batches while training.
    calibration (str): what the threshold is calibrated on, every 50 updates:
        "heldout" (one training doc in 20 kept out of the loss and rescored
        without dropout; with under 1,000 training docs, "inference" instead),
        "inference" (the last 256 training docs rescored without dropout) or
        "batches" (the training pass's own scores); see pipeline/base.py.
    torch_threads (Optional[int]): torch intra-op threads while the head runs
        (the caller's setting is restored after); null leaves torch's setting
        alone. One thread is as fast on an idle CPU and far faster on a busy
        one (see ml/threads.py).
    scorer (Optional[Callable]): the scoring method.
    """
    return GlobalPointerEvents(
        nlp.vocab,
        model,
        name,
        spans_key=spans_key,
        threshold=threshold,
        link_threshold=link_threshold,
        max_argument_width=max_argument_width,
        max_pair_distance=max_pair_distance,
        max_arguments=max_arguments,
        loss_rows=loss_rows,
        calibrate_threshold=calibrate_threshold,
        calibration=calibration,
        torch_threads=torch_threads,
        scorer=scorer,
    )


@registry.scorers("spacy-globalpointer.events_scorer.v1")
def make_events_scorer() -> Callable[..., Dict[str, Any]]:
    return score_events


class GlobalPointerEvents(PairComponent):
    """Predict events (type, trigger, role-labelled arguments) into `doc._.events`."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "globalpointer_events",
        *,
        spans_key: str = DEFAULT_SPANS_KEY,
        threshold: float = 0.0,
        link_threshold: float = 0.0,
        max_argument_width: Optional[int] = DEFAULT_MAX_ARGUMENT_WIDTH,
        max_pair_distance: Optional[int] = DEFAULT_MAX_PAIR_DISTANCE,
        max_arguments: int = DEFAULT_MAX_ARGUMENTS,
        loss_rows: str = "doc",
        calibrate_threshold: bool = True,
        calibration: str = "heldout",
        torch_threads: Optional[int] = 1,
        scorer: Optional[Callable] = score_events,
    ) -> None:
        check_positive_int("max_argument_width", max_argument_width, optional=True)
        check_positive_int("max_pair_distance", max_pair_distance, optional=True)
        check_positive_int("max_arguments", max_arguments)
        check_threshold(threshold)
        check_threshold(link_threshold)
        install_extensions()
        super().__init__(
            vocab,
            model,
            name,
            {
                "spans_key": spans_key,
                "threshold": float(threshold),
                "link_threshold": float(link_threshold),
                "max_argument_width": max_argument_width,
                "max_pair_distance": max_pair_distance,
                "max_arguments": max_arguments,
                "loss_rows": loss_rows,
                "calibrate_threshold": calibrate_threshold,
                "calibration": calibration,
                "torch_threads": torch_threads,
            },
            scorer,
        )

    @property
    def key(self) -> str:
        return str(self.cfg["spans_key"])

    @property
    def argument_layout(self) -> PairLayout:
        return PairLayout.band(self.cfg["max_argument_width"])

    @property
    def link_layout(self) -> PairLayout:
        """Links are symmetric: only (earlier, later) token pairs, a band."""
        return PairLayout.band(self.cfg["max_pair_distance"])

    def head_layouts(self) -> Sequence[PairLayout]:
        return [self.argument_layout, self.link_layout, self.link_layout]

    def _label_source(self) -> str:
        return "doc._.events"

    def add_label(self, label: str) -> int:
        """Add an 'event_type::role' label (see `event_label`)."""
        if isinstance(label, str):
            event_type, role = split_label(label)
            if not event_type or not role or LABEL_SEPARATOR in role:
                raise ValueError(Errors.E028.format(label=label, sep=LABEL_SEPARATOR))
        return super().add_label(label)

    @property
    def event_types(self) -> Tuple[str, ...]:
        return tuple(sorted({split_label(label)[0] for label in self.labels}))

    # Training

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[List[str]] = None,
    ) -> None:
        """Read the (type, role) labels (from `labels` or the data), count what cannot be learned."""
        validate_get_examples(get_examples, "GlobalPointerEvents.initialize")
        self.start_training(nlp, get_examples)
        self._head._layers = []
        if labels is not None:
            for label in labels:
                self.add_label(label)
        counts = {"events": 0, "no_trigger": 0, "arguments": 0, "misaligned": 0, "too_wide": 0, "too_far": 0}
        sample: List[Example] = []
        for eg in get_examples():
            for event_type, trigger, arguments, _ in event_records(eg.reference):
                counts["events"] += 1
                counts["no_trigger"] += trigger is None
                if labels is None:
                    if trigger is not None:
                        self.add_label(event_label(event_type, TRIGGER_ROLE))
                    for role, _ in arguments:
                        self.add_label(event_label(event_type, role))
            for event in self._aligned_events(eg, counts):
                spans = [span for _, span in event[1]]
                for start, end in spans:
                    if self.argument_layout.column(start, end - 1, len(eg.predicted)) is None:
                        counts["too_wide"] += 1
                counts["too_far"] += sum(
                    self._link_columns(a, b, len(eg.predicted)) is None
                    for k, a in enumerate(spans)
                    for b in spans[k + 1 :]
                )
            if len(sample) < 10:
                sample.append(eg)
        self._require_labels()
        if counts["no_trigger"] or counts["misaligned"] or counts["too_wide"] or counts["too_far"]:
            warnings.warn(
                Warnings.W007.format(
                    name=self.name, width=self.cfg["max_argument_width"],
                    distance=self.cfg["max_pair_distance"], **counts,
                )
            )
        self._build_head([eg.predicted for eg in sample])

    def _aligned_events(
        self, eg: Example, counts: Optional[Dict[str, int]] = None
    ) -> List[Tuple[str, List[Tuple[str, Tuple[int, int]]]]]:
        """Gold events as (type, [(role, (start, end)), ...]) in predicted tokens, trigger first.

        Arguments that do not align with the predicted tokens are left out
        (and counted when `counts` is given).
        """
        events = []
        for event_type, trigger, arguments, _ in event_records(eg.reference):
            members = ([(TRIGGER_ROLE, trigger)] if trigger is not None else []) + list(arguments)
            aligned = []
            for role, record in members:
                span = to_predicted(eg, record)
                if counts is not None:
                    counts["arguments"] += 1
                    counts["misaligned"] += span is None
                if span is not None:
                    aligned.append((role, span))
            events.append((event_type, aligned))
        return events

    def _link_columns(
        self, a: Tuple[int, int], b: Tuple[int, int], n_tokens: int
    ) -> Optional[Tuple[Tuple[int, int], Tuple[int, int]]]:
        """(row, column) of the start link and of the end link of two argument spans."""
        layout = self.link_layout
        first, last = min(a[0], b[0]), max(a[0], b[0])
        first_end, last_end = min(a[1], b[1]) - 1, max(a[1], b[1]) - 1
        start_column = layout.column(first, last, n_tokens)
        end_column = layout.column(first_end, last_end, n_tokens)
        if start_column is None or end_column is None:
            return None
        return (first, start_column), (first_end, end_column)

    def get_loss(
        self, examples: Iterable[Example], scores: List[Tuple[Floats3d, Floats3d, Floats3d]]
    ) -> Tuple[float, List[Tuple[Floats3d, Floats3d, Floats3d]]]:
        examples = list(examples)
        validate_examples(examples, "GlobalPointerEvents.get_loss")
        return self._loss(scores, self._gold_cells(examples))

    def _loss(
        self, scores: List[Tuple[Floats3d, Floats3d, Floats3d]], gold: Tuple[List[List[Cell]], ...]
    ) -> Tuple[float, List[Tuple[Floats3d, Floats3d, Floats3d]]]:
        arg_loss, d_args = pair_loss(
            [s[ARGUMENTS] for s in scores], gold[ARGUMENTS], self.argument_layout, rows=self.cfg["loss_rows"]
        )
        start_loss, d_starts = pair_loss(
            [s[START_LINKS] for s in scores], gold[START_LINKS], self.link_layout, sparse=True
        )
        end_loss, d_ends = pair_loss(
            [s[END_LINKS] for s in scores], gold[END_LINKS], self.link_layout, sparse=True
        )
        return arg_loss + start_loss + end_loss, list(zip(d_args, d_starts, d_ends))

    def _gold_cells(self, examples: List[Example]) -> Tuple[List[List[Cell]], ...]:
        """Per doc: argument cells (label, start, width - 1), start-link and end-link cells."""
        label_map = self._label_map
        arguments: List[List[Cell]] = []
        starts: List[List[Cell]] = []
        ends: List[List[Cell]] = []
        for eg in examples:
            n_tokens = len(eg.predicted)
            doc_args: Set[Cell] = set()
            doc_starts: Set[Cell] = set()
            doc_ends: Set[Cell] = set()
            for event_type, members in self._aligned_events(eg):
                for role, (start, end) in members:
                    label = event_label(event_type, role)
                    if label not in label_map:
                        raise ValueError(
                            Errors.E027.format(
                                event_type=event_type, role=role, name=self.name,
                                labels=list(self.labels),
                            )
                        )
                    column = self.argument_layout.column(start, end - 1, n_tokens)
                    if column is not None:  # wider ones were counted in initialize
                        doc_args.add((label_map[label], start, column))
                spans = [span for _, span in members]
                for k, a in enumerate(spans):
                    for b in spans[k + 1 :]:
                        cells = self._link_columns(a, b, n_tokens)
                        if cells is not None:
                            doc_starts.add((0,) + cells[0])
                            doc_ends.add((0,) + cells[1])
            arguments.append(sorted(doc_args))
            starts.append(sorted(doc_starts))
            ends.append(sorted(doc_ends))
        return arguments, starts, ends

    def _calibration_decisions(
        self, examples: List[Example], scores: List[Tuple[Floats3d, Floats3d, Floats3d]]
    ) -> Dict[str, Tuple[List[numpy.ndarray], List[numpy.ndarray]]]:
        """Arguments: every valid cell (as for spans); links: see `_link_decisions`."""
        arguments = [s[ARGUMENTS] for s in scores]
        gold = self._gold_cells(examples)
        return {
            "threshold": cell_decisions(
                arguments, gold[ARGUMENTS], self.argument_layout, self._calibrator().lowest
            ),
            "link_threshold": self._link_decisions(examples, scores),
        }

    def _link_decisions(
        self, examples: List[Example], scores: List[Tuple[Floats3d, Floats3d, Floats3d]]
    ) -> Tuple[List[numpy.ndarray], List[numpy.ndarray]]:
        """Link scores min(start, end) of every pair of distinct gold argument spans
        of a doc, and of those that share an event: what decoding thresholds."""
        candidates, golds = [], []
        for eg, (_, doc_starts, doc_ends) in zip(examples, scores):
            events = self._aligned_events(eg)
            spans = sorted({span for _, members in events for _, span in members})
            together = {
                (a, b)
                for _, members in events
                for a in (s for _, s in members)
                for b in (s for _, s in members)
            }
            values, is_gold = [], []
            for k, a in enumerate(spans):
                for b in spans[k + 1 :]:
                    cells = self._link_columns(a, b, len(eg.predicted))
                    if cells is None:
                        continue
                    (row_s, col_s), (row_e, col_e) = cells
                    values.append(min(float(doc_starts[0, row_s, col_s]), float(doc_ends[0, row_e, col_e])))
                    is_gold.append((a, b) in together)
            if values:
                array = numpy.asarray(values, dtype="float32")
                gold_mask = numpy.asarray(is_gold, dtype=bool)
                candidates.append(array[array > self._calibrator("link_threshold").lowest])
                golds.append(array[gold_mask])
        return candidates, golds

    # Inference

    def _predict(self, docs: List[Doc]) -> List[Tuple[Floats3d, Floats3d, Floats3d]]:
        """Argument scores (labels, n, W) and start/end link scores (1, n, C) per doc."""
        self._require_initialized()
        docs = list(docs)
        if not any(len(doc) for doc in docs):
            ops = self.model.ops
            return [
                (ops.alloc3f(len(self.labels), 0, 0), ops.alloc3f(1, 0, 0), ops.alloc3f(1, 0, 0))
                for _ in docs
            ]
        return self.model.predict(docs)

    def set_annotations(
        self, docs: Iterable[Doc], scores: List[Tuple[Floats3d, Floats3d, Floats3d]]
    ) -> None:
        """Decode arguments, link them, and write events and argument spans."""
        labels = self.labels
        for doc, (arg_scores, start_links, end_links) in zip(docs, scores):
            decoded = decode_band(
                arg_scores,
                float(self.cfg["threshold"]),
                min(int(self.cfg["max_arguments"]), max_spans_for(len(doc), 1.0)),
            )
            arguments = [
                (split_label(labels[label]), (int(start), int(end)), float(logit))
                for label, start, end, logit in zip(
                    decoded.labels, decoded.starts, decoded.ends, decoded.logits
                )
            ]
            spans = [
                Span(doc, start, end, label=role, kb_id=event_type)
                for (event_type, role), (start, end), _ in arguments
            ]
            group = SpanGroup(doc, name=self.key, spans=spans)
            group.attrs["scores"] = span_probability(decoded.logits).astype("float32")
            doc.spans[self.key] = group
            set_event_records(
                doc, self._decode_events(arguments, to_numpy(start_links), to_numpy(end_links))
            )

    def _decode_events(
        self,
        arguments: List[Tuple[Tuple[str, str], Tuple[int, int], float]],
        start_links: numpy.ndarray,
        end_links: numpy.ndarray,
    ) -> List[EventRecord]:
        """Per event type, the cliques of linked arguments that hold a trigger.

        `cfg["event_grouping"] = "types"` (an ablation, not a factory setting)
        ignores the links: all arguments of one type in a doc form one event.
        """
        n_tokens = start_links.shape[1]
        link_threshold = float(self.cfg["link_threshold"])
        records: List[EventRecord] = []
        seen: Set[Any] = set()
        by_type: Dict[str, List[int]] = {}
        for k, ((event_type, _), _, _) in enumerate(arguments):
            by_type.setdefault(event_type, []).append(k)
        for event_type, members in sorted(by_type.items()):
            link_logits: Dict[Tuple[int, int], float] = {}
            links = []
            for x, a in enumerate(members):
                for y in range(x + 1, len(members)):
                    b = members[y]
                    cells = self._link_columns(arguments[a][1], arguments[b][1], n_tokens)
                    if cells is None:
                        continue
                    (row_s, col_s), (row_e, col_e) = cells
                    logit = min(float(start_links[0, row_s, col_s]), float(end_links[0, row_e, col_e]))
                    if logit > link_threshold:
                        links.append((x, y))
                        link_logits[(x, y)] = logit
            if self.cfg.get("event_grouping", "cliques") == "types":
                # Ablation: every argument of one event type in the doc is one event.
                groups = [tuple(range(len(members)))]
            else:
                groups = linked_groups(len(members), links)
            for group in groups:
                triggers = [x for x in group if arguments[members[x]][0][1] == TRIGGER_ROLE]
                if not triggers:
                    continue
                trigger = max(triggers, key=lambda x: arguments[members[x]][2])
                others = [x for x in group if arguments[members[x]][0][1] != TRIGGER_ROLE]
                logits = [arguments[members[x]][2] for x in group] + [
                    link_logits[(x, y)] for x in group for y in group if (x, y) in link_logits
                ]
                event_args = tuple(
                    sorted(
                        (arguments[members[x]][0][1], _span_record(arguments[members[x]]))
                        for x in others
                    )
                )
                record = (
                    event_type,
                    _span_record(arguments[members[trigger]]),
                    event_args,
                    float(span_probability(numpy.asarray([min(logits)]))[0]),
                )
                key = record[:3]
                if key not in seen:
                    seen.add(key)
                    records.append(record)
        return records

    def __call__(self, doc: Doc) -> Doc:
        install_extensions()
        return super().__call__(doc)

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterable[Doc]:
        install_extensions()
        return super().pipe(stream, batch_size=batch_size)


def _span_record(argument: Tuple[Tuple[str, str], Tuple[int, int], float]) -> Tuple[int, int, str]:
    (event_type, role), (start, end), _ = argument
    return (start, end, event_type if role == TRIGGER_ROLE else role)
