"""Registered Thinc architectures: tok2vec >> a GlobalPointer head.

The head's output for a document of n tokens is a float32 array of shape
(labels, n, W) with W = min(n, max_span_width): cell (l, i, k) scores the span
of label l from token i to token i + k inclusive (see `torch_modules`). Cells
past the end of the document hold `MASKED_SCORE`.
"""
import warnings
from functools import partial
from typing import Callable, List, Optional, Sequence, Tuple, Type, cast

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import (
    ArgsKwargs,
    CupyOps,
    Model,
    PyTorchWrapper_v2,
    chain,
    torch2xp,
    xp2torch,
)
from thinc.shims import PyTorchGradScaler
from thinc.types import Floats2d, Floats3d, Floats4d, Ints1d

from ..errors import Errors, Warnings
from .fork_safety import use_one_thread_in_forked_children
from .torch_modules import EfficientGlobalPointerHead, GlobalPointerHead, head_band_width

try:  # The head needs torch; say so clearly rather than fail deep inside thinc.
    import torch
except ImportError as error:  # pragma: no cover
    raise ImportError(Errors.E001) from error

HEAD_CLASSES = {
    "GlobalPointer": GlobalPointerHead,
    "EfficientGlobalPointer": EfficientGlobalPointerHead,
}

# Upper bound on padded cells (docs x tokens x band) per head call: keeps one
# long document from being padded together with many short ones.
DEFAULT_MAX_BUCKET_CELLS = 1 << 21


@registry.architectures("spacy-globalpointer.GlobalPointer.v1")
def build_globalpointer(
    tok2vec: Model[List[Doc], List[Floats2d]],
    head_size: int = 64,
    use_rope: bool = True,
    pooling_size: int = 0,
    nO: Optional[int] = None,
    mixed_precision: bool = False,
    grad_scaler: Optional[PyTorchGradScaler] = None,
) -> Model[List[Doc], List[Floats3d]]:
    """GlobalPointer: per label a start and an end projection of `head_size`.

    tok2vec (Model[List[Doc], List[Floats2d]]): any spaCy token encoder, e.g.
        spacy.Tok2Vec.v2, a Tok2VecListener or a TransformerListener.
    head_size (int): size of each start/end projection.
    use_rope (bool): rotary position embedding on the projections (switch off
        only for the ablation).
    pooling_size (int): if > 0, add per label a linear score of the mean- and
        max-pooled (size-dim projection of the) tokens inside the span, so
        that long spans are judged by their middle too (0: pure GlobalPointer).
    nO (Optional[int]): number of labels; set by the component if None.
    mixed_precision (bool): run the head under torch autocast on GPU.
    grad_scaler (Optional[PyTorchGradScaler]): gradient scaler for mixed precision.
    RETURNS (Model[List[Doc], List[Floats3d]]): per doc, (labels, n, W) span scores.
    """
    head = pointer_head(
        "GlobalPointer", head_size, use_rope, nO, mixed_precision, grad_scaler, pooling_size
    )
    return _with_tok2vec(tok2vec, head)


@registry.architectures("spacy-globalpointer.EfficientGlobalPointer.v1")
def build_efficient_globalpointer(
    tok2vec: Model[List[Doc], List[Floats2d]],
    head_size: int = 64,
    use_rope: bool = True,
    pooling_size: int = 0,
    nO: Optional[int] = None,
    mixed_precision: bool = False,
    grad_scaler: Optional[PyTorchGradScaler] = None,
) -> Model[List[Doc], List[Floats3d]]:
    """Efficient GlobalPointer: one shared start/end projection plus per-label biases.

    Same arguments and output as GlobalPointer.v1, with far fewer parameters
    per label (2 * 2 * head_size instead of 2 * head_size * nI).
    """
    head = pointer_head(
        "EfficientGlobalPointer", head_size, use_rope, nO, mixed_precision, grad_scaler, pooling_size
    )
    return _with_tok2vec(tok2vec, head)


def _with_tok2vec(tok2vec: Model, head: Model) -> Model[List[Doc], List[Floats3d]]:
    model = chain(tok2vec, head)
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("head", head)
    model.attrs["head_kind"] = head.attrs["head_kind"]
    return model


def pointer_head(
    head_kind: str,
    head_size: int,
    use_rope: bool,
    nO: Optional[int],
    mixed_precision: bool,
    grad_scaler: Optional[PyTorchGradScaler],
    pooling_size: int = 0,
) -> Model[List[Floats2d], List[Floats3d]]:
    """The PyTorch head as a Thinc layer, built once nI and nO are known.

    The wrapped torch module is created in `init` (its size depends on the
    labels), so a component must call `ensure_head_built` with the saved
    dimensions before loading weights into an uninitialised pipeline.
    """
    if head_kind not in HEAD_CLASSES:
        raise ValueError(Errors.E004.format(kind=head_kind, options=sorted(HEAD_CLASSES)))
    return Model(
        "globalpointer_head",
        _head_forward,
        init=partial(_head_init, grad_scaler=grad_scaler),
        dims={"nI": None, "nO": nO},
        attrs={
            "head_kind": head_kind,
            "head_size": head_size,
            "use_rope": use_rope,
            "pooling_size": pooling_size,
            "max_span_width": None,
            "max_bucket_cells": DEFAULT_MAX_BUCKET_CELLS,
            "mixed_precision": mixed_precision,
        },
    )


def ensure_head_built(head: Model) -> None:
    """Create the wrapped torch module from the head's dims, if it is missing.

    Called by the component before it loads weights into a fresh pipeline, so
    that the model's structure matches the saved one.
    """
    if not head.layers:
        head.initialize()


def _head_init(
    model: Model,
    X: Optional[List[Floats2d]] = None,
    Y: Optional[List[Floats3d]] = None,
    *,
    grad_scaler: Optional[PyTorchGradScaler] = None,
) -> None:
    if X is not None and not model.has_dim("nI"):
        widths = [x.shape[1] for x in X]
        if widths:
            model.set_dim("nI", widths[0])
    if Y is not None and not model.has_dim("nO"):
        model.set_dim("nO", Y[0].shape[0])
    if model.layers:
        return
    if not model.has_dim("nI") or not model.has_dim("nO"):
        raise ValueError(Errors.E005)
    use_one_thread_in_forked_children()
    module_class: Type[torch.nn.Module] = HEAD_CLASSES[model.attrs["head_kind"]]
    module = module_class(
        model.get_dim("nI"),
        model.get_dim("nO"),
        head_size=model.attrs["head_size"],
        use_rope=model.attrs["use_rope"],
        pooling_size=model.attrs["pooling_size"],
    )
    mixed_precision = bool(model.attrs["mixed_precision"])
    if mixed_precision and not isinstance(model.ops, CupyOps):
        # torch autocast and gradient scaling here are CUDA-only.
        warnings.warn(Warnings.W003)
        mixed_precision = False
    wrapper = PyTorchWrapper_v2(
        module,
        convert_inputs=_convert_inputs,
        mixed_precision=mixed_precision,
        grad_scaler=grad_scaler if mixed_precision else None,
    )
    model._layers = [wrapper]


def _head_forward(
    model: Model, X: List[Floats2d], is_train: bool
) -> Tuple[List[Floats3d], Callable]:
    if not model.layers:
        raise ValueError(Errors.E006)
    wrapper = model.layers[0]
    ops = model.ops
    n_labels = model.get_dim("nO")
    max_span_width = model.attrs["max_span_width"]
    lengths = [int(x.shape[0]) for x in X]
    Y: List[Floats3d] = [ops.alloc3f(n_labels, 0, 0) for _ in X]
    calls = []
    for bucket in length_buckets(lengths, max_span_width, model.attrs["max_bucket_cells"]):
        padded = ops.pad([X[i] for i in bucket])
        band_width = head_band_width(padded.shape[1], max_span_width)
        bucket_lengths = ops.asarray1i([lengths[i] for i in bucket])
        scores, backprop_bucket = wrapper((padded, bucket_lengths, band_width), is_train)
        for row, i in enumerate(bucket):
            n_tokens = lengths[i]
            Y[i] = scores[row, :, :n_tokens, : head_band_width(n_tokens, max_span_width)]
        calls.append((bucket, scores.shape, backprop_bucket))

    def backprop(dY: List[Floats3d]) -> List[Floats2d]:
        dX: List[Floats2d] = [ops.alloc2f(*x.shape) for x in X]
        for bucket, shape, backprop_bucket in calls:
            d_scores = cast(Floats4d, ops.alloc4f(*shape))
            for row, i in enumerate(bucket):
                n_tokens, width = dY[i].shape[1], dY[i].shape[2]
                d_scores[row, :, :n_tokens, :width] = dY[i]
            d_padded = backprop_bucket(d_scores)
            for row, i in enumerate(bucket):
                dX[i] = d_padded[row, : lengths[i]]
        return dX

    return Y, backprop


def _convert_inputs(
    model: Model, X: Tuple[Floats3d, Ints1d, int], is_train: bool
) -> Tuple[ArgsKwargs, Callable[[ArgsKwargs], Floats3d]]:
    padded, lengths, band_width = X
    device = model.shims[0].device
    inputs = xp2torch(padded, requires_grad=is_train, device=device)
    torch_lengths = xp2torch(lengths, device=device)

    def convert_gradient(d_inputs: ArgsKwargs) -> Floats3d:
        return cast(Floats3d, torch2xp(d_inputs.args[0]))

    return ArgsKwargs(args=(inputs, torch_lengths, band_width), kwargs={}), convert_gradient


def length_buckets(
    lengths: Sequence[int], max_span_width: Optional[int], max_cells: int
) -> List[List[int]]:
    """Group non-empty docs by length so that padding wastes little.

    A bucket closes when the next (longer) doc is more than 25% + 8 tokens
    longer than its shortest doc, or when its padded band would exceed
    `max_cells`; a single document always forms a bucket of its own, whatever
    its size, so nothing is ever truncated.
    """
    order = sorted((i for i, n in enumerate(lengths) if n > 0), key=lambda i: lengths[i])
    buckets: List[List[int]] = []
    current: List[int] = []
    for i in order:
        n_tokens = lengths[i]
        if current:
            shortest = lengths[current[0]]
            cells = (len(current) + 1) * n_tokens * head_band_width(n_tokens, max_span_width)
            if n_tokens > shortest * 1.25 + 8 or cells > max_cells:
                buckets.append(current)
                current = []
        current.append(i)
    if current:
        buckets.append(current)
    return buckets
