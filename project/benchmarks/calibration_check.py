"""Which threshold each calibration picks on one trained globalpointer
pipeline, and the dev F1 each gives (dev is only scored here, never used to pick).

    python benchmarks/calibration_check.py MODEL_DIR TRAIN.spacy DEV.spacy [--heldout HELDOUT.spacy] [--json OUT.json] [--max-train-docs N]

Rows ("guarded": as the components calibrate, the best grid point between 0
and the threshold that beats logit 0 in 80% of bootstrap resamples of the
docs, else 0.0): the saved threshold
(calibration during training), "inference" calibration
on all training docs (rescored without dropout), the "batches" calibration
(training-pass scores, dropout as in the config, emulated with
nlp.update(sgd=False)), "heldout" calibration on HELDOUT.spacy (docs the model
never trained on: train on the other docs to emulate calibration = "heldout" at
the end of training), logit 0, and the dev-optimal threshold (analysis only).
Weights do not depend on the threshold, so one trained model answers the
question for every calibration.
"""
import argparse
import json
from pathlib import Path
from typing import Dict, List, Optional

import spacy
from spacy.language import Language
from spacy.tokens import DocBin
from spacy.training import Example
from spacy.util import minibatch

from spacy_globalpointer.calibration import ThresholdCalibrator, guarded_threshold


def load_examples(nlp: Language, path: Path) -> List[Example]:
    return [Example(nlp.make_doc(d.text), d) for d in DocBin().from_disk(path).get_docs(nlp.vocab)]


def calibrate_on_inference(nlp: Language, examples: List[Example], guard: bool = False) -> Optional[float]:
    """The threshold calibration picks on these docs scored as at inference
    (with `guard`, as the component does: 0.0 unless it beats 0 beyond noise)."""
    gp = nlp.get_pipe("globalpointer")
    docs = [eg.predicted.copy() for eg in examples]
    for _, proc in nlp.pipeline:
        if proc is gp:
            break
        docs = list(proc.pipe(docs))
    scores = gp.model.predict(docs)
    rescored = [Example(d, eg.reference) for d, eg in zip(docs, examples)]
    candidates, golds = gp._calibration_decisions(rescored, scores)["threshold"]
    calibrator = ThresholdCalibrator(decay=1.0)
    calibrator.observe_decisions(candidates, golds)
    threshold = calibrator.best_threshold()
    return guarded_threshold(threshold, candidates, golds) if guard else threshold


def calibrate_on_batches(nlp: Language, examples: List[Example], dropout: float) -> float:
    """The threshold the training pass's own scores give (no weight change: sgd=False)."""
    gp = nlp.get_pipe("globalpointer")
    gp.cfg["calibration"] = "batches"
    gp._calibrators = {}
    for batch in minibatch(examples, 32):
        nlp.update(batch, sgd=False, drop=dropout)
    return gp.cfg["threshold"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("train", type=Path)
    parser.add_argument("dev", type=Path)
    parser.add_argument("--heldout", type=Path, help="docs kept out of training, for the heldout row")
    parser.add_argument("--dropout", type=float, default=0.1, help="the training config's dropout")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--max-train-docs", type=int, help="use only the first N training docs (the batches row runs a training pass over them)")
    args = parser.parse_args()
    nlp = spacy.load(args.model_dir)
    gp = nlp.get_pipe("globalpointer")
    train, dev = load_examples(nlp, args.train)[: args.max_train_docs], load_examples(nlp, args.dev)
    rows: Dict[str, Optional[float]] = {"saved (calibration during training)": gp.cfg["threshold"]}
    rows["inference: all train docs, no dropout"] = calibrate_on_inference(nlp, train)
    rows["inference, guarded toward 0"] = calibrate_on_inference(nlp, train, guard=True)
    if args.heldout:
        heldout = load_examples(nlp, args.heldout)
        rows["heldout: docs kept out of training, no dropout"] = calibrate_on_inference(nlp, heldout)
        rows["heldout, guarded toward 0 (the component's default)"] = calibrate_on_inference(nlp, heldout, guard=True)
    rows["logit 0"] = 0.0
    rows["dev-optimal (analysis only)"] = calibrate_on_inference(nlp, dev)
    rows[f"batches: training-pass scores, dropout {args.dropout}"] = calibrate_on_batches(nlp, train, args.dropout)
    out = {}
    for name, threshold in rows.items():
        gp.cfg["threshold"] = threshold
        scores = nlp.evaluate(dev)
        out[name] = {"threshold": threshold, "dev_p": scores["spans_sc_p"], "dev_r": scores["spans_sc_r"], "dev_f": scores["spans_sc_f"]}
        print(f"{name:55s} threshold {threshold:+.2f}  dev P {scores['spans_sc_p']:.4f} R {scores['spans_sc_r']:.4f} F {scores['spans_sc_f']:.4f}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1), encoding="utf8")


if __name__ == "__main__":
    main()
