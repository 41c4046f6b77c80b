"""Choosing the decision threshold on training batches, never on dev answers.

A GlobalPointer trained with the ZLPR loss tends to be under-confident on
hard spans: on CMeEE the F1-optimal logit threshold was below 0 even on its
own training data. The calibrator watches the scores that training computes
anyway (before each update, so a batch is scored by a model that has not yet
learned from it in this step), keeps decayed counts of how many candidate
cells and how many gold cells lie above each threshold of a grid, and picks
the threshold with the best span F1. It costs no extra forward pass.
"""
from typing import List, Optional, Sequence, Tuple

import numpy
from thinc.api import get_array_module
from thinc.types import Floats3d

from .decoding import band_ends, to_numpy


class ThresholdCalibrator:
    """Decayed counts of cells above each candidate threshold, on training batches.

    low, high, step (float): the grid of thresholds considered (logits).
    decay (float): weight kept by old counts at each batch (0.98 ~ 50 batches).
    min_gold (float): no threshold is proposed before this many gold cells.
    """

    def __init__(
        self,
        low: float = -4.0,
        high: float = 2.0,
        step: float = 0.05,
        decay: float = 0.98,
        min_gold: float = 50.0,
    ) -> None:
        self.grid = numpy.round(numpy.arange(low, high + step / 2, step), 6)
        self.decay = decay
        self.min_gold = min_gold
        self.predicted_above = numpy.zeros_like(self.grid)
        self.gold_above = numpy.zeros_like(self.grid)
        self.n_gold = 0.0

    def observe(
        self, scores: Sequence[Floats3d], gold_cells: Sequence[Sequence[Tuple[int, int, int]]]
    ) -> None:
        """Count the batch's cells; gold_cells are (label, start, offset) per doc."""
        self.predicted_above *= self.decay
        self.gold_above *= self.decay
        self.n_gold *= self.decay
        low = float(self.grid[0])
        candidates: List[numpy.ndarray] = []
        golds: List[numpy.ndarray] = []
        for doc_scores, cells in zip(scores, gold_cells):
            n_labels, n_tokens, band_width = doc_scores.shape
            if n_tokens == 0:
                continue
            xp = get_array_module(doc_scores)
            hits = (doc_scores > low) & (band_ends(xp, n_tokens, band_width) < n_tokens)[None, :, :]
            candidates.append(to_numpy(doc_scores[hits]))
            if cells:
                index = numpy.asarray(cells, dtype="int64").T
                golds.append(to_numpy(doc_scores[tuple(xp.asarray(i) for i in index)]))
        self.predicted_above += _count_above(candidates, self.grid)
        self.gold_above += _count_above(golds, self.grid)
        self.n_gold += float(sum(len(g) for g in golds))

    def best_threshold(self) -> Optional[float]:
        """The grid threshold with the best F1 so far, or None with too little data."""
        if self.n_gold < self.min_gold:
            return None
        f1 = 2 * self.gold_above / numpy.maximum(self.predicted_above + self.n_gold, 1e-9)
        best = numpy.flatnonzero(f1 >= f1.max() - 1e-12)
        # Among ties, stay closest to the loss's own boundary at 0.
        return float(self.grid[best[numpy.argmin(numpy.abs(self.grid[best]))]])


def _count_above(values: List[numpy.ndarray], grid: numpy.ndarray) -> numpy.ndarray:
    if not values:
        return numpy.zeros_like(grid)
    flat = numpy.sort(numpy.concatenate([v.ravel() for v in values]))
    return (flat.shape[0] - numpy.searchsorted(flat, grid, side="right")).astype("float64")
