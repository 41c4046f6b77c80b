"""Scores of (subject span, object span) pairs from the tokens inside them.

Why: GPLinker scores a pair by one boundary token of each span (a head-pair
and a tail-pair cell). On spaCy's CNN each token sees 4 tokens either side, so
a boundary token knows little of the rest of its span and less of a partner
span further away; the SciERC ablation (project/benchmarks/
results_scierc_ablation.md) found the tutorial's pooled-span pair classifier
scoring pairs better than the cells for that reason. This layer gives a
relation head the pooled view as a third score beside its cells.

Input: the token vectors of each doc and its pairs as an (m, 4) int array
(subject start, subject end, object start, object end; ends exclusive).
`span_pair_vectors` returns one row per pair, the mean vector of the subject
span's tokens beside that of the object's; `span_pair_scorer` puts a hidden
ReLU layer and one output per predicate on top. Pure Thinc ops, so the same
code runs on CPU and GPU.
"""
from typing import Callable, Dict, List, Optional, Tuple

import numpy
from thinc.api import Linear, Model, Ops, Relu, chain
from thinc.types import Floats2d, Ints2d

# Per doc: (m, 4) int pairs (subject start, subject end, object start, object end).
SpanPairs = Ints2d
SpanPairInput = Tuple[List[Floats2d], List[SpanPairs]]
NO_PAIRS_SHAPE = (0, 4)


def no_pairs() -> numpy.ndarray:
    """A doc's pairs when it has none."""
    return numpy.zeros(NO_PAIRS_SHAPE, dtype="int64")


def span_pair_scorer(hidden_width: int, nO: Optional[int] = None) -> Model[SpanPairInput, Floats2d]:
    """[mean(subject tokens); mean(object tokens)] >> ReLU(hidden_width) >> Linear(nO):
    per pair, one logit per predicate (rows of all docs, doc after doc)."""
    output = Linear(nO=nO)
    model = chain(span_pair_vectors(), Relu(nO=hidden_width), output)
    model.set_ref("output_layer", output)
    return model


def span_pair_vectors() -> Model[SpanPairInput, Floats2d]:
    """Mean-pool each distinct span of a doc's pairs once; per pair, the subject's
    and the object's pooled vectors side by side: (total pairs, 2 * width)."""
    return Model("span_pair_vectors", _span_pair_vectors_forward, init=_span_pair_vectors_init, dims={"nI": None, "nO": None})


def _span_pair_vectors_init(model: Model, X: Optional[SpanPairInput] = None, Y=None) -> None:
    if X is not None and X[0]:
        model.set_dim("nI", int(X[0][0].shape[1]), force=True)
    if model.has_dim("nI"):
        model.set_dim("nO", 2 * model.get_dim("nI"), force=True)


def _span_pair_vectors_forward(model: Model, X: SpanPairInput, is_train: bool) -> Tuple[Floats2d, Callable]:
    vectors, pairs = X
    width = int(vectors[0].shape[1]) if vectors else model.get_dim("nI")
    return pool_span_pairs(model.ops, vectors, pairs, width)


def pool_span_pairs(
    ops: Ops, vectors: List[Floats2d], pairs: List[SpanPairs], width: int
) -> Tuple[Floats2d, Callable[[Floats2d], List[Floats2d]]]:
    """Per pair of every doc, [mean(subject tokens); mean(object tokens)]
    (each distinct span pooled once), and the backprop to the token vectors."""
    offsets = numpy.cumsum([0] + [int(v.shape[0]) for v in vectors])
    indices: List[int] = []
    lengths: List[int] = []
    subjects: List[int] = []
    objects: List[int] = []
    for offset, doc_pairs in zip(offsets, pairs):
        span_index: Dict[Tuple[int, int], int] = {}
        for s_start, s_end, o_start, o_end in numpy.asarray(doc_pairs).reshape(-1, 4).tolist():
            for span, out in (((s_start, s_end), subjects), ((o_start, o_end), objects)):
                if span not in span_index:
                    span_index[span] = len(lengths)
                    indices.extend(range(offset + span[0], offset + span[1]))
                    lengths.append(span[1] - span[0])
                out.append(span_index[span])
    if not lengths:

        def backprop_nothing(d_output: Floats2d) -> List[Floats2d]:
            return [ops.alloc2f(int(v.shape[0]), width) for v in vectors]

        return ops.alloc2f(0, 2 * width), backprop_nothing
    flat = ops.flatten(vectors)
    index_array = ops.asarray1i(indices)
    length_array = ops.asarray1i(lengths)
    subject_array, object_array = ops.asarray1i(subjects), ops.asarray1i(objects)
    pooled = ops.reduce_mean(flat[index_array], length_array)
    output = ops.xp.hstack([pooled[subject_array], pooled[object_array]])

    def backprop(d_output: Floats2d) -> List[Floats2d]:
        d_pooled = ops.alloc2f(len(lengths), width)
        ops.scatter_add(d_pooled, subject_array, ops.as_contig(d_output[:, :width]))
        ops.scatter_add(d_pooled, object_array, ops.as_contig(d_output[:, width:]))
        d_tokens = ops.backprop_reduce_mean(d_pooled, length_array)
        d_flat = ops.alloc2f(*flat.shape)
        ops.scatter_add(d_flat, index_array, d_tokens)
        return [d_flat[offsets[i] : offsets[i + 1]] for i in range(len(vectors))]

    return output, backprop
