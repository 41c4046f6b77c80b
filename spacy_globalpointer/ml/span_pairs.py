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

The event component's links use the same pooling (`span_link_scorer`): the
two argument spans, the tokens between them and their distance.
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


def span_pair_scorer(
    hidden_width: int, nO: Optional[int] = None, context: bool = False
) -> Model[SpanPairInput, Floats2d]:
    """[mean(subject tokens); mean(object tokens)] >> ReLU(hidden_width) >> Linear(nO):
    per pair, one logit per predicate (rows of all docs, doc after doc).

    context: also the mean of the tokens between the two spans, their distance
    and which comes first (`span_link_vectors(ordered=True)`). Why: the words
    between a subject and an object ("directed by", "was born in") are most of
    the evidence for their predicate, and on spaCy's CNN neither span's own
    tokens see them once the two lie more than 4 tokens apart."""
    output = Linear(nO=nO)
    vectors = span_link_vectors(ordered=True) if context else span_pair_vectors()
    model = chain(vectors, Relu(nO=hidden_width), output)
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


# Token distances (from the end of the earlier span to the start of the later
# one) at which a link's distance feature changes: 0, 1, 2, 3, 4, 5-7, 8-15,
# 16-31, 32-63, 64 or more; one more feature for spans that overlap.
DISTANCE_BOUNDS = (1, 2, 3, 4, 5, 8, 16, 32, 64)
N_DISTANCE_FEATURES = len(DISTANCE_BOUNDS) + 2


def span_link_scorer(hidden_width: int, encoder_grad_scale: float = 1.0) -> Model[SpanPairInput, Floats2d]:
    """[mean(earlier span); mean(later span); mean(tokens between); distance]
    >> ReLU(hidden_width) >> Linear(1): per pair of argument spans, one link
    logit (rows of all docs, doc after doc).

    Why: GPLinker links two arguments by their boundary tokens alone; on
    spaCy's CNN those see 4 tokens either side and nothing of each other, and
    on DuEE and PHEE their link scores barely told the arguments of one event
    from those of two (ROC AUC 0.64 and 0.54 on the docs with two events of
    one type). The tokens between two arguments (another trigger, a clause
    boundary) and their distance are what tells them apart.

    encoder_grad_scale: the share of the link loss's gradient passed back to
    the token vectors (see `span_link_vectors`)."""
    output = Linear(nO=1)
    model = chain(span_link_vectors(encoder_grad_scale), Relu(nO=hidden_width), output)
    model.set_ref("output_layer", output)
    return model


def span_link_vectors(encoder_grad_scale: float = 1.0, ordered: bool = False) -> Model[SpanPairInput, Floats2d]:
    """Per pair: the mean vectors of the earlier span, the later span and the
    tokens between them (zeros where none), then one-hot distance features:
    (total pairs, 3 * width + N_DISTANCE_FEATURES).

    encoder_grad_scale multiplies the gradient passed back to the token
    vectors (0: none, the scorer learns on top of an encoder trained by the
    other losses; the backprop still returns zeros of the right shapes).

    ordered: the pair's first span (a relation's subject) stays first and its
    second second, wherever they lie, and one more feature says whether the
    second lies before the first: (total pairs, 3 * width +
    N_DISTANCE_FEATURES + 1). Unordered (event links), the two are sorted by
    position, as a link does not depend on their order."""
    return Model(
        "span_link_vectors",
        _span_link_vectors_forward,
        init=_span_link_vectors_init,
        dims={"nI": None, "nO": None},
        attrs={"encoder_grad_scale": float(encoder_grad_scale), "ordered": bool(ordered)},
    )


def _n_position_features(model: Model) -> int:
    return N_DISTANCE_FEATURES + int(bool(model.attrs.get("ordered", False)))


def _span_link_vectors_init(model: Model, X: Optional[SpanPairInput] = None, Y=None) -> None:
    if X is not None and X[0]:
        model.set_dim("nI", int(X[0][0].shape[1]), force=True)
    if model.has_dim("nI"):
        model.set_dim("nO", 3 * model.get_dim("nI") + _n_position_features(model), force=True)


def _span_link_vectors_forward(model: Model, X: SpanPairInput, is_train: bool) -> Tuple[Floats2d, Callable]:
    vectors, pairs = X
    width = int(vectors[0].shape[1]) if vectors else model.get_dim("nI")
    ordered = bool(model.attrs.get("ordered", False))
    triples: List[numpy.ndarray] = []
    distances: List[numpy.ndarray] = []
    reversed_pairs: List[numpy.ndarray] = []
    for doc_pairs in pairs:
        a = numpy.asarray(doc_pairs, dtype="int64").reshape(-1, 4)
        swap = a[:, 2] < a[:, 0]
        earlier = numpy.where(swap[:, None], a[:, 2:], a[:, :2])
        later = numpy.where(swap[:, None], a[:, :2], a[:, 2:])
        gap_start = earlier[:, 1]
        gap_end = numpy.maximum(later[:, 0], gap_start)
        first, second = (a[:, :2], a[:, 2:]) if ordered else (earlier, later)
        triples.append(numpy.hstack([first, second, gap_start[:, None], gap_end[:, None]]))
        distances.append(later[:, 0] - earlier[:, 1])
        reversed_pairs.append(swap)
    pooled, backprop_pooled = pool_spans(model.ops, vectors, triples, width, 3)
    gap = numpy.concatenate(distances) if distances else numpy.zeros((0,), dtype="int64")
    features = numpy.zeros((len(gap), _n_position_features(model)), dtype="float32")
    bucket = numpy.where(gap < 0, N_DISTANCE_FEATURES - 1, numpy.searchsorted(DISTANCE_BOUNDS, gap, side="right"))
    features[numpy.arange(len(gap)), bucket] = 1.0
    if ordered and len(gap):
        features[:, N_DISTANCE_FEATURES] = numpy.concatenate(reversed_pairs)
    output = model.ops.xp.hstack([pooled, model.ops.asarray2f(features)])

    scale = float(model.attrs.get("encoder_grad_scale", 1.0))

    def backprop(d_output: Floats2d) -> List[Floats2d]:
        if scale == 0.0:
            return [model.ops.alloc2f(int(v.shape[0]), width) for v in vectors]
        d_pooled = model.ops.as_contig(d_output[:, : 3 * width])
        return backprop_pooled(d_pooled * scale if scale != 1.0 else d_pooled)

    return output, backprop


def pool_span_pairs(
    ops: Ops, vectors: List[Floats2d], pairs: List[SpanPairs], width: int
) -> Tuple[Floats2d, Callable[[Floats2d], List[Floats2d]]]:
    """Per pair of every doc, [mean(subject tokens); mean(object tokens)]
    (each distinct span pooled once), and the backprop to the token vectors."""
    return pool_spans(ops, vectors, pairs, width, 2)


def pool_spans(
    ops: Ops, vectors: List[Floats2d], rows: List[numpy.ndarray], width: int, k: int
) -> Tuple[Floats2d, Callable[[Floats2d], List[Floats2d]]]:
    """Per row of every doc, the mean vectors of its k spans side by side
    ((start, end) after (start, end), ends exclusive): (total rows, k * width).
    Each distinct span of a doc is pooled once; an empty span pools to zeros.
    Also the backprop to the token vectors."""
    offsets = numpy.cumsum([0] + [int(v.shape[0]) for v in vectors])
    indices: List[int] = []
    lengths: List[int] = []
    # Index 0 of the pooled rows is the zero vector of empty spans.
    columns: List[List[int]] = [[] for _ in range(k)]
    for offset, doc_rows in zip(offsets, rows):
        span_index: Dict[Tuple[int, int], int] = {}
        for row in numpy.asarray(doc_rows).reshape(-1, 2 * k).tolist():
            for j in range(k):
                span = (row[2 * j], row[2 * j + 1])
                if span[1] <= span[0]:
                    columns[j].append(0)
                    continue
                if span not in span_index:
                    span_index[span] = len(lengths) + 1
                    indices.extend(range(offset + span[0], offset + span[1]))
                    lengths.append(span[1] - span[0])
                columns[j].append(span_index[span])
    n_rows = len(columns[0])

    if not lengths:

        def backprop_nothing(d_output: Floats2d) -> List[Floats2d]:
            return [ops.alloc2f(int(v.shape[0]), width) for v in vectors]

        return ops.alloc2f(n_rows, k * width), backprop_nothing
    flat = ops.flatten(vectors)
    index_array = ops.asarray1i(indices)
    length_array = ops.asarray1i(lengths)
    column_arrays = [ops.asarray1i(c) for c in columns]
    pooled = ops.xp.vstack([ops.alloc2f(1, width), ops.reduce_mean(flat[index_array], length_array)])
    output = ops.xp.hstack([pooled[c] for c in column_arrays])

    def backprop(d_output: Floats2d) -> List[Floats2d]:
        d_pooled = ops.alloc2f(len(lengths) + 1, width)
        for j, c in enumerate(column_arrays):
            ops.scatter_add(d_pooled, c, ops.as_contig(d_output[:, j * width : (j + 1) * width]))
        d_tokens = ops.backprop_reduce_mean(ops.as_contig(d_pooled[1:]), length_array)
        d_flat = ops.alloc2f(*flat.shape)
        ops.scatter_add(d_flat, index_array, d_tokens)
        return [d_flat[offsets[i] : offsets[i + 1]] for i in range(len(vectors))]

    return output, backprop
