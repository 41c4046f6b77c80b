"""The batched band loss and the threshold calibrator."""
import numpy
import pytest
import torch

from spacy_globalpointer.calibration import ThresholdCalibrator, cell_decisions
from spacy_globalpointer.losses import multilabel_crossentropy
from spacy_globalpointer.layouts import PairLayout
from spacy_globalpointer.ml.pair_loss import pair_loss
from spacy_globalpointer.ml.torch_modules import MASKED_SCORE


def random_band(rng, n_labels, n_tokens, width):
    scores = rng.normal(size=(n_labels, n_tokens, width)).astype("float32") * 2
    ends = numpy.arange(n_tokens)[:, None] + numpy.arange(width)[None, :]
    scores[:, ends >= n_tokens] = MASKED_SCORE
    return scores


def reference(scores, positives, rows):
    """Loss and gradient, one doc at a time, with the dense loss on a flat row."""
    total, grads, n_rows = 0.0, [], 0
    for doc_scores, cells in zip(scores, positives):
        n_labels, n_tokens, width = doc_scores.shape
        if n_tokens == 0:
            grads.append(numpy.zeros_like(doc_scores))
            continue
        t = torch.tensor(doc_scores, requires_grad=True)
        target = torch.zeros_like(t)
        for label, start, offset in cells:
            target[label, start, offset] = 1
        ends = torch.arange(n_tokens)[:, None] + torch.arange(width)[None, :]
        mask = (ends < n_tokens).expand_as(t)
        if rows == "doc":
            loss = multilabel_crossentropy(t.reshape(1, -1), target.reshape(1, -1), mask.reshape(1, -1)).sum()
            n_rows += 1
        else:
            loss = multilabel_crossentropy(t.reshape(n_labels, -1), target.reshape(n_labels, -1), mask.reshape(n_labels, -1)).sum()
            n_rows += n_labels
        loss.backward()
        total += loss.item()
        grads.append(t.grad.numpy())
    return total / n_rows, [g / n_rows for g in grads]


@pytest.mark.parametrize("rows", ["label", "doc"])
def test_banded_loss_matches_per_doc_reference(rows):
    rng = numpy.random.default_rng(0)
    shapes = [(7, 7), (3, 3), (0, 0), (12, 5), (1, 1), (30, 5)]
    scores = [random_band(rng, 3, n, w) for n, w in shapes]
    positives = [[(0, 1, 2), (2, 1, 0)], [], [], [(1, 0, 4), (1, 11, 0)], [(2, 0, 0)], [(0, 29, 0)]]
    loss, grads = pair_loss(scores, positives, PairLayout.band(), rows=rows)
    expected_loss, expected_grads = reference(scores, positives, rows)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    for got, want in zip(grads, expected_grads):
        assert got.shape == want.shape
        assert numpy.allclose(got, want, atol=1e-6)


def test_banded_loss_rejects_unknown_rows():
    with pytest.raises(ValueError, match="rows must be one of"):
        pair_loss([numpy.zeros((1, 2, 2), dtype="float32")], [[]], PairLayout.band(), rows="cells")


def test_calibrator_finds_the_f1_optimal_threshold():
    rng = numpy.random.default_rng(0)
    calibrator = ThresholdCalibrator(decay=1.0)
    assert calibrator.best_threshold() is None
    for _ in range(20):
        scores = numpy.full((1, 40, 40), -6.0, dtype="float32")
        gold = [(0, i, 0) for i in range(0, 40, 4)]
        for label, start, offset in gold:
            scores[label, start, offset] = rng.uniform(-1.5, -0.5)  # all gold between -1.5 and -0.5
        for start in range(1, 40, 4):
            scores[0, start, 1] = rng.uniform(-3.0, -2.0)  # distractors further down
        calibrator.observe_decisions(*cell_decisions([scores], [gold], PairLayout.band(), calibrator.lowest))
    best = calibrator.best_threshold()
    assert -2.0 <= best <= -1.5


def test_listed_cells_loss_is_zlpr_over_the_listed_cells_of_each_doc():
    """One ZLPR row per doc with cells over channel 0's listed cells, the mean
    over those docs; the gradient lands on the listed cells only."""
    from spacy_globalpointer.ml.pair_loss import listed_cells_loss

    rng = numpy.random.default_rng(0)
    scores = [rng.normal(size=(1, 5, 4)).astype("float32"), numpy.zeros((1, 0, 0), "float32"),
              rng.normal(size=(1, 3, 3)).astype("float32")]
    cells = [numpy.asarray([1, 6, 13]), numpy.zeros((0,), "int64"), numpy.asarray([2])]
    positive = [numpy.asarray([True, False, True]), numpy.zeros((0,), bool), numpy.asarray([False])]
    loss, grads = listed_cells_loss(scores, cells, positive)
    expected, n_rows = 0.0, 0
    for doc_scores, doc_cells, doc_positive, grad in zip(scores, cells, positive, grads):
        assert grad.shape == doc_scores.shape
        if not len(doc_cells):
            assert not grad.any()
            continue
        t = torch.tensor(doc_scores.reshape(-1)[doc_cells], requires_grad=True)
        row = multilabel_crossentropy(t[None], torch.tensor(doc_positive)[None])
        row.sum().backward()
        expected += row.item()
        n_rows += 1
        want = numpy.zeros(doc_scores.size, "float32")
        want[doc_cells] = t.grad.numpy()
        assert numpy.allclose(grad.reshape(-1) * 2, want, atol=1e-6)  # 2 docs with cells
    assert loss == pytest.approx(expected / n_rows, rel=1e-5)
