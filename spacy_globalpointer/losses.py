"""The multilabel "softmax + cross-entropy" loss (ZLPR) in its three forms.

For one row of scores s (all cells of one label in one document, say) with a set
of positive cells P and negatives N, the loss is

    log(1 + sum_{j in N} exp(s_j)) + log(1 + sum_{i in P} exp(-s_i))

so that every positive is pushed above 0 and every negative below 0, with no
need to balance thousands of negatives against a handful of positives by hand.

All functions take scores of shape (..., C) and reduce the last axis, returning
one loss per row (shape (...)). They run in float32 whatever the input dtype,
so the same code is safe under mixed precision, and a boolean `mask` of the
scores' shape excludes padding and impossible cells (no -1e12 constants, which
overflow in half precision).
"""
from typing import Optional

import torch

Tensor = torch.Tensor


def _masked(values: Tensor, mask: Optional[Tensor]) -> Tensor:
    """Replace masked-out entries by -inf, so they vanish inside logsumexp."""
    if mask is None:
        return values
    return values.masked_fill(~mask, float("-inf"))


def _log1p_sum_exp(values: Tensor) -> Tensor:
    """log(1 + sum(exp(values))) along the last axis, stable for any range."""
    zeros = values.new_zeros(values.shape[:-1] + (1,))
    return torch.logsumexp(torch.cat([values, zeros], dim=-1), dim=-1)


def multilabel_crossentropy(
    scores: Tensor, targets: Tensor, mask: Optional[Tensor] = None
) -> Tensor:
    """Dense form: `targets` is multi-hot (1 = positive cell) of the scores' shape.

    scores (Tensor): logits, shape (..., C).
    targets (Tensor): 0/1 targets, shape (..., C).
    mask (Optional[Tensor]): bool, True where a cell takes part in the loss.
    RETURNS (Tensor): the loss of every row, shape (...).
    """
    scores = scores.float()
    positive = targets > 0.5
    if mask is not None:
        positive = positive & mask
        negative = mask & ~positive
    else:
        negative = ~positive
    neg_loss = _log1p_sum_exp(scores.masked_fill(~negative, float("-inf")))
    pos_loss = _log1p_sum_exp((-scores).masked_fill(~positive, float("-inf")))
    return neg_loss + pos_loss


def sparse_multilabel_crossentropy(
    scores: Tensor, positive_index: Tensor, mask: Optional[Tensor] = None
) -> Tensor:
    """Sparse form: positives are given as indices into the last axis.

    Only the positives are gathered, so a row of millions of cells with a few
    positives (the relation matrices) never needs a dense target. The negative
    term is log(1 + sum_all exp(s) - sum_pos exp(s)), computed in log space.

    scores (Tensor): logits, shape (..., C).
    positive_index (Tensor): int64, shape (..., P); -1 pads rows with fewer
        than P positives. Indices must be unique within a row.
    mask (Optional[Tensor]): bool, True where a cell takes part in the loss.
        Positives must lie inside the mask.
    RETURNS (Tensor): the loss of every row, shape (...).
    """
    scores = _masked(scores.float(), mask)
    padding = positive_index < 0
    gathered = torch.gather(scores, -1, positive_index.clamp(min=0))
    pos_loss = _log1p_sum_exp((-gathered).masked_fill(padding, float("-inf")))
    all_loss = _log1p_sum_exp(scores)
    # log(1 - sum_pos e^s / (1 + sum_all e^s)), clipped away from log(0): the
    # negatives' share can only vanish when every cell is a positive.
    pos_share = torch.logsumexp(gathered.masked_fill(padding, float("-inf")), dim=-1)
    eps = torch.finfo(torch.float32).eps
    aux = torch.clamp(1.0 - torch.exp(pos_share - all_loss), min=eps, max=1.0)
    return pos_loss + all_loss + torch.log(aux)


def soft_multilabel_crossentropy(
    scores: Tensor, targets: Tensor, mask: Optional[Tensor] = None
) -> Tensor:
    """Soft-label form: targets t in [0, 1] weight each cell's two terms.

    loss = log(1 + sum (1 - t) exp(s)) + log(1 + sum t exp(-s)). With 0/1
    targets it equals the dense form; for a single cell its minimum lies at
    s = log(t / (1 - t)) / 2, i.e. sigmoid(2 s) is the probability that this
    loss is consistent with.

    scores (Tensor): logits, shape (..., C).
    targets (Tensor): soft targets in [0, 1], shape (..., C).
    mask (Optional[Tensor]): bool, True where a cell takes part in the loss.
    RETURNS (Tensor): the loss of every row, shape (...).
    """
    scores = scores.float()
    targets = targets.float().clamp(0.0, 1.0)
    neg = scores + torch.log1p(-targets)  # log(1 - t) = -inf where t == 1
    pos = -scores + torch.log(targets)  # log(t) = -inf where t == 0
    neg = _masked(neg, mask)
    pos = _masked(pos, mask)
    return _log1p_sum_exp(neg) + _log1p_sum_exp(pos)
