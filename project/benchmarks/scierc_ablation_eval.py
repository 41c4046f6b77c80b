"""Score one trained relation pipeline of the SciERC ablation
(results_scierc_ablation.md) on the dev set, and analyse its decisions:

- `nlp.evaluate`: strict and boundary relation P/R/F, entity P/R/F, words/s;
- oracle entities: the relation component alone on the gold entities (the
  upstream span head skipped), to separate pair scoring from entity errors;
- thresholds (a dev-optimistic diagnostic, no retraining): the relation
  component's scores of every candidate triple, scored at the threshold it
  decodes with, at the best single threshold on dev and at the best
  threshold per predicate on dev (coordinate ascent on micro F).

Works for `globalpointer_relations`, the benchmark pair classifier
(pair_classifier.py) and the loss-scale ablation's component
(scierc_relation_loss_scale.py), both imported here so spacy.load finds
their factories.

python scierc_ablation_eval.py MODEL DEV.spacy OUT.json
"""
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy
import spacy
import typer
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example

sys.path.insert(0, str(Path(__file__).parent))
import pair_classifier  # noqa: F401,E402  (registers benchmark_pair_classifier)
import scierc_relation_loss_scale  # noqa: F401,E402  (registers scaled_globalpointer_relations)

from spacy_globalpointer.decoding import span_probability  # noqa: E402
from spacy_globalpointer.extensions import install_extensions, relation_records  # noqa: E402
from spacy_globalpointer.pipeline.relation_scorer import score_relations  # noqa: E402

Triple = Tuple[Tuple[int, int, str], str, Tuple[int, int, str]]


def relation_pipe(nlp):
    for name, proc in nlp.pipeline:
        if name in ("globalpointer_relations", "benchmark_pair_classifier"):
            return name, proc
    raise ValueError("no relation component")


def candidate_scores(proc, docs: List[Doc]) -> List[List[Tuple[Triple, float]]]:
    """Every candidate triple and its score, on the scale the component
    thresholds (GPLinker: min(H, T) logit; pair classifier: probability)."""
    out = []
    for doc, pred in zip(docs, proc.predict(docs)):
        triples = []
        if "logits" in pred:  # globalpointer_relations
            scores, spans = pred["logits"], [(s.start, s.end, s.label_) for s in pred["entities"]]
        else:
            scores, spans = pred["probs"], [tuple(s) for s in pred["spans"]]
        if scores is not None:
            for k, (h, t) in enumerate(pred["pairs"]):
                for p, label in enumerate(proc.labels):
                    triples.append(((spans[h], label, spans[t]), float(scores[k, p])))
        out.append(triples)
    return out


def prf(tp: int, n_pred: int, n_gold: int) -> Dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return {"p": p, "r": r, "f": 2 * p * r / (p + r) if p + r else 0.0, "tp": tp, "pred": n_pred, "gold": n_gold}


def threshold_analysis(cands, golds, labels, used: float) -> Dict[str, object]:
    n_gold = sum(len(g) for g in golds)
    rows = []  # (predicate, score, is_gold)
    for doc_cands, gold in zip(cands, golds):
        for triple, score in doc_cands:
            rows.append((triple[1], score, triple in gold))
    reachable = sum(r[2] for r in rows)
    by_pred = {p: numpy.asarray([(s, g) for q, s, g in rows if q == p] or numpy.zeros((0, 2)), dtype="float64")
               for p in labels}

    def counts(th: Dict[str, float]) -> Tuple[int, int]:
        tp = n = 0
        for p, arr in by_pred.items():
            if len(arr):
                keep = arr[:, 0] > th[p]
                tp += int(arr[keep, 1].sum())
                n += int(keep.sum())
        return tp, n

    def f_of(th):
        tp, n = counts(th)
        return prf(tp, n, n_gold)["f"]

    at_used = prf(*counts({p: used for p in labels}), n_gold)
    grid = sorted({s for _, s, _ in rows})
    options = [g - 1e-9 for g in grid] + [max(grid, default=0.0) + 1.0]
    best_single = max(options, key=lambda t: f_of({p: t for p in labels})) if options else used
    th = {p: best_single for p in labels}
    for _ in range(3):
        for p in labels:
            arr = by_pred[p]
            opts = [s - 1e-9 for s in numpy.unique(arr[:, 0])] + [float("inf")] if len(arr) else [th[p]]
            th[p] = max(opts, key=lambda t: f_of({**th, p: t}))
    return {
        "decoding_threshold": used,
        "gold_triples": n_gold,
        "gold_reachable_in_candidates": reachable,
        "at_decoding_threshold": at_used,
        "best_single_threshold": best_single,
        "at_best_single": prf(*counts({p: best_single for p in labels}), n_gold),
        "per_predicate_thresholds": {p: (None if t == float("inf") else t) for p, t in th.items()},
        "at_per_predicate": prf(*counts(th), n_gold),
    }


def gold_tokens(nlp, doc: Doc) -> Doc:
    return Doc(nlp.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])


GAP_BUCKETS = ((0, 0), (1, 2), (3, 5), (6, 10), (11, 10_000))
BOUNDARY_BUCKETS = ((0, 4), (5, 8), (9, 16), (17, 10_000))


def auc(pos: numpy.ndarray, neg: numpy.ndarray) -> Optional[float]:
    """P(a gold triple outscores a wrong one), ties counted half (Mann-Whitney)."""
    if not len(pos) or not len(neg):
        return None
    neg = numpy.sort(neg)
    below = numpy.searchsorted(neg, pos, side="left")
    ties = numpy.searchsorted(neg, pos, side="right") - below
    return float((below + 0.5 * ties).sum() / (len(pos) * len(neg)))


def distance_analysis(cands, golds, threshold: float, measure: str = "gap") -> List[Dict[str, object]]:
    """By the token gap between head and tail span (measure "gap": 0 =
    adjacent or overlapping) or by the distance between the boundary tokens
    GPLinker scores (measure "boundary": max(|head start - tail start|,
    |head end - tail end|); the CNN's receptive field is 4 tokens either side):
    gold triples, recall and precision at `threshold`, and the threshold-free
    AUC of gold vs wrong candidate triples."""
    buckets = GAP_BUCKETS if measure == "gap" else BOUNDARY_BUCKETS
    rows = []
    for doc_cands, gold in zip(cands, golds):
        for (h, p, t), score in doc_cands:
            if measure == "gap":
                gap = max(0, max(h[0], t[0]) - min(h[1], t[1]))
            else:
                gap = max(abs(h[0] - t[0]), abs(h[1] - t[1]))
            rows.append((gap, score, (h, p, t) in gold))
    out = []
    for lo, hi in buckets:
        sel = [(sc, g) for gap, sc, g in rows if lo <= gap <= hi]
        pos = numpy.asarray([sc for sc, g in sel if g], dtype="float64")
        neg = numpy.asarray([sc for sc, g in sel if not g], dtype="float64")
        kept_pos, kept_neg = int((pos > threshold).sum()), int((neg > threshold).sum())
        out.append({
            measure: f"{lo}-{hi}" if hi < 10_000 else f">={lo}", "gold": len(pos), "wrong_candidates": len(neg),
            "recall": kept_pos / len(pos) if len(pos) else None,
            "precision": kept_pos / (kept_pos + kept_neg) if kept_pos + kept_neg else None,
            "auc": auc(pos, neg),
        })
    return out


def main(model: Path, dev: Path, out: Path) -> None:
    install_extensions()
    nlp = spacy.load(model)
    gold_docs = list(DocBin().from_disk(dev).get_docs(nlp.vocab))
    examples = [Example(nlp.make_doc(d.text), d) for d in gold_docs]
    scores = nlp.evaluate(examples, batch_size=256)
    name, proc = relation_pipe(nlp)
    used = proc.threshold() if hasattr(proc, "threshold") and callable(proc.threshold) else float(proc.cfg["threshold"])
    golds = [{(tuple(h), p, tuple(t)) for h, p, t, _ in relation_records(d)} for d in gold_docs]

    # The analyses run on the gold tokens (SciERC's own), so that predicted
    # and gold offsets compare directly; nlp.evaluate above re-tokenizes the
    # text as `spacy train`'s corpus reader does.
    # Predicted entities: the pipeline up to the relation component.
    docs = [gold_tokens(nlp, d) for d in gold_docs]
    for pname, pproc in nlp.pipeline:
        if pname == name:
            break
        docs = list(pproc.pipe(docs, batch_size=256))
    pred_analysis = threshold_analysis(candidate_scores(proc, docs), golds, proc.labels, used)

    # Oracle entities: the gold spans as the relation component's candidates.
    oracle_docs = []
    for d in gold_docs:
        doc = gold_tokens(nlp, d)
        doc.spans["sc"] = [Span(doc, s.start, s.end, label=s.label_) for s in d.spans["sc"]]
        oracle_docs.append(doc)
    oracle_docs = list(nlp.get_pipe("tok2vec").pipe(oracle_docs, batch_size=256))
    oracle_cands = candidate_scores(proc, oracle_docs)
    oracle_analysis = threshold_analysis(oracle_cands, golds, proc.labels, used)
    best = oracle_analysis["best_single_threshold"]
    oracle_analysis["by_gap_at_best_single"] = distance_analysis(oracle_cands, golds, best, "gap")
    oracle_analysis["by_boundary_distance_at_best_single"] = distance_analysis(oracle_cands, golds, best, "boundary")
    proc.set_annotations(oracle_docs, proc.predict(oracle_docs))
    oracle_scores = score_relations([Example(p, g) for p, g in zip(oracle_docs, gold_docs)])

    keys = ["relations_micro_p", "relations_micro_r", "relations_micro_f", "relations_boundary_p",
            "relations_boundary_r", "relations_boundary_f", "spans_sc_p", "spans_sc_r", "spans_sc_f", "speed"]
    result = {
        "model": str(model),
        "scores": {k: scores.get(k) for k in keys},
        "relations_per_type": scores.get("relations_per_type"),
        "oracle_entities": {k: oracle_scores.get(k) for k in keys if k.startswith("relations")},
        "oracle_entities_per_type": oracle_scores.get("relations_per_type"),
        "thresholds_predicted_entities": pred_analysis,
        "thresholds_oracle_entities": oracle_analysis,
    }
    out.write_text(json.dumps(result, indent=2), encoding="utf8")
    print(json.dumps({"scores": result["scores"], "oracle": result["oracle_entities"],
                      "thr_pred": {k: v for k, v in pred_analysis.items() if k != "per_predicate_thresholds"},
                      "thr_oracle": {k: v for k, v in oracle_analysis.items() if k != "per_predicate_thresholds"}},
                     indent=1))


if __name__ == "__main__":
    typer.run(main)
