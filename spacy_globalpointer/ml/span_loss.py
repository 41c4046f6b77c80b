"""The training loss of span bands: thinc arrays in, (loss, gradients) out.

The model hands over one (labels, n, W) band per document; documents of
similar size are padded together and the ZLPR loss runs in torch on the
device the scores live on, so the same code serves CPU and GPU.
"""
from typing import List, Sequence, Tuple

import torch
from thinc.api import get_array_module, torch2xp, xp2torch
from thinc.types import Floats3d

from ..losses import multilabel_crossentropy
from .models import length_buckets

# Upper bound on padded cells (docs x labels-rows x cells) in one loss call.
MAX_LOSS_CELLS = 1 << 22

Positive = Tuple[int, int, int]  # (label, start token, end offset within the band)


LOSS_ROWS = ("label", "doc")


def banded_span_loss(
    scores: Sequence[Floats3d],
    positives: Sequence[Sequence[Positive]],
    rows: str = "label",
) -> Tuple[float, List[Floats3d]]:
    """ZLPR loss summed over rows and divided by their number.

    With rows="label" (Su's GlobalPointer) every (doc, label) pair is a row:
    a label absent from a doc is a row of negatives only. With rows="doc" all
    labels' cells of a doc form one row, so every doc with an entity weighs
    its positives against all its negatives at once.

    scores (Sequence[Floats3d]): per doc, (labels, n, W) band; cells with
        start + offset >= n are ignored.
    positives (Sequence[Sequence[Positive]]): per doc, the gold cells.
    rows (str): "label" or "doc".
    RETURNS (Tuple[float, List[Floats3d]]): the mean loss and d(loss)/d(scores).
    """
    if rows not in LOSS_ROWS:
        raise ValueError(f"rows must be one of {LOSS_ROWS}, got {rows!r}")
    grads: List[Floats3d] = [_zeros_like(doc_scores) for doc_scores in scores]
    cell_counts = [int(s.shape[1] * s.shape[2]) for s in scores]
    n_rows = sum(
        int(s.shape[0]) if rows == "label" else 1
        for s, c in zip(scores, cell_counts)
        if c > 0
    )
    if n_rows == 0:
        return 0.0, grads
    total = 0.0
    n_labels = int(scores[0].shape[0])
    max_docs_cells = max(MAX_LOSS_CELLS // max(n_labels, 1), 1)
    for bucket in length_buckets(cell_counts, 1, max_docs_cells):
        leaves = [xp2torch(scores[i], requires_grad=True) for i in bucket]
        device = leaves[0].device
        width = max(cell_counts[i] for i in bucket)
        padded = leaves[0].new_zeros((len(bucket), n_labels, width))
        mask = torch.zeros((len(bucket), 1, width), dtype=torch.bool, device=device)
        targets = torch.zeros((len(bucket), n_labels, width), dtype=torch.bool, device=device)
        gold_index = []
        for row, (i, leaf) in enumerate(zip(bucket, leaves)):
            _, n_tokens, band_width = leaf.shape
            padded[row, :, : cell_counts[i]] = leaf.reshape(n_labels, -1)
            starts = torch.arange(n_tokens, device=device)[:, None]
            ends = starts + torch.arange(band_width, device=device)[None, :]
            mask[row, 0, : cell_counts[i]] = (ends < n_tokens).reshape(-1)
            for label, start, offset in positives[i]:
                gold_index.append((row, label, start * band_width + offset))
        if gold_index:
            index = torch.tensor(gold_index, dtype=torch.long, device=device)
            targets[index[:, 0], index[:, 1], index[:, 2]] = True
        mask = mask.expand_as(targets)
        if rows == "doc":
            padded, targets, mask = (t.reshape(len(bucket), 1, -1) for t in (padded, targets, mask))
        loss = multilabel_crossentropy(padded, targets, mask).sum() / n_rows
        loss.backward()
        total += float(loss.item())
        for i, leaf in zip(bucket, leaves):
            grads[i] = torch2xp(leaf.grad)
    return total, grads


def _zeros_like(array: Floats3d) -> Floats3d:
    return get_array_module(array).zeros_like(array)
