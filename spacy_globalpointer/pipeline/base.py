"""What the span, relation and event components share.

Each owns a lazily built pair-scoring head (see `ml/layers.py`): its size
depends on the labels, so the head is created in `initialize`, and a pipeline
loaded from disk must rebuild it from the saved input width (`cfg["nI"]`) and
labels before the weights arrive. Labels, their checks, the head's layouts,
that restore step and the threshold calibrator live here once.
"""
import math
import warnings
import weakref
import zlib
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.language import Language
from spacy.training import Example, validate_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, get_array_module, set_dropout_rate

from ..calibration import ThresholdCalibrator, guarded_threshold
from ..errors import Errors, Warnings
from ..layouts import PairLayout
from ..ml.layers import ensure_built, set_layer_layouts
from ..ml.pair_loss import LOSS_ROWS
from ..ml.threads import torch_threads
from .loading import loading_weights, read_saved_cfg, read_saved_cfg_bytes


# The token encoder a component's default model gets when used on its own:
# spancat's default CNN (components in a config usually share a tok2vec instead).
DEFAULT_TOK2VEC_CONFIG = """[model.tok2vec]
@architectures = "spacy.Tok2Vec.v2"

[model.tok2vec.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = 96
rows = [5000, 1000, 2500, 1000]
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
include_static_vectors = false

[model.tok2vec.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = ${model.tok2vec.embed.width}
window_size = 1
maxout_pieces = 3
depth = 4
"""


def default_model(head_config: str) -> Config:
    """A factory's default model: its head section plus the default encoder."""
    return Config().from_str(head_config + "\n" + DEFAULT_TOK2VEC_CONFIG)["model"]


# Calibration at inference: how many recent training docs, how often.
CALIBRATION_DOCS = 256
CALIBRATION_INTERVAL = 50
CALIBRATION_SOURCES = ("heldout", "inference", "batches")
# calibration = "heldout": one training doc in HOLDOUT_ONE_IN (by a hash of its
# text, so every epoch and every component picks the same docs) gets no
# gradient and is what the threshold is calibrated on, once the training set
# has MIN_HOLDOUT_DOCS docs (below that, every doc is worth more as training
# data and "inference" is used). At most HOLDOUT_MAX_DOCS are kept.
HOLDOUT_ONE_IN = 20
MIN_HOLDOUT_DOCS = 1000
HOLDOUT_MAX_DOCS = 1000


def is_held_out(text: str) -> bool:
    """Whether calibration = "heldout" keeps this training text out of the loss."""
    return zlib.crc32(text.encode("utf8")) % HOLDOUT_ONE_IN == 0


class _TrainingState:
    """What calibration keeps while training: a weak reference to the pipeline
    and the recent training examples. It pickles as empty (a weak reference
    cannot be pickled, and a loaded pipeline starts training afresh)."""

    def __init__(self, nlp: Optional[Language] = None) -> None:
        self._ref = weakref.ref(nlp) if nlp is not None else None
        # The docs calibration rescores: the last training docs ("inference")
        # or the held-out ones ("heldout"), by text (epochs repeat them).
        self.recent: Dict[str, Example] = {}
        self.held_out: Dict[str, Example] = {}
        self.holding_out = False
        self.n_updates = 0

    def pipeline(self) -> Optional[Language]:
        return self._ref() if self._ref is not None else None

    def __reduce__(self) -> Tuple[Any, ...]:
        return (_TrainingState, ())


def check_positive_int(name: str, value: Any, *, optional: bool = False) -> None:
    """Raise E024 unless `value` is a positive int (or None when `optional`).

    bool is refused although it is an int: `max_candidates = true` in a config
    is a mistake, not 1."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(Errors.E024.format(name=name, value=value, none=" or null" if optional else ""))


def check_threshold(value: Any) -> None:
    """Raise E025 unless `value` is a finite number (a threshold on logits)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(Errors.E025.format(value=value))


class PairComponent(TrainablePipe):
    """A TrainablePipe whose model ends in a pair-scoring head (ref "head").

    Subclasses say which layouts their head computes (`head_layouts`), how
    they name their labels in errors (`label_kind`), and what they decode.
    """

    label_kind: str = "labels"

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str,
        cfg: Dict[str, Any],
        scorer: Optional[Callable],
    ) -> None:
        if cfg.get("calibration", "heldout") not in CALIBRATION_SOURCES:
            raise ValueError(Errors.E029.format(value=cfg.get("calibration"), options=list(CALIBRATION_SOURCES)))
        check_positive_int("torch_threads", cfg.get("torch_threads"), optional=True)
        if cfg.get("loss_rows", "label") not in LOSS_ROWS:
            raise ValueError(Errors.E012.format(value=cfg.get("loss_rows"), options=list(LOSS_ROWS)))
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self.cfg: Dict[str, Any] = {"labels": [], **cfg, "nI": None}
        self._calibrators: Dict[str, ThresholdCalibrator] = {}
        self._training = _TrainingState(None)
        self._set_layouts()

    # Labels

    @property
    def labels(self) -> Tuple[str, ...]:
        return tuple(self.cfg["labels"])

    @property
    def label_data(self) -> List[str]:
        return list(self.labels)

    @property
    def _label_map(self) -> Dict[str, int]:
        return {label: i for i, label in enumerate(self.labels)}

    def add_label(self, label: str) -> int:
        """Add a label before initialization. RETURNS (int): 0 if present, else 1."""
        if not isinstance(label, str) or not label:
            raise ValueError(Errors.E009.format(label=label))
        if label in self.labels:
            return 0
        if self.is_initialized:
            raise ValueError(Errors.E008.format(label=label, name=self.name))
        self.cfg["labels"].append(label)
        self.vocab.strings.add(label)
        return 1

    def _require_labels(self) -> None:
        if not self.labels:
            raise ValueError(Errors.E002.format(name=self.name, key=self._label_source()))

    def _label_source(self) -> str:
        """Where training data carries this component's labels (for E002)."""
        raise NotImplementedError

    # The head

    @property
    def _head(self) -> Model:
        return self.model.get_ref("head")

    @property
    def is_initialized(self) -> bool:
        return bool(self._head.layers)

    def _require_initialized(self) -> None:
        if not self.is_initialized:
            raise ValueError(Errors.E003.format(name=self.name))

    def head_layouts(self) -> Sequence[PairLayout]:
        """The layouts of the head's outputs, from this component's settings."""
        raise NotImplementedError

    def _set_layouts(self) -> None:
        """The head computes only the cells its layouts name: tell it, from cfg."""
        set_layer_layouts(self._head, self.head_layouts())

    def _build_head(self, docs: List[Doc]) -> None:
        """Create the head for the current labels, from a sample of docs."""
        head = self._head
        head._layers = []
        head.set_dim("nO", len(self.labels), force=True)
        if docs:
            self.model.initialize(X=docs)
        else:
            tok2vec = self.model.get_ref("tok2vec")
            if tok2vec.has_dim("nO"):
                head.set_dim("nI", tok2vec.get_dim("nO"), force=True)
            self.model.initialize()
        self.cfg["nI"] = head.get_dim("nI")
        self._calibrators = {}

    def _calibrator(self, setting: str = "threshold") -> ThresholdCalibrator:
        """The calibrator of one threshold setting (a component may have several)."""
        if setting not in self._calibrators:
            self._calibrators[setting] = ThresholdCalibrator()
        return self._calibrators[setting]

    def _calibrate(
        self,
        candidates: Sequence[numpy.ndarray],
        golds: Sequence[numpy.ndarray],
        setting: str = "threshold",
        guard: bool = False,
    ) -> None:
        """Feed one batch's decisions to a calibrator; adopt its threshold (with
        `guard`, only where it beats logit 0 beyond the docs' sampling noise)."""
        if not self.cfg.get("calibrate_threshold"):
            return
        calibrator = self._calibrator(setting)
        calibrator.observe_decisions(candidates, golds)
        threshold = calibrator.best_threshold()
        if guard:
            threshold = guarded_threshold(threshold, candidates, golds)
        if threshold is not None:
            self.cfg[setting] = threshold

    # Prediction and training run with the component's torch thread count.

    def predict(self, docs: Iterable[Doc]) -> Any:
        """The head's scores for a batch of docs (no side effects)."""
        with torch_threads(self.cfg.get("torch_threads")):
            return self._predict(list(docs))

    def _predict(self, docs: List[Doc]) -> Any:
        raise NotImplementedError

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Any] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch of examples (spancat's template).

        The subclass supplies `get_loss` and, for calibration,
        `_calibration_decisions`.
        """
        with torch_threads(self.cfg.get("torch_threads")):
            if losses is None:
                losses = {}
            losses.setdefault(self.name, 0.0)
            examples = list(examples)
            validate_examples(examples, f"{type(self).__name__}.update")
            self._require_initialized()
            if not any(len(eg.predicted) for eg in examples):
                return losses
            set_dropout_rate(self.model, drop)
            scores, backprop_scores = self.model.begin_update([eg.predicted for eg in examples])
            loss, d_scores = self._loss_without_held_out(examples, scores)
            backprop_scores(d_scores)
            if sgd is not None:
                self.finish_update(sgd)
            if self.cfg.get("calibrate_threshold"):
                self._observe_for_calibration(examples, scores)
            losses[self.name] += loss
            return losses

    def get_loss(self, examples: Iterable[Example], scores: Any) -> Tuple[float, Any]:
        raise NotImplementedError

    def _loss_without_held_out(self, examples: List[Example], scores: List[Any]) -> Tuple[float, List[Any]]:
        """get_loss over the docs that are not held out; zero gradients for the others.

        The docs still go through the forward pass: a listener's tok2vec ran on
        the whole batch and expects a gradient for every doc."""
        held = [self._training.holding_out and is_held_out(eg.predicted.text) for eg in examples]
        if not any(held):
            return self.get_loss(examples, scores)
        kept = [i for i, h in enumerate(held) if not h]
        loss, d_kept = self.get_loss([examples[i] for i in kept], [scores[i] for i in kept]) if kept else (0.0, [])
        d_scores = [_zeros_like(doc_scores) for doc_scores in scores]
        for i, d in zip(kept, d_kept):
            d_scores[i] = d
        return loss, d_scores

    # Threshold calibration (see calibration.py). Every CALIBRATION_INTERVAL
    # updates the component scores a set of training docs as at inference (the
    # pipeline's earlier components, then this model, no dropout) and moves
    # each threshold to its best F1 there. With calibration = "heldout" (the
    # default) those docs are the held-out ones, which the loss never sees, so
    # their scores look like unseen text on any encoder; with "inference" they
    # are the last CALIBRATION_DOCS training docs (what a fine-tuned
    # transformer has fitted); with "batches" the training pass's own scores
    # (dropout on), the first design: on a fine-tuned transformer it drifted
    # below 0 and cost F1 (issue 10.6).

    def _calibration_decisions(
        self, examples: List[Example], scores: Any
    ) -> Dict[str, Tuple[List[numpy.ndarray], List[numpy.ndarray]]]:
        """Per threshold setting: (candidate scores, gold scores) of these examples."""
        raise NotImplementedError

    def start_training(self, nlp: Optional[Language], get_examples: Callable[[], Iterable[Example]]) -> None:
        """Keep a weak reference to the pipeline (to run its earlier components
        when calibrating) and decide whether calibration holds docs out."""
        self._training = _TrainingState(nlp)
        if self.cfg.get("calibrate_threshold") and self.cfg.get("calibration", "heldout") == "heldout":
            # Count only up to the bound: a large corpus is not read again in full.
            non_empty = (eg for eg in get_examples() if len(eg.predicted))
            self._training.holding_out = sum(1 for _ in islice(non_empty, MIN_HOLDOUT_DOCS)) >= MIN_HOLDOUT_DOCS

    def _observe_for_calibration(self, examples: List[Example], scores: Any) -> None:
        if self.cfg.get("calibration", "heldout") == "batches":
            for setting, (candidates, golds) in self._calibration_decisions(examples, scores).items():
                self._calibrate(candidates, golds, setting)
            return
        training = self._training
        for eg in examples:
            if not len(eg.predicted):
                continue
            text = eg.predicted.text
            # The held-out docs, or the last CALIBRATION_DOCS training docs.
            if training.holding_out:
                if is_held_out(text):
                    _remember(training.held_out, text, eg, HOLDOUT_MAX_DOCS)
            else:
                _remember(training.recent, text, eg, CALIBRATION_DOCS)
        training.n_updates += 1
        pool = training.held_out if training.holding_out else training.recent
        if training.n_updates % CALIBRATION_INTERVAL == 0 and pool:
            self._calibrate_at_inference(list(pool.values()))

    def _calibrate_at_inference(self, examples: List[Example]) -> None:
        """Rescore recent training docs without dropout and recalibrate from scratch."""
        nlp = self._training.pipeline()
        docs = [eg.predicted.copy() for eg in examples]
        if nlp is not None:
            for _, proc in nlp.pipeline:
                if proc is self:
                    break
                if hasattr(proc, "pipe"):
                    docs = list(proc.pipe(docs))
        else:
            warnings.warn(Warnings.W008.format(name=self.name))
        scores = self.model.predict(docs)
        rescored = [Example(doc, eg.reference) for doc, eg in zip(docs, examples)]
        for setting, (candidates, golds) in self._calibration_decisions(rescored, scores).items():
            self._calibrators[setting] = ThresholdCalibrator(decay=0.0)
            self._calibrate(candidates, golds, setting, guard=True)

    @property
    def calibration_source(self) -> str:
        """What the threshold is being calibrated on in this training run:
        "heldout" only when the training set was large enough to hold docs out."""
        source = self.cfg.get("calibration", "heldout")
        if source == "heldout" and not self._training.holding_out:
            return "inference"
        return source

    # Serialization: the torch head is built lazily (its size depends on the
    # labels), so it must exist before weights are loaded into a fresh pipe.

    def _restore_head(self, cfg: Dict[str, Any]) -> None:
        self.cfg.update(cfg)
        self._set_layouts()
        if self.cfg.get("nI") and self.labels and not self.is_initialized:
            ensure_built(self._head, int(self.cfg["nI"]), len(self.labels))

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> "PairComponent":
        cfg = read_saved_cfg(self, path, exclude)  # coded errors naming the file (loading.py)
        if cfg is not None:
            self._restore_head(cfg)
        with loading_weights(self, path):
            super().from_disk(path, exclude=exclude)
        self._set_layouts()
        return self

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "PairComponent":
        cfg = read_saved_cfg_bytes(self, bytes_data, exclude)
        if cfg is not None:
            self._restore_head(cfg)
        with loading_weights(self):
            super().from_bytes(bytes_data, exclude=exclude)
        self._set_layouts()
        return self


def _remember(pool: Dict[str, Example], text: str, eg: Example, limit: int) -> None:
    """Keep eg as the newest entry of pool, dropping the oldest beyond limit."""
    pool.pop(text, None)
    pool[text] = eg
    while len(pool) > limit:
        pool.pop(next(iter(pool)))


def _zeros_like(scores: Any) -> Any:
    """A zero gradient of the same structure as one doc's scores."""
    if isinstance(scores, (tuple, list)):
        return type(scores)(_zeros_like(s) for s in scores)
    # Not scores * 0: masked cells may hold -inf, and -inf * 0 is nan.
    return get_array_module(scores).zeros_like(scores)
