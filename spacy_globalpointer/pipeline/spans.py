"""The `globalpointer` component: nested and flat span prediction with GlobalPointer."""
import warnings
from collections import Counter
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy
from spacy.language import Language
from spacy.scorer import Scorer, get_ner_prf
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry
from spacy.vocab import Vocab
from thinc.api import Model
from thinc.types import Floats3d

from ..calibration import cell_decisions
from ..checks import check_int
from ..decoding import DecodedSpans, best_non_overlapping, decode_band, max_spans_for
from ..errors import Errors, Warnings
from ..layouts import PairLayout
from ..ml.pair_loss import pair_loss
from .base import DEFAULT_CALIBRATION, PairComponent, default_model

DEFAULT_SPANS_KEY = "sc"
# The calibrated threshold doc.ents decodes with (ents = true): see
# `GlobalPointer.calibrated_only_thresholds`.
ENTS_THRESHOLD = "ents_threshold"
DEFAULT_MAX_SPAN_WIDTH = 64

default_model_config = """
[model]
@architectures = "spacy-globalpointer.EfficientGlobalPointer.v1"
head_size = 64
use_rope = true
pooling_size = 32

"""
DEFAULT_MODEL = default_model(default_model_config)


# "auto": held-out docs on a transformer (it fits its training docs, so the
# training pass's scores would set its thresholds too high), the training
# batches on any other encoder (the CNN; every doc trains). On the CNN the
# held-out docs cost WNUT-17 2.5-3.6 span F1 at the dev-best thresholds and
# 2.9-6.2 ents F1 as calibrated (three seeds), a user's held-out English data
# 0.68 nested / 0.47 flat F1, and gained CLUENER 0.3 and CMeEE 0.4 on the means,
# inside the seeds' spread (README, "Scores"). Relations and events keep
# "heldout", the source they were measured with.
SPANS_CALIBRATION = {**DEFAULT_CALIBRATION, "source": "auto"}


@Language.factory(
    "globalpointer",
    assigns=["doc.spans", "doc.ents"],
    default_config={
        "model": DEFAULT_MODEL,
        "spans_key": DEFAULT_SPANS_KEY,
        "threshold": 0.0,
        "max_span_width": DEFAULT_MAX_SPAN_WIDTH,
        "max_spans_per_token": 1.0,
        "ents": False,
        "loss_rows": "label",
        "calibrate_threshold": True,
        "calibration": SPANS_CALIBRATION,
        "torch_threads": 1,
        "scorer": {"@scorers": "spacy-globalpointer.spans_scorer.v1"},
    },
    default_score_weights={
        f"spans_{DEFAULT_SPANS_KEY}_f": 1.0,
        f"spans_{DEFAULT_SPANS_KEY}_p": 0.0,
        f"spans_{DEFAULT_SPANS_KEY}_r": 0.0,
    },
)
def make_globalpointer(
    nlp: Language,
    name: str,
    model: Model[List[Doc], List[Floats3d]],
    spans_key: str,
    threshold: float,
    max_span_width: Optional[int],
    max_spans_per_token: float,
    ents: bool,
    loss_rows: str,
    calibrate_threshold: bool,
    calibration: Union[str, Dict[str, Any]],
    torch_threads: Optional[int],
    scorer: Optional[Callable],
) -> "GlobalPointer":
    """Create a GlobalPointer span predictor (nested or flat NER).

    model (Model[List[Doc], List[Floats3d]]): tok2vec >> GlobalPointer layer.
    spans_key (str): the key of doc.spans to read gold spans from and write to.
    threshold (float): a span is predicted where its logit exceeds this.
    max_span_width (Optional[int]): longest span in tokens; None = unbounded
        (cost then grows with the square of the document length).
    max_spans_per_token (float): at most ceil(this * n) + 4 spans are kept per
        doc of n tokens (the best-scoring ones).
    ents (bool): also write the best non-overlapping spans to doc.ents.
    loss_rows, calibrate_threshold, calibration, torch_threads: see
        `PairComponent` (pipeline/base.py).
    scorer (Optional[Callable]): the scoring method.
    """
    return GlobalPointer(
        nlp.vocab,
        model,
        name,
        spans_key=spans_key,
        threshold=threshold,
        max_span_width=max_span_width,
        max_spans_per_token=max_spans_per_token,
        ents=ents,
        loss_rows=loss_rows,
        calibrate_threshold=calibrate_threshold,
        calibration=calibration,
        torch_threads=torch_threads,
        scorer=scorer,
    )


def score_globalpointer(examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
    """spans_{key}_p/r/f/per_type like spancat, plus ents_* when `ents` is on."""
    key = kwargs.get("spans_key", DEFAULT_SPANS_KEY)
    examples = list(examples)
    scores = Scorer.score_spans(
        examples,
        f"spans_{key}",
        getter=lambda doc, attr: doc.spans.get(key, []),
        has_annotation=lambda doc: key in doc.spans,
        allow_overlap=True,
        labeled=True,
    )
    if kwargs.get("ents"):
        scores.update(get_ner_prf(examples))
    return scores


@registry.scorers("spacy-globalpointer.spans_scorer.v1")
def make_globalpointer_scorer() -> Callable[..., Dict[str, Any]]:
    return score_globalpointer


class GlobalPointer(PairComponent):
    """Predict labelled spans, nested or flat, by scoring every (start, end) pair.

    Spans go to doc.spans[spans_key] with attrs["scores"] = sigmoid(2 * logit),
    the probability the ZLPR loss is calibrated to (0.5 at the default
    threshold of 0.0).
    """

    gold_source = "spans in `doc.spans['{key}']`"
    # doc.ents' threshold (ents = true), calibrated on doc.ents' own decisions
    # (`_ents_decisions`); until then, the spans' threshold. Why two: doc.spans
    # keeps every span over the threshold, doc.ents the best non-overlapping
    # ones among them, so a span below the spans' optimum can still be the best
    # entity of its tokens. On CLUENER (CNN, held-out calibration) the ents' own
    # threshold was 0.45 and 1.3 lower than the spans' on two seeds and gave
    # ents F1 +0.56 and +1.24 (WNUT-17: 0.4 lower, +0.73).
    calibrated_only_thresholds = {ENTS_THRESHOLD: "threshold"}

    def __init__(
        self,
        vocab: Vocab,
        model: Model[List[Doc], List[Floats3d]],
        name: str = "globalpointer",
        *,
        spans_key: str = DEFAULT_SPANS_KEY,
        threshold: float = 0.0,
        max_span_width: Optional[int] = DEFAULT_MAX_SPAN_WIDTH,
        max_spans_per_token: float = 1.0,
        ents: bool = False,
        loss_rows: str = "label",
        calibrate_threshold: bool = True,
        calibration: Union[str, Dict[str, Any], None] = None,
        torch_threads: Optional[int] = 1,
        scorer: Optional[Callable] = score_globalpointer,
    ) -> None:
        check_int("max_span_width", max_span_width, optional=True)
        if not max_spans_per_token > 0:
            raise ValueError(Errors.E011.format(value=max_spans_per_token))
        super().__init__(
            vocab,
            model,
            name,
            {
                "spans_key": spans_key,
                "threshold": threshold,
                "max_span_width": max_span_width,
                "max_spans_per_token": max_spans_per_token,
                "ents": ents,
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
    def layout(self) -> PairLayout:
        """Spans up to max_span_width tokens: a band (see layouts.py)."""
        return PairLayout.band(self.cfg["max_span_width"])

    def output_layouts(self) -> Sequence[PairLayout]:
        return [self.layout]

    # Gold: the reference's spans in the predicted tokens.

    def _gold_labels(self, eg: Example) -> Iterable[str]:
        return (span.label_ for span in eg.reference.spans.get(self.key, []))

    def _align_gold(self, eg: Example) -> List[Span]:
        """The gold spans that align with the predicted tokens (as in spancat)."""
        return list(eg.get_aligned_spans_y2x(eg.reference.spans.get(self.key, []), allow_overlap=True))

    def _count_gold(self, eg: Example, gold: List[Span], counts: Counter) -> None:
        n_gold = len(eg.reference.spans.get(self.key, []))
        counts["total"] += n_gold
        counts["misaligned"] += n_gold - len(gold)
        counts["duplicate"] += len(gold) - len({(s.start, s.end, s.label) for s in gold})
        width = self.cfg["max_span_width"]
        for span in gold:
            counts["longest"] = max(counts["longest"], len(span))
            if width is not None and len(span) > width:
                counts["long"] += 1

    def _conclude_gold(self, counts: Counter) -> None:
        if counts["long"]:
            warnings.warn(
                Warnings.W001.format(
                    n_long=counts["long"], n_total=counts["total"], key=self.key,
                    width=self.cfg["max_span_width"], longest=counts["longest"], name=self.name,
                )
            )
        if counts["misaligned"]:
            warnings.warn(
                Warnings.W002.format(n_misaligned=counts["misaligned"], n_total=counts["total"], key=self.key)
            )
        if counts["duplicate"]:
            warnings.warn(
                Warnings.W010.format(
                    name=self.name,
                    details=f"{counts['duplicate']} of {counts['total']} gold spans in doc.spans['{self.key}'] are listed twice",
                )
            )

    def _predict(self, docs: List[Doc]) -> List[Floats3d]:
        """Span scores per doc, shape (labels, n, W); no side effects."""
        self._require_initialized()
        docs = list(docs)
        if not any(len(doc) for doc in docs):
            return [self.model.ops.alloc3f(len(self.labels), 0, 0) for _ in docs]
        return self.model.predict(docs)

    def _decode(self, doc: Doc, doc_scores: Floats3d, threshold: float) -> DecodedSpans:
        """The spans of one doc over `threshold` (the max_spans_per_token cap,
        never on whitespace tokens): what decoding and ents calibration read."""
        cap = max_spans_for(len(doc), float(self.cfg["max_spans_per_token"]))
        return decode_band(doc_scores, threshold, cap, boundary_ok=_non_space_tokens(doc))

    def set_annotations(self, docs: Iterable[Doc], scores: List[Floats3d]) -> None:
        """Write doc.spans[key] (with scores) and, with `ents` on, doc.ents."""
        labels = self.labels
        threshold = self.threshold()
        ents_threshold = self.threshold(ENTS_THRESHOLD) if self.cfg["ents"] else threshold
        for doc, doc_scores in zip(docs, scores):
            # One decoding at the lower threshold serves both: the max_spans
            # best above it, then each output's own threshold.
            decoded = self._decode(doc, doc_scores, min(threshold, ents_threshold))
            spans = [
                Span(doc, int(start), int(end), label=labels[label])
                for label, start, end in zip(decoded.labels, decoded.starts, decoded.ends)
            ]
            in_group = decoded.logits > threshold
            self._write_span_group(doc, [s for s, keep in zip(spans, in_group) if keep], decoded.logits[in_group])
            if self.cfg["ents"]:
                candidates = numpy.flatnonzero(decoded.logits > ents_threshold)
                kept = best_non_overlapping(decoded.subset(candidates), occupied=_occupied_by_ents(doc))
                doc.ents = list(doc.ents) + [spans[candidates[i]] for i in kept]

    def _loss(
        self, scores: List[Floats3d], golds: List[List[Span]], examples: List[Example]
    ) -> Tuple[float, List[Floats3d]]:
        """ZLPR loss over every valid (start, end) cell, averaged over rows (loss_rows)."""
        return pair_loss(scores, self._gold_cells(golds, scores), self.layout, rows=self.cfg["loss_rows"])

    def _calibration_decisions(
        self, examples: List[Example], scores: List[Floats3d]
    ) -> Dict[str, Tuple[List[numpy.ndarray], List[numpy.ndarray]]]:
        """Every valid cell's score (above the calibrator's grid) and the gold cells' scores."""
        gold_cells = self._gold_cells([self.aligned_gold(eg) for eg in examples], scores)
        decisions = {"threshold": cell_decisions(scores, gold_cells, self.layout, self._calibrator().lowest)}
        if self.cfg["ents"]:
            decisions[ENTS_THRESHOLD] = self._ents_decisions(examples, scores)
        return decisions

    def _ents_decisions(
        self, examples: List[Example], scores: List[Floats3d]
    ) -> Tuple[List[numpy.ndarray], List[numpy.ndarray]]:
        """The doc.ents decisions of docs whose reference has entities
        annotated: the logits of the spans doc.ents would keep at the lowest
        threshold of the grid, and of those that are gold entities, plus one
        -inf per gold entity they miss (counted as gold, never found).

        Why this is exact: doc.ents takes spans best-first, so the entities
        decoded at a threshold t are those decoded at any lower threshold
        whose logit is above t; each threshold's ents F1 is the counting of a
        cell calibration over these decisions."""
        labels = self.labels
        lowest = self._calibrator(ENTS_THRESHOLD).lowest
        candidates: List[numpy.ndarray] = []
        golds: List[numpy.ndarray] = []
        for eg, doc_scores in zip(examples, scores):
            doc = eg.predicted
            if not len(doc) or not eg.reference.has_annotation("ENT_IOB"):
                continue
            decoded = self._decode(doc, doc_scores, lowest)
            kept = best_non_overlapping(decoded, occupied=_occupied_by_ents(doc))
            gold = {(s.start, s.end, s.label_) for s in eg.get_aligned_spans_y2x(eg.reference.ents)}
            logits = decoded.logits[kept].astype("float32")
            found = numpy.asarray(
                [(int(decoded.starts[i]), int(decoded.ends[i]), labels[decoded.labels[i]]) in gold for i in kept],
                dtype=bool,
            ).reshape(-1)
            missed = numpy.full((len(gold) - int(found.sum()),), -numpy.inf, dtype="float32")
            candidates.append(logits)
            golds.append(numpy.concatenate([logits[found], missed]))
        return candidates, golds

    def _gold_cells(
        self, golds: List[List[Span]], scores: List[Floats3d]
    ) -> List[List[Tuple[int, int, int]]]:
        """Per doc, the (label, start, end offset) band cells of the aligned gold spans."""
        label_map = self._label_map
        positives: List[List[Tuple[int, int, int]]] = []
        for gold, doc_scores in zip(golds, scores):
            band_width = doc_scores.shape[2]
            cells = set()
            for span in gold:
                label = label_map.get(span.label_)
                if label is None:
                    raise ValueError(
                        Errors.E007.format(
                            text=span.text, key=self.key, label=span.label_,
                            name=self.name, labels=list(self.labels),
                        )
                    )
                width = span.end - span.start
                # Wider spans were counted and reported in initialize (W001).
                if width <= band_width:
                    cells.add((label, span.start, width - 1))
            positives.append(sorted(cells))
        return positives


def _non_space_tokens(doc: Doc) -> numpy.ndarray:
    """Spans never start or end on a whitespace token (as in spaCy's ner).

    Read from the Doc's arrays: creating a Token object per token costs more
    than the whole head on a 100k-token document.
    """
    if not len(doc):
        return numpy.zeros((0,), dtype=bool)
    return doc.to_array("IS_SPACE") == 0


def _occupied_by_ents(doc: Doc) -> numpy.ndarray:
    """Tokens inside an entity set earlier in the pipeline (ENT_IOB I or B)."""
    if not len(doc):
        return numpy.zeros((0,), dtype=bool)
    iob = doc.to_array("ENT_IOB")
    return (iob == 1) | (iob == 3)

