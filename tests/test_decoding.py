"""Decoding hand-made logits."""
import numpy

from spacy_globalpointer.decoding import (
    best_non_overlapping,
    decode_band,
    max_spans_for,
    span_probability,
)
from spacy_globalpointer.ml.torch_modules import MASKED_SCORE


def band(n_labels, n_tokens, width, cells):
    """A band full of -5 with the given (label, start, end_inclusive) -> logit cells."""
    scores = numpy.full((n_labels, n_tokens, width), -5.0, dtype="float32")
    for (label, start, end), logit in cells.items():
        scores[label, start, end - start] = logit
    ends = numpy.arange(n_tokens)[:, None] + numpy.arange(width)[None, :]
    scores[:, ends >= n_tokens] = MASKED_SCORE
    return scores


def test_threshold_nested_and_sorted():
    scores = band(2, 6, 6, {(0, 1, 3): 2.0, (1, 2, 2): 0.5, (0, 4, 4): -0.5, (1, 1, 3): 1.0})
    spans = decode_band(scores, threshold=0.0)
    assert list(zip(spans.labels, spans.starts, spans.ends)) == [(0, 1, 4), (1, 1, 4), (1, 2, 3)]
    assert numpy.allclose(spans.logits, [2.0, 1.0, 0.5])
    lower = decode_band(scores, threshold=-1.0)
    assert (0, 4, 5) in list(zip(lower.labels, lower.starts, lower.ends))


def test_cells_past_the_end_are_never_decoded():
    scores = numpy.full((1, 3, 3), 9.0, dtype="float32")  # even garbage above threshold
    spans = decode_band(scores, threshold=0.0)
    assert all(end <= 3 for end in spans.ends)
    assert len(spans) == 6  # the 6 spans of a 3-token doc


def test_cap_keeps_the_best_spans():
    scores = numpy.full((3, 50, 50), 1.0, dtype="float32")  # an untrained model: all positive
    scores[2, 10, 5] = 7.0
    cap = max_spans_for(50, 1.0)
    spans = decode_band(scores, threshold=0.0, max_spans=cap)
    assert len(spans) == cap == 54
    assert (2, 10, 16) in list(zip(spans.labels, spans.starts, spans.ends))


def test_boundary_mask_keeps_spans_off_whitespace():
    scores = band(1, 4, 4, {(0, 0, 1): 3.0, (0, 2, 3): 3.0, (0, 3, 3): 3.0})
    spans = decode_band(scores, 0.0, boundary_ok=numpy.array([True, True, True, False]))
    assert list(zip(spans.starts, spans.ends)) == [(0, 2)]


def test_best_non_overlapping():
    scores = band(2, 8, 8, {(0, 0, 3): 1.0, (1, 2, 2): 3.0, (0, 4, 6): 2.0, (1, 6, 7): 2.5})
    spans = decode_band(scores, 0.0)
    kept = best_non_overlapping(spans)
    picked = [(spans.starts[i], spans.ends[i]) for i in kept]
    assert picked == [(2, 3), (6, 8)]
    occupied = numpy.zeros(8, dtype=bool)
    occupied[2] = True
    kept = best_non_overlapping(spans, occupied=occupied)
    assert [(spans.starts[i], spans.ends[i]) for i in kept] == [(6, 8)]


def test_empty_doc_and_probability_scale():
    spans = decode_band(numpy.zeros((2, 0, 0), dtype="float32"), 0.0, max_spans=4)
    assert len(spans) == 0
    assert len(best_non_overlapping(spans)) == 0
    assert numpy.allclose(span_probability(numpy.array([0.0, 1.0])), [0.5, 1 / (1 + numpy.exp(-2))])
