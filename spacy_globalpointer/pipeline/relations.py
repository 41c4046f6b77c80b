"""The `globalpointer_relations` component: GPLinker relation extraction.

GPLinker (Su, 2022) is an entity GlobalPointer plus, for every predicate p, a
head-pair matrix H[p, s_head, o_head] and a tail-pair matrix T[p, s_tail,
o_tail] on one encoder. In spaCy that is two components on one shared tok2vec,
trained jointly: `globalpointer` writes the entities to doc.spans[spans_key],
and this component, placed after it, links them: the triple (s, p, o) is kept
where H[p, s.start, o.start] and T[p, s.end - 1, o.end - 1] both exceed the
threshold. It links whatever spans an upstream component wrote (spancat,
span_finder + spancat, or `ner` with `use_ents = true`).

By default (GPLinker.v2: `span_pair_width = 128`, `span_pair_context =
true`) a third scorer rates each (subject, object) pair of spans from the mean
vectors of their tokens and of the tokens between them, their distance and
their order (`ml/span_pairs.py`), and decides alone, the cells left
untrained; only (head label, predicate, tail label) triples seen in training
are kept ("typed": a pair whose labels were never seen with its predicate
takes the seen pair that agrees best). On the CNN the span pairs lifted
strict F1 from 18.0 to 29.2 on DuIE and from 7.4 to 12.1 on SciERC, the
context SciERC by another 5.7 (project/benchmarks/results.md). `span_pair_width = 0`,
`cell_loss_weight = 1.0`, `loss_mean = "docs"` and `label_triples = "any"` are
the seeds' form, where the cells decide.

Training places the positive cells from the reference doc's gold relations,
so `update` never needs predicted spans; evaluation decodes from the
predicted ones. At inference only the cells of candidate pairs are scored;
which spans are candidates and which pairs are tried is `linking.py`'s.
"""
import warnings
from collections import Counter
from typing import Any, Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry
from spacy.vocab import Vocab
from thinc.api import Model, get_array_module
from thinc.types import Floats3d

from ..checks import check_choice, check_int, check_number_in
from ..decoding import span_probability, to_numpy
from ..errors import Errors, Warnings
from ..extensions import RelationRecord, SpanRecord, relation_records, set_relation_records
from ..layouts import PairLayout
from ..ml.pair_loss import Cell, listed_pairs_loss, pair_loss
from ..ml.span_pairs import no_pairs
from .base import DEFAULT_CALIBRATION, LEARNED_CFG, PairComponent, default_model
from .linking import (
    LABEL_TRIPLE_MODES, LINK_SCOPES, CapCounts, LabelTriples, choose_candidates, distance_text, label_triples_of,
    link_windows, ordered_pairs, scope_text, span_windows,
)
from .matching import to_predicted
from .relation_scorer import score_relations

DEFAULT_SPANS_KEY = "sc"
# Docs of up to this many tokens get the full n x n matrices, and longer ones
# a band |i - j| < D, so training cost grows linearly in n. 256 holds every
# doc of the sentence-level data sets we ship converters for whole but the
# rare 257-291-character DuIE records, and every gold pair of them (the
# farthest DuIE subject and object lie 172 characters apart).
DEFAULT_MAX_PAIR_DISTANCE = 256
# At most this many upstream spans per doc are linked (the best-scoring ones):
# an untrained span head that floods a doc with candidates stays bounded.
DEFAULT_MAX_CANDIDATES = 128
DEFAULT_LINK_SCOPE = "sentence"
LOSS_MEANS = ("docs", "rows")
# What the relation threshold is calibrated on (`calibration_entities`).
CALIBRATION_ENTITIES = ("predicted", "gold")

default_model_config = """
[model]
@architectures = "spacy-globalpointer.GPLinker.v2"
head_size = 64
efficient = true
use_rope = false
span_pair_width = 128
encoder_grad_scale = 1.0
span_pair_context = true

"""
DEFAULT_MODEL = default_model(default_model_config)

# A decoded triple with its logit: (head, predicate, tail, logit).
DecodedTriple = Tuple[SpanRecord, str, SpanRecord, float]

# The key under which _count_gold counts each (head label, predicate, tail label).
LABEL_TRIPLE = "label triple"

# The model's outputs per doc: the head-pair and the tail-pair matrices (and,
# with span_pair_width > 0, the span-pair scores of the pairs it was given).
HEAD_PAIRS, TAIL_PAIRS, SPAN_PAIRS = 0, 1, 2


def triple_logits(
    head_pairs: Optional[numpy.ndarray], tail_pairs: Optional[numpy.ndarray], span_pairs: Optional[numpy.ndarray]
) -> numpy.ndarray:
    """What the decoder thresholds (and calibration calibrates), one array per
    doc of any shape: GPLinker's min(head-pair, tail-pair) logit, so that both
    cells must pass; with span-pair scores, the span-pair logit alone.

    Why: on SciERC's dev set with the gold entities as candidates (CNN, 1,500
    steps) the span-pair logit ranked the gold triples best (AUC 0.867, best F
    28.9) against the cells (0.813, 19.9) and the mean of both (0.854, 25.5).
    The cells are still trained beside it: their loss reaches the encoder."""
    if span_pairs is not None:
        return span_pairs
    return numpy.minimum(head_pairs, tail_pairs)


@Language.factory(
    "globalpointer_relations",
    assigns=["doc._.relations"],
    requires=["doc.spans"],
    default_config={
        "model": DEFAULT_MODEL,
        "spans_key": DEFAULT_SPANS_KEY,
        "use_ents": False,
        "threshold": 0.0,
        "max_pair_distance": DEFAULT_MAX_PAIR_DISTANCE,
        "max_candidates": DEFAULT_MAX_CANDIDATES,
        "cell_loss_weight": None,
        "loss_mean": "rows",
        "link_scope": DEFAULT_LINK_SCOPE,
        "label_triples": "typed",
        "near_miss_negatives": True,
        "calibration_entities": "predicted",
        "calibrate_threshold": True,
        "calibration": DEFAULT_CALIBRATION,
        "torch_threads": 1,
        "scorer": {"@scorers": "spacy-globalpointer.relations_scorer.v1"},
    },
    default_score_weights={
        "relations_micro_f": 1.0,
        "relations_micro_p": 0.0,
        "relations_micro_r": 0.0,
        "relations_boundary_f": 0.0,
    },
)
def make_globalpointer_relations(
    nlp: Language,
    name: str,
    model: Model,
    spans_key: str,
    use_ents: bool,
    threshold: float,
    max_pair_distance: Optional[int],
    max_candidates: int,
    cell_loss_weight: Optional[float],
    loss_mean: str,
    link_scope: str,
    label_triples: str,
    near_miss_negatives: bool,
    calibration_entities: str,
    calibrate_threshold: bool,
    calibration: Union[str, Dict[str, Any]],
    torch_threads: Optional[int],
    scorer: Optional[Callable],
) -> "GlobalPointerRelations":
    """Create a GPLinker relation extractor over upstream spans.

    model (Model): tok2vec >> GPLinker head-pair and tail-pair matrices.
    spans_key (str): the entities to link are read from doc.spans[spans_key]
        (gold ones while training, predicted ones at inference).
    use_ents (bool): read the entities from doc.ents instead (after `ner`).
    threshold (float): a triple is kept where both its cells exceed this logit.
    max_pair_distance (Optional[int]): subject and object tokens (starts and
        ends) at most this far apart minus one are linked; None = unbounded
        (training cost then grows with n^2).
    max_candidates (int): at most this many spans within max_pair_distance
        tokens of one another in one window are linked (per window if
        max_pair_distance is None), the best-scoring first (upstream
        attrs["scores"]), so time stays linear in the doc length; what the cap
        leaves out is counted in a warning (W009).
    cell_loss_weight (Optional[float]): how much the head-pair and tail-pair
        cells' loss counts. Their gradient reaches the shared encoder 58-73
        times as strongly as a pair classifier's and costs the entity head F1
        (project/benchmarks/results_scierc_ablation.md); with span-pair scores
        (which then decide) 0.0 leaves the cells untrained. None (default):
        0.0 with span-pair scores, 1.0 where the cells decide.
    loss_mean (str): "rows" (default): averaged over (doc, predicate) rows,
        as the span head's loss and a pair classifier's BCE are; "docs"
        (GPLinker's weighting): each loss is summed over the predicates and
        averaged over the docs, so its gradient grows with the number of
        predicates (on DuIE entity F1 50.9 against 56.0 with "rows").
    link_scope (str): "sentence" (default): where a doc has sentence
        boundaries (a `sentencizer`, `senter` or parser earlier in the
        pipeline), only spans of one sentence are linked, so a model trained on
        sentences finds in a paragraph what it finds in its sentences; "doc":
        spans anywhere in the doc (within max_pair_distance) are linked, for
        data whose relations cross sentences.
    label_triples (str): "seen": a triple is kept only if its
        (head label, predicate, tail label) occurs in the training gold
        (`initialize` records them; a predicate with none recorded is left
        unconstrained). The pair scores see the spans' tokens, not the labels
        the entity head gave them, so a span predicted with two labels (DuIE's
        book / published work) or a wrong one is linked under each: on DuIE
        213 of 472 predicted triples had label triples never seen in training,
        and dropping them raised strict F1 from 23.3 to 30.3. "typed" (the
        default): as "seen", and a passing pair whose spans' labels were never
        seen with the predicate takes the labels the predicate was seen with,
        where those agree with the entity head's labels for the two spans in
        one way only (`LabelTriples.typed`); its head and tail then carry
        those labels, which may differ from the spans' in doc.spans. On DuIE
        (44 of 45 predicates link one pair of types) that added 0.7 to 2.8
        strict F1 on the same weights (four models), on SciERC nothing.
        "any": keep every label pair (the seeds' form).
    near_miss_negatives (bool): with span-pair scores, also train and
        calibrate on pairs whose span has one boundary moved by one token
        (`near_miss_spans`), as negatives: the pooled vectors of a span and its
        near miss are close, and without them the scorer, trained on gold spans
        only, linked the entity head's near misses (precision 10.4 on DuIE, with
        the seeds' gradient and loss). False: gold entity pairs only, as a
        pair classifier trains.
    calibration_entities (str): which pairs the threshold is calibrated on
        (with calibration sources that rescore docs as at inference:
        "heldout", the default, and "inference"). "predicted" (default): the
        pairs of the spans the upstream component predicted on those docs,
        decoded as at inference (candidate cap, label triples) and scored
        against the gold triples, so a gold triple whose spans were not
        predicted counts as missed at every threshold: the threshold with the
        best end-to-end F1. "gold": the pairs of the gold entities and their
        near misses (before stop 31). Why: the pairs a relation head is
        calibrated on should be the ones it decodes; calibrated on gold
        entities, stop 30's DuIE seed-0 threshold (-0.45) lay 1.2 logits
        above the end-to-end optimum of its held-out docs, where recall was
        lost. Retrained (CNN, seeds 0-2), DuIE strict F1 rose from 34.2 to
        37.6 on the means, SciERC stayed at 14.3 (project/benchmarks/
        results.md). The "batches" source scores the training pass, which
        has no predicted spans, and keeps "gold".
    calibrate_threshold, calibration, torch_threads: see `PairComponent`
        (pipeline/base.py).
    scorer (Optional[Callable]): the scoring method.
    """
    return GlobalPointerRelations(
        nlp.vocab,
        model,
        name,
        spans_key=spans_key,
        use_ents=use_ents,
        threshold=threshold,
        max_pair_distance=max_pair_distance,
        max_candidates=max_candidates,
        cell_loss_weight=cell_loss_weight,
        loss_mean=loss_mean,
        link_scope=link_scope,
        label_triples=label_triples,
        near_miss_negatives=near_miss_negatives,
        calibration_entities=calibration_entities,
        calibrate_threshold=calibrate_threshold,
        calibration=calibration,
        torch_threads=torch_threads,
        scorer=scorer,
    )


@registry.scorers("spacy-globalpointer.relations_scorer.v1")
def make_relations_scorer() -> Callable[..., Dict[str, Any]]:
    return score_relations


class RelationGold(NamedTuple):
    """One example's gold in predicted tokens: relations ((start, end, label),
    predicate, (start, end, label)) that align, the entities to link (the
    spans key's and the relations' own, deduplicated), how many records there
    were, and their (head label, predicate, tail label) triples."""

    labelled_relations: List[Tuple[SpanRecord, str, SpanRecord]]
    entities: List[Tuple[int, int]]
    n_records: int
    n_duplicates: int
    n_unlisted: int
    label_triples: List[Tuple[str, str, str]]

    @property
    def relations(self) -> List[Tuple[Tuple[int, int], str, Tuple[int, int]]]:
        """The relations by their spans alone: ((start, end), predicate, (start, end))."""
        return [(head[:2], predicate, tail[:2]) for head, predicate, tail in self.labelled_relations]


class GlobalPointerRelations(PairComponent):
    """Link the spans an upstream component wrote into `doc._.relations`."""

    gold_source = (
        "relations in `doc._.relations` (written by `doc._.relations = [...]`; "
        "save training DocBins with `DocBin(store_user_data=True)`)"
    )
    uses_extensions = True
    learned_cfg = LEARNED_CFG + ("seen_label_triples",)

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "globalpointer_relations",
        *,
        spans_key: str = DEFAULT_SPANS_KEY,
        use_ents: bool = False,
        threshold: float = 0.0,
        max_pair_distance: Optional[int] = DEFAULT_MAX_PAIR_DISTANCE,
        max_candidates: int = DEFAULT_MAX_CANDIDATES,
        cell_loss_weight: Optional[float] = None,
        loss_mean: str = "rows",
        link_scope: str = DEFAULT_LINK_SCOPE,
        label_triples: str = "typed",
        near_miss_negatives: bool = True,
        calibration_entities: str = "predicted",
        calibrate_threshold: bool = True,
        calibration: Union[str, Dict[str, Any], None] = None,
        torch_threads: Optional[int] = 1,
        scorer: Optional[Callable] = score_relations,
    ) -> None:
        check_int("max_pair_distance", max_pair_distance, optional=True)
        check_int("max_candidates", max_candidates)
        if cell_loss_weight is not None:
            check_number_in("E036", cell_loss_weight, 0, 1)
        check_choice("E037", loss_mean, LOSS_MEANS)
        check_choice("E032", link_scope, LINK_SCOPES)
        check_choice("E039", label_triples, LABEL_TRIPLE_MODES)
        check_choice("E045", calibration_entities, CALIBRATION_ENTITIES)
        super().__init__(
            vocab,
            model,
            name,
            {
                "spans_key": spans_key,
                "use_ents": bool(use_ents),
                "threshold": threshold,
                "max_pair_distance": max_pair_distance,
                "max_candidates": max_candidates,
                "cell_loss_weight": None if cell_loss_weight is None else float(cell_loss_weight),
                "loss_mean": loss_mean,
                "link_scope": link_scope,
                "label_triples": label_triples,
                "seen_label_triples": [],
                "near_miss_negatives": bool(near_miss_negatives),
                "calibration_entities": calibration_entities,
                "calibrate_threshold": calibrate_threshold,
                "calibration": calibration,
                "torch_threads": torch_threads,
            },
            scorer,
        )
        self._warned_no_spans = False

    @property
    def key(self) -> str:
        return str(self.cfg["spans_key"])

    @property
    def layout(self) -> PairLayout:
        return PairLayout.symmetric(self.cfg["max_pair_distance"])

    def output_layouts(self) -> Sequence[PairLayout]:
        return [self.layout, self.layout]

    @property
    def has_span_pairs(self) -> bool:
        """Whether the model also scores span pairs (GPLinker span_pair_width > 0)."""
        return self.model.has_ref("span_pairs")

    @property
    def cell_loss_weight(self) -> float:
        """The cells' loss weight in effect: the setting, or where it is None
        0.0 when span-pair scores decide (the cells would only cost time and
        send the shared encoder gradient) and 1.0 when the cells decide."""
        weight = self.cfg.get("cell_loss_weight", 1.0)
        if weight is None:
            return 0.0 if self.has_span_pairs else 1.0
        return float(weight)

    def _model_input(self, docs: List[Doc]) -> Any:
        if self.has_span_pairs:
            return (docs, None, [no_pairs() for _ in docs])
        return (docs, None)

    def _scoring_input(self, examples: List[Example]) -> Any:
        docs = [eg.predicted for eg in examples]
        if not self.has_span_pairs:
            return (docs, None)
        pairs = []
        for eg in examples:
            _, starts, ends, subjects, objects = self._gold_pairs(eg)
            pairs.append(_pair_spans(starts, ends, subjects, objects))
        return (docs, None, pairs)

    def _build_pair_layer(self, docs: List[Doc]) -> None:
        if self.has_span_pairs:
            self.model.get_ref("span_pair_output").set_dim("nO", len(self.labels), force=True)
        super()._build_pair_layer(docs)

    def _gold_pairs(
        self, eg: Example
    ) -> Tuple[List[Tuple[int, int]], numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        """The spans the loss and calibration pair up, their starts and ends, and
        the (subject, object) pairs of them the decoder would try (indices into
        the spans): the gold entities and, with span-pair scores, their near
        misses (`near_miss_spans`). Once per example of an update: the model
        input, the loss and calibration read them."""
        return self.per_example(eg, "pairs", self._find_gold_pairs)

    def _find_gold_pairs(
        self, eg: Example
    ) -> Tuple[List[Tuple[int, int]], numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        gold = self.aligned_gold(eg)
        spans = list(gold.entities)
        if self.has_span_pairs and self.cfg.get("near_miss_negatives", True):
            spans += near_miss_spans(spans, len(eg.predicted))
        starts = numpy.asarray([s for s, _ in spans], dtype="int64")
        ends = numpy.asarray([e for _, e in spans], dtype="int64")
        if not spans:
            empty = numpy.zeros((0,), dtype="int64")
            return spans, starts, ends, empty, empty
        windows = span_windows(link_windows(eg.predicted, self.cfg["link_scope"]), starts, ends)
        subjects, objects = ordered_pairs(starts, ends, windows, self.cfg["max_pair_distance"])
        return spans, starts, ends, subjects, objects

    def label_triples(self) -> LabelTriples:
        """The predicates allowed per label pair (`label_triples` setting and
        the triples initialize recorded), built once per change of either."""
        key = (self.cfg["label_triples"], tuple(self.labels), tuple(map(tuple, self.cfg.get("seen_label_triples", []))))
        cached = getattr(self, "_label_triples_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, LabelTriples(self.cfg.get("seen_label_triples", []), self.labels, self.cfg["label_triples"]))
            self._label_triples_cache = cached
        return cached[1]

    # Entities

    def entities(self, doc: Doc) -> Optional[List[Span]]:
        """The spans to link in a predicted doc (None: nothing upstream wrote them)."""
        found = self._candidates(doc, CapCounts())
        return None if found is None else found[0]

    def _candidates(self, doc: Doc, counts: CapCounts) -> Optional[Tuple[List[Span], numpy.ndarray]]:
        """The upstream spans to link and their windows, each (start, end, label)
        once, capped by max_candidates per window (what is cut goes to `counts`)."""
        if not self._has_upstream_spans(doc):
            return None
        if self.cfg["use_ents"]:
            spans, scores = list(doc.ents), None
        else:
            group = doc.spans[self.key]
            spans = list(group)
            scores = group.attrs.get("scores")
            if scores is None or len(scores) != len(spans):
                scores = None
        if not spans:
            return [], numpy.zeros((0,), dtype="int64")
        kept, windows, n_cut = choose_candidates(
            doc,
            numpy.asarray([span.start for span in spans], dtype="int64"),
            numpy.asarray([span.end for span in spans], dtype="int64"),
            [span.label for span in spans],
            None if scores is None else numpy.asarray(scores, dtype="float64"),
            scope=self.cfg["link_scope"], limit=int(self.cfg["max_candidates"]), distance=self.cfg["max_pair_distance"],
        )
        counts.add(len(kept), n_cut)
        return [spans[i] for i in kept], windows

    def _has_upstream_spans(self, doc: Doc) -> bool:
        """Whether an upstream component wrote the spans to link (doc.ents always
        exist; a spans key only once something wrote it)."""
        return bool(self.cfg["use_ents"]) or self.key in doc.spans

    # Gold

    def _gold_labels(self, eg: Example) -> Iterable[str]:
        return (predicate for _, predicate, _, _ in relation_records(eg.reference))

    def _align_gold(self, eg: Example) -> RelationGold:
        """Gold relations and entities in the predicted tokens. Relations whose
        spans do not align with the predicted tokenization are left out
        (counted in initialize, W005)."""
        records = relation_records(eg.reference)
        relations = []
        for head, predicate, tail, _ in records:
            head_span = to_predicted(eg, head)
            tail_span = to_predicted(eg, tail)
            if head_span is not None and tail_span is not None:
                relations.append(((*head_span, head[2]), predicate, (*tail_span, tail[2])))
        ref = eg.reference
        listed = ref.ents if self.cfg["use_ents"] else ref.spans.get(self.key, [])
        listed_records = {(span.start, span.end, span.label_) for span in listed}
        entities = set()
        for record in listed_records:
            aligned = to_predicted(eg, record)
            if aligned is not None:
                entities.add(aligned)
        for head, _, tail in relations:
            entities.update((head[:2], tail[:2]))
        n_unlisted = sum(
            head not in listed_records or tail not in listed_records for head, _, tail, _ in records
        )
        n_duplicates = len(records) - len({(h, p, t) for h, p, t, _ in records})
        return RelationGold(
            relations, sorted(entities), len(records), n_duplicates, n_unlisted, label_triples_of(records)
        )

    def _count_gold(self, eg: Example, gold: RelationGold, counts: Counter) -> None:
        for triple in gold.label_triples:
            counts[(LABEL_TRIPLE,) + triple] += 1
        counts["total"] += gold.n_records
        counts["misaligned"] += gold.n_records - len(gold.relations)
        counts["duplicate"] += gold.n_duplicates
        counts["unlisted"] += gold.n_unlisted
        n_tokens = len(eg.predicted)
        for head, _, tail in gold.relations:
            counts["self"] += head == tail
            counts["far"] += self._cells(head, tail, n_tokens) is None

    def _conclude_gold(self, counts: Counter) -> None:
        """Record the training gold's label triples (for `label_triples =
        "seen"`), then warn about what cannot be learned."""
        self.cfg["seen_label_triples"] = sorted(
            list(key[1:]) for key in counts if isinstance(key, tuple) and key[0] == LABEL_TRIPLE
        )
        if counts["far"]:
            warnings.warn(
                Warnings.W004.format(
                    n=counts["far"], total=counts["total"], distance=self.cfg["max_pair_distance"], name=self.name
                )
            )
        if counts["misaligned"]:
            warnings.warn(Warnings.W005.format(n=counts["misaligned"], total=counts["total"], name=self.name))
        where = "doc.ents" if self.cfg["use_ents"] else f"doc.spans['{self.key}']"
        details = [
            (counts["duplicate"], "are listed twice (same head, predicate and tail)"),
            (counts["self"], "link a span to itself (learned like any other pair; a converter bug?)"),
            (counts["unlisted"], f"have a head or tail missing from {where}, so the upstream span component never learns to predict it"),
        ]
        found = [f"{n} of {counts['total']} gold relations {what}" for n, what in details if n]
        if found:
            warnings.warn(Warnings.W010.format(name=self.name, details="; ".join(found)))

    # Training

    def _loss(
        self, scores: List[Tuple[Floats3d, Floats3d]], golds: List[RelationGold], examples: List[Example]
    ) -> Tuple[float, List[Tuple[Floats3d, Floats3d]]]:
        """Sparse ZLPR over the head-pair and the tail-pair cells (weighted by
        cell_loss_weight), plus ZLPR over the span pairs where they decide;
        each averaged as loss_mean says."""
        head_pair_cells: List[List[Cell]] = []
        tail_pair_cells: List[List[Cell]] = []
        label_map = self._label_map
        for eg, gold in zip(examples, golds):
            n_tokens = len(eg.predicted)
            doc_head_pairs, doc_tail_pairs = set(), set()
            for head, predicate, tail in gold.relations:
                cells = self._cells(head, tail, n_tokens)
                if cells is None:  # beyond max_pair_distance: counted in initialize (W004)
                    continue
                p = self._predicate_index(predicate, label_map)
                doc_head_pairs.add((p, head[0], cells[0]))
                doc_tail_pairs.add((p, head[1] - 1, cells[1]))
            head_pair_cells.append(sorted(doc_head_pairs))
            tail_pair_cells.append(sorted(doc_tail_pairs))
        layout = self.layout
        mean_over = self.cfg.get("loss_mean", "docs")
        weight = self.cell_loss_weight
        if weight == 0.0:
            # Untrained cells (span pairs decide): a zero gradient, no loss to compute.
            xp = get_array_module(scores[0][HEAD_PAIRS]) if scores else numpy
            head_pair_loss = tail_pair_loss = 0.0
            d_head_pairs = [xp.zeros_like(s[HEAD_PAIRS]) for s in scores]
            d_tail_pairs = [xp.zeros_like(s[TAIL_PAIRS]) for s in scores]
        else:
            head_pair_loss, d_head_pairs = pair_loss([s[HEAD_PAIRS] for s in scores], head_pair_cells, layout, sparse=True, mean_over=mean_over)
            tail_pair_loss, d_tail_pairs = pair_loss([s[TAIL_PAIRS] for s in scores], tail_pair_cells, layout, sparse=True, mean_over=mean_over)
        if weight not in (0.0, 1.0):
            head_pair_loss, tail_pair_loss = weight * head_pair_loss, weight * tail_pair_loss
            d_head_pairs = [d * weight for d in d_head_pairs]
            d_tail_pairs = [d * weight for d in d_tail_pairs]
        if not self.has_span_pairs:
            return head_pair_loss + tail_pair_loss, list(zip(d_head_pairs, d_tail_pairs))
        span_pair_gold = [self._gold_pair_entries(eg, gold, label_map) for eg, gold in zip(examples, golds)]
        span_pair_loss, d_span_pairs = listed_pairs_loss([s[SPAN_PAIRS] for s in scores], span_pair_gold, mean_over=mean_over)
        return head_pair_loss + tail_pair_loss + span_pair_loss, list(zip(d_head_pairs, d_tail_pairs, d_span_pairs))

    def _gold_pair_entries(self, eg: Example, gold: RelationGold, label_map: Dict[str, int]) -> List[Tuple[int, int]]:
        """(pair index, predicate index) of the gold relations among `_gold_pairs`."""
        spans, _, _, subjects, objects = self._gold_pairs(eg)
        index = {(spans[a], spans[b]): k for k, (a, b) in enumerate(zip(subjects, objects))}
        entries = set()
        for head, predicate, tail in gold.relations:
            k = index.get((head, tail))
            if k is not None:
                entries.add((k, self._predicate_index(predicate, label_map)))
        return sorted(entries)

    def _predicate_index(self, predicate: str, label_map: Dict[str, int]) -> int:
        if predicate not in label_map:
            raise ValueError(Errors.E026.format(label=predicate, name=self.name, labels=list(self.labels)))
        return label_map[predicate]

    def _cells(
        self, head: Tuple[int, int], tail: Tuple[int, int], n_tokens: int
    ) -> Optional[Tuple[int, int]]:
        """Columns of the head-pair cell (row head start) and tail-pair cell (row head end)."""
        layout = self.layout
        head_column = layout.column(head[0], tail[0], n_tokens)
        tail_column = layout.column(head[1] - 1, tail[1] - 1, n_tokens)
        if head_column is None or tail_column is None:
            return None
        return head_column, tail_column

    def _calibration_decisions(
        self, examples: List[Example], scores: List[Tuple[Floats3d, Floats3d]]
    ) -> Dict[str, Tuple[List[numpy.ndarray], List[numpy.ndarray]]]:
        """Triple scores min(H, T) of every (gold entity, predicate, gold entity)
        pair the decoder would try, and those of the gold triples: what the
        decoder thresholds."""
        label_map = self._label_map
        lowest = self._calibrator().lowest
        candidates, golds = [], []
        for eg, doc_scores in zip(examples, scores):
            gold = self.aligned_gold(eg)
            n_tokens = len(eg.predicted)
            _, starts, ends, h, t = self._gold_pairs(eg)
            if not len(h):
                continue
            head_pairs, tail_pairs = doc_scores[HEAD_PAIRS], doc_scores[TAIL_PAIRS]
            if self.has_span_pairs:
                triple = triple_logits(None, None, to_numpy(doc_scores[SPAN_PAIRS]).T)  # (predicates, pairs)
            else:
                triple = triple_logits(
                    to_numpy(head_pairs[:, starts[h], self.layout.columns(starts[h], starts[t], n_tokens)]),
                    to_numpy(tail_pairs[:, ends[h] - 1, self.layout.columns(ends[h] - 1, ends[t] - 1, n_tokens)]),
                    None,
                )
            is_gold = numpy.zeros(triple.shape, dtype=bool)
            for k, p in self._gold_pair_entries(eg, gold, label_map):
                is_gold[p, k] = True
            candidates.append(triple[triple > lowest])
            golds.append(triple[is_gold])
        return {"threshold": (candidates, golds)}

    # Inference

    def _predict(self, docs: List[Doc]) -> List[Dict[str, Any]]:
        """Per doc: the candidate spans, their (head, tail) pairs and the triple
        logits (pairs x predicates)."""
        self._require_initialized()
        n_predicates = len(self.labels)
        counts = CapCounts()
        candidates = []
        cells = []
        span_pairs = []
        for doc in docs:
            found = self._candidates(doc, counts)
            if found is None:
                self._warn_no_spans()
                found = [], numpy.zeros((0,), dtype="int64")
            entities, windows = found
            starts = numpy.asarray([span.start for span in entities], dtype="int64")
            ends = numpy.asarray([span.end for span in entities], dtype="int64")
            subjects, objects = ordered_pairs(starts, ends, windows, self.cfg["max_pair_distance"])
            pairs = list(zip(subjects.tolist(), objects.tolist()))
            candidates.append((entities, pairs))
            if self.has_span_pairs:
                # The span-pair scores decide (triple_logits): no cell is gathered.
                no_cells = numpy.zeros((0, 3), dtype="int64")
                cells.append((no_cells, no_cells))
                span_pairs.append(_pair_spans(starts, ends, subjects, objects))
            else:
                cells.append(_pair_cells(starts, ends, subjects, objects, n_predicates))
        self._warn_cut(counts)
        if not any(len(pairs) for _, pairs in candidates):
            return [{"entities": e, "pairs": p, "logits": None} for e, p in candidates]
        outputs = self.model.predict((docs, cells, span_pairs) if self.has_span_pairs else (docs, cells))
        triples = self.label_triples()
        results = []
        for (entities, pairs), doc_scores in zip(candidates, outputs):
            logits = None
            if pairs:
                if self.has_span_pairs:
                    logits = triple_logits(None, None, to_numpy(doc_scores[SPAN_PAIRS]))
                else:
                    shape = (len(pairs), n_predicates)
                    logits = triple_logits(
                        to_numpy(doc_scores[HEAD_PAIRS]).reshape(shape), to_numpy(doc_scores[TAIL_PAIRS]).reshape(shape), None
                    )
            unmasked = None
            if logits is not None and triples.constrains:
                label_pairs = [(entities[h].label_, entities[t].label_) for h, t in pairs]
                unmasked = logits if triples.types_by_predicate else None
                logits = triples.mask(logits, label_pairs, -numpy.inf)
            results.append({"entities": entities, "pairs": pairs, "logits": logits, "unmasked": unmasked})
        return results

    def set_annotations(self, docs: Iterable[Doc], predictions: List[Dict[str, Any]]) -> None:
        """Write the triples whose head-pair and tail-pair logits both pass to doc._.relations."""
        threshold = self.threshold()
        for doc, prediction in zip(docs, predictions):
            decoded = self._decoded(prediction, threshold)
            probabilities = span_probability(numpy.asarray([logit for *_, logit in decoded], dtype="float64"))
            records: List[RelationRecord] = [
                (head, predicate, tail, float(probability))
                for (head, predicate, tail, _), probability in zip(decoded, probabilities)
            ]
            set_relation_records(doc, records)

    def _decoded(self, prediction: Dict[str, Any], threshold: float) -> List[DecodedTriple]:
        """The triples of one doc's prediction whose logit passes `threshold`,
        each with that logit: (head, predicate, tail, logit).

        A triple's presence depends on its own logit alone (with "typed", the
        label variants of one pair of spans share their logit, as the pair
        scores do not read labels), so the triples decoded at a low threshold,
        cut at a higher one, are those decoded at the higher one: calibration
        decodes once at the lowest threshold it considers."""
        logits = prediction["logits"]
        if logits is None:
            return []
        entities, pairs, labels = prediction["entities"], prediction["pairs"], self.labels
        decoded: List[DecodedTriple] = []
        pair_idx, predicate_idx = numpy.nonzero(logits > threshold)
        for k, p in zip(pair_idx.tolist(), predicate_idx.tolist()):
            h, t = pairs[k]
            decoded.append((_record(entities[h]), labels[p], _record(entities[t]), float(logits[k, p])))
        if prediction.get("unmasked") is not None:
            decoded.extend(self._typed_by_predicate(prediction, threshold, decoded))
        return decoded

    def _typed_by_predicate(
        self, prediction: Dict[str, Any], threshold: float, kept: List[DecodedTriple]
    ) -> List[DecodedTriple]:
        """`label_triples = "typed"`: the triples whose pair passes but whose
        spans' labels were never seen with the predicate, with the labels the
        predicate gives those spans (`LabelTriples.typed`, from every label the
        entity head gave each span), once per pair of spans and predicate, and
        only where no label variant of that pair passed as it was."""
        entities, pairs, labels = prediction["entities"], prediction["pairs"], self.labels
        unmasked, masked = prediction["unmasked"], prediction["logits"]
        pair_idx, predicate_idx = numpy.nonzero((unmasked > threshold) & ~(masked > threshold))
        if not len(pair_idx):
            return []
        labels_at: Dict[Tuple[int, int], List[str]] = {}
        for span in entities:
            labels_at.setdefault((span.start, span.end), []).append(span.label_)
        done = {(head[:2], predicate, tail[:2]) for head, predicate, tail, _ in kept}
        triples = self.label_triples()
        typed: List[DecodedTriple] = []
        for k, p in zip(pair_idx.tolist(), predicate_idx.tolist()):
            head, tail = entities[pairs[k][0]], entities[pairs[k][1]]
            key = ((head.start, head.end), labels[p], (tail.start, tail.end))
            if key in done:
                continue
            done.add(key)
            chosen = triples.typed(labels[p], labels_at[key[0]], labels_at[key[2]])
            if chosen is None:
                continue
            typed.append(((head.start, head.end, chosen[0]), labels[p], (tail.start, tail.end, chosen[1]), float(unmasked[k, p])))
        return typed

    def _inference_calibration_decisions(
        self, examples: List[Example]
    ) -> Iterator[Tuple[str, Tuple[List[numpy.ndarray], List[numpy.ndarray]]]]:
        """With calibration_entities = "predicted" and spans predicted upstream
        on every doc: the logits of the triples the decoder finds among those
        spans (decoded at the calibrator's lowest threshold), and per gold
        triple (spans and labels exact, as the strict score counts) its
        decoded logit or -inf where it was not found, so that it counts as
        missed at every threshold. Else the gold entities' pairs (`PairComponent`)."""
        docs = [eg.predicted for eg in examples]
        if self.cfg.get("calibration_entities", "predicted") != "predicted" or not all(
            self._has_upstream_spans(doc) for doc in docs
        ):
            yield from super()._inference_calibration_decisions(examples)
            return
        lowest = self._calibrator().lowest
        candidates: List[numpy.ndarray] = []
        golds: List[numpy.ndarray] = []
        for eg, prediction in zip(examples, self._predict(docs)):
            logits: Dict[Tuple[SpanRecord, str, SpanRecord], float] = {}
            for head, predicate, tail, logit in self._decoded(prediction, lowest):
                key = (head, predicate, tail)
                logits[key] = max(logit, logits.get(key, -numpy.inf))
            gold = set(self.aligned_gold(eg).labelled_relations)
            candidates.append(numpy.asarray(list(logits.values()), dtype="float64"))
            golds.append(numpy.asarray([logits.get(triple, -numpy.inf) for triple in gold], dtype="float64"))
        yield "threshold", (candidates, golds)

    def _warn_no_spans(self) -> None:
        if not self._warned_no_spans:
            warnings.warn(Warnings.W006.format(name=self.name, key=self.key))
            self._warned_no_spans = True

    def _warn_cut(self, counts: CapCounts) -> None:
        if counts.cut:
            warnings.warn(
                Warnings.W009.format(
                    name=self.name, limit=self.cfg["max_candidates"], what="spans",
                    distance=distance_text(self.cfg["max_pair_distance"]), scope=scope_text(self.cfg["link_scope"]),
                    cut=counts.cut, total=counts.kept + counts.cut, docs=counts.docs, setting="max_candidates",
                )
            )


def _pair_cells(
    starts: numpy.ndarray, ends: numpy.ndarray, subjects: numpy.ndarray, objects: numpy.ndarray, n_predicates: int
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Head-pair and tail-pair cells (predicate, i, j) of every (subject, object) pair, pair-major."""
    predicates = numpy.tile(numpy.arange(n_predicates, dtype="int64"), len(subjects))

    def cells(first: numpy.ndarray, second: numpy.ndarray) -> numpy.ndarray:
        token_pairs = numpy.stack([first, second], axis=1).astype("int64").reshape(-1, 2)
        return numpy.concatenate([predicates[:, None], numpy.repeat(token_pairs, n_predicates, axis=0)], axis=1)

    return cells(starts[subjects], starts[objects]), cells(ends[subjects] - 1, ends[objects] - 1)


def near_miss_spans(entities: Sequence[Tuple[int, int]], n_tokens: int) -> List[Tuple[int, int]]:
    """Each entity with one boundary moved by one token (start or end, either
    way), where that is no entity itself: negatives for the span-pair scorer.

    Why: trained on gold entities alone, the span-pair scorer never saw a span
    that is almost an entity, and at inference the entity head proposes many
    (a boundary off by one is its commonest error); a pair with such a span is
    a false relation under strict scoring."""
    known = set(entities)
    misses: List[Tuple[int, int]] = []
    for start, end in entities:
        for candidate in ((start - 1, end), (start + 1, end), (start, end - 1), (start, end + 1)):
            if 0 <= candidate[0] < candidate[1] <= n_tokens and candidate not in known:
                known.add(candidate)
                misses.append(candidate)
    return misses


def _pair_spans(starts: numpy.ndarray, ends: numpy.ndarray, subjects: numpy.ndarray, objects: numpy.ndarray) -> numpy.ndarray:
    """The span-pair scorer's input for these pairs: (pairs, 4) subject start,
    end, object start, end."""
    if not len(subjects):
        return no_pairs()
    return numpy.stack([starts[subjects], ends[subjects], starts[objects], ends[objects]], axis=1).astype("int64")


def _record(span: Span) -> SpanRecord:
    return (span.start, span.end, span.label_)
