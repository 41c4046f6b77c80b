"""Recalibrate a trained events pipeline's thresholds as training does at its end,
with this code, then score dev: the figures of a calibration change without
retraining (the link threshold decides nothing in training: the link loss and
model-best, picked on argument F1, do not read it).

    python benchmarks/events_recalibrate.py MODEL TRAIN.spacy DEV.spacy

The held-out docs are the training docs the component holds out (`is_held_out`,
at most `max_heldout_docs`); prints the thresholds before and after, then
argument classification, exact event and co-event pair F1 on all dev docs and
on those with two or more events of one type, for GPLinker's cliques and for
one event per type (the links' ablation)."""
import json
import sys
from typing import List

import spacy
import torch
from spacy.tokens import Doc, DocBin
from spacy.training import Example

from events_benchmark import COMPONENT, has_two_of_a_type
from spacy_globalpointer.pipeline.base import is_held_out


def upstream(nlp, gold: List[Doc]) -> List[Doc]:
    """The gold docs' texts through the components before the events component."""
    docs = [nlp.make_doc(doc.text) for doc in gold]
    for name, proc in nlp.pipeline:
        if name == COMPONENT:
            break
        docs = list(proc.pipe(docs, batch_size=64))
    return docs


def main(model: str, train: str, dev: str) -> None:
    torch.set_num_threads(1)
    nlp = spacy.load(model)
    component = nlp.get_pipe(COMPONENT)
    before = dict(component.cfg["calibrated"])
    settings = component.calibration
    train_docs = DocBin(store_user_data=True).from_disk(train).get_docs(nlp.vocab)
    held = [d for d in train_docs if is_held_out(d.text, settings.heldout_one_in)][: settings.max_heldout_docs]
    rescored = [Example(p, g) for p, g in zip(upstream(nlp, held), held)]
    component._calibrate_rescored(rescored)  # as at the end of training
    print(f"held-out docs {len(held)}; thresholds before {before}, after {component.cfg['calibrated']}")
    gold = list(DocBin(store_user_data=True).from_disk(dev).get_docs(nlp.vocab))
    docs = upstream(nlp, gold)
    multi = [n for n, doc in enumerate(gold) if has_two_of_a_type(doc)]
    scores = []
    for i in range(0, len(docs), 64):
        scores.extend(component.predict(docs[i : i + 64]))
    for grouping in ("cliques", "types"):
        component.cfg["event_grouping"] = grouping
        predicted = [doc.copy() for doc in docs]
        component.set_annotations(predicted, scores)
        examples = [Example(p, g) for p, g in zip(predicted, gold)]
        every, several = component.scorer(examples), component.scorer([examples[n] for n in multi])
        keys = ("events_argument_cls_f", "events_f", "events_coevent_pair_f")
        print(
            grouping,
            json.dumps({k: round((every[k] or 0.0) * 100, 2) for k in keys}),
            f"docs with two or more events of one type ({len(multi)}):",
            json.dumps({k: round((several[k] or 0.0) * 100, 2) for k in keys[1:]}),
        )


if __name__ == "__main__":
    main(*sys.argv[1:4])
