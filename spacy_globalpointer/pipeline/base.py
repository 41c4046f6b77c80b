"""What the span, relation and event components share.

Each owns a lazily built pair-scoring head (see `ml/layers.py`): its size
depends on the labels, so the head is created in `initialize`, and a pipeline
loaded from disk must rebuild it from the saved input width (`cfg["nI"]`) and
labels before the weights arrive. Labels, their checks, the head's layouts,
that restore step and the threshold calibrator live here once.
"""
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy
import srsly
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example
from spacy.vocab import Vocab
from thinc.api import Model

from ..calibration import ThresholdCalibrator
from ..errors import Errors
from ..layouts import PairLayout
from ..ml.layers import ensure_built, set_layer_layouts
from ..ml.threads import torch_threads


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
        threads = cfg.get("torch_threads")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(Errors.E024.format(name="torch_threads", value=threads, none=" or null"))
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self.cfg: Dict[str, Any] = {"labels": [], **cfg, "nI": None}
        self._calibrators: Dict[str, ThresholdCalibrator] = {}
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
    ) -> None:
        """Feed one training batch's decisions to a calibrator; adopt its threshold."""
        if not self.cfg.get("calibrate_threshold"):
            return
        calibrator = self._calibrator(setting)
        calibrator.observe_decisions(candidates, golds)
        threshold = calibrator.best_threshold()
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
        """Learn from a batch of examples (spancat's template, in `_update`)."""
        with torch_threads(self.cfg.get("torch_threads")):
            return self._update(examples, drop=drop, sgd=sgd, losses=losses)

    def _update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Any] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        raise NotImplementedError

    # Serialization: the torch head is built lazily (its size depends on the
    # labels), so it must exist before weights are loaded into a fresh pipe.

    def _restore_head(self, cfg: Dict[str, Any]) -> None:
        self.cfg.update(cfg)
        self._set_layouts()
        if self.cfg.get("nI") and self.labels and not self.is_initialized:
            ensure_built(self._head, int(self.cfg["nI"]), len(self.labels))

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> "PairComponent":
        cfg_path = Path(path) / "cfg"
        if "cfg" not in exclude and cfg_path.exists():
            self._restore_head(srsly.read_json(cfg_path))
        super().from_disk(path, exclude=exclude)
        self._set_layouts()
        return self

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "PairComponent":
        msg = srsly.msgpack_loads(bytes_data)
        if "cfg" not in exclude and "cfg" in msg:
            self._restore_head(srsly.json_loads(msg["cfg"]))
        super().from_bytes(bytes_data, exclude=exclude)
        self._set_layouts()
        return self
