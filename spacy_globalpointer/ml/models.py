"""Registered Thinc architectures: a token encoder, then pair-scoring heads.

- `GlobalPointer.v1` / `EfficientGlobalPointer.v1` (spans): per doc of n tokens
  a float32 array (labels, n, W), W = min(n, max_span_width): cell (l, i, k)
  scores the span of label l from token i to token i + k inclusive.
- `GPLinkerEvents.v1` / `.v2` (events): per doc (arguments, start links,
  end links), with v2's default span-pair link scorer also the link logits
  of the argument pairs it is given.
- `GPLinker.v1` / `.v2` (relations; v2 reads the tokens between a pair by
  default): per doc a tuple (heads, tails) of
  (predicates, n, C) arrays in the symmetric layout: heads[p, i, c] scores
  "a subject starting at i and an object starting at j(i, c) stand in relation
  p", tails the same for their last tokens (see `layouts.py`).

Cells outside the document hold `MASKED_SCORE`. The heads are built lazily by
`layers.pair_scores_layer`; the components set their layouts.
"""
from functools import partial
from typing import Dict, List, Optional, Type

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, chain
from thinc.shims import PyTorchGradScaler
from thinc.types import Floats2d, Floats3d

from ..layouts import PairLayout
from ..checks import check_int, check_number_in
from .layers import first_output, pair_scores_layer, with_cells, with_span_pairs
from .span_pairs import span_link_scorer, span_pair_scorer
from .torch_modules import (
    EfficientGlobalPointerHead,
    GlobalPointerHead,
    PairScorer,
    PairScorers,
    check_scorer_settings,
)

HEAD_CLASSES: Dict[str, Type[PairScorer]] = {
    "GlobalPointer": GlobalPointerHead,
    "EfficientGlobalPointer": EfficientGlobalPointerHead,
}


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
    head = span_head("GlobalPointer", head_size, use_rope, pooling_size, nO, mixed_precision, grad_scaler)
    return _with_tok2vec(tok2vec, head, chain(tok2vec, head, first_output()))


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
    head = span_head(
        "EfficientGlobalPointer", head_size, use_rope, pooling_size, nO, mixed_precision, grad_scaler
    )
    return _with_tok2vec(tok2vec, head, chain(tok2vec, head, first_output()))


@registry.architectures("spacy-globalpointer.GPLinker.v1")
def build_gplinker(
    tok2vec: Model[List[Doc], List[Floats2d]],
    head_size: int = 64,
    efficient: bool = True,
    use_rope: bool = False,
    span_pair_width: int = 128,
    encoder_grad_scale: float = 1.0,
    nO: Optional[int] = None,
    mixed_precision: bool = False,
    grad_scaler: Optional[PyTorchGradScaler] = None,
    span_pair_context: bool = False,
) -> Model:
    """GPLinker's relation heads: per predicate a head-pair and a tail-pair matrix.

    tok2vec (Model[List[Doc], List[Floats2d]]): the token encoder (usually a
        listener of the tok2vec the entity component also listens to).
    head_size (int): size of the start/end projections.
    efficient (bool): Efficient GlobalPointer form (one shared projection,
        per-predicate start/end biases; the default) or one projection per
        predicate (GlobalPointer form).
    use_rope (bool): off in GPLinker: subject and object may be far apart and
        in either order, so their relative position is no evidence.
    span_pair_width (int): if > 0 (default 128), also score each (subject,
        object) pair of spans from the mean vectors of their tokens through a
        hidden layer of this width (`span_pairs.py`): those scores decide (the
        cells see only boundary tokens; the component leaves them untrained
        unless its cell_loss_weight says otherwise); 0: the seeds' GPLinker
        form, where the cells decide.
    encoder_grad_scale (float): the share of the relation losses' gradient
        passed back to tok2vec (from 0 to 1; default 1.0). The seeds' cells,
        with losses summed over the predicates, send a shared encoder far
        more gradient than the entity loss (58-73x the squared norm of a pair
        classifier's on SciERC) and the entity head trains worse beside them;
        below 1 the encoder learns mostly for the entities and the relation
        head's own layers adapt (Adam scales their steps, not this). With span
        pairs deciding and row means, 0.1 kept DuIE's entity head better
        (59.5 against 54.8 entity F1) but cost SciERC 3.8 relation F1 and the
        relations sample 6.6, so the default is 1.0.
    nO (Optional[int]): number of predicates; set by the component if None.
    span_pair_context (bool): the span-pair scorer also reads the mean vector
        of the tokens between subject and object, their distance and their
        order (`span_pairs.span_pair_scorer`); needs span_pair_width > 0.
    RETURNS (Model): per doc, (heads, tails), each (predicates, n, C); given
        (docs, cells) instead of docs, the scores of those cells only. With
        span pairs the input is (docs, cells or None, pairs) and each doc's
        output ends with its pairs' scores (pairs, predicates).
    """
    kind = "EfficientGlobalPointer" if efficient else "GlobalPointer"
    check_scorer_settings(head_size, use_rope, 0)
    check_int("span_pair_width", span_pair_width, minimum=0)
    check_number_in("E038", encoder_grad_scale, 0, 1)
    encoder = with_cells(tok2vec, float(encoder_grad_scale))
    head = pair_scores_layer(
        "gplinker_head",
        partial(_build_scorers, n_fixed_channels=(None, None)),
        [PairLayout.symmetric(None)] * 2,
        nO=nO,
        mixed_precision=mixed_precision,
        grad_scaler=grad_scaler,
        attrs={"head_kind": kind, "head_size": head_size, "use_rope": use_rope, "pooling_size": 0},
    )
    if not span_pair_width:
        return _with_tok2vec(tok2vec, head, chain(encoder, head))
    scorer = span_pair_scorer(span_pair_width, nO, context=bool(span_pair_context))
    model = _with_tok2vec(tok2vec, head, chain(encoder, with_span_pairs(head, scorer)))
    model.set_ref("span_pairs", scorer)
    model.set_ref("span_pair_output", scorer.get_ref("output_layer"))
    return model


@registry.architectures("spacy-globalpointer.GPLinker.v2")
def build_gplinker_v2(
    tok2vec: Model[List[Doc], List[Floats2d]],
    head_size: int = 64,
    efficient: bool = True,
    use_rope: bool = False,
    span_pair_width: int = 128,
    encoder_grad_scale: float = 1.0,
    nO: Optional[int] = None,
    mixed_precision: bool = False,
    grad_scaler: Optional[PyTorchGradScaler] = None,
    span_pair_context: bool = True,
) -> Model:
    """GPLinker.v1 with span_pair_context on by default: the span-pair scorer
    also reads the mean vector of the tokens between subject and object,
    their distance and their order. On the CNN (1,500 steps, seeds 0-2) it
    lifted SciERC from 8.3 / 8.7 / 8.9 to 12.1 / 16.3 / 14.5 strict F1 and
    DuIE from a mean of 33.3 to 33.9 (project/benchmarks/results.md).

    Why a new version: spaCy fills a saved config's missing settings from the
    factory's default model when both name the same architecture, so a
    pipeline saved before span_pair_context existed (GPLinker.v1) must keep
    v1's default of False to load with the weights it was trained with.
    """
    return build_gplinker(
        tok2vec, head_size, efficient, use_rope, span_pair_width, encoder_grad_scale, nO, mixed_precision,
        grad_scaler, span_pair_context,
    )


@registry.architectures("spacy-globalpointer.GPLinkerEvents.v1")
def build_gplinker_events(
    tok2vec: Model[List[Doc], List[Floats2d]],
    head_size: int = 64,
    efficient: bool = True,
    pooling_size: int = 32,
    link_rope: bool = False,
    link_pair_width: int = 0,
    nO: Optional[int] = None,
    mixed_precision: bool = False,
    grad_scaler: Optional[PyTorchGradScaler] = None,
    link_encoder_grad_scale: float = 1.0,
) -> Model:
    """GPLinker's event heads: an argument GlobalPointer over (event type, role)
    labels (RoPE on, optional span pooling), and two single-channel link
    matrices over argument start tokens and over argument end tokens.

    link_rope (bool): RoPE on the link matrices too, so that a link score can
        depend on how far apart two arguments are (the arguments of one event
        usually lie near its trigger and each other; where a sentence holds
        two events of one type, the boundary tokens' own context, 4 tokens on
        the CNN, rarely reaches the other argument). False: GPLinker's form.
    link_pair_width (int): if > 0, also score each pair of argument spans
        from the mean vectors of the two spans and of the tokens between them
        and their distance, through a hidden layer of this width
        (`span_pairs.span_link_scorer`): those logits decide the links, the
        link cells still train beside them. 0: GPLinker's form, the cells
        decide.
    link_encoder_grad_scale (float): the share of the span-pair link loss's
        gradient passed back to tok2vec (0 to 1; v1's default 1.0). The
        scorer's loss, trained beside the argument head, cost DuEE about 1.5
        argument F1 at full share (both seeds, stop 26); at 0 the encoder
        learns from the argument and cell losses alone and the scorer reads
        its vectors as they are.
    RETURNS (Model): per doc, (arguments (labels, n, W), start links (1, n, C),
        end links (1, n, C)); with link_pair_width > 0 the input is (docs,
        None, pairs) and each doc's output ends with its pairs' link logits
        (pairs, 1).
    """
    kind = "EfficientGlobalPointer" if efficient else "GlobalPointer"
    check_scorer_settings(head_size, True, pooling_size)
    head = pair_scores_layer(
        "gplinker_events_head",
        partial(_build_scorers, n_fixed_channels=(None, 1, 1)),
        [PairLayout.band(None)] * 3,
        nO=nO,
        mixed_precision=mixed_precision,
        grad_scaler=grad_scaler,
        attrs={
            "head_kind": kind, "head_size": head_size, "use_rope": True, "pooling_size": pooling_size,
            "link_rope": bool(link_rope),
        },
    )
    check_int("link_pair_width", link_pair_width, minimum=0)
    if not link_pair_width:
        return _with_tok2vec(tok2vec, head, chain(tok2vec, head))
    check_number_in("E042", link_encoder_grad_scale, 0, 1)
    scorer = span_link_scorer(link_pair_width, float(link_encoder_grad_scale))
    model = _with_tok2vec(tok2vec, head, chain(with_cells(tok2vec), with_span_pairs(head, scorer)))
    model.set_ref("link_pairs", scorer)
    return model


@registry.architectures("spacy-globalpointer.GPLinkerEvents.v2")
def build_gplinker_events_v2(
    tok2vec: Model[List[Doc], List[Floats2d]],
    head_size: int = 64,
    efficient: bool = True,
    pooling_size: int = 32,
    link_rope: bool = False,
    link_pair_width: int = 128,
    nO: Optional[int] = None,
    mixed_precision: bool = False,
    grad_scaler: Optional[PyTorchGradScaler] = None,
    link_encoder_grad_scale: float = 0.0,
) -> Model:
    """GPLinkerEvents.v1 with the span-pair link scorer on by default
    (link_pair_width = 128): the links are decided from the two argument
    spans, the tokens between them and their distance. Its loss does not
    train the encoder by default (link_encoder_grad_scale = 0.0): at the full
    share the arguments lost about 1.5 F1 on DuEE (CNN, two seeds), at 0 they
    lost none of it and the links separated events as well (ROC AUC 0.93).
    Training only: a saved v2 pipeline decodes the same under either value.

    Why a new version: spaCy fills a saved config's missing settings from the
    factory's default model when both name the same architecture, so a
    pipeline saved before link_pair_width existed (GPLinkerEvents.v1, the
    link cells) must keep v1's default of 0 to load as it was trained.
    """
    return build_gplinker_events(
        tok2vec, head_size, efficient, pooling_size, link_rope, link_pair_width, nO, mixed_precision, grad_scaler,
        link_encoder_grad_scale,
    )


def span_head(
    head_kind: str,
    head_size: int,
    use_rope: bool,
    pooling_size: int,
    nO: Optional[int],
    mixed_precision: bool,
    grad_scaler: Optional[PyTorchGradScaler],
) -> Model:
    """One pair scorer in the band layout (the component sets its width)."""
    check_scorer_settings(head_size, use_rope, pooling_size)
    return pair_scores_layer(
        "globalpointer_head",
        partial(_build_scorers, n_fixed_channels=(None,)),
        [PairLayout.band(None)],
        nO=nO,
        mixed_precision=mixed_precision,
        grad_scaler=grad_scaler,
        attrs={
            "head_kind": head_kind,
            "head_size": head_size,
            "use_rope": use_rope,
            "pooling_size": pooling_size,
        },
    )


def _build_scorers(
    n_inputs: int, n_labels: int, model: Model, *, n_fixed_channels: tuple
) -> PairScorers:
    """One scorer per output; None channels = the layer's nO (labels or predicates).

    Pooling (spans only) goes to the first scorer; a scorer of fixed channels
    after it (the event links) has RoPE where the layer's "link_rope" says.
    """
    head_class = HEAD_CLASSES[model.attrs["head_kind"]]
    scorers = [
        head_class(
            n_inputs,
            n_labels if channels is None else channels,
            head_size=model.attrs["head_size"],
            use_rope=model.attrs["use_rope"] if k == 0 or channels is None else model.attrs.get("link_rope", False),
            pooling_size=model.attrs["pooling_size"] if k == 0 else 0,
        )
        for k, channels in enumerate(n_fixed_channels)
    ]
    return PairScorers(scorers)


def _with_tok2vec(tok2vec: Model, head: Model, model: Model) -> Model:
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("head", head)
    model.attrs["head_kind"] = head.attrs["head_kind"]
    return model
