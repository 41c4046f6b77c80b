"""The three ZLPR loss forms against a direct loop over cells."""
import math

import pytest
import torch

from spacy_globalpointer.losses import (
    multilabel_crossentropy,
    soft_multilabel_crossentropy,
    sparse_multilabel_crossentropy,
)


def reference_loss(scores, targets, mask=None):
    """log(1 + sum_neg e^s) + log(1 + sum_pos e^-s), one row at a time, in float64."""
    losses = []
    for r in range(scores.shape[0]):
        neg = pos = 0.0
        for c in range(scores.shape[1]):
            if mask is not None and not mask[r, c]:
                continue
            s = float(scores[r, c])
            if targets[r, c] > 0.5:
                pos += math.exp(-s)
            else:
                neg += math.exp(s)
        losses.append(math.log1p(neg) + math.log1p(pos))
    return torch.tensor(losses, dtype=torch.float32)


def reference_soft_loss(scores, targets, mask=None):
    losses = []
    for r in range(scores.shape[0]):
        neg = pos = 0.0
        for c in range(scores.shape[1]):
            if mask is not None and not mask[r, c]:
                continue
            s, t = float(scores[r, c]), float(targets[r, c])
            neg += (1 - t) * math.exp(s)
            pos += t * math.exp(-s)
        losses.append(math.log1p(neg) + math.log1p(pos))
    return torch.tensor(losses, dtype=torch.float32)


@pytest.fixture
def batch():
    gen = torch.Generator().manual_seed(0)
    scores = torch.randn(6, 17, generator=gen) * 3
    targets = (torch.rand(6, 17, generator=gen) < 0.2).float()
    targets[0] = 0.0  # a row without positives
    targets[1, :] = 1.0  # a row without negatives
    mask = torch.rand(6, 17, generator=gen) < 0.8
    mask[2] = False  # a fully masked row
    return scores, targets, mask


def test_dense_matches_loop(batch):
    scores, targets, mask = batch
    got = multilabel_crossentropy(scores, targets)
    assert torch.allclose(got, reference_loss(scores, targets), atol=1e-5)
    got_masked = multilabel_crossentropy(scores, targets, (mask & (targets < 0.5)) | (targets > 0.5))
    expected_masked = reference_loss(scores, targets, (mask & (targets < 0.5)) | (targets > 0.5))
    assert torch.allclose(got_masked, expected_masked, atol=1e-5)


def test_dense_masked_positives_are_ignored(batch):
    scores, targets, mask = batch
    got = multilabel_crossentropy(scores, targets, mask)
    assert torch.allclose(got, reference_loss(scores, targets, mask), atol=1e-5)
    assert got[2].item() == 0.0


def test_sparse_matches_dense(batch):
    scores, targets, _ = batch
    n_pos = int(targets.sum(-1).max())
    index = torch.full((scores.shape[0], n_pos), -1, dtype=torch.long)
    for r in range(scores.shape[0]):
        cols = torch.nonzero(targets[r]).flatten()
        index[r, : len(cols)] = cols
    got = sparse_multilabel_crossentropy(scores, index)
    expected = reference_loss(scores, targets)
    # Row 1 has no negatives: the sparse form clips log(0) at log(eps).
    keep = torch.arange(scores.shape[0]) != 1
    assert torch.allclose(got[keep], expected[keep], atol=1e-4)


def test_sparse_respects_mask(batch):
    scores, targets, mask = batch
    targets = targets * mask  # positives lie inside the mask
    targets[1] = 0
    targets[1, :3] = 1
    mask[1, :3] = True
    n_pos = int(targets.sum(-1).max())
    index = torch.full((scores.shape[0], n_pos), -1, dtype=torch.long)
    for r in range(scores.shape[0]):
        cols = torch.nonzero(targets[r]).flatten()
        index[r, : len(cols)] = cols
    got = sparse_multilabel_crossentropy(scores, index, mask)
    assert torch.allclose(got, reference_loss(scores, targets, mask), atol=1e-4)


def test_soft_matches_loop_and_dense(batch):
    scores, targets, mask = batch
    soft = torch.rand(scores.shape, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(
        soft_multilabel_crossentropy(scores, soft, mask),
        reference_soft_loss(scores, soft, mask),
        atol=1e-5,
    )
    # With hard 0/1 targets the soft form is the dense form.
    assert torch.allclose(
        soft_multilabel_crossentropy(scores, targets, mask),
        multilabel_crossentropy(scores, targets, mask),
        atol=1e-5,
    )


def test_soft_single_cell_optimum_is_sigmoid_2s():
    """The probability consistent with the loss is sigmoid(2 s)."""
    for t in (0.1, 0.5, 0.8):
        s = torch.zeros(1, 1, requires_grad=True)
        opt = torch.optim.LBFGS([s], max_iter=100)

        def closure():
            opt.zero_grad()
            loss = soft_multilabel_crossentropy(s, torch.tensor([[t]])).sum()
            loss.backward()
            return loss

        opt.step(closure)
        assert torch.sigmoid(2 * s).item() == pytest.approx(t, abs=1e-3)


@pytest.mark.parametrize("form", ["dense", "sparse", "soft"])
def test_gradients_are_finite_and_match_autograd_of_reference(batch, form):
    scores, targets, mask = batch
    scores = scores.clone().requires_grad_(True)
    if form == "dense":
        loss = multilabel_crossentropy(scores, targets, mask)
    elif form == "soft":
        loss = soft_multilabel_crossentropy(scores, targets, mask)
    else:
        index = torch.full((scores.shape[0], 17), -1, dtype=torch.long)
        t = targets * mask
        for r in range(scores.shape[0]):
            cols = torch.nonzero(t[r]).flatten()
            index[r, : len(cols)] = cols
        loss = sparse_multilabel_crossentropy(scores, index, mask)
    loss.sum().backward()
    assert torch.isfinite(scores.grad).all()
    assert (scores.grad[~mask] == 0).all()


def test_half_precision_inputs_are_computed_in_float32():
    scores = (torch.randn(3, 50) * 20).half()
    targets = (torch.rand(3, 50) < 0.1).float()
    loss = multilabel_crossentropy(scores, targets)
    assert loss.dtype == torch.float32
    assert torch.isfinite(loss).all()
    assert torch.allclose(loss, reference_loss(scores.float(), targets), atol=1e-3)
