"""Relation baseline for the benchmark, in the style of spaCy's relation
extraction tutorial (explosion/projects tutorials/rel_component): every
ordered pair of upstream spans is one instance, represented by its two
mean-pooled span vectors concatenated, and classified by one Linear layer with
one sigmoid per predicate, trained with binary cross-entropy.

Candidates are the spans an upstream component wrote to doc.spans[spans_key]
(at training: the gold entities of the reference doc, as in the tutorial,
which trains on gold entities). With `label_triples = "seen"` (not the
tutorial's; default "any") it keeps only the (head label, predicate, tail
label) triples of its training gold, as `globalpointer_relations` does by
default, so the benchmark can show what that filter is worth to either. It writes doc._.relations and scores with the
package's `spacy-globalpointer.relations_scorer.v1`, so its figures compare
with `globalpointer_relations`. Load it with `spacy train --code` (it is a
benchmark baseline, not part of the package).
"""
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import numpy
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import registry
from spacy.vocab import Vocab
from thinc.api import Config, Linear, Model, chain, set_dropout_rate
from thinc.types import Floats2d, Ints2d

from spacy_globalpointer.extensions import install_extensions, relation_records, set_relation_records
from spacy_globalpointer.ml.span_pairs import pool_span_pairs
from spacy_globalpointer.pipeline.linking import (
    LabelTriples, choose_candidates, label_triples_of, link_windows, ordered_pairs, span_windows,
)
from spacy_globalpointer.pipeline.relation_scorer import score_relations

Pairs = Ints2d  # (n_pairs, 4): head start, head end, tail start, tail end
PairInput = Tuple[List[Doc], List[Pairs]]


@registry.architectures("spacy-globalpointer-benchmarks.PairClassifier.v1")
def build_pair_classifier(tok2vec: Model[List[Doc], List[Floats2d]], nO: Optional[int] = None) -> Model[PairInput, Floats2d]:
    """tok2vec >> [mean(head tokens); mean(tail tokens)] >> Linear: one logit per predicate.

    tok2vec (Model[List[Doc], List[Floats2d]]): the token encoder (a listener).
    nO (Optional[int]): number of predicates, set by the component.
    """
    pairs = Model("pair_vectors", _pair_vectors_forward, layers=[tok2vec], refs={"tok2vec": tok2vec}, init=_pair_vectors_init, dims={"nO": None})
    model = chain(pairs, Linear(nO=nO))
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("output_layer", model.layers[-1])
    return model


def _pair_vectors_init(model: Model, X: Optional[PairInput] = None, Y=None) -> None:
    tok2vec = model.get_ref("tok2vec")
    if X is not None:
        tok2vec.initialize(X=X[0])
    model.set_dim("nO", 2 * tok2vec.get_dim("nO"))


def _pair_vectors_forward(model: Model, X: PairInput, is_train: bool):
    """Mean-pool each distinct candidate span once, then concatenate the
    vectors of each pair's head and tail span (the package's span-pair pooling)."""
    docs, pairs = X
    tokvecs, backprop_tokvecs = model.get_ref("tok2vec")(docs, is_train)
    width = tokvecs[0].shape[1] if tokvecs else model.get_dim("nO") // 2
    output, backprop_pooling = pool_span_pairs(model.ops, tokvecs, pairs, width)

    def backprop(d_output: Floats2d) -> List[Doc]:
        backprop_tokvecs(backprop_pooling(d_output))
        return docs

    return output, backprop


default_model_config = """
[model]
@architectures = "spacy-globalpointer-benchmarks.PairClassifier.v1"

[model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
width = 96
upstream = "*"
"""
DEFAULT_MODEL = Config().from_str(default_model_config)["model"]


@Language.factory(
    "benchmark_pair_classifier",
    assigns=["doc._.relations"],
    requires=["doc.spans"],
    default_config={
        "model": DEFAULT_MODEL,
        "spans_key": "sc",
        "threshold": 0.5,
        "max_pair_distance": 256,
        "max_candidates": 128,
        "label_triples": "any",
        "scorer": {"@scorers": "spacy-globalpointer.relations_scorer.v1"},
    },
    default_score_weights={
        "relations_micro_f": 1.0,
        "relations_micro_p": 0.0,
        "relations_micro_r": 0.0,
        "relations_boundary_f": 0.0,
    },
)
def make_pair_classifier(
    nlp: Language,
    name: str,
    model: Model,
    spans_key: str,
    threshold: float,
    max_pair_distance: Optional[int],
    max_candidates: int,
    label_triples: str,
    scorer: Optional[Callable],
) -> "PairClassifier":
    """Classify every ordered pair of doc.spans[spans_key] (at most
    max_candidates spans, starts and ends closer than max_pair_distance) into
    predicates, one sigmoid each; keep those above threshold."""
    return PairClassifier(nlp.vocab, model, name, spans_key=spans_key, threshold=threshold,
                          max_pair_distance=max_pair_distance, max_candidates=max_candidates,
                          label_triples=label_triples, scorer=scorer)


class PairClassifier(TrainablePipe):
    def __init__(self, vocab: Vocab, model: Model, name: str = "benchmark_pair_classifier", *, spans_key: str = "sc",
                 threshold: float = 0.5, max_pair_distance: Optional[int] = 256, max_candidates: int = 128,
                 label_triples: str = "any", scorer: Optional[Callable] = score_relations) -> None:
        install_extensions()
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self.cfg: Dict[str, Any] = {"labels": [], "spans_key": spans_key, "threshold": threshold,
                                    "max_pair_distance": max_pair_distance, "max_candidates": max_candidates,
                                    "label_triples": label_triples, "seen_label_triples": []}

    @property
    def labels(self) -> Tuple[str, ...]:
        return tuple(self.cfg["labels"])

    @property
    def label_data(self) -> List[str]:
        return list(self.labels)

    def add_label(self, label: str) -> int:
        if label in self.labels:
            return 0
        self.cfg["labels"].append(label)
        self.vocab.strings.add(label)
        return 1

    # Candidates

    def _pairs(self, spans: List[Tuple[int, int, str]], windows: numpy.ndarray) -> List[Tuple[int, int]]:
        """The ordered pairs GPLinker tries (pipeline/linking.py), a span never with itself."""
        starts = numpy.asarray([s[0] for s in spans], dtype="int64")
        ends = numpy.asarray([s[1] for s in spans], dtype="int64")
        heads, tails = ordered_pairs(starts, ends, windows, self.cfg["max_pair_distance"], with_self=False)
        return list(zip(heads.tolist(), tails.tolist()))

    def _candidates(self, doc: Doc) -> Tuple[List[Tuple[int, int, str]], numpy.ndarray]:
        """The upstream spans to classify pairs of, chosen as globalpointer_relations
        chooses them (the same cap per window, the best-scoring first)."""
        group = doc.spans.get(self.cfg["spans_key"], [])
        spans = [(s.start, s.end, s.label_) for s in group]
        if not spans:
            return [], numpy.zeros((0,), dtype="int64")
        scores = group.attrs.get("scores")
        kept, windows, _ = choose_candidates(
            doc,
            numpy.asarray([s[0] for s in spans], dtype="int64"),
            numpy.asarray([s[1] for s in spans], dtype="int64"),
            [s[2] for s in spans],
            numpy.asarray(scores, dtype="float64") if scores is not None and len(scores) == len(spans) else None,
            scope="sentence", limit=int(self.cfg["max_candidates"]), distance=self.cfg["max_pair_distance"],
        )
        return [spans[i] for i in kept], windows

    @staticmethod
    def _windows(doc: Doc, spans: List[Tuple[int, int, str]]) -> numpy.ndarray:
        starts = numpy.asarray([s[0] for s in spans], dtype="int64")
        ends = numpy.asarray([s[1] for s in spans], dtype="int64")
        return span_windows(link_windows(doc, "sentence"), starts, ends)

    def _gold_candidates(self, eg: Example) -> List[Tuple[int, int, str]]:
        """The reference's entities and relation arguments (same tokens as the predicted doc)."""
        spans = {(s.start, s.end, s.label_) for s in eg.reference.spans.get(self.cfg["spans_key"], [])}
        for head, _, tail, _ in relation_records(eg.reference):
            spans.update([tuple(head), tuple(tail)])
        return sorted(spans)

    @staticmethod
    def _pair_array(spans, pairs) -> numpy.ndarray:
        rows = [(spans[h][0], spans[h][1], spans[t][0], spans[t][1]) for h, t in pairs]
        return numpy.asarray(rows, dtype="int32").reshape(-1, 4)

    # Training

    def initialize(self, get_examples: Callable[[], Iterable[Example]], *, nlp: Optional[Language] = None,
                   labels: Optional[List[str]] = None) -> None:
        validate_get_examples(get_examples, "PairClassifier.initialize")
        if labels is not None:
            for label in labels:
                self.add_label(label)
        sample_docs, sample_pairs = [], []
        seen = set()
        for eg in get_examples():
            seen.update(label_triples_of(relation_records(eg.reference)))
            if labels is None:
                for _, predicate, _, _ in relation_records(eg.reference):
                    self.add_label(predicate)
            if len(sample_docs) < 10:
                spans = self._gold_candidates(eg)
                sample_docs.append(eg.predicted)
                sample_pairs.append(self._pair_array(spans, self._pairs(spans, self._windows(eg.predicted, spans))))
        self.cfg["seen_label_triples"] = [list(t) for t in sorted(seen)]
        if not self.labels:
            raise ValueError(f"No predicates for '{self.name}': the training docs hold no doc._.relations")
        self.model.get_ref("output_layer").set_dim("nO", len(self.labels))
        n_pairs = sum(len(p) for p in sample_pairs)
        self.model.initialize(X=(sample_docs, sample_pairs), Y=self.model.ops.alloc2f(n_pairs, len(self.labels)))

    def update(self, examples: Iterable[Example], *, drop: float = 0.0, sgd=None,
               losses: Optional[Dict[str, float]] = None) -> Dict[str, float]:
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "PairClassifier.update")
        docs, pairs, truths = [], [], []
        label_map = {label: i for i, label in enumerate(self.labels)}
        for eg in examples:
            spans = self._gold_candidates(eg)
            doc_pairs = self._pairs(spans, self._windows(eg.predicted, spans))
            gold = {((h[0], h[1]), label_map[p], (t[0], t[1])) for h, p, t, _ in relation_records(eg.reference) if p in label_map}
            truth = numpy.zeros((len(doc_pairs), len(self.labels)), dtype="float32")
            index = {((spans[h][0], spans[h][1]), (spans[t][0], spans[t][1])): k for k, (h, t) in enumerate(doc_pairs)}
            for head, p, tail in gold:
                k = index.get((head, tail))
                if k is not None:
                    truth[k, p] = 1.0
            docs.append(eg.predicted)
            pairs.append(self._pair_array(spans, doc_pairs))
            truths.append(truth)
        if not sum(len(p) for p in pairs):
            return losses
        set_dropout_rate(self.model, drop)
        logits, backprop = self.model.begin_update((docs, pairs))
        loss, d_logits = self.get_loss(logits, numpy.concatenate(truths))
        backprop(d_logits)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_loss(self, logits: Floats2d, truths: numpy.ndarray) -> Tuple[float, Floats2d]:
        """Binary cross-entropy of the sigmoids, summed over predicates, averaged over pairs."""
        ops = self.model.ops
        truths = ops.asarray2f(truths)
        probs = ops.sigmoid(logits)
        n = max(1, logits.shape[0])
        eps = 1e-7
        loss = -float((truths * ops.xp.log(probs + eps) + (1 - truths) * ops.xp.log(1 - probs + eps)).sum()) / n
        return loss, (probs - truths) / n

    # Inference

    def predict(self, docs: Iterable[Doc]) -> List[Dict[str, Any]]:
        docs = list(docs)
        candidates = []
        for doc in docs:
            spans, windows = self._candidates(doc)
            candidates.append((spans, self._pairs(spans, windows)))
        arrays = [self._pair_array(spans, pairs) for spans, pairs in candidates]
        if not sum(len(a) for a in arrays):
            return [{"spans": s, "pairs": p, "probs": None} for s, p in candidates]
        probs = self.model.ops.to_numpy(self.model.ops.sigmoid(self.model.predict((docs, arrays))))
        triples = LabelTriples(self.cfg.get("seen_label_triples", []), self.labels, self.cfg["label_triples"])
        results, offset = [], 0
        for spans, pairs in candidates:
            doc_probs = probs[offset : offset + len(pairs)]
            if triples.constrains:
                doc_probs = triples.mask(doc_probs, [(spans[h][2], spans[t][2]) for h, t in pairs], 0.0)
            results.append({"spans": spans, "pairs": pairs, "probs": doc_probs})
            offset += len(pairs)
        return results

    def set_annotations(self, docs: Iterable[Doc], predictions: List[Dict[str, Any]]) -> None:
        threshold = float(self.cfg["threshold"])
        for doc, prediction in zip(docs, predictions):
            records = []
            if prediction["probs"] is not None and len(prediction["pairs"]):
                spans = prediction["spans"]
                for k, p in zip(*numpy.nonzero(prediction["probs"] > threshold)):
                    h, t = prediction["pairs"][k]
                    records.append((spans[h], self.labels[p], spans[t], float(prediction["probs"][k, p])))
            set_relation_records(doc, records)

    def __call__(self, doc: Doc) -> Doc:
        install_extensions()
        return super().__call__(doc)

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterable[Doc]:
        install_extensions()
        return super().pipe(stream, batch_size=batch_size)
