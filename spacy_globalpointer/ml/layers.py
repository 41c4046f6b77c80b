"""Small Thinc layers: a lazily built PyTorch pair scorer with tuple outputs.

`pair_scores_layer` wraps a `torch_modules.PairScorers` (one or more pair
scorers over the same tokens) as a Thinc layer. The torch module is built in
`init`, once the input width (nI) and the number of labels (nO) are known, so a
component must call `ensure_built` with its saved dimensions before loading
weights into an uninitialised pipeline (see `pipeline/base.py`).

Output per doc: a tuple with one float32 array (channels_k, n, C_k) per
scorer, in the layout `attrs["layouts"][k]` (see `layouts.py`). Given
`(vectors, cells)` instead of vectors alone, the layer scores only the listed
cells (inference only; `(vectors, None)` scores every cell, as vectors alone):
a relation decoder that knows its candidate pairs pays for those, not for n^2
cells per predicate. Both paths run through the PyTorch wrapper, so device
placement and mixed precision apply to both.
"""
import warnings
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union, cast

import numpy
from thinc.api import ArgsKwargs, CupyOps, Model, PyTorchWrapper_v2, torch2xp, xp2torch
from thinc.shims import PyTorchGradScaler
from thinc.types import Floats1d, Floats2d, Floats3d, Ints1d, Ints2d

from ..errors import Errors, Warnings
from ..layouts import PairLayout
from .bucketing import length_buckets
from .fork_safety import use_one_thread_in_forked_children

try:  # The heads need torch; say so clearly rather than fail deep inside thinc.
    import torch
except ImportError as error:  # pragma: no cover
    raise ImportError(Errors.E001) from error

# Upper bound on padded cells (docs x tokens x columns) per head call: keeps one
# long document from being padded together with many short ones.
DEFAULT_MAX_BUCKET_CELLS = 1 << 21

PairScores = Tuple[Floats3d, ...]
# Per doc and scorer: None (skip) or (m, 3) int cells (channel, first token, second token).
DocCells = Tuple[Optional[Ints2d], ...]
PairInput = Union[List[Floats2d], Tuple[List[Floats2d], Optional[List[DocCells]]]]


@dataclass
class ChosenCells:
    """One doc's vectors and the cells to score: the wrapper's input when the
    layer scores chosen cells instead of whole layouts."""

    vectors: Floats2d
    cells: DocCells
ModuleBuilder = Callable[[int, int, Model], "torch.nn.Module"]


def pair_scores_layer(
    name: str,
    build_module: ModuleBuilder,
    layouts: Sequence[PairLayout],
    nO: Optional[int] = None,
    mixed_precision: bool = False,
    grad_scaler: Optional[PyTorchGradScaler] = None,
    attrs: Optional[dict] = None,
) -> Model[PairInput, List[Any]]:
    """A Thinc layer around a PairScorers module built lazily by `build_module(nI, nO, model)`.

    layouts: one PairLayout per scorer. They live in `attrs["layouts"]` (plain
        lists, so they serialize) and a component may replace them before use.
    attrs: settings the builder reads (head size, RoPE, ...), kept on the layer.
    """
    return Model(
        name,
        _pair_forward,
        init=partial(_pair_init, build_module=build_module, grad_scaler=grad_scaler),
        dims={"nI": None, "nO": nO},
        attrs={
            **(attrs or {}),
            "layouts": [layout.to_list() for layout in layouts],
            "max_bucket_cells": DEFAULT_MAX_BUCKET_CELLS,
            "mixed_precision": mixed_precision,
        },
    )


def layer_layouts(model: Model) -> List[PairLayout]:
    return [PairLayout.from_list(value) for value in model.attrs["layouts"]]


def set_layer_layouts(model: Model, layouts: Sequence[PairLayout]) -> None:
    model.attrs["layouts"] = [layout.to_list() for layout in layouts]


def ensure_built(layer: Model, n_inputs: int, n_labels: int) -> None:
    """Build the wrapped torch module for these dimensions, if it is missing.

    Called by a component before it loads weights into a fresh pipeline, so
    that the model's structure matches the saved one.
    """
    if not layer.layers:
        layer.set_dim("nI", n_inputs, force=True)
        layer.set_dim("nO", n_labels, force=True)
        layer.initialize()


def _pair_init(
    model: Model,
    X: Optional[List[Floats2d]] = None,
    Y: Optional[Any] = None,
    *,
    build_module: ModuleBuilder,
    grad_scaler: Optional[PyTorchGradScaler] = None,
) -> None:
    if isinstance(X, tuple):  # (vectors, cells or None)
        X = X[0]
    if X is not None and not model.has_dim("nI"):
        widths = [x.shape[1] for x in X]
        if widths:
            model.set_dim("nI", widths[0])
    if model.layers:
        return
    if not model.has_dim("nI") or not model.has_dim("nO"):
        raise ValueError(Errors.E005)
    use_one_thread_in_forked_children()
    module = build_module(model.get_dim("nI"), model.get_dim("nO"), model)
    model.attrs["channels"] = [int(scorer.n_labels) for scorer in module.scorers]
    mixed_precision = bool(model.attrs["mixed_precision"])
    if mixed_precision and not isinstance(model.ops, CupyOps):
        # torch autocast and gradient scaling here are CUDA-only.
        warnings.warn(Warnings.W003)
        mixed_precision = False
    wrapper = PyTorchWrapper_v2(
        module,
        convert_inputs=_convert_inputs,
        convert_outputs=_convert_outputs,
        mixed_precision=mixed_precision,
        grad_scaler=grad_scaler if mixed_precision else None,
    )
    model._layers = [wrapper]


def _pair_forward(model: Model, X: PairInput, is_train: bool) -> Tuple[Any, Callable]:
    if not model.layers:
        raise ValueError(Errors.E006)
    if isinstance(X, tuple):
        vectors, cells = X
        if cells is None:
            Y, backprop_all = _pair_forward(model, vectors, is_train)
            return (Y, lambda dY: (backprop_all(dY), None))
        if is_train:
            raise ValueError(Errors.E023)
        return _gather_cells(model, vectors, cells), _no_backprop
    wrapper = model.layers[0]
    ops = model.ops
    layouts = layer_layouts(model)
    channels = model.attrs["channels"]
    lengths = [int(x.shape[0]) for x in X]
    Y: List[PairScores] = [tuple(ops.alloc3f(c, 0, 0) for c in channels) for _ in X]
    calls = []
    buckets = length_buckets(
        lengths,
        model.attrs["max_bucket_cells"],
        cells_per_doc=lambda n: n * sum(layout.n_columns(n) for layout in layouts),
        group=lambda n: tuple(layout.group(n) for layout in layouts),
    )
    for bucket in buckets:
        padded = ops.pad([X[i] for i in bucket])
        n_padded = int(padded.shape[1])
        bucket_lengths = ops.asarray1i([lengths[i] for i in bucket])
        outputs, backprop_bucket = wrapper((padded, bucket_lengths, layouts), is_train)
        for row, i in enumerate(bucket):
            Y[i] = tuple(
                out[row, :, : lengths[i], layout.doc_columns(lengths[i], n_padded)]
                for out, layout in zip(outputs, layouts)
            )
        calls.append((bucket, [out.shape for out in outputs], backprop_bucket))

    def backprop(dY: List[PairScores]) -> List[Floats2d]:
        dX: List[Floats2d] = [ops.alloc2f(*x.shape) for x in X]
        for bucket, shapes, backprop_bucket in calls:
            d_outputs = [ops.alloc(shape, dtype="float32") for shape in shapes]
            for row, i in enumerate(bucket):
                for d_out, d_doc in zip(d_outputs, dY[i]):
                    d_out[row, :, : d_doc.shape[1], : d_doc.shape[2]] = d_doc
            d_padded = backprop_bucket(tuple(d_outputs))
            for row, i in enumerate(bucket):
                dX[i] = d_padded[row, : lengths[i]]
        return dX

    return Y, backprop


def _gather_cells(
    model: Model, vectors: List[Floats2d], cells: List[DocCells]
) -> List[Tuple[Optional[Floats1d], ...]]:
    """Score only the listed cells of every doc (no gradient), through the wrapper."""
    wrapper = model.layers[0]
    ops = model.ops
    results: List[Tuple[Optional[Floats1d], ...]] = []
    for doc_vectors, doc_cells in zip(vectors, cells):
        if doc_vectors.shape[0] == 0 or all(c is None or len(c) == 0 for c in doc_cells):
            results.append(tuple(None if c is None else ops.alloc1f(0) for c in doc_cells))
            continue
        chosen = ChosenCells(
            ops.asarray2f(doc_vectors), tuple(None if c is None else ops.asarray(c, dtype="int64") for c in doc_cells)
        )
        results.append(wrapper.predict(chosen))
    return results


def _no_backprop(dY: Any) -> Any:
    raise ValueError(Errors.E023)


def _convert_inputs(
    model: Model, X: Union[Tuple[Floats3d, Ints1d, Sequence[PairLayout]], ChosenCells], is_train: bool
) -> Tuple[ArgsKwargs, Callable[[ArgsKwargs], Floats3d]]:
    device = model.shims[0].device
    if isinstance(X, ChosenCells):
        cells = [None if c is None else xp2torch(c, device=device) for c in X.cells]
        return ArgsKwargs(args=(xp2torch(X.vectors, device=device),), kwargs={"cells": cells}), _no_backprop
    padded, lengths, layouts = X
    inputs = xp2torch(padded, requires_grad=is_train, device=device)
    torch_lengths = xp2torch(lengths, device=device)

    def convert_gradient(d_inputs: ArgsKwargs) -> Floats3d:
        return cast(Floats3d, torch2xp(d_inputs.args[0]))

    return ArgsKwargs(args=(inputs, torch_lengths, layouts), kwargs={}), convert_gradient


def _convert_outputs(
    model: Model, inputs_outputs: Tuple[Any, Tuple[Optional["torch.Tensor"], ...]], is_train: bool
) -> Tuple[Tuple[Any, ...], Callable[[Tuple[Any, ...]], ArgsKwargs]]:
    _, outputs = inputs_outputs
    device = model.shims[0].device
    Y = tuple(None if out is None else torch2xp(out) for out in outputs)

    def convert_gradients(dY: Tuple[Any, ...]) -> ArgsKwargs:
        grads = tuple(xp2torch(d, device=device) for d in dY)
        return ArgsKwargs(args=(tuple(outputs),), kwargs={"grad_tensors": grads})

    return Y, convert_gradients


def first_output() -> Model[List[PairScores], List[Floats3d]]:
    """Unwrap single-scorer outputs: per doc, the one array instead of a 1-tuple."""
    return Model("first_output", _first_output_forward)


def _first_output_forward(
    model: Model, X: List[PairScores], is_train: bool
) -> Tuple[List[Floats3d], Callable]:
    def backprop(dY: List[Floats3d]) -> List[PairScores]:
        return [(d,) for d in dY]

    return [x[0] for x in X], backprop


def with_cells(tok2vec: Model, grad_scale: float = 1.0) -> Model:
    """Run tok2vec on the docs of `(docs, cells or None, ...)`, passing the rest along.

    Training passes `(docs, None)` (every cell), a relation decoder at
    inference `(docs, cells)` (its candidate pairs' cells): one model input.
    A relation head with span-pair scores takes `(docs, cells, pairs)`.
    grad_scale multiplies the gradient passed back to tok2vec: a relation head
    that shares its encoder with the entity head can send it less than its
    own loss's gradient (the backprop still runs at 0, because spaCy's shared
    tok2vec updates when its last listener calls back).
    """
    return Model(
        "with_cells",
        _with_cells_forward,
        init=_with_cells_init,
        layers=[tok2vec],
        dims={"nO": None},
        attrs={"grad_scale": float(grad_scale)},
    )


def _with_cells_init(model: Model, X: Optional[Any] = None, Y: Optional[Any] = None) -> None:
    docs = X[0] if isinstance(X, tuple) else X
    model.layers[0].initialize(X=docs)
    if model.layers[0].has_dim("nO"):
        model.set_dim("nO", model.layers[0].get_dim("nO"), force=True)


def _with_cells_forward(model: Model, X: Any, is_train: bool) -> Tuple[Any, Callable]:
    docs, rest = (X[0], tuple(X[1:]) or (None,)) if isinstance(X, tuple) else (X, (None,))
    cells = rest[0]
    vectors, backprop_vectors = model.layers[0](docs, is_train and cells is None)
    if cells is not None:
        return (vectors, *rest), _no_backprop

    scale = model.attrs.get("grad_scale", 1.0)

    def backprop(d_output: Any) -> Any:
        d_vectors = d_output[0] if isinstance(d_output, tuple) else d_output
        if scale != 1.0:
            d_vectors = [d * scale for d in d_vectors]
        return backprop_vectors(d_vectors)

    return (vectors, *rest), backprop


def with_span_pairs(pair_layer: Model, span_pair_scorer: Model) -> Model:
    """A pair layer and a span-pair scorer on the same token vectors.

    Input `(vectors, cells or None, pairs)`: the pair layer gets `(vectors,
    cells)` as ever, the scorer `(vectors, pairs)` (see `span_pairs.py`);
    `pairs` may be a function of the pair layer's outputs that returns them
    (pairs that depend on what the pair layer predicts).
    Output per doc: the pair layer's outputs, then the doc's span-pair scores
    (pairs, predicates). Gradients of both reach the vectors, summed.
    """
    return Model(
        "with_span_pairs",
        _with_span_pairs_forward,
        init=_with_span_pairs_init,
        layers=[pair_layer, span_pair_scorer],
    )


def _with_span_pairs_init(model: Model, X: Optional[Any] = None, Y: Optional[Any] = None) -> None:
    pair_layer, scorer = model.layers
    if X is None:
        pair_layer.initialize()
        scorer.initialize()
        return
    vectors, cells, pairs = X
    pair_layer.initialize(X=(vectors, cells))
    scorer.initialize(X=(vectors, pairs))


def _with_span_pairs_forward(model: Model, X: Any, is_train: bool) -> Tuple[Any, Callable]:
    vectors, cells, pairs = X
    pair_layer, scorer = model.layers
    pair_scores, backprop_pairs = pair_layer((vectors, cells), is_train)
    if callable(pairs):
        pairs = pairs(pair_scores)
    flat, backprop_flat = scorer((vectors, pairs), is_train)
    sizes = numpy.cumsum([0] + [len(p) for p in pairs])
    Y = [(*doc_scores, flat[sizes[i] : sizes[i + 1]]) for i, doc_scores in enumerate(pair_scores)]

    def backprop(dY: List[Tuple[Any, ...]]) -> Any:
        d_vectors, _ = backprop_pairs([d[:-1] for d in dY])
        d_flat = model.ops.xp.concatenate([d[-1] for d in dY]) if dY else flat[:0]
        d_from_pairs = backprop_flat(model.ops.as_contig(d_flat))
        return ([a + b for a, b in zip(d_vectors, d_from_pairs)], None, None)

    return Y, backprop
