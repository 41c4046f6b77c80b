"""Decoding span scores: one parallel threshold, no CRF, no dynamic programming.

Works on the banded layout (labels, n, W) of `ml.torch_modules`, on numpy or
cupy arrays; only the (few) hits leave the device.
"""
import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy
from thinc.api import get_array_module
from thinc.types import Floats3d

from .layouts import PairLayout


@dataclass
class DecodedSpans:
    """Spans of one document, sorted by (start, end, label). `ends` are exclusive."""

    labels: numpy.ndarray
    starts: numpy.ndarray
    ends: numpy.ndarray
    logits: numpy.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, keep: numpy.ndarray) -> "DecodedSpans":
        """The spans `keep` selects (a bool mask or sorted indices), in the same order."""
        return DecodedSpans(self.labels[keep], self.starts[keep], self.ends[keep], self.logits[keep])


def max_spans_for(n_tokens: int, max_spans_per_token: float) -> int:
    """Cap on predicted spans in a doc of n tokens: an untrained model can't explode."""
    return int(math.ceil(max_spans_per_token * n_tokens)) + 4


def decode_band(
    scores: Floats3d,
    threshold: float,
    max_spans: Optional[int] = None,
    boundary_ok: Optional[numpy.ndarray] = None,
) -> DecodedSpans:
    """Every cell above `threshold` is a span; keep the `max_spans` best if more.

    scores (Floats3d): (labels, n, W) band of one document.
    threshold (float): logit threshold (0.0 is the loss's decision boundary).
    max_spans (Optional[int]): keep at most this many spans, best first.
    boundary_ok (Optional[numpy.ndarray]): bool (n,); a span may only start
        and end on tokens marked True (used to keep whitespace tokens out).
    RETURNS (DecodedSpans): the spans, on the CPU.
    """
    xp = get_array_module(scores)
    n_labels, n_tokens, band_width = scores.shape
    ends = PairLayout.band().pair_ends(n_tokens, n_tokens, xp.arange, n_columns=band_width)
    valid = ends < n_tokens
    if boundary_ok is not None and n_tokens:
        ok = xp.asarray(boundary_ok, dtype=bool)
        valid &= ok[:, None] & ok[xp.minimum(ends, n_tokens - 1)]
    hits = (scores > threshold) & valid[None, :, :]
    label_idx, start_idx, offset_idx = xp.nonzero(hits)
    logits = scores[label_idx, start_idx, offset_idx]
    if max_spans is not None and logits.shape[0] > max_spans:
        best = xp.argpartition(-logits, max_spans - 1)[:max_spans]
        label_idx, start_idx, offset_idx = label_idx[best], start_idx[best], offset_idx[best]
        logits = logits[best]
    labels = to_numpy(label_idx).astype("int64")
    starts = to_numpy(start_idx).astype("int64")
    span_ends = starts + to_numpy(offset_idx).astype("int64") + 1
    logits_np = to_numpy(logits).astype("float32")
    order = numpy.lexsort((labels, span_ends, starts))
    return DecodedSpans(labels[order], starts[order], span_ends[order], logits_np[order])


def best_non_overlapping(
    spans: DecodedSpans, occupied: Optional[numpy.ndarray] = None, groups: Optional[numpy.ndarray] = None
) -> numpy.ndarray:
    """Indices of a greedy best-first set of non-overlapping spans (doc.ents;
    the events' arguments of one label in one window).

    Spans are taken by descending logit (ties: longer first, then earlier);
    a span is kept if none of its tokens is taken yet. Tokens marked in
    `occupied` (entities set earlier in the pipeline) are never taken.
    groups: per span a group key (an int or a row of ints); spans only
    compete with those of their own group. None: all spans compete. The
    order depends on the logits alone, so the spans kept over a higher
    threshold are those kept at a lower one that pass it.
    """
    if len(spans) == 0:
        return numpy.zeros((0,), dtype="int64")
    if groups is not None:
        keys = numpy.asarray(groups).reshape(len(spans), -1)
        group_of = numpy.unique(keys, axis=0, return_inverse=True)[1].reshape(-1)
        by_group = numpy.argsort(group_of, kind="stable")
        bounds = numpy.cumsum(numpy.bincount(group_of))[:-1]
        keep = [members[best_non_overlapping(spans.subset(members), occupied)] for members in numpy.split(by_group, bounds)]
        return numpy.sort(numpy.concatenate(keep))
    lengths = spans.ends - spans.starts
    order = numpy.lexsort((spans.starts, -lengths, -spans.logits))
    # Tokens from the first span's start on: a group late in a long doc needs no more.
    first = int(spans.starts.min())
    taken = numpy.zeros((int(spans.ends.max()) - first,), dtype=bool)
    if occupied is not None:
        marked = occupied[first : first + len(taken)]
        taken[: len(marked)] = marked
    keep = []
    for i in order:
        start, end = spans.starts[i] - first, spans.ends[i] - first
        if not taken[start:end].any():
            taken[start:end] = True
            keep.append(i)
    return numpy.sort(numpy.asarray(keep, dtype="int64"))


def span_probability(logits: numpy.ndarray) -> numpy.ndarray:
    """sigmoid(2 s): the probability consistent with the ZLPR loss (see losses.py)."""
    return 1.0 / (1.0 + numpy.exp(-2.0 * logits.astype("float64")))


def to_numpy(array) -> numpy.ndarray:
    """The array on the CPU: numpy as is, cupy copied over (only small results leave the device)."""
    if isinstance(array, numpy.ndarray):
        return array
    return array.get()  # cupy


def linked_groups(
    n_nodes: int, links: Sequence[Tuple[int, int]], max_groups: int = 1000
) -> List[Tuple[int, ...]]:
    """The maximal cliques of a graph (GPLinker's events), each sorted, at most `max_groups`.

    Every node is in at least one group (an unlinked node is a group of its
    own). networkx's clique search (Bron-Kerbosch with pivoting) is fast on
    the sparse graphs trained models produce and on the one dense clique an
    untrained model produces; `max_groups` bounds the pathological cases.
    """
    import networkx

    graph = networkx.Graph()
    graph.add_nodes_from(range(n_nodes))
    graph.add_edges_from((a, b) for a, b in links if a != b)
    groups = []
    for clique in networkx.find_cliques(graph):
        groups.append(tuple(sorted(clique)))
        if len(groups) >= max_groups:
            break
    return sorted(groups)
