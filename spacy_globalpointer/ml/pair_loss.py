"""The training loss of pair scores: thinc arrays in, (loss, gradients) out.

A head hands over one (channels, n, C) array per document in some `PairLayout`
(spans: a band; relation and event links: a symmetric band or the full
matrix). Documents of similar size are padded together and the ZLPR loss runs
in torch on the device the scores live on, so the same code serves CPU and
GPU, bands and full matrices. Cells the layout marks as padding (pairs that
leave the document) take no part.
"""
from collections import defaultdict
from typing import Dict, List, Sequence, Tuple

import numpy
import torch
from thinc.api import get_array_module, torch2xp, xp2torch
from thinc.types import Floats2d, Floats3d

from ..errors import Errors
from ..layouts import PairLayout
from ..losses import multilabel_crossentropy, sparse_multilabel_crossentropy
from .bucketing import length_buckets

# Upper bound on padded cells (docs x channel-rows x cells) in one loss call.
MAX_LOSS_CELLS = 1 << 22

Cell = Tuple[int, int, int]  # (channel, row token, column)

LOSS_ROWS = ("label", "doc")


def pair_loss(
    scores: Sequence[Floats3d],
    positives: Sequence[Sequence[Cell]],
    layout: PairLayout,
    rows: str = "label",
    sparse: bool = False,
    mean_over: str = "rows",
) -> Tuple[float, List[Floats3d]]:
    """ZLPR loss summed over rows, divided by their number (or by the docs').

    With rows="label" (Su's GlobalPointer) every (doc, channel) pair is a row:
    a channel absent from a doc is a row of negatives only. With rows="doc"
    all channels' cells of a doc form one row.

    scores (Sequence[Floats3d]): per doc, (channels, n, C) in `layout`.
    positives (Sequence[Sequence[Cell]]): per doc, the gold cells (unique).
    layout (PairLayout): how cells map to token pairs (padding is masked).
    rows (str): "label" or "doc".
    sparse (bool): pass positives as indices (the relation matrices: the
        dense target of n x n x predicates is never built); the same loss.
    mean_over (str): "rows" (mean over rows) or "docs" (sum over a doc's
        rows, mean over docs: GPLinker, where most predicate rows are empty).
    RETURNS (Tuple[float, List[Floats3d]]): the loss and d(loss)/d(scores).
    """
    if rows not in LOSS_ROWS:
        raise ValueError(Errors.E012.format(value=rows, options=list(LOSS_ROWS)))
    grads: List[Floats3d] = [get_array_module(s).zeros_like(s) for s in scores]
    cell_counts = [int(s.shape[1] * s.shape[2]) for s in scores]
    active = [c > 0 for c in cell_counts]
    if mean_over == "docs":
        divisor = sum(active)
    else:
        divisor = sum(int(s.shape[0]) if rows == "label" else 1 for s, a in zip(scores, active) if a)
    if divisor == 0:
        return 0.0, grads
    total = 0.0
    n_channels = int(scores[0].shape[0])
    max_docs_cells = max(MAX_LOSS_CELLS // max(n_channels, 1), 1)
    for bucket in length_buckets(cell_counts, max_docs_cells):
        leaves = [xp2torch(scores[i], requires_grad=True) for i in bucket]
        device = leaves[0].device
        width = max(cell_counts[i] for i in bucket)
        padded = leaves[0].new_zeros((len(bucket), n_channels, width))
        mask = torch.zeros((len(bucket), 1, width), dtype=torch.bool, device=device)
        gold: Dict[Tuple[int, int], List[int]] = defaultdict(list)
        for row, (i, leaf) in enumerate(zip(bucket, leaves)):
            _, n_tokens, n_columns = leaf.shape
            padded[row, :, : cell_counts[i]] = leaf.reshape(n_channels, -1)
            valid = layout.valid(
                n_tokens, n_tokens, lambda k: torch.arange(k, device=device), n_columns=n_columns
            )
            mask[row, 0, : cell_counts[i]] = valid.reshape(-1)
            for channel, start, column in positives[i]:
                gold[(row, channel)].append(start * n_columns + column)
        mask = mask.expand(len(bucket), n_channels, width)
        if sparse:
            loss = _sparse_rows(padded, mask, gold, rows).sum() / divisor
        else:
            loss = _dense_rows(padded, mask, gold, rows).sum() / divisor
        loss.backward()
        total += float(loss.item())
        for i, leaf in zip(bucket, leaves):
            grads[i] = torch2xp(leaf.grad)
    return total, grads


def _dense_rows(
    padded: torch.Tensor, mask: torch.Tensor, gold: Dict[Tuple[int, int], List[int]], rows: str
) -> torch.Tensor:
    targets = torch.zeros(padded.shape, dtype=torch.bool, device=padded.device)
    index = [(row, channel, cell) for (row, channel), cells in gold.items() for cell in cells]
    if index:
        at = torch.tensor(index, dtype=torch.long, device=padded.device)
        targets[at[:, 0], at[:, 1], at[:, 2]] = True
    if rows == "doc":
        padded, targets, mask = (t.reshape(t.shape[0], 1, -1) for t in (padded, targets, mask))
    return multilabel_crossentropy(padded, targets, mask)


def _sparse_rows(
    padded: torch.Tensor, mask: torch.Tensor, gold: Dict[Tuple[int, int], List[int]], rows: str
) -> torch.Tensor:
    n_docs, n_channels, width = padded.shape
    if rows == "doc":
        gold_rows: Dict[Tuple[int, int], List[int]] = defaultdict(list)
        for (row, channel), cells in gold.items():
            gold_rows[(row, 0)].extend(channel * width + cell for cell in cells)
        gold = gold_rows
        padded, mask = padded.reshape(n_docs, 1, -1), mask.reshape(n_docs, 1, -1)
    most = max((len(cells) for cells in gold.values()), default=0)
    index = torch.full(padded.shape[:2] + (max(most, 1),), -1, dtype=torch.long)
    for (row, channel), cells in gold.items():
        index[row, channel, : len(cells)] = torch.tensor(sorted(set(cells)), dtype=torch.long)
    return sparse_multilabel_crossentropy(padded, index.to(padded.device), mask)


def listed_pairs_loss(
    scores: Sequence[Floats2d], positives: Sequence[Sequence[Tuple[int, int]]], mean_over: str = "docs"
) -> Tuple[float, List[Floats2d]]:
    """ZLPR over listed pairs (a relation head's span-pair scores): per doc a
    (pairs, channels) array and its gold (pair, channel) entries; one row per
    (doc, channel) over the doc's pairs, summed over a doc's rows, mean over
    the docs with pairs (mean_over="docs", as `pair_loss`), or the mean over
    all those rows (mean_over="rows").

    RETURNS (Tuple[float, List[Floats2d]]): the loss and d(loss)/d(scores).
    """
    grads: List[Floats2d] = [get_array_module(s).zeros_like(s) for s in scores]
    with_pairs = [i for i, s in enumerate(scores) if s.shape[0] > 0]
    if not with_pairs:
        return 0.0, grads
    leaves = {i: xp2torch(scores[i], requires_grad=True) for i in with_pairs}
    first = leaves[with_pairs[0]]
    n_channels = int(first.shape[1])
    width = max(int(scores[i].shape[0]) for i in with_pairs)
    padded = first.new_zeros((len(with_pairs), n_channels, width))
    mask = torch.zeros((len(with_pairs), n_channels, width), dtype=torch.bool, device=first.device)
    gold: Dict[Tuple[int, int], List[int]] = defaultdict(list)
    for row, i in enumerate(with_pairs):
        n_pairs = int(scores[i].shape[0])
        padded[row, :, :n_pairs] = leaves[i].T
        mask[row, :, :n_pairs] = True
        for pair, channel in positives[i]:
            gold[(row, channel)].append(pair)
    divisor = len(with_pairs) * (n_channels if mean_over == "rows" else 1)
    loss = _dense_rows(padded, mask, gold, "label").sum() / divisor
    loss.backward()
    for i, leaf in leaves.items():
        grads[i] = torch2xp(leaf.grad)
    return float(loss.item()), grads


def listed_cells_loss(
    scores: Sequence[Floats3d], cells: Sequence[numpy.ndarray], positive: Sequence[numpy.ndarray]
) -> Tuple[float, List[Floats3d]]:
    """ZLPR over chosen cells of each doc's first channel (`listed_pairs_loss`:
    one row per doc with cells, the mean over those docs), with the gradient
    in the scores' own shape.

    Why: the full-matrix loss of a link matrix learns mostly that tokens which
    are no argument do not link; a second loss over the cells decoding will
    actually read (pairs of arguments) trains the decision it makes.

    scores (Sequence[Floats3d]): per doc, (channels, n, C).
    cells (Sequence[numpy.ndarray]): per doc, unique flat indices
        (row * C + column) into channel 0.
    positive (Sequence[numpy.ndarray]): per doc, one bool per cell.
    RETURNS (Tuple[float, List[Floats3d]]): the loss and d(loss)/d(scores).
    """
    picked: List[Floats2d] = []
    for doc_scores, doc_cells in zip(scores, cells):
        xp = get_array_module(doc_scores)
        flat = doc_scores.reshape(doc_scores.shape[0], -1)
        picked.append(xp.ascontiguousarray(flat[0, xp.asarray(doc_cells, dtype="int64")].reshape(-1, 1)))
    gold = [[(int(k), 0) for k in numpy.flatnonzero(doc_positive)] for doc_positive in positive]
    loss, d_picked = listed_pairs_loss(picked, gold, mean_over="docs")
    grads: List[Floats3d] = []
    for doc_scores, doc_cells, d_doc in zip(scores, cells, d_picked):
        xp = get_array_module(doc_scores)
        d_flat = xp.zeros((doc_scores.shape[0], doc_scores.shape[1] * doc_scores.shape[2]), dtype=doc_scores.dtype)
        if len(doc_cells):
            d_flat[0, xp.asarray(doc_cells, dtype="int64")] = d_doc[:, 0]
        grads.append(d_flat.reshape(doc_scores.shape))
    return loss, grads
