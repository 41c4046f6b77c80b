"""The `globalpointer_relations` component: GPLinker relation extraction.

GPLinker (Su, 2022) is an entity GlobalPointer plus, for every predicate p, a
head-pair matrix H[p, s_head, o_head] and a tail-pair matrix T[p, s_tail,
o_tail] on one encoder. In spaCy that is two components on one shared tok2vec,
trained jointly: `globalpointer` writes the entities to doc.spans[spans_key],
and this component, placed after it, links them: the triple (s, p, o) is kept
where H[p, s.start, o.start] and T[p, s.end - 1, o.end - 1] both exceed the
threshold. It links whatever spans an upstream component wrote (spancat,
span_finder + spancat, or `ner` with `use_ents = true`).

Training places the positive cells from the reference doc's gold relations,
so `update` never needs predicted spans; evaluation decodes from the
predicted ones. At inference only the cells of candidate pairs are scored.
"""
import bisect
import warnings
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example, validate_get_examples
from spacy.util import registry
from spacy.vocab import Vocab
from thinc.api import Model
from thinc.types import Floats3d

from ..decoding import span_probability, to_numpy
from ..errors import Errors, Warnings
from ..extensions import RelationRecord, SpanRecord, install_extensions, relation_records, set_relation_records
from ..layouts import PairLayout
from ..ml.pair_loss import Cell, pair_loss
from .base import PairComponent, check_positive_int, check_threshold, default_model
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

default_model_config = """
[model]
@architectures = "spacy-globalpointer.GPLinker.v1"
head_size = 64
efficient = true
use_rope = false

"""
DEFAULT_MODEL = default_model(default_model_config)

HEADS, TAILS = 0, 1


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
        "calibrate_threshold": True,
        "calibration": "heldout",
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
    calibrate_threshold: bool,
    calibration: str,
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
        tokens of a span are linked (per doc if max_pair_distance is None),
        the best-scoring first (upstream attrs["scores"]), so time stays
        bounded and linear in the doc length.
    calibrate_threshold (bool): during training, keep moving `threshold` to
        the value with the best triple F1 on the training batches.
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
    return GlobalPointerRelations(
        nlp.vocab,
        model,
        name,
        spans_key=spans_key,
        use_ents=use_ents,
        threshold=threshold,
        max_pair_distance=max_pair_distance,
        max_candidates=max_candidates,
        calibrate_threshold=calibrate_threshold,
        calibration=calibration,
        torch_threads=torch_threads,
        scorer=scorer,
    )


@registry.scorers("spacy-globalpointer.relations_scorer.v1")
def make_relations_scorer() -> Callable[..., Dict[str, Any]]:
    return score_relations


class GlobalPointerRelations(PairComponent):
    """Link the spans an upstream component wrote into `doc._.relations`."""

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
        calibrate_threshold: bool = True,
        calibration: str = "heldout",
        torch_threads: Optional[int] = 1,
        scorer: Optional[Callable] = score_relations,
    ) -> None:
        check_positive_int("max_pair_distance", max_pair_distance, optional=True)
        check_positive_int("max_candidates", max_candidates)
        check_threshold(threshold)
        install_extensions()
        super().__init__(
            vocab,
            model,
            name,
            {
                "spans_key": spans_key,
                "use_ents": bool(use_ents),
                "threshold": float(threshold),
                "max_pair_distance": max_pair_distance,
                "max_candidates": max_candidates,
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

    def head_layouts(self) -> Sequence[PairLayout]:
        return [self.layout, self.layout]

    def _label_source(self) -> str:
        return "doc._.relations"

    # Entities

    def entities(self, doc: Doc) -> Optional[List[Span]]:
        """The spans to link in a predicted doc (None: nothing upstream wrote them)."""
        if self.cfg["use_ents"]:
            return list(doc.ents)
        if self.key not in doc.spans:
            return None
        group = doc.spans[self.key]
        spans = list(group)
        limit = int(self.cfg["max_candidates"])
        order: Iterable[int] = range(len(spans))
        scores = group.attrs.get("scores")
        if scores is not None and len(scores) == len(spans):
            order = numpy.argsort(-numpy.asarray(scores, dtype="float64"), kind="stable")
        # A span listed twice (a group merged from two sources) is linked once:
        # relations are keyed by (start, end, label), so a copy would only
        # duplicate its triples and take a candidate's place.
        # The cap holds per max_pair_distance tokens, not per doc: only spans
        # that close are ever paired, so a long doc keeps its entities (a cap
        # per doc linked 32 spans of a 20k-token doc) and the pairs stay
        # linear in its length.
        distance = self.cfg.get("max_pair_distance")
        seen = set()
        chosen: List[int] = []
        chosen_starts: List[int] = []  # sorted
        for i in order:
            span = spans[i]
            key = (span.start, span.end, span.label)
            if key in seen:
                continue
            if distance is None:
                near = len(chosen_starts)
            else:
                near = bisect.bisect_left(chosen_starts, span.start + distance) - bisect.bisect_right(
                    chosen_starts, span.start - distance
                )
            if near >= limit:
                continue
            seen.add(key)
            chosen.append(int(i))
            bisect.insort(chosen_starts, span.start)
        return [spans[i] for i in sorted(chosen)]

    # Training

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[List[str]] = None,
    ) -> None:
        """Read predicates (from `labels` or the data), count what cannot be learned, build the head."""
        validate_get_examples(get_examples, "GlobalPointerRelations.initialize")
        self.start_training(nlp, get_examples)
        self._head._layers = []
        if labels is not None:
            for label in labels:
                self.add_label(label)
        n_total = n_far = n_misaligned = n_self = 0
        sample: List[Example] = []
        for eg in get_examples():
            gold = relation_records(eg.reference)
            if labels is None:
                for _, predicate, _, _ in gold:
                    self.add_label(predicate)
            n_total += len(gold)
            aligned = self._aligned_relations(eg)
            n_misaligned += len(gold) - len(aligned)
            n_tokens = len(eg.predicted)
            for head, _, tail in aligned:
                n_self += head == tail
                if self._cells(head, tail, n_tokens) is None:
                    n_far += 1
            if len(sample) < 10:
                sample.append(eg)
        self._require_labels()
        if n_far:
            warnings.warn(
                Warnings.W004.format(
                    n=n_far, total=n_total, distance=self.cfg["max_pair_distance"], name=self.name
                )
            )
        if n_misaligned:
            warnings.warn(Warnings.W005.format(n=n_misaligned, total=n_total, name=self.name))
        self._build_head([eg.predicted for eg in sample])

    def get_loss(
        self, examples: Iterable[Example], scores: List[Tuple[Floats3d, Floats3d]]
    ) -> Tuple[float, List[Tuple[Floats3d, Floats3d]]]:
        """Sparse ZLPR over the head-pair and the tail-pair cells: summed over
        predicates, averaged over docs (GPLinker's weighting)."""
        examples = list(examples)
        heads: List[List[Cell]] = []
        tails: List[List[Cell]] = []
        label_map = self._label_map
        for eg in examples:
            n_tokens = len(eg.predicted)
            doc_heads, doc_tails = set(), set()
            for head, predicate, tail in self._aligned_relations(eg, label_map):
                cells = self._cells(head, tail, n_tokens)
                if cells is None:  # beyond max_pair_distance: counted in initialize (W004)
                    continue
                doc_heads.add((predicate, head[0], cells[0]))
                doc_tails.add((predicate, head[1] - 1, cells[1]))
            heads.append(sorted(doc_heads))
            tails.append(sorted(doc_tails))
        layout = self.layout
        head_loss, d_heads = pair_loss([s[HEADS] for s in scores], heads, layout, sparse=True, mean_over="docs")
        tail_loss, d_tails = pair_loss([s[TAILS] for s in scores], tails, layout, sparse=True, mean_over="docs")
        return head_loss + tail_loss, list(zip(d_heads, d_tails))

    def _aligned_relations(
        self, eg: Example, label_map: Optional[Dict[str, int]] = None
    ) -> List[Tuple[Tuple[int, int], Any, Tuple[int, int]]]:
        """Gold relations as ((start, end), predicate, (start, end)) in the predicted tokens.

        Relations whose spans do not align with the predicted tokenization are
        left out (counted in initialize, W005). With a label map the predicate
        comes as its index, and an unknown one raises E026.
        """
        result = []
        for head, predicate, tail, _ in relation_records(eg.reference):
            head_span = to_predicted(eg, head)
            tail_span = to_predicted(eg, tail)
            if head_span is None or tail_span is None:
                continue
            if label_map is not None:
                if predicate not in label_map:
                    raise ValueError(
                        Errors.E026.format(label=predicate, name=self.name, labels=list(self.labels))
                    )
                predicate = label_map[predicate]
            result.append((head_span, predicate, tail_span))
        return result

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
        """Triple scores min(H, T) for every (gold entity, predicate, gold entity) of
        each batch doc, and those of the gold triples: what the decoder thresholds."""
        label_map = self._label_map
        candidates, golds = [], []
        for eg, (doc_heads, doc_tails) in zip(examples, scores):
            n_tokens = len(eg.predicted)
            entities = sorted({span for span in self._gold_entities(eg)})
            gold = {(h, p, t) for h, p, t in self._aligned_relations(eg, label_map)}
            pairs = [(h, t) for h in entities for t in entities]
            cells = [(h, t, self._cells(h, t, n_tokens)) for h, t in pairs]
            cells = [(h, t, c) for h, t, c in cells if c is not None]
            if not cells:
                continue
            rows_h = numpy.asarray([h[0] for h, _, _ in cells])
            rows_t = numpy.asarray([h[1] - 1 for h, _, _ in cells])
            cols_h = numpy.asarray([c[0] for _, _, c in cells])
            cols_t = numpy.asarray([c[1] for _, _, c in cells])
            triple = numpy.minimum(
                to_numpy(doc_heads[:, rows_h, cols_h]), to_numpy(doc_tails[:, rows_t, cols_t])
            )  # (predicates, pairs)
            is_gold = numpy.zeros(triple.shape, dtype=bool)
            index = {(h, t): k for k, (h, t, _) in enumerate(cells)}
            for h, p, t in gold:
                if (h, t) in index:
                    is_gold[p, index[(h, t)]] = True
            candidates.append(triple[triple > self._calibrator().lowest])
            golds.append(triple[is_gold])
        return {"threshold": (candidates, golds)}

    def _gold_entities(self, eg: Example) -> List[Tuple[int, int]]:
        """The reference's entities (and relation arguments) in predicted tokens."""
        spans: List[Tuple[int, int]] = []
        ref = eg.reference
        source = ref.ents if self.cfg["use_ents"] else ref.spans.get(self.key, [])
        for span in source:
            aligned = to_predicted(eg, (span.start, span.end, span.label_))
            if aligned is not None:
                spans.append(aligned)
        for head, _, tail in self._aligned_relations(eg):
            spans.extend([head, tail])
        return spans

    # Inference

    def _predict(self, docs: List[Doc]) -> List[Dict[str, Any]]:
        """Per doc: the candidate spans and the triple logits (predicates x pairs)."""
        self._require_initialized()
        docs = list(docs)
        n_predicates = len(self.labels)
        distance = self.cfg["max_pair_distance"]
        candidates = []
        cells = []
        for doc in docs:
            entities = self.entities(doc)
            if entities is None:
                self._warn_no_spans()
                entities = []
            pairs = [
                (h, t)
                for h in range(len(entities))
                for t in range(len(entities))
                if distance is None
                or (
                    abs(entities[h].start - entities[t].start) < distance
                    and abs(entities[h].end - entities[t].end) < distance
                )
            ]
            candidates.append((entities, pairs))
            cells.append(_pair_cells(entities, pairs, n_predicates))
        if not any(len(c[0]) for c in cells):
            return [{"entities": e, "pairs": p, "logits": None} for e, p in candidates]
        outputs = self.model.predict((docs, cells))
        results = []
        for (entities, pairs), (head_scores, tail_scores) in zip(candidates, outputs):
            logits = None
            if pairs:
                logits = numpy.minimum(to_numpy(head_scores), to_numpy(tail_scores)).reshape(
                    len(pairs), n_predicates
                )
            results.append({"entities": entities, "pairs": pairs, "logits": logits})
        return results

    def set_annotations(self, docs: Iterable[Doc], predictions: List[Dict[str, Any]]) -> None:
        """Write the triples whose head-pair and tail-pair logits both pass to doc._.relations."""
        threshold = float(self.cfg["threshold"])
        labels = self.labels
        for doc, prediction in zip(docs, predictions):
            records: List[RelationRecord] = []
            logits = prediction["logits"]
            if logits is not None:
                entities = prediction["entities"]
                pair_idx, predicate_idx = numpy.nonzero(logits > threshold)
                probabilities = span_probability(logits[pair_idx, predicate_idx])
                for k, p, prob in zip(pair_idx, predicate_idx, probabilities):
                    h, t = prediction["pairs"][k]
                    records.append(
                        (_record(entities[h]), labels[p], _record(entities[t]), float(prob))
                    )
            set_relation_records(doc, records)

    def _warn_no_spans(self) -> None:
        if not self._warned_no_spans:
            warnings.warn(Warnings.W006.format(name=self.name, key=self.key))
            self._warned_no_spans = True

    def __call__(self, doc: Doc) -> Doc:
        install_extensions()
        return super().__call__(doc)

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterable[Doc]:
        install_extensions()
        return super().pipe(stream, batch_size=batch_size)


def _pair_cells(
    entities: Sequence[Span], pairs: Sequence[Tuple[int, int]], n_predicates: int
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Head-pair and tail-pair cells (predicate, i, j) of every pair, pair-major."""
    if not pairs:
        empty = numpy.zeros((0, 3), dtype="int64")
        return empty, empty
    heads = numpy.asarray([(entities[h].start, entities[t].start) for h, t in pairs], dtype="int64")
    tails = numpy.asarray([(entities[h].end - 1, entities[t].end - 1) for h, t in pairs], dtype="int64")
    predicates = numpy.arange(n_predicates, dtype="int64")

    def cells(token_pairs: numpy.ndarray) -> numpy.ndarray:
        repeated = numpy.repeat(token_pairs, n_predicates, axis=0)
        return numpy.concatenate([numpy.tile(predicates, len(token_pairs))[:, None], repeated], axis=1)

    return cells(heads), cells(tails)


def _record(span: Span) -> SpanRecord:
    return (span.start, span.end, span.label_)
