"""The template the span, relation and event components fill in.

Each owns a lazily built pair-scoring layer (see `ml/layers.py`): its size
depends on the labels, so it is created in `initialize`, and a pipeline
loaded from disk must rebuild it from the saved input width (`cfg["nI"]`) and
labels before the weights arrive. Labels, settings checks, the initialize and
update skeletons, gold alignment (once per example), threshold calibration,
the restore step and the Doc writing they share live here once; a component
supplies small hooks (`_align_gold`, `_gold_labels`, `_count_gold`,
`_conclude_gold`, `_loss`,
`_calibration_decisions`, `_predict`, `set_annotations`).
"""
import warnings
import weakref
import zlib
from collections import Counter
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Span, SpanGroup
from spacy.language import Language
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, get_array_module, set_dropout_rate

from ..calibration import (
    CalibrationSettings, GridCounts, ThresholdCalibrator, guarded_threshold, guarded_threshold_of_counts, resolve_source,
    uses_transformer,
)
from ..checks import check_choice, check_int, check_threshold
from ..decoding import span_probability
from ..errors import Errors, Warnings
from ..extensions import install_extensions
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
# What training writes to cfg (the rest of cfg is the config's settings).
LEARNED_CFG = ("labels", "nI", "calibrated")
# The `calibration` block every factory's default config holds.
DEFAULT_CALIBRATION = {"@misc": "spacy-globalpointer.calibration.v1"}


def default_model(head_config: str) -> Config:
    """A factory's default model: its head section plus the default encoder."""
    return Config().from_str(head_config + "\n" + DEFAULT_TOK2VEC_CONFIG)["model"]


def is_held_out(text: str, one_in: int = CalibrationSettings.heldout_one_in) -> bool:
    """Whether calibration source "heldout" keeps this training text out of the loss."""
    return zlib.crc32(text.encode("utf8")) % one_in == 0


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
        # The source in use ("auto" resolved, "heldout" without enough docs
        # -> "inference"); None before training starts.
        self.source: Optional[str] = None
        self.n_updates = 0
        # Whether the weights changed since the thresholds were last calibrated
        # on the held-out docs ("heldout", except when annotating), and whether
        # the training loop decodes this component after every update
        # (annotating_components).
        self.stale = False
        self.annotating = False

    def pipeline(self) -> Optional[Language]:
        return self._ref() if self._ref is not None else None

    def __reduce__(self) -> Tuple[Any, ...]:
        return (_TrainingState, ())


class PairComponent(TrainablePipe):
    """A TrainablePipe whose model ends in a pair-scoring layer (ref "head").

    Settings every component shares (their one description):
    threshold (float): a decision (span, triple, argument) is kept where its
        logit exceeds this; 0.0 is the loss's own boundary (probability 0.5).
    calibrate_threshold (bool): while training, calibrate the thresholds on
        training docs (see `calibration`); the calibrated values are saved
        with the pipeline under cfg["calibrated"] and used instead of the
        configured ones. Set it to false (also when loading a trained
        pipeline) to decode with the configured thresholds.
    calibration (Dict[str, Any]): what thresholds are calibrated on, how often
        and how guarded: the block `spacy-globalpointer.calibration.v1` (see
        calibration.py for its settings).
    torch_threads (Optional[int]): torch intra-op threads while the layer runs
        (the caller's setting is restored after); null leaves torch's setting
        alone. One thread is as fast on an idle CPU and far faster on a busy
        one (see ml/threads.py).
    loss_rows (str, spans and events): how the ZLPR loss groups cells: "label"
        (a row per doc and label, as in the paper) or "doc" (a row per doc).

    Subclasses say which layouts their layer computes (`output_layouts`), what
    their gold is (`_align_gold`, `_gold_labels`, `_count_gold`,
    `_conclude_gold`), how they
    learn from it (`_loss`, `_calibration_decisions`) and what they decode.
    """

    # Where training data carries this component's labels (E002).
    gold_source: str = ""
    # The threshold settings calibration moves (cfg keys).
    threshold_settings: Tuple[str, ...] = ("threshold",)
    # Calibrated thresholds with no setting of their own: until calibrated (or
    # with calibration off) each decodes with the threshold it maps to.
    calibrated_only_thresholds: Dict[str, str] = {}
    # Threshold settings whose calibration grid is not the calibrator's
    # default (-4 to 2 logits): setting -> (lowest, highest).
    calibration_ranges: Dict[str, Tuple[float, float]] = {}
    # Whether the component reads or writes doc._.relations / doc._.events.
    uses_extensions: bool = False
    # The cfg keys training writes (restored from a saved pipeline; the other
    # keys are settings and come from the pipeline's config).
    learned_cfg: Tuple[str, ...] = LEARNED_CFG

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str,
        cfg: Dict[str, Any],
        scorer: Optional[Callable],
    ) -> None:
        calibration = CalibrationSettings.from_cfg(cfg.get("calibration"))
        check_int("torch_threads", cfg.get("torch_threads"), optional=True)
        if "loss_rows" in cfg:
            check_choice("E012", cfg["loss_rows"], LOSS_ROWS)
        for setting in self.threshold_settings:
            check_threshold(cfg[setting])
            cfg[setting] = float(cfg[setting])
        if self.uses_extensions:
            install_extensions()
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self.cfg: Dict[str, Any] = {
            "labels": [], **cfg, "calibration": calibration.to_cfg(), "calibrated": {}, "nI": None,
        }
        self._calibrators: Dict[str, ThresholdCalibrator] = {}
        self._training = _TrainingState(None)
        # What is derived from an example's gold (aligned to the predicted
        # tokens, ...), per (example, what) of the running update: `per_example`.
        self._gold_cache: Dict[Tuple[int, str], Tuple[Example, Any]] = {}
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
            raise ValueError(Errors.E002.format(name=self.name, source=self.gold_source.format(key=self.cfg.get("spans_key"))))

    # The pair-scoring layer

    @property
    def _pair_layer(self) -> Model:
        return self.model.get_ref("head")

    @property
    def is_initialized(self) -> bool:
        return bool(self._pair_layer.layers)

    def _require_initialized(self) -> None:
        if not self.is_initialized:
            raise ValueError(Errors.E003.format(name=self.name))

    def output_layouts(self) -> Sequence[PairLayout]:
        """The layouts of the layer's outputs, from this component's settings."""
        raise NotImplementedError

    def _set_layouts(self) -> None:
        """The layer computes only the cells its layouts name: tell it, from cfg."""
        set_layer_layouts(self._pair_layer, self.output_layouts())

    def _build_pair_layer(self, docs: List[Doc]) -> None:
        """Create the layer for the current labels, from a sample of docs."""
        head = self._pair_layer
        head._layers = []
        head.set_dim("nO", len(self.labels), force=True)
        if docs:
            self.model.initialize(X=self._model_input(docs))
        else:
            tok2vec = self.model.get_ref("tok2vec")
            if tok2vec.has_dim("nO"):
                head.set_dim("nI", tok2vec.get_dim("nO"), force=True)
            self.model.initialize()
        self.cfg["nI"] = head.get_dim("nI")
        self.cfg["calibrated"] = {}
        self._calibrators = {}

    def _model_input(self, docs: List[Doc]) -> Any:
        """What the model takes for these docs (relations: (docs, None))."""
        return docs

    def _scoring_input(self, examples: List[Example]) -> Any:
        """What the model takes to score these examples for the loss or for
        calibration (relations with span pairs: their gold entities' pairs)."""
        return self._model_input([eg.predicted for eg in examples])

    # Initialization: the same skeleton for every component (spancat's).

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[List[str]] = None,
    ) -> None:
        """Read labels (from `labels`, what `spacy init labels` writes, or the
        data), count the gold the settings can never learn and warn with the
        counts, then build the layer from a sample of up to 10 docs.

        Initializing again starts from fresh weights, possibly with more labels.
        """
        validate_get_examples(get_examples, f"{type(self).__name__}.initialize")
        self.start_training(nlp, get_examples)
        self._pair_layer._layers = []
        if labels is not None:
            for label in labels:
                self.add_label(label)
        counts: Counter = Counter()
        sample: List[Example] = []
        for eg in get_examples():
            if labels is None:
                for label in self._gold_labels(eg):
                    self.add_label(label)
            self._count_gold(eg, self._align_gold(eg), counts)
            if len(sample) < 10:
                sample.append(eg)
        self._require_labels()
        self._conclude_gold(counts)
        self._build_pair_layer([eg.predicted for eg in sample])

    def _gold_labels(self, eg: Example) -> Iterable[str]:
        """The labels the reference doc's gold uses, in order."""
        raise NotImplementedError

    def _align_gold(self, eg: Example) -> Any:
        """The reference's gold in the predicted doc's tokens (see `aligned_gold`)."""
        raise NotImplementedError

    def aligned_gold(self, eg: Example) -> Any:
        """`_align_gold(eg)`, computed once per example of an update and reused
        by the loss, the held-out split and calibration."""
        return self.per_example(eg, "gold", self._align_gold)

    def per_example(self, eg: Example, what: str, compute: Callable[[Example], Any]) -> Any:
        """`compute(eg)` once per example of an update (the cache is cleared
        around every update), under the name `what`."""
        cached = self._gold_cache.get((id(eg), what))
        if cached is not None and cached[0] is eg:
            return cached[1]
        value = compute(eg)
        self.remember_per_example(eg, what, value)
        return value

    def remember_per_example(self, eg: Example, what: str, value: Any) -> None:
        """Set what `per_example(eg, what, ...)` returns for the rest of this
        update (a value found while scoring, such as the predicted triggers)."""
        self._gold_cache[(id(eg), what)] = (eg, value)

    def _count_gold(self, eg: Example, gold: Any, counts: Counter) -> None:
        """Add to `counts` what initialize concludes from this example's gold:
        what cannot be learned, and what is read from the whole training data."""

    def _conclude_gold(self, counts: Counter) -> None:
        """After initialize read every example once: warn, with counts, about
        what `_count_gold` found that cannot be learned, and keep what the
        component takes from the whole training data."""

    # Thresholds

    def threshold(self, setting: str = "threshold") -> float:
        """The threshold decoding uses: the calibrated one where calibration is on
        and has produced one, else the configured one (for a threshold of
        `calibrated_only_thresholds`, the one it maps to)."""
        if self.cfg.get("calibrate_threshold"):
            calibrated = self.cfg.get("calibrated", {}).get(setting)
            if calibrated is not None:
                return float(calibrated)
        if setting in self.calibrated_only_thresholds:
            return self.threshold(self.calibrated_only_thresholds[setting])
        return float(self.cfg[setting])

    @property
    def calibration(self) -> CalibrationSettings:
        return CalibrationSettings.from_cfg(self.cfg.get("calibration"))

    def _calibrator(self, setting: str = "threshold") -> ThresholdCalibrator:
        """The calibrator of one threshold setting (a component may have several)."""
        if setting not in self._calibrators:
            self._calibrators[setting] = self._new_calibrator(setting)
        return self._calibrators[setting]

    def _new_calibrator(self, setting: str, **settings: float) -> ThresholdCalibrator:
        """A calibrator on the setting's grid (`calibration_ranges`); `settings`
        as `ThresholdCalibrator` takes them."""
        if setting in self.calibration_ranges:
            settings["low"], settings["high"] = self.calibration_ranges[setting]
        return ThresholdCalibrator(**settings)

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
            threshold = guarded_threshold(
                threshold, candidates, golds, confidence=self.calibration.guard_confidence
            )
        self._adopt_threshold(setting, threshold)

    def _calibrate_counts(self, counts: GridCounts, setting: str, reference: float = 0.0) -> None:
        """`_calibrate` (guarded) for decisions given as counts at the grid's
        points; the guard tests the way from `reference` (a grid point), and
        keeps it where nothing on the way beats it beyond the docs' noise."""
        if not self.cfg.get("calibrate_threshold"):
            return
        calibrator = self._calibrator(setting)
        calibrator.observe_counts(counts.predicted.sum(axis=0), counts.correct.sum(axis=0), counts.n_gold.sum())
        threshold = guarded_threshold_of_counts(
            calibrator.best_threshold(), calibrator.grid, counts.predicted, counts.correct, counts.n_gold,
            confidence=self.calibration.guard_confidence, reference=reference,
        )
        self._adopt_threshold(setting, threshold)

    def _adopt_threshold(self, setting: str, threshold: Optional[float]) -> None:
        if threshold is not None:
            # Rounded to the grid's precision: the JSON of a saved pipeline keeps
            # fewer digits than a float, and a reloaded pipeline must decode alike.
            self.cfg.setdefault("calibrated", {})[setting] = round(float(threshold), 6)

    # Prediction and training run with the component's torch thread count.

    def __call__(self, doc: Doc) -> Doc:
        if self.uses_extensions:
            install_extensions()  # in worker processes too
        self._recalibrate_if_stale()
        return super().__call__(doc)

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterable[Doc]:
        if self.uses_extensions:
            install_extensions()
        self._recalibrate_if_stale()
        return super().pipe(stream, batch_size=batch_size)

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        self._recalibrate_if_stale()
        super().to_disk(path, exclude=exclude)

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        self._recalibrate_if_stale()
        return super().to_bytes(exclude=exclude)

    def predict(self, docs: Iterable[Doc]) -> Any:
        """The layer's scores for a batch of docs (no side effects)."""
        with torch_threads(self.cfg.get("torch_threads")):
            return self._predict(list(docs))

    def _predict(self, docs: List[Doc]) -> Any:
        raise NotImplementedError

    def _write_span_group(self, doc: Doc, spans: List[Span], logits: numpy.ndarray) -> None:
        """doc.spans[key] = the spans, with attrs["scores"] = sigmoid(2 * logit)
        (the probability the ZLPR loss is calibrated to), as spancat writes them."""
        key = str(self.cfg["spans_key"])
        group = SpanGroup(doc, name=key, spans=spans)
        group.attrs["scores"] = span_probability(logits).astype("float32")
        doc.spans[key] = group

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Any] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch of examples (spancat's template)."""
        with torch_threads(self.cfg.get("torch_threads")):
            if losses is None:
                losses = {}
            losses.setdefault(self.name, 0.0)
            examples = list(examples)
            validate_examples(examples, f"{type(self).__name__}.update")
            self._require_initialized()
            if not any(len(eg.predicted) for eg in examples):
                return losses
            self._gold_cache.clear()
            try:
                set_dropout_rate(self.model, drop)
                scores, backprop_scores = self.model.begin_update(self._scoring_input(examples))
                loss, d_scores = self._loss_without_held_out(examples, scores)
                backprop_scores(d_scores)
                if sgd is not None:
                    self.finish_update(sgd)
                if self.cfg.get("calibrate_threshold"):
                    self._observe_for_calibration(examples, scores)
            finally:
                self._gold_cache.clear()
            losses[self.name] += loss
            return losses

    def get_loss(self, examples: Iterable[Example], scores: Any) -> Tuple[float, Any]:
        """The loss and its gradient against the examples' (aligned) gold."""
        examples = list(examples)
        validate_examples(examples, f"{type(self).__name__}.get_loss")
        return self._loss(scores, [self.aligned_gold(eg) for eg in examples], examples)

    def _loss(self, scores: List[Any], golds: List[Any], examples: List[Example]) -> Tuple[float, List[Any]]:
        raise NotImplementedError

    def _loss_without_held_out(self, examples: List[Example], scores: List[Any]) -> Tuple[float, List[Any]]:
        """get_loss over the docs that are not held out; zero gradients for the others.

        The docs still go through the forward pass: a listener's tok2vec ran on
        the whole batch and expects a gradient for every doc."""
        held = [self._holds_out(eg.predicted.text) for eg in examples]
        if not any(held):
            return self.get_loss(examples, scores)
        kept = [i for i, h in enumerate(held) if not h]
        loss, d_kept = self.get_loss([examples[i] for i in kept], [scores[i] for i in kept]) if kept else (0.0, [])
        d_scores = [_zeros_like(doc_scores) for doc_scores in scores]
        for i, d in zip(kept, d_kept):
            d_scores[i] = d
        return loss, d_scores

    def _holds_out(self, text: str) -> bool:
        """Whether calibration keeps this training text out of the loss: one
        text in `heldout_one_in` (by hash) until `max_heldout_docs` of them are
        kept, then only those.

        Why the bound: calibration reads at most max_heldout_docs docs, so on a
        large corpus (100,000 docs: 5,000 hashed, 1,000 read) every further
        hashed doc held out would be training data thrown away. The kept docs
        are the first hashed ones training meets; a hashed doc that comes after
        the pool is full trains like any other, in every epoch."""
        training = self._training
        if not training.holding_out or not is_held_out(text, self.calibration.heldout_one_in):
            return False
        return text in training.held_out or len(training.held_out) < self.calibration.max_heldout_docs

    # Threshold calibration (see calibration.py for the settings).

    def _calibration_decisions(
        self, examples: List[Example], scores: Any
    ) -> Dict[str, Tuple[List[numpy.ndarray], List[numpy.ndarray]]]:
        """Per threshold setting: (candidate scores, gold scores) of these examples, per doc."""
        raise NotImplementedError

    def start_training(self, nlp: Optional[Language], get_examples: Callable[[], Iterable[Example]]) -> None:
        """Keep a weak reference to the pipeline (to run its earlier components
        when calibrating) and decide whether calibration holds docs out."""
        self._training = _TrainingState(nlp)
        training_config = nlp.config.get("training", {}) if nlp is not None else {}
        self._training.annotating = self.name in (training_config.get("annotating_components") or ())
        settings = self.calibration
        source = resolve_source(settings.source, uses_transformer(self.model, self.name, nlp))
        if self.cfg.get("calibrate_threshold") and source == "heldout":
            # Count only up to the bound: a large corpus is not read again in full.
            non_empty = (eg for eg in get_examples() if len(eg.predicted))
            needed = settings.min_heldout_docs
            self._training.holding_out = sum(1 for _ in islice(non_empty, needed)) >= needed
            if not self._training.holding_out:
                source = "inference"
        self._training.source = source

    def _observe_for_calibration(self, examples: List[Example], scores: Any) -> None:
        settings = self.calibration
        if self.calibration_source == "batches":
            for setting, (candidates, golds) in self._calibration_decisions(examples, scores).items():
                self._calibrate(candidates, golds, setting)
            return
        training = self._training
        for eg in examples:
            if not len(eg.predicted):
                continue
            text = eg.predicted.text
            # The held-out docs, or the last recent_docs training docs.
            if training.holding_out:
                if self._holds_out(text):
                    _remember(training.held_out, text, eg, settings.max_heldout_docs)
            else:
                _remember(training.recent, text, eg, settings.recent_docs)
        training.n_updates += 1
        if training.holding_out and not training.annotating:
            # The optimizer steps after this (spaCy's finish_update follows
            # every component's update), so thresholds calibrated now would
            # trail the weights; decoding and saving recalibrate first
            # (_recalibrate_if_stale) and nothing else reads the thresholds
            # in training, so no calibration every `interval` updates: it was
            # always overwritten unread (an inference pass over up to
            # max_heldout_docs docs each time).
            training.stale = True
            return
        # "inference" calibrates on fitted training docs: on the shipped samples
        # fresh weights there gave relations +0.004 and exact events -0.053, so
        # it keeps its interval, as does a component decoded after every update.
        pool = training.held_out if training.holding_out else training.recent
        if training.n_updates % settings.interval == 0 and pool:
            self._calibrate_at_inference(list(pool.values()))

    def _recalibrate_if_stale(self) -> None:
        """Before decoding or saving in the middle of training: calibrate on the
        held-out docs with the weights as they are now.

        Why: calibrating every `interval` updates left the thresholds up to
        `interval` updates behind the weights that an evaluation (and the
        model-best it saves) decodes with. On the CNN that cost 0.6 F1 on
        CMeEE (-0.90 saved, -1.05 with the final weights, which was also the
        dev optimum) and 0.1-0.5 on CLUENER (README, "Scores"). One calibration
        per evaluation, and none between (the thresholds are not read there);
        a component that the training loop decodes after every update
        (annotating_components) keeps the interval instead.
        """
        training = self._training
        if not training.stale or not self.cfg.get("calibrate_threshold"):
            return
        training.stale = False  # set only while holding docs out, not annotating
        pool = training.held_out
        if pool:
            self._gold_cache.clear()
            try:
                with torch_threads(self.cfg.get("torch_threads")):
                    self._calibrate_at_inference(list(pool.values()))
            finally:
                self._gold_cache.clear()  # it holds Spans, which cannot be pickled

    def _calibrate_at_inference(self, examples: List[Example]) -> None:
        """Rescore training docs without dropout and recalibrate from scratch."""
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
        self._calibrate_rescored([Example(doc, eg.reference) for doc, eg in zip(docs, examples)])

    def _calibrate_rescored(self, rescored: List[Example]) -> None:
        """Recalibrate from scratch on docs the earlier components have annotated."""
        # Each setting is calibrated before the next decisions are made, so
        # that those may decode with it (events: links among the arguments the
        # new argument threshold decodes); a setting may come twice.
        calibrated_now: Dict[str, float] = {}
        for setting, decisions in self._inference_calibration_decisions(rescored):
            self._calibrators[setting] = self._new_calibrator(setting, decay=0.0)
            if isinstance(decisions, GridCounts):
                # Counts refine the threshold calibrated just before in this
                # pass (events: on the gold arguments' pairs), else 0.
                self._calibrate_counts(decisions, setting, calibrated_now.get(setting, 0.0))
            else:
                self._calibrate(*decisions, setting, guard=True)
            calibrated_now[setting] = float(self.cfg.get("calibrated", {}).get(setting, 0.0))

    def _inference_calibration_decisions(
        self, examples: List[Example]
    ) -> Iterator[Tuple[str, Union[Tuple[List[numpy.ndarray], List[numpy.ndarray]], GridCounts]]]:
        """Per threshold setting, in the order they are calibrated, the
        decisions of docs rescored as at inference (the pipeline's earlier
        components have annotated `eg.predicted`): by default those
        `_calibration_decisions` finds in the model's scores of them. A
        component whose decoder tries what the earlier components predicted
        (relations) or what its own earlier thresholds decode (events' links)
        can calibrate on that instead: (candidate scores, gold scores) per
        doc, or `GridCounts`."""
        scores = self.model.predict(self._scoring_input(examples))
        yield from self._calibration_decisions(examples, scores).items()

    @property
    def calibration_source(self) -> str:
        """What the thresholds are being calibrated on in this training run:
        "auto" resolved for the encoder, and "heldout" only when the training
        set was large enough to hold docs out (else "inference")."""
        if self._training.source is None:
            # Updated without initialize (a loaded pipeline trained further):
            # nothing was counted, so nothing is held out.
            source = resolve_source(self.calibration.source, uses_transformer(self.model, self.name, None))
            self._training.source = "inference" if source == "heldout" else source
        return self._training.source

    # Serialization. The settings come from the pipeline's config (so a user's
    # override at load time wins, as for any spaCy setting); what training
    # learned comes from the saved cfg: the labels, the input width and the
    # calibrated thresholds. The torch layer is built lazily (its size depends
    # on the labels), so it must exist before weights are loaded into a fresh pipe.

    def _learned_cfg(self, saved: Dict[str, Any]) -> Dict[str, Any]:
        learned = {key: saved[key] for key in self.learned_cfg if key in saved}
        if "calibrated" not in saved and saved.get("calibrate_threshold"):
            # Saved before calibrated thresholds had their own key: they were the settings.
            learned["calibrated"] = {s: saved[s] for s in self.threshold_settings if s in saved}
        if learned.get("calibrated"):
            # srsly's JSON reads 0.3 back as 0.30000000000000004: the saved values
            # are grid points (6 decimals), so round them back onto the grid.
            learned["calibrated"] = {s: round(float(v), 6) for s, v in learned["calibrated"].items()}
        return learned

    def _restore_pair_layer(self, saved: Dict[str, Any]) -> Dict[str, Any]:
        learned = self._learned_cfg(saved)
        self.cfg.update(learned)
        self._set_layouts()
        if self.cfg.get("nI") and self.labels and not self.is_initialized:
            ensure_built(self._pair_layer, int(self.cfg["nI"]), len(self.labels))
        return learned

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> "PairComponent":
        settings = dict(self.cfg)
        saved = read_saved_cfg(self, path, exclude)  # coded errors naming the file (loading.py)
        learned = self._restore_pair_layer(saved) if saved is not None else {}
        with loading_weights(self, path):
            super().from_disk(path, exclude=exclude)
        self.cfg = {**settings, **learned}
        self._set_layouts()
        return self

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "PairComponent":
        settings = dict(self.cfg)
        saved = read_saved_cfg_bytes(self, bytes_data, exclude)
        learned = self._restore_pair_layer(saved) if saved is not None else {}
        with loading_weights(self):
            super().from_bytes(bytes_data, exclude=exclude)
        self.cfg = {**settings, **learned}
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
