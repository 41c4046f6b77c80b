"""Choosing decision thresholds on training docs, never on dev answers.

A GlobalPointer trained with the ZLPR loss tends to be under-confident on
hard spans on the CNN: on CMeEE the F1-optimal logit threshold was below 0
even on its own training data. The calibrator counts, for each threshold of a
grid, how many candidate decisions and how many gold ones lie above it, and
picks the threshold with the best F1. Which docs it sees, how often, and how
guarded the result is, is the `calibration` setting (`CalibrationSettings`,
the config block `spacy-globalpointer.calibration.v1`). A decision is a cell
(spans) or whatever the decoder thresholds (a relation triple's score is the
lower of its head-pair and tail-pair cells): callers hand over flat scores.
"""
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy
from spacy.language import Language
from spacy.util import registry
from thinc.api import Model, get_array_module
from thinc.types import Floats3d

from .checks import check_choice, check_int, check_number_in
from .decoding import to_numpy
from .layouts import PairLayout

CALIBRATION_SOURCES = ("auto", "heldout", "inference", "batches")


@dataclass(frozen=True)
class CalibrationSettings:
    """How a component calibrates its thresholds while training (the config's
    `[components.NAME.calibration]` block; see `make_calibration`)."""

    source: str = "heldout"
    interval: int = 50
    heldout_one_in: int = 20
    min_heldout_docs: int = 1000
    max_heldout_docs: int = 1000
    recent_docs: int = 256
    guard_confidence: float = 0.8

    def __post_init__(self) -> None:
        check_choice("E029", self.source, CALIBRATION_SOURCES)
        for name in ("interval", "heldout_one_in", "min_heldout_docs", "max_heldout_docs", "recent_docs"):
            check_int(f"calibration.{name}", getattr(self, name))
        confidence = self.guard_confidence
        check_number_in("E033", confidence, 0.5, 1)

    @classmethod
    def from_cfg(cls, value: Union[str, Dict[str, Any], None]) -> "CalibrationSettings":
        """From a component's cfg: a dict (missing keys take their defaults), or
        a source name alone (configs and pipelines saved before the block)."""
        if isinstance(value, str):
            return cls(source=value)
        return cls(**{k: v for k, v in (value or {}).items() if not k.startswith("@")})

    def to_cfg(self) -> Dict[str, Any]:
        return asdict(self)


@registry.misc("spacy-globalpointer.calibration.v1")
def make_calibration(
    source: str = "heldout",
    interval: int = 50,
    heldout_one_in: int = 20,
    min_heldout_docs: int = 1000,
    max_heldout_docs: int = 1000,
    recent_docs: int = 256,
    guard_confidence: float = 0.8,
) -> Dict[str, Any]:
    """Threshold calibration while training: what, how often, how guarded.

    The component scores a set of training docs as at inference (the
    pipeline's earlier components, then its model, no dropout) and moves each
    threshold to its best F1 there. With "heldout" it does so before it
    decodes or is saved after its weights changed (an evaluation, model-best,
    model-last), and not between: the thresholds a saved pipeline decodes
    with are those of its weights on docs it never trained on. With
    "inference" (and in a component of `annotating_components`, which the
    training loop decodes after every update) it does so every `interval`
    updates.

    source (str): "heldout" (this block's default; the span component's
        factory and configs/cnn.cfg default to "auto"): one training doc in
        `heldout_one_in` (by a hash of its text, so every epoch and component
        picks the same docs) gets no gradient and is what thresholds are
        calibrated on; their scores look like unseen text on any encoder.
        With fewer than `min_heldout_docs` training docs every doc is worth
        more as training data and "inference" is used instead. "inference":
        the last `recent_docs` training docs (what a fine-tuned transformer
        has fitted: its thresholds drift). "batches": the training pass's own
        scores (dropout on), every update, no doc held out. "auto":
        "heldout" where the component's encoder is a transformer, else
        "batches". Measured on the CNN (README, "Scores"), "batches" against
        "heldout" over three seeds: WNUT-17 ents +2.9 to +6.2 F1 (its models
        scored 2.5-3.6 higher at their dev-best thresholds; likely the 5%
        held out of a small training set, which cost more than the batches'
        over-confident thresholds), CLUENER spans level and ents +0.5 (four
        seeds), CMeEE -0.3 (three seeds, each -0.1 to -0.6); a user's
        nested and flat data +0.5-0.7. A transformer fits its training docs,
        so only "heldout" suits it (+0.7 on MiniLM in that user's trial).
    interval (int): updates between two calibrations with "inference", and
        with "heldout" in a component of `annotating_components`.
    heldout_one_in (int): one training doc in this many is held out.
    min_heldout_docs (int): training docs needed before any is held out.
    max_heldout_docs (int): held-out docs kept for calibration: the first
        this many hashed docs training meets; once they are kept, every other
        doc trains (on a corpus of 100,000 docs, 1,000 held out, not 5,000).
    recent_docs (int): training docs rescored with "inference".
    guard_confidence (float): a calibrated threshold is kept only where it
        beats logit 0 in this share of bootstrap resamples of the docs
        (`guarded_threshold`), else 0.0.
    RETURNS (Dict[str, Any]): the settings, as the component stores them.
    """
    return CalibrationSettings(
        source, interval, heldout_one_in, min_heldout_docs, max_heldout_docs, recent_docs, guard_confidence
    ).to_cfg()


def resolve_source(source: str, transformer_encoder: bool) -> str:
    """The source "auto" stands for with this encoder (any other stays)."""
    if source != "auto":
        return source
    return "heldout" if transformer_encoder else "batches"


def uses_transformer(component_model: Model, component_name: str, nlp: Optional[Language]) -> bool:
    """Whether a component's scores come from a transformer: in its own model,
    or in an upstream component it listens to (spacy-transformers'
    `TransformerModel` and `TransformerListener` are named "transformer" and
    "transformer-listener"; a spaCy tok2vec is not)."""

    def named_transformer(model: Model) -> bool:
        return any("transformer" in node.name.lower() for node in model.walk())

    if named_transformer(component_model):
        return True
    if nlp is None:
        return False
    upstreams = {getattr(node, "upstream_name", None) for node in component_model.walk()} - {None}
    for name, proc in nlp.components:
        model = getattr(proc, "model", None)
        listened_to = name in upstreams or component_name in getattr(proc, "listening_components", ())
        if listened_to and isinstance(model, Model) and named_transformer(model):
            return True
    return False


class GridCounts(NamedTuple):
    """Decisions given as counts per doc at each point of a calibrator's grid,
    where they are not each a score over a threshold (events' co-event pairs:
    a pair can leave the output as the link threshold rises and come back)."""

    predicted: numpy.ndarray  # (docs, grid points): decisions made there
    correct: numpy.ndarray  # (docs, grid points): gold decisions among them
    n_gold: numpy.ndarray  # (docs,): gold decisions


class ThresholdCalibrator:
    """Decayed counts of cells above each candidate threshold, on training batches.

    low, high, step (float): the grid of thresholds considered (logits).
    decay (float): weight kept by old counts at each batch (0.98 ~ 50 batches).
    min_gold (float): no threshold is proposed before this many gold cells.
    """

    def __init__(
        self,
        low: float = -4.0,
        high: float = 2.0,
        step: float = 0.05,
        decay: float = 0.98,
        min_gold: float = 50.0,
    ) -> None:
        self.grid = numpy.round(numpy.arange(low, high + step / 2, step), 6)
        self.decay = decay
        self.min_gold = min_gold
        self.predicted_above = numpy.zeros_like(self.grid)
        self.gold_above = numpy.zeros_like(self.grid)
        self.n_gold = 0.0

    @property
    def lowest(self) -> float:
        """Decisions scored at or below this never matter: leave them out."""
        return float(self.grid[0])

    @property
    def highest(self) -> float:
        """No threshold above this is ever proposed."""
        return float(self.grid[-1])

    def observe_decisions(
        self, candidates: Sequence[numpy.ndarray], golds: Sequence[numpy.ndarray]
    ) -> None:
        """Count one batch of decisions given as flat scores.

        candidates: the score of every decision the decoder would make (gold
            ones included; those below the grid may be left out).
        golds: the scores of the gold decisions.
        """
        self.observe_counts(
            _count_above(list(candidates), self.grid),
            _count_above(list(golds), self.grid),
            float(sum(len(g) for g in golds)),
        )

    def observe_counts(self, predicted_above: numpy.ndarray, gold_above: numpy.ndarray, n_gold: float) -> None:
        """Count one batch given as counts at each grid threshold: the decisions
        made there and the gold ones among them (for a decoder whose decisions
        are not each a score over a threshold: events' co-event pairs)."""
        self.predicted_above *= self.decay
        self.gold_above *= self.decay
        self.n_gold *= self.decay
        self.predicted_above += predicted_above
        self.gold_above += gold_above
        self.n_gold += float(n_gold)

    def best_threshold(self) -> Optional[float]:
        """The grid threshold with the best F1 so far, or None with too little data."""
        if self.n_gold < self.min_gold:
            return None
        f1 = 2 * self.gold_above / numpy.maximum(self.predicted_above + self.n_gold, 1e-9)
        best = numpy.flatnonzero(f1 >= f1.max() - 1e-12)
        # Among ties, stay closest to the loss's own boundary at 0.
        return float(self.grid[best[numpy.argmin(numpy.abs(self.grid[best]))]])


def cell_decisions(
    scores: Sequence[Floats3d],
    gold_cells: Sequence[Sequence[Tuple[int, int, int]]],
    layout: PairLayout,
    low: float,
) -> Tuple[List[numpy.ndarray], List[numpy.ndarray]]:
    """Where every cell is a decision (spans): the valid cells' scores above `low`,
    and the gold cells' scores, per doc, on the CPU."""
    candidates: List[numpy.ndarray] = []
    golds: List[numpy.ndarray] = []
    for doc_scores, cells in zip(scores, gold_cells):
        _, n_tokens, n_columns = doc_scores.shape
        if n_tokens == 0:
            continue
        xp = get_array_module(doc_scores)
        valid = layout.valid(n_tokens, n_tokens, xp.arange, n_columns=n_columns)
        candidates.append(to_numpy(doc_scores[(doc_scores > low) & valid[None, :, :]]))
        if cells:
            index = numpy.asarray(cells, dtype="int64").T
            golds.append(to_numpy(doc_scores[tuple(xp.asarray(i) for i in index)]))
        else:  # aligned with candidates, doc by doc (guarded_threshold resamples docs)
            golds.append(numpy.zeros((0,), dtype="float32"))
    return candidates, golds


def _count_above(values: List[numpy.ndarray], grid: numpy.ndarray) -> numpy.ndarray:
    if not values:
        return numpy.zeros_like(grid)
    flat = numpy.sort(numpy.concatenate([v.ravel() for v in values]))
    return (flat.shape[0] - numpy.searchsorted(flat, grid, side="right")).astype("float64")


# guarded_threshold: how many bootstrap resamples of the docs.
GUARD_RESAMPLES = 200
GUARD_CONFIDENCE = CalibrationSettings.guard_confidence


def guarded_threshold(
    threshold: Optional[float],
    candidates: Sequence[numpy.ndarray],
    golds: Sequence[numpy.ndarray],
    step: float = 0.05,
    seed: int = 0,
    confidence: float = GUARD_CONFIDENCE,
) -> Optional[float]:
    """The best threshold on the way from 0 to `threshold` that beats logit 0
    on these docs in `confidence` of bootstrap resamples of the docs, else
    0.0 (the loss's own boundary).

    Why: a small calibration set has a noisy optimum, and following the noise
    of a model whose best threshold is near 0 costs F1; but a bar too high, or
    one tested at the optimum alone, throws real gains away. So every grid
    point between 0 and the optimum is tested and the best one that clears the
    bar is kept (the measurements behind this: README.md, "Scores").
    candidates, golds: per doc (aligned), as for observe_decisions.
    step (float): the spacing of the points tested (the calibrator's grid).
    """
    if threshold is None or threshold == 0.0 or not candidates:
        return threshold
    if len(candidates) != len(golds):
        raise ValueError(f"guarded_threshold needs decisions per doc: {len(candidates)} candidate and {len(golds)} gold arrays")
    n_points = int(round(abs(threshold) / step))
    points = numpy.round(numpy.sign(threshold) * step * numpy.arange(n_points + 1), 6)
    points[-1] = threshold  # [0, ..., threshold]
    # Per doc: decisions and gold decisions above each point, and gold count.
    predicted = numpy.stack([_count_above([c], points) for c in candidates])
    correct = numpy.stack([_count_above([g], points) for g in golds])
    n_gold = numpy.asarray([len(g) for g in golds], dtype="float64")
    return _guarded_point(points, predicted, correct, n_gold, seed, confidence)


def guarded_threshold_of_counts(
    threshold: Optional[float],
    grid: numpy.ndarray,
    predicted: numpy.ndarray,
    correct: numpy.ndarray,
    n_gold: numpy.ndarray,
    seed: int = 0,
    confidence: float = GUARD_CONFIDENCE,
    reference: float = 0.0,
) -> Optional[float]:
    """`guarded_threshold` for decisions given as counts per doc at each point
    of a calibrator's grid (`ThresholdCalibrator.observe_counts`): predicted
    and correct (docs, grid points), n_gold (docs,). The points on the way
    from `reference` (a grid point; 0.0 as in `guarded_threshold`) are tested
    against it, and it is kept where none passes."""
    if threshold is None or threshold == reference or not len(n_gold):
        return threshold
    low, high = sorted((reference, threshold))
    on_the_way = numpy.flatnonzero((grid >= low - 1e-9) & (grid <= high + 1e-9))
    if threshold < reference:
        on_the_way = on_the_way[::-1]  # [reference, ..., threshold]
    return _guarded_point(grid[on_the_way], predicted[:, on_the_way], correct[:, on_the_way], n_gold, seed, confidence)


def _guarded_point(
    points: numpy.ndarray,
    predicted: numpy.ndarray,
    correct: numpy.ndarray,
    n_gold: numpy.ndarray,
    seed: int,
    confidence: float,
) -> float:
    """The guard's test (`guarded_threshold`) on counts per doc at `points`
    (the first is the reference, 0 there): the best point that beats it in
    `confidence` of the bootstrap resamples of the docs, else the reference."""
    rng = numpy.random.default_rng(seed)
    sample = rng.integers(0, len(n_gold), size=(GUARD_RESAMPLES, len(n_gold)))
    tp = correct[sample].sum(axis=1)  # (resamples, points)
    denominator = predicted[sample].sum(axis=1) + n_gold[sample].sum(axis=1)[:, None]
    f1 = 2 * tp / numpy.maximum(denominator, 1e-9)
    wins = (f1[:, 1:] > f1[:, :1]).mean(axis=0)  # each point against logit 0
    passing = numpy.flatnonzero(wins >= confidence) + 1
    if not len(passing):
        return float(points[0])
    f1_all = 2 * correct.sum(axis=0) / numpy.maximum(predicted.sum(axis=0) + n_gold.sum(), 1e-9)
    # The best F1 on all the docs among the points that pass; ties: nearest 0.
    best = passing[f1_all[passing] >= f1_all[passing].max() - 1e-12]
    return float(points[best[0]])
