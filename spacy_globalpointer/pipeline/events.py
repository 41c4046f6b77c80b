"""The `globalpointer_events` component: GPLinker event extraction.

GPLinker (Su, 2022) reads events as arguments plus links. One GlobalPointer
scores argument spans for every (event type, role) label, the trigger being
one more role; two single-channel matrices score whether two argument spans
belong to one event, one over their start tokens and one over their end
tokens. At inference, two arguments are linked where both pass the link
threshold, and per event type the events are the maximal cliques of linked
arguments; a clique without a trigger is no event. One argument may belong to
several events.

By default (GPLinkerEvents.v2, `link_pair_width = 128`, in this factory's
model and the shipped configs) a span-pair scorer decides the links instead:
the two arguments' mean vectors, the tokens between them and their distance
(`ml/span_pairs.py`), trained on the pairs of gold arguments decoding would
try. On spaCy's CNN the boundary-token cells barely told the arguments of one
event from those of two (DuEE: ROC AUC 0.70 over gold argument pairs; the
scorer 0.93). The scorer's loss does not train the shared encoder
(`link_encoder_grad_scale = 0.0`, v2's default): at the full share it cost
DuEE's arguments about 1.5 F1. `link_pair_width = 0` is GPLinker's form; the architecture's
own default stays 0, so pipelines saved before the scorer existed load as
they were trained.

The component owns the whole model: its (type, role) labels are an encoding,
not spans users want, so users set and read `doc._.events`. It also writes
the predicted arguments to doc.spans[spans_key] (label = role, kb_id = event
type) so that displaCy and the span scorer can show them.
"""
import warnings
from collections import Counter
from typing import Any, Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple, Union

import numpy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry
from spacy.vocab import Vocab
from thinc.api import Model
from thinc.types import Floats3d

from ..calibration import GridCounts
from ..checks import check_choice, check_int, check_number_in
from ..decoding import best_non_overlapping, decode_band, max_spans_for, to_numpy
from ..errors import Errors, Warnings
from ..extensions import EventRecord, event_records, set_event_records
from ..layouts import PairLayout
from ..ml.pair_loss import Cell, listed_cells_loss, listed_pairs_loss, pair_loss
from ..ml.span_pairs import no_pairs
from .base import DEFAULT_CALIBRATION, LEARNED_CFG, PairComponent, default_model
from .event_scorer import coevent_pairs, score_events
from .event_structure import (
    ANY_TYPE,
    ARGUMENT_LABELS,
    CALIBRATION_ARGUMENTS,
    GROUPINGS,
    OVERLAPPING_ARGUMENTS,
    Argument,
    LABEL_SEPARATOR,
    TRIGGER_ROLE,
    EventGold,
    align_events,
    extra_triggers,
    group_events,
    head_label,
    link_threshold_levels,
    mentioned_events,
    output_decisions,
    split_label,
    type_arguments,
)
from .linking import (
    LINK_SCOPES, CapCounts, choose_candidates, distance_text, link_windows, near_pairs, scope_text, span_windows,
)

DEFAULT_SPANS_KEY = "events"
DEFAULT_MAX_ARGUMENT_WIDTH = 64
# Arguments whose starts (or ends) lie this far apart or more are never linked.
DEFAULT_MAX_PAIR_DISTANCE = 256
# At most this many arguments within max_pair_distance of one another in one
# window are kept and linked (the best-scoring ones): an untrained model that
# floods a doc with arguments stays bounded in time.
DEFAULT_MAX_ARGUMENTS = 64
DEFAULT_LINK_SCOPE = "sentence"
# Weight of the link loss over the pairs of gold arguments decoding would try.
DEFAULT_CANDIDATE_LINK_WEIGHT = 0.0
# The key under which _count_gold counts each (event type, role) of the gold.
EVENT_ROLE = "event role"

default_model_config = """
[model]
@architectures = "spacy-globalpointer.GPLinkerEvents.v2"
head_size = 64
efficient = true
pooling_size = 32
link_pair_width = 128
link_encoder_grad_scale = 0.0

"""
DEFAULT_MODEL = default_model(default_model_config)

# The model's outputs per doc: argument scores, start-link and end-link
# matrices and, with GPLinkerEvents link_pair_width > 0, the span-pair link
# logits (pairs, 1) of the pairs it was given.
ARGUMENTS, START_LINKS, END_LINKS, LINK_PAIRS = 0, 1, 2, 3


class CandidateLinks(NamedTuple):
    """Pairs of a doc's gold argument spans that decoding would try to link:
    their start-link and end-link cells (row, column), whether the two spans
    share a gold event, and the pairs as (start, end, start, end) rows (what a
    span-pair link scorer takes)."""

    start_rows: numpy.ndarray
    start_columns: numpy.ndarray
    end_rows: numpy.ndarray
    end_columns: numpy.ndarray
    together: numpy.ndarray
    spans: numpy.ndarray

    @classmethod
    def none(cls) -> "CandidateLinks":
        empty = numpy.zeros((0,), dtype="int64")
        return cls(empty, empty, empty, empty, numpy.zeros((0,), dtype=bool), no_pairs())


def candidate_cells(links: CandidateLinks, channel: int, n_columns: int) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The distinct cells of one link matrix (START_LINKS or END_LINKS) that the
    pairs use, as flat indices (row * n_columns + column), and whether each is a
    gold link: two pairs of spans that share their starts share a start cell,
    which is gold where either pair shares an event (as in the gold cells)."""
    rows, columns = (
        (links.start_rows, links.start_columns) if channel == START_LINKS else (links.end_rows, links.end_columns)
    )
    flat = rows * n_columns + columns
    cells, inverse = numpy.unique(flat, return_inverse=True)
    positive = numpy.zeros(cells.shape, dtype=bool)
    numpy.logical_or.at(positive, inverse.reshape(-1), links.together)
    return cells, positive


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
        "link_scope": DEFAULT_LINK_SCOPE,
        "event_grouping": "cliques",
        "argument_labels": "roles",
        "overlapping_arguments": "best",
        "loss_rows": "doc",
        "candidate_link_weight": DEFAULT_CANDIDATE_LINK_WEIGHT,
        "link_predicted_triggers": False,
        "calibration_arguments": "predicted",
        "calibrate_threshold": True,
        "calibration": DEFAULT_CALIBRATION,
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
    link_scope: str,
    event_grouping: str,
    argument_labels: str,
    overlapping_arguments: str,
    loss_rows: str,
    candidate_link_weight: float,
    link_predicted_triggers: bool,
    calibration_arguments: str,
    calibrate_threshold: bool,
    calibration: Union[str, Dict[str, Any]],
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
    max_arguments (int): at most this many arguments within max_pair_distance
        tokens of one another in one window are kept (the best-scoring ones);
        what the cap leaves out is counted in a warning (W009).
    link_scope (str): "sentence" (default): where a doc has sentence
        boundaries, only arguments of one sentence are linked into an event;
        "doc": across the doc (within max_pair_distance). See
        `globalpointer_relations`.
    event_grouping (str): "cliques" (GPLinker): per event type, the maximal
        cliques of linked arguments that hold a trigger; "types" (the links'
        ablation): all arguments of one type in a window form one event.
    argument_labels (str): "roles" (default): one label per role shared by
        every event type (plus one trigger label per type), so a role learns
        from all the types that have it, and an argument takes the type of
        each trigger it is linked to in its window whose type had that role in
        training; an argument linked to no such trigger is in no event and not
        written. "typed" (GPLinker's): one argument label per (event type,
        role), each learning from its own type's examples alone. On DuEE (65
        types, 217 labels) "roles" scored far higher (README, Benchmarks); on
        PHEE (2 types) the two were level within the seeds' spread.
    overlapping_arguments (str): "best" (default): of the decoded spans of
        one label that overlap in one window, only the best-scoring is an
        argument (`decoding.best_non_overlapping` per label and window): the head often finds
        one argument twice, a word wider or narrower, and an event holding
        both is wrong; spans of different labels may still nest. "all"
        (GPLinker's): every span over the threshold.
    loss_rows (str): as for `globalpointer`, default "doc": with many (type,
        role) labels most per-label rows hold negatives only and push every
        score down (results.md, DuEE).
    candidate_link_weight (float): weight of a second link loss, beside
        GPLinker's over every cell of the link matrices: ZLPR over the cells
        of the pairs of gold arguments that decoding would try (one window,
        within max_pair_distance), those sharing an event positive, the
        others negative. GPLinker's loss is spent mostly on tokens that are
        no argument and leaves true links scoring below 0 (the calibrated
        link threshold sat at its grid's floor); this one trains the decision
        decoding makes. 0: GPLinker's loss alone.
    link_predicted_triggers (bool): with a span-pair link scorer, also train
        (and calibrate) its links on the triggers the argument head predicts
        beyond the gold ones: such a trigger is linked to the gold event it
        mentions again (`event_structure.mentioned_events`), or to nothing.
        False: the scorer learns from pairs of gold arguments alone and never
        sees the second trigger of one event that decoding meets.
    calibration_arguments (str): what the link threshold is calibrated on
        where docs are rescored as at inference (calibration sources
        "heldout", "inference"). "gold": the pairs of the gold arguments that
        decoding would try, those sharing an event positive. "predicted"
        (default): that first, then the events decoded from the arguments the
        component predicts there (at the argument threshold just calibrated
        on them), their co-event argument pairs counted against the gold
        events' (F1 = the output's co-event pair F1); the threshold moves
        from the gold pairs' one only where the output gains beyond the
        docs' noise.
        Why: the links of predicted arguments (a boundary off, an extra
        trigger) are weaker than those of gold ones; calibrated on gold pairs
        the threshold split events the output needed whole (PHEE seed 2:
        exact events 6.2 against 10.0 for one event per type; README,
        "Scores"). With "batches" the gold pairs are used.
    calibrate_threshold, calibration, torch_threads: see `PairComponent`
        (pipeline/base.py); both thresholds are calibrated.
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
        link_scope=link_scope,
        event_grouping=event_grouping,
        argument_labels=argument_labels,
        overlapping_arguments=overlapping_arguments,
        loss_rows=loss_rows,
        candidate_link_weight=candidate_link_weight,
        link_predicted_triggers=link_predicted_triggers,
        calibration_arguments=calibration_arguments,
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

    gold_source = (
        "events in `doc._.events` (written by `doc._.events = [...]`; save training "
        "DocBins with `DocBin(store_user_data=True)`)"
    )
    threshold_settings = ("threshold", "link_threshold")
    # Links up to 4: the output's co-event pairs on held-out DuEE docs were
    # best above the default grid's top of 2 (2.75 on one model).
    calibration_ranges = {"link_threshold": (-4.0, 4.0)}
    uses_extensions = True
    # The (event type, role) pairs of the training gold: which types a shared
    # role label can take (argument_labels "roles").
    learned_cfg = LEARNED_CFG + ("event_roles",)

    def _learned_cfg(self, saved: Dict[str, Any]) -> Dict[str, Any]:
        """Also the label encoding the weights were trained with: a pipeline
        saved with one cannot decode with the other, whatever the config says
        now (a pipeline saved before the setting existed has no such key and
        was trained with "typed"; the default is now "roles")."""
        learned = super()._learned_cfg(saved)
        if saved.get("labels"):
            shared = any(split_label(label)[0] == ANY_TYPE for label in saved["labels"])
            learned["argument_labels"] = saved.get("argument_labels") or ("roles" if shared else "typed")
        return learned

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
        link_scope: str = DEFAULT_LINK_SCOPE,
        event_grouping: str = "cliques",
        argument_labels: str = "roles",
        overlapping_arguments: str = "best",
        loss_rows: str = "doc",
        candidate_link_weight: float = DEFAULT_CANDIDATE_LINK_WEIGHT,
        link_predicted_triggers: bool = False,
        calibration_arguments: str = "predicted",
        calibrate_threshold: bool = True,
        calibration: Union[str, Dict[str, Any], None] = None,
        torch_threads: Optional[int] = 1,
        scorer: Optional[Callable] = score_events,
    ) -> None:
        check_int("max_argument_width", max_argument_width, optional=True)
        check_int("max_pair_distance", max_pair_distance, optional=True)
        check_int("max_arguments", max_arguments)
        check_choice("E032", link_scope, LINK_SCOPES)
        check_choice("E034", event_grouping, GROUPINGS)
        check_choice("E040", argument_labels, ARGUMENT_LABELS)
        check_choice("E044", overlapping_arguments, OVERLAPPING_ARGUMENTS)
        check_number_in("E041", candidate_link_weight, 0, 10)
        check_choice("E046", calibration_arguments, CALIBRATION_ARGUMENTS)
        super().__init__(
            vocab,
            model,
            name,
            {
                "spans_key": spans_key,
                "threshold": threshold,
                "link_threshold": link_threshold,
                "max_argument_width": max_argument_width,
                "max_pair_distance": max_pair_distance,
                "max_arguments": max_arguments,
                "link_scope": link_scope,
                "event_grouping": event_grouping,
                "argument_labels": argument_labels,
                "overlapping_arguments": overlapping_arguments,
                "loss_rows": loss_rows,
                "candidate_link_weight": float(candidate_link_weight),
                "link_predicted_triggers": bool(link_predicted_triggers),
                "calibration_arguments": calibration_arguments,
                "calibrate_threshold": calibrate_threshold,
                "calibration": calibration,
                "torch_threads": torch_threads,
            },
            scorer,
        )
        if link_predicted_triggers and not self.has_link_pairs:
            raise ValueError(Errors.E043.format(name=name))

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

    def output_layouts(self) -> Sequence[PairLayout]:
        return [self.argument_layout, self.link_layout, self.link_layout]

    @property
    def has_link_pairs(self) -> bool:
        """Whether span-pair link logits decide the links (GPLinkerEvents
        link_pair_width > 0, v2's default) instead of the start and end link cells."""
        return self.model.has_ref("link_pairs")

    def _model_input(self, docs: List[Doc]) -> Any:
        if self.has_link_pairs:
            return (docs, None, [no_pairs() for _ in docs])
        return docs

    def _scoring_input(self, examples: List[Example]) -> Any:
        """Training and calibration also score the candidate pairs of gold
        arguments with the span-pair link scorer, where there is one."""
        docs = [eg.predicted for eg in examples]
        if not self.has_link_pairs:
            return docs
        if not self.cfg.get("link_predicted_triggers"):
            return (docs, None, [self.candidate_links(eg).spans for eg in examples])

        def pairs_given(head_scores: List[Tuple[Any, ...]]) -> List[numpy.ndarray]:
            # The predicted triggers are known once the argument head has scored
            # the docs: the model asks for the pairs then (`with_span_pairs`).
            return [self._links_with_predicted_triggers(eg, s[ARGUMENTS]).spans for eg, s in zip(examples, head_scores)]

        return (docs, None, pairs_given)

    def add_label(self, label: str) -> int:
        """Add an 'event_type::role' label (see `event_label`)."""
        if isinstance(label, str):
            event_type, role = split_label(label)
            if not event_type or not role or LABEL_SEPARATOR in role:
                raise ValueError(Errors.E028.format(label=label, sep=LABEL_SEPARATOR))
        return super().add_label(label)

    # Gold

    def _head_label(self, event_type: str, role: str) -> str:
        return head_label(event_type, role, self.cfg["argument_labels"])

    def _gold_labels(self, eg: Example) -> Iterable[str]:
        for event_type, trigger, arguments, _ in event_records(eg.reference):
            if trigger is not None:
                yield self._head_label(event_type, TRIGGER_ROLE)
            for role, _ in arguments:
                yield self._head_label(event_type, role)

    @property
    def roles_of(self) -> Optional[Dict[str, Set[str]]]:
        """Event type -> the roles it had in the training gold (None where the
        pipeline was trained before they were recorded: any role)."""
        if not self.cfg.get("event_roles"):
            return None
        roles: Dict[str, Set[str]] = {}
        for event_type, role in self.cfg["event_roles"]:
            roles.setdefault(event_type, set()).add(role)
        return roles

    def _align_gold(self, eg: Example) -> EventGold:
        return align_events(eg)

    def _count_gold(self, eg: Example, gold: EventGold, counts: Counter) -> None:
        for event_type, role in gold.event_roles:
            counts[(EVENT_ROLE, event_type, role)] += 1
        counts["events"] += len(gold.events)
        counts["no_trigger"] += gold.n_no_trigger
        counts["arguments"] += gold.n_arguments
        counts["misaligned"] += gold.n_misaligned
        counts["duplicate_events"] += gold.n_duplicate_events
        counts["duplicate_arguments"] += gold.n_duplicate_arguments
        n_tokens = len(eg.predicted)
        for _, members in gold.events:
            spans = [span for _, span in members]
            for start, end in spans:
                if self.argument_layout.column(start, end - 1, n_tokens) is None:
                    counts["too_wide"] += 1
            _, cols_s, _, cols_e = self._event_links(spans, n_tokens)
            counts["too_far"] += int(((cols_s < 0) | (cols_e < 0)).sum())

    def _conclude_gold(self, counts: Counter) -> None:
        """Record the training gold's (event type, role) pairs, then warn about
        what cannot be learned."""
        self.cfg["event_roles"] = sorted(
            list(key[1:]) for key in counts if isinstance(key, tuple) and key[0] == EVENT_ROLE
        )
        if counts["no_trigger"] or counts["misaligned"] or counts["too_wide"] or counts["too_far"]:
            warnings.warn(
                Warnings.W007.format(
                    name=self.name, width=self.cfg["max_argument_width"],
                    distance=self.cfg["max_pair_distance"],
                    **{k: counts[k] for k in ("events", "arguments", "no_trigger", "misaligned", "too_wide", "too_far")},
                )
            )
        found = []
        if counts["duplicate_events"]:
            found.append(f"{counts['duplicate_events']} of {counts['events']} gold events are listed twice")
        if counts["duplicate_arguments"]:
            found.append(
                f"{counts['duplicate_arguments']} of {counts['arguments']} gold arguments (triggers included) "
                "are listed twice in their event"
            )
        if found:
            warnings.warn(Warnings.W010.format(name=self.name, details="; ".join(found)))

    # Links: a pair of argument spans is one start cell and one end cell.

    def _link_cells(
        self, a_starts: numpy.ndarray, a_ends: numpy.ndarray, b_starts: numpy.ndarray, b_ends: numpy.ndarray, n_tokens: int
    ) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        """(start row, start column, end row, end column) of the links of pairs of
        spans (ends exclusive); a column is -1 where the pair is not held."""
        layout = self.link_layout
        start_rows = numpy.minimum(a_starts, b_starts)
        end_rows = numpy.minimum(a_ends, b_ends) - 1
        start_columns = layout.columns(start_rows, numpy.maximum(a_starts, b_starts), n_tokens)
        end_columns = layout.columns(end_rows, numpy.maximum(a_ends, b_ends) - 1, n_tokens)
        return start_rows, start_columns, end_rows, end_columns

    def _event_links(
        self, spans: List[Tuple[int, int]], n_tokens: int
    ) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        """`_link_cells` of every pair of one event's spans (each pair once)."""
        starts = numpy.asarray([s for s, _ in spans], dtype="int64")
        ends = numpy.asarray([e for _, e in spans], dtype="int64")
        a, b = numpy.triu_indices(len(spans), k=1)
        return self._link_cells(starts[a], ends[a], starts[b], ends[b], n_tokens)

    def _link_logits(
        self, start_links: numpy.ndarray, end_links: numpy.ndarray,
        starts: numpy.ndarray, ends: numpy.ndarray, a: numpy.ndarray, b: numpy.ndarray,
    ) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """The pairs (a, b) of spans that the link matrices hold, and their link
        logits min(start link, end link): what decoding thresholds."""
        n_tokens = start_links.shape[1]
        rows_s, cols_s, rows_e, cols_e = self._link_cells(starts[a], ends[a], starts[b], ends[b], n_tokens)
        held = (cols_s >= 0) & (cols_e >= 0)
        logits = numpy.minimum(
            to_numpy(start_links[0, rows_s[held], cols_s[held]]), to_numpy(end_links[0, rows_e[held], cols_e[held]])
        ).astype("float32")
        return held, logits

    # Training

    def _loss(
        self, scores: List[Tuple[Floats3d, Floats3d, Floats3d]], golds: List[EventGold], examples: List[Example]
    ) -> Tuple[float, List[Tuple[Floats3d, Floats3d, Floats3d]]]:
        gold = self._gold_cells(golds, examples)
        arg_loss, d_args = pair_loss(
            [s[ARGUMENTS] for s in scores], gold[ARGUMENTS], self.argument_layout, rows=self.cfg["loss_rows"]
        )
        start_loss, d_starts = pair_loss(
            [s[START_LINKS] for s in scores], gold[START_LINKS], self.link_layout, sparse=True
        )
        end_loss, d_ends = pair_loss(
            [s[END_LINKS] for s in scores], gold[END_LINKS], self.link_layout, sparse=True
        )
        loss = arg_loss + start_loss + end_loss
        weight = self.cfg.get("candidate_link_weight", 0.0)
        candidates = [self.candidate_links(eg) for eg in examples] if weight or self.has_link_pairs else []
        if weight:
            for channel, d_links in ((START_LINKS, d_starts), (END_LINKS, d_ends)):
                matrices = [s[channel] for s in scores]
                cells, positive = zip(
                    *(candidate_cells(c, channel, m.shape[2]) for c, m in zip(candidates, matrices))
                )
                pair_part, d_pairs = listed_cells_loss(matrices, cells, positive)
                loss += weight * pair_part
                for i, d_doc in enumerate(d_pairs):
                    d_links[i] = d_links[i] + weight * d_doc
        if not self.has_link_pairs:
            return loss, list(zip(d_args, d_starts, d_ends))
        pair_gold = [[(int(k), 0) for k in numpy.flatnonzero(c.together)] for c in candidates]
        pair_loss_value, d_link_pairs = listed_pairs_loss([s[LINK_PAIRS] for s in scores], pair_gold, mean_over="docs")
        return loss + pair_loss_value, list(zip(d_args, d_starts, d_ends, d_link_pairs))

    def _gold_cells(self, golds: List[EventGold], examples: List[Example]) -> Tuple[List[List[Cell]], ...]:
        """Per doc: argument cells (label, start, width - 1), start-link and end-link cells."""
        label_map = self._label_map
        arguments: List[List[Cell]] = []
        starts: List[List[Cell]] = []
        ends: List[List[Cell]] = []
        for gold, eg in zip(golds, examples):
            n_tokens = len(eg.predicted)
            doc_args: Set[Cell] = set()
            doc_starts: Set[Cell] = set()
            doc_ends: Set[Cell] = set()
            for event_type, members in gold.events:
                for role, (start, end) in members:
                    label = self._head_label(event_type, role)
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
                rows_s, cols_s, rows_e, cols_e = self._event_links([span for _, span in members], n_tokens)
                held = (cols_s >= 0) & (cols_e >= 0)
                doc_starts.update(zip([0] * int(held.sum()), rows_s[held].tolist(), cols_s[held].tolist()))
                doc_ends.update(zip([0] * int(held.sum()), rows_e[held].tolist(), cols_e[held].tolist()))
            arguments.append(sorted(doc_args))
            starts.append(sorted(doc_starts))
            ends.append(sorted(doc_ends))
        return arguments, starts, ends

    def _calibration_decisions(
        self, examples: List[Example], scores: List[Tuple[Floats3d, Floats3d, Floats3d]]
    ) -> Dict[str, Tuple[List[numpy.ndarray], List[numpy.ndarray]]]:
        """Arguments: the (event type, role, span) of the output
        (`_output_decisions`); links: see `_link_decisions`."""
        golds = [self.aligned_gold(eg) for eg in examples]
        return {
            "threshold": self._output_decisions(examples, golds, scores),
            "link_threshold": self._link_decisions(examples, golds, scores),
        }

    def _inference_calibration_decisions(
        self, examples: List[Example]
    ) -> Iterator[Tuple[str, Union[Tuple[List[numpy.ndarray], List[numpy.ndarray]], GridCounts]]]:
        """As `PairComponent`'s (the argument threshold, then the link
        threshold on the gold arguments' pairs), and with calibration_arguments
        = "predicted" the link threshold once more, on the output's co-event
        pairs (`_output_link_decisions`, decoded with the argument threshold
        just calibrated), moved from the gold pairs' threshold only where the
        output gains beyond the docs' noise (the guard's reference).

        Why both: on DuEE (590 held-out docs) the output's co-event pair F1
        is flat over the link thresholds within half a point, and the gold
        pairs' threshold is the better-founded one there; on PHEE the output
        showed what the gold pairs hide (one model's threshold split the
        predicted arguments' events: exact events 6.2 against 10.0)."""
        if self.cfg.get("calibration_arguments", "predicted") != "predicted":
            yield from super()._inference_calibration_decisions(examples)
            return
        # PairComponent's scores (the gold arguments' pairs linked), from an
        # encoding and argument scores that the output's decisions reuse.
        docs = [eg.predicted for eg in examples]
        if self.has_link_pairs:
            vectors, head_scores = self._encode(docs)
            gold_pairs = self._scoring_input(examples)[2]
            if callable(gold_pairs):  # link_predicted_triggers: pairs given the argument scores
                gold_pairs = gold_pairs(head_scores)
            scores = self._with_pair_logits(vectors, head_scores, gold_pairs)
        else:
            scores = self.model.predict(self._scoring_input(examples))
        yield from self._calibration_decisions(examples, scores).items()
        # The argument threshold is calibrated now: decode the output with it.
        if self.has_link_pairs:
            predictions = self._with_pair_logits(vectors, head_scores, self._argument_pairs(docs, head_scores))
        else:
            predictions = scores  # the link cells do not depend on the arguments
        yield "link_threshold", self._output_link_decisions(examples, predictions)

    def _output_link_decisions(self, examples: List[Example], predictions: List[Tuple[Any, ...]]) -> GridCounts:
        """Per doc and link threshold of the calibrator's grid, the co-event
        argument pairs of the events decoded there from `predictions` (as
        `_predict` gives them: the arguments over the argument threshold,
        their links; then the grouping) and
        how many of them the gold events hold: the calibrator's F1 at a
        threshold is the output's co-event pair F1 there (the scorer's
        `events_coevent_pair_f`). Decoded once per level where the passing
        links change (`link_threshold_levels`), not once per grid point.

        Why: the link threshold was calibrated on the pairs of gold arguments;
        the links of predicted arguments (a boundary off, a trigger mentioned
        twice) score lower, and the threshold split events the output needed
        whole (PHEE seed 2: exact events 6.2 against 10.0 for one event per type)."""
        calibrator = self._calibrator("link_threshold")
        grid, lowest, highest = calibrator.grid, calibrator.lowest, calibrator.highest
        predicted = numpy.zeros((len(examples), len(grid)), dtype="float64")
        correct = numpy.zeros_like(predicted)
        n_gold = numpy.zeros((len(examples),), dtype="float64")
        for row, (eg, prediction) in enumerate(zip(examples, predictions)):
            gold = coevent_pairs(event_records(eg.reference))
            n_gold[row] = len(gold)
            arguments, windows, _ = self._decode_arguments(eg.predicted, prediction[ARGUMENTS])
            if not arguments:
                continue
            link_logits = self._pair_link_logits(arguments, windows, *self._link_scores(prediction))
            levels = link_threshold_levels(link_logits.values(), lowest, highest)
            found = [
                coevent_pairs(group_events(arguments, windows, link_logits, self.cfg["event_grouping"], level), eg)
                for level in levels
            ]
            # Each grid point decodes as the highest level at or below it.
            level_of_point = numpy.searchsorted(numpy.asarray(levels), grid + 1e-9, side="right") - 1
            predicted[row] = numpy.asarray([len(pairs) for pairs in found], dtype="float64")[level_of_point]
            correct[row] = numpy.asarray([len(pairs & gold) for pairs in found], dtype="float64")[level_of_point]
        return GridCounts(predicted, correct, n_gold)

    def _output_decisions(
        self, examples: List[Example], golds: List[EventGold], scores: List[Tuple[Any, ...]]
    ) -> Tuple[List[numpy.ndarray], List[numpy.ndarray]]:
        """The argument threshold's decisions: the (event type, role, span)
        the output would hold, decoded at the grid's floor (`output_decisions`)."""
        lowest = self._calibrator().lowest
        candidates, golds_out = [], []
        for eg, gold, doc_scores in zip(examples, golds, scores):
            if not len(eg.predicted):
                continue
            arguments, windows, _ = self._decode_arguments(eg.predicted, doc_scores[ARGUMENTS], lowest)
            items = {(event_type, role, span) for event_type, members in gold.events for role, span in members}
            found, gold_found = output_decisions(arguments, windows, items)
            candidates.append(found)
            golds_out.append(gold_found)
        return candidates, golds_out

    def _link_decisions(
        self, examples: List[Example], golds: List[EventGold], scores: List[Tuple[Floats3d, Floats3d, Floats3d]]
    ) -> Tuple[List[numpy.ndarray], List[numpy.ndarray]]:
        """Link logits of every pair of distinct gold argument spans of a doc that
        decoding would try, and of those that share an event."""
        candidates, golds_out = [], []
        lowest = self._calibrator("link_threshold").lowest
        for eg, gold, doc_scores in zip(examples, golds, scores):
            links = self.candidate_links(eg)
            if not len(links.together):
                continue
            logits = self.gold_link_logits(doc_scores, links)
            candidates.append(logits[logits > lowest])
            golds_out.append(logits[links.together])
        return candidates, golds_out

    def candidate_links(self, eg: Example) -> CandidateLinks:
        """`_candidate_links` of an example, once per update (with
        link_predicted_triggers, what the scoring pass found: see
        `_links_with_predicted_triggers`)."""
        return self.per_example(eg, "candidate_links", lambda e: self._candidate_links(e, self.aligned_gold(e)))

    def _links_with_predicted_triggers(self, eg: Example, arg_scores: Floats3d) -> CandidateLinks:
        """The candidate links of an example's gold arguments and of the
        triggers its argument scores decode to that are not gold triggers of
        their type; kept as the example's `candidate_links` for this update's
        loss and calibration."""
        gold = self.aligned_gold(eg)
        arguments, _, _ = self._decode_arguments(eg.predicted, arg_scores)
        links = self._candidate_links(eg, gold, extra_triggers(arguments, gold.events))
        self.remember_per_example(eg, "candidate_links", links)
        return links

    def _candidate_links(
        self, eg: Example, gold: EventGold, extra_triggers: Sequence[Tuple[str, Tuple[int, int]]] = ()
    ) -> CandidateLinks:
        """The pairs of distinct gold argument spans of a doc that decoding would
        try (one window, within max_pair_distance, both cells held): their link
        cells and whether the two share an event. What the link threshold is
        calibrated on and the candidate link loss trains.

        extra_triggers: (event type, span) of predicted triggers that are not
            gold ones: candidates too, sharing the event they mention again
            (`mentioned_events`) or none."""
        spans = sorted(
            {span for _, members in gold.events for _, span in members} | {span for _, span in extra_triggers}
        )
        if len(spans) < 2:
            return CandidateLinks.none()
        together = {(a, b) for _, members in gold.events for _, a in members for _, b in members}
        starts = numpy.asarray([s for s, _ in spans], dtype="int64")
        ends = numpy.asarray([e for _, e in spans], dtype="int64")
        windows = span_windows(link_windows(eg.predicted, self.cfg["link_scope"]), starts, ends)
        if extra_triggers:
            window_of = {span: int(w) for span, w in zip(spans, windows)}
            gold_windows = [window_of[members[0][1]] if members else -1 for _, members in gold.events]
            mentioned = mentioned_events(
                gold.events, gold_windows, [(t, span, window_of[span]) for t, span in extra_triggers]
            )
            for (_, span), event in zip(extra_triggers, mentioned):
                if event is not None:
                    for _, other in gold.events[event][1]:
                        together.update({(span, other), (other, span)})
        a, b = near_pairs(starts, ends, windows, self.cfg["max_pair_distance"])
        rows_s, cols_s, rows_e, cols_e = self._link_cells(starts[a], ends[a], starts[b], ends[b], len(eg.predicted))
        held = (cols_s >= 0) & (cols_e >= 0)
        a, b = a[held], b[held]
        is_gold = numpy.asarray([(spans[i], spans[j]) in together for i, j in zip(a, b)], dtype=bool)
        pairs = numpy.stack([starts[a], ends[a], starts[b], ends[b]], axis=1).reshape(-1, 4)
        return CandidateLinks(rows_s[held], cols_s[held], rows_e[held], cols_e[held], is_gold, pairs)

    def gold_link_logits(self, doc_scores: Tuple[Any, ...], links: CandidateLinks) -> numpy.ndarray:
        """The link logits of a doc's candidate pairs of gold arguments (scores
        from the model given `_scoring_input`): the span-pair link logits, or
        min(start link, end link) of their cells."""
        if self.has_link_pairs:
            return to_numpy(doc_scores[LINK_PAIRS]).reshape(-1).astype("float32")
        return numpy.minimum(
            to_numpy(doc_scores[START_LINKS][0, links.start_rows, links.start_columns]),
            to_numpy(doc_scores[END_LINKS][0, links.end_rows, links.end_columns]),
        ).astype("float32")

    # Inference

    def _predict(self, docs: List[Doc]) -> List[Tuple[Any, ...]]:
        """Argument scores (labels, n, W) and start/end link scores (1, n, C) per
        doc; with a span-pair link scorer also the link logits (pairs, 1) of the
        pairs `_link_pairs` finds among the decoded arguments."""
        self._require_initialized()
        if not any(len(doc) for doc in docs):
            ops = self.model.ops
            empty = (ops.alloc3f(len(self.labels), 0, 0), ops.alloc3f(1, 0, 0), ops.alloc3f(1, 0, 0))
            return [empty + ((ops.alloc2f(0, 1),) if self.has_link_pairs else ()) for _ in docs]
        if not self.has_link_pairs:
            return self.model.predict(docs)
        # Which pairs to score depends on the arguments: encode once, score the
        # arguments, decode them, then score their pairs on the same vectors.
        vectors, head_scores = self._encode(docs)
        return self._with_pair_logits(vectors, head_scores, self._argument_pairs(docs, head_scores))

    def _encode(self, docs: List[Doc]) -> Tuple[List[Any], List[Tuple[Any, ...]]]:
        """With a span-pair link scorer: the docs' token vectors and the
        head's scores of them (arguments, start links, end links)."""
        vectors = self.model.get_ref("tok2vec").predict(docs)
        return vectors, self.model.get_ref("head").predict(vectors)

    def _argument_pairs(self, docs: List[Doc], head_scores: List[Tuple[Any, ...]]) -> List[numpy.ndarray]:
        """Per doc, the (start, end, start, end) of the pairs decoding may link
        (`_link_pairs`) among the arguments over the current threshold."""
        pairs = []
        for doc, doc_scores in zip(docs, head_scores):
            arguments, windows, _ = self._decode_arguments(doc, doc_scores[ARGUMENTS])
            starts = numpy.asarray([span[0] for _, span, _ in arguments], dtype="int64")
            ends = numpy.asarray([span[1] for _, span, _ in arguments], dtype="int64")
            a, b = self._link_pairs(arguments, windows)
            pairs.append(numpy.stack([starts[a], ends[a], starts[b], ends[b]], axis=1).reshape(-1, 4))
        return pairs

    def _with_pair_logits(
        self, vectors: List[Any], head_scores: List[Tuple[Any, ...]], pairs: List[numpy.ndarray]
    ) -> List[Tuple[Any, ...]]:
        """The head's scores of each doc followed by the span-pair link logits
        (pairs, 1) of its `pairs`, scored on the same vectors."""
        flat = self.model.get_ref("link_pairs").predict((vectors, pairs))
        sizes = numpy.cumsum([0] + [len(p) for p in pairs])
        return [(*doc_scores, flat[sizes[i] : sizes[i + 1]]) for i, doc_scores in enumerate(head_scores)]

    def _decode_arguments(
        self, doc: Doc, arg_scores: Floats3d, threshold: Optional[float] = None
    ) -> Tuple[List[Argument], numpy.ndarray, Tuple[int, int]]:
        """The arguments of a doc over the threshold, at most max_arguments near
        one another per window (the best-scoring), typed by the triggers in
        their window under shared role labels: (arguments, their windows, (how
        many the cap kept, how many it cut), counted before typing)."""
        labels = self.labels
        threshold = self.threshold() if threshold is None else threshold
        decoded = decode_band(arg_scores, threshold, max_spans_for(len(doc), 1.0))
        kept, windows, n_cut = choose_candidates(
            doc, decoded.starts, decoded.ends, decoded.labels.tolist(), decoded.logits,
            scope=self.cfg["link_scope"], limit=int(self.cfg["max_arguments"]),
            distance=self.cfg["max_pair_distance"],
        )
        n_kept = len(kept)
        if self.cfg["overlapping_arguments"] == "best" and n_kept:
            # One argument found twice, a word wider or narrower, would fail its
            # event: of the spans of one label in one window, the best of each
            # overlapping set (in DuEE's dev gold 1 event in 1,790 holds two
            # overlapping spans of one role, in the CNN model's events 1 in 6 did).
            rows = numpy.asarray(kept, dtype="int64")
            windows = numpy.asarray(windows)
            chosen = best_non_overlapping(decoded.subset(rows), groups=numpy.stack([decoded.labels[rows], windows], axis=1))
            kept, windows = rows[chosen].tolist(), windows[chosen]
        arguments = [
            (split_label(labels[decoded.labels[i]]), (int(decoded.starts[i]), int(decoded.ends[i])), float(decoded.logits[i]))
            for i in kept
        ]
        if self.cfg["argument_labels"] == "roles":
            arguments, windows = type_arguments(arguments, windows, self.roles_of)
        return arguments, windows, (n_kept, n_cut)

    def _link_pairs(self, arguments: List[Argument], windows: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """The pairs (a, b) of arguments decoding may link: one event type, one
        window, within max_pair_distance."""
        types = [event_type for (event_type, _), _, _ in arguments]
        starts = numpy.asarray([span[0] for _, span, _ in arguments], dtype="int64")
        ends = numpy.asarray([span[1] for _, span, _ in arguments], dtype="int64")
        a, b = near_pairs(starts, ends, windows, self.cfg["max_pair_distance"])
        same_type = numpy.asarray([types[i] == types[j] for i, j in zip(a, b)], dtype=bool)
        return a[same_type], b[same_type]

    def set_annotations(self, docs: Iterable[Doc], scores: List[Tuple[Any, ...]]) -> None:
        """Decode arguments (capped per window), link them, write events and argument spans."""
        counts = CapCounts()
        for doc, doc_scores in zip(docs, scores):
            arguments, windows, (n_kept, n_cut) = self._decode_arguments(doc, doc_scores[ARGUMENTS])
            counts.add(n_kept, n_cut)
            spans = [
                Span(doc, start, end, label=role, kb_id=event_type)
                for (event_type, role), (start, end), _ in arguments
            ]
            self._write_span_group(doc, spans, numpy.asarray([logit for _, _, logit in arguments], dtype="float32"))
            start_links, end_links, pair_logits = self._link_scores(doc_scores)
            set_event_records(doc, self._decode_events(arguments, start_links, end_links, windows, pair_logits))
        if counts.cut:
            warnings.warn(
                Warnings.W009.format(
                    name=self.name, limit=self.cfg["max_arguments"], what="arguments",
                    distance=distance_text(self.cfg["max_pair_distance"]), scope=scope_text(self.cfg["link_scope"]),
                    cut=counts.cut, total=counts.kept + counts.cut, docs=counts.docs, setting="max_arguments",
                )
            )

    def _decode_events(
        self,
        arguments: List[Argument],
        start_links: numpy.ndarray,
        end_links: numpy.ndarray,
        windows: Optional[numpy.ndarray] = None,
        pair_logits: Optional[numpy.ndarray] = None,
    ) -> List[EventRecord]:
        """Link the arguments of one type and window whose link logit passes the
        link threshold (min of start and end link, or the span-pair link logit
        of each of `_link_pairs`, in pair_logits), and group them into events
        (`group_events`)."""
        if not arguments:
            return []
        if windows is None:
            windows = numpy.zeros((len(arguments),), dtype="int64")
        link_logits = self._pair_link_logits(arguments, windows, start_links, end_links, pair_logits)
        return group_events(
            arguments, windows, link_logits, self.cfg["event_grouping"], self.threshold("link_threshold")
        )

    def _link_scores(
        self, prediction: Tuple[Any, ...]
    ) -> Tuple[numpy.ndarray, numpy.ndarray, Optional[numpy.ndarray]]:
        """One doc's `_predict` output as the link scores decoding reads: start
        links, end links and, with a span-pair link scorer, its pairs' logits."""
        pair_logits = to_numpy(prediction[LINK_PAIRS]).reshape(-1) if self.has_link_pairs else None
        return to_numpy(prediction[START_LINKS]), to_numpy(prediction[END_LINKS]), pair_logits

    def _pair_link_logits(
        self,
        arguments: List[Argument],
        windows: numpy.ndarray,
        start_links: numpy.ndarray,
        end_links: numpy.ndarray,
        pair_logits: Optional[numpy.ndarray],
    ) -> Dict[Tuple[int, int], float]:
        """(i, j) -> link logit of the pairs of arguments decoding may link
        (`_link_pairs`): the span-pair link logit, or min(start, end link) of
        their cells where both are held."""
        a, b = self._link_pairs(arguments, windows)
        if pair_logits is not None:
            held, logits = numpy.ones((len(a),), dtype=bool), numpy.asarray(pair_logits, dtype="float32")
        else:
            starts = numpy.asarray([span[0] for _, span, _ in arguments], dtype="int64")
            ends = numpy.asarray([span[1] for _, span, _ in arguments], dtype="int64")
            held, logits = self._link_logits(start_links, end_links, starts, ends, a, b)
        return {(int(i), int(j)): float(l) for i, j, l in zip(a[held], b[held], logits)}
