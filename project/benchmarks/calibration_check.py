"""Issue 10.6: which threshold each calibration picks on one trained globalpointer
pipeline, and the dev F1 each gives (dev is only scored here, never used to pick).

    python benchmarks/calibration_check.py MODEL_DIR TRAIN.spacy DEV.spacy

Rows: the saved threshold (calibration during training), inference calibration on
all training docs, the old "batches" calibration (training-pass scores, dropout
0.1, emulated with nlp.update(sgd=False)), logit 0, and the dev-optimal threshold
(analysis only). Weights do not depend on the threshold, so one trained model
answers the question for every calibration.
"""
import sys, json, spacy
from spacy.tokens import DocBin
from spacy.training import Example
from spacy.util import minibatch
from spacy_globalpointer.calibration import ThresholdCalibrator

model_dir, train_path, dev_path = sys.argv[1:4]
nlp = spacy.load(model_dir)
gp = nlp.get_pipe("globalpointer")
train = [Example(nlp.make_doc(d.text), d) for d in DocBin().from_disk(train_path).get_docs(nlp.vocab)]
dev = [Example(nlp.make_doc(d.text), d) for d in DocBin().from_disk(dev_path).get_docs(nlp.vocab)]

def f1_at(threshold, examples):
    gp.cfg["threshold"] = threshold
    return nlp.evaluate(examples)["spans_sc_f"]

def calibrate_on_inference(examples):
    docs = [eg.predicted.copy() for eg in examples]
    for name, proc in nlp.pipeline:
        if proc is gp: break
        docs = list(proc.pipe(docs))
    scores = gp.model.predict(docs)
    rescored = [Example(d, eg.reference) for d, eg in zip(docs, examples)]
    cal = ThresholdCalibrator(decay=1.0)
    cal.observe_decisions(*gp._calibration_decisions(rescored, scores)["threshold"])
    return cal.best_threshold()

t_saved = gp.cfg["threshold"]
t_inference_train = calibrate_on_inference(train)
t_oracle_dev = calibrate_on_inference(dev)  # analysis only: the best a threshold could do on dev
# The old calibration: the training pass's own scores, dropout on (0.1, the config's).
gp.cfg["calibration"] = "batches"; gp._calibrators = {}
for batch in minibatch(train, 32):
    nlp.update(batch, sgd=False, drop=0.1)
t_batches = gp.cfg["threshold"]
rows = {
    "saved (inference calibration during training)": t_saved,
    "inference calibration, all train docs": t_inference_train,
    "batches calibration (dropout on)": t_batches,
    "logit 0": 0.0,
    "dev-optimal (analysis only)": t_oracle_dev,
}
out = {name: {"threshold": t, "dev_f": f1_at(t, dev)} for name, t in rows.items()}
print(json.dumps(out, indent=1))
