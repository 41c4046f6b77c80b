"""The PyTorch heads: RoPE, banded vs dense scores, EGP, fp16 safety, linear cost."""
import pytest
import torch

from spacy_globalpointer.ml.bucketing import length_buckets
from spacy_globalpointer.layouts import PairLayout
from spacy_globalpointer.ml.torch_modules import (
    MASKED_SCORE,
    EfficientGlobalPointerHead,
    GlobalPointerHead,
    band_max,
    band_mean,
    banded_scores,
    rotary_position_embedding,
)


def test_rope_score_depends_on_distance_only():
    torch.manual_seed(0)
    q = torch.randn(16).expand(30, 16)
    k = torch.randn(16).expand(30, 16)
    positions = torch.arange(30)
    rq = rotary_position_embedding(q, positions)
    rk = rotary_position_embedding(k, positions)
    scores = rq @ rk.T
    for distance in (0, 1, 5, 17):
        diagonal = torch.diagonal(scores, offset=distance)
        assert torch.allclose(diagonal, diagonal[0].expand_as(diagonal), atol=1e-4)
    # ... and RoPE really does depend on the distance.
    assert not torch.allclose(torch.diagonal(scores, 0)[0], torch.diagonal(scores, 3)[0])


def test_rope_is_a_rotation():
    x = torch.randn(2, 9, 8)
    y = rotary_position_embedding(x, torch.arange(9))
    assert torch.allclose(x.norm(dim=-1), y.norm(dim=-1), atol=1e-5)
    assert torch.allclose(y[:, 0], x[:, 0])  # position 0 is not rotated


@pytest.mark.parametrize("n_tokens", [1, 5, 12, 13])
@pytest.mark.parametrize("band_width", [1, 3, 4, 12, 20])
def test_banded_scores_equal_dense(n_tokens, band_width):
    torch.manual_seed(n_tokens * 100 + band_width)
    q = torch.randn(2, 3, n_tokens, 8)
    k = torch.randn(2, 3, n_tokens, 8)
    dense = q @ k.transpose(-1, -2)
    band = banded_scores(q, k, band_width)
    assert band.shape == (2, 3, n_tokens, band_width)
    for i in range(n_tokens):
        for off in range(band_width):
            if i + off < n_tokens:
                assert torch.allclose(band[..., i, off], dense[..., i, i + off], atol=1e-5)


@pytest.mark.parametrize("head_class", [GlobalPointerHead, EfficientGlobalPointerHead])
def test_head_band_equals_head_dense(head_class):
    """A bounded width gives exactly the dense scores inside the band."""
    torch.manual_seed(0)
    head = head_class(10, 4, head_size=8)
    x = torch.randn(3, 11, 10)
    lengths = torch.tensor([11, 7, 1])
    dense = head(x, lengths, PairLayout.band(11))
    band = head(x, lengths, PairLayout.band(4))
    assert torch.allclose(band, dense[..., :4], atol=1e-5)
    for b, n in enumerate(lengths.tolist()):
        for i in range(11):
            for off in range(11):
                valid = i + off < n
                assert (dense[b, :, i, off] == MASKED_SCORE).all() != valid


@pytest.mark.parametrize("head_class", [GlobalPointerHead, EfficientGlobalPointerHead])
@pytest.mark.parametrize("n_tokens,band_width,chunk", [(50, 4, 8), (50, 7, 16), (37, 5, 5), (20, 6, 3)])
def test_chunked_band_equals_one_pass(head_class, n_tokens, band_width, chunk):
    """Long inputs are computed chunk by chunk: same scores and same gradients."""
    torch.manual_seed(0)
    head = head_class(10, 3, head_size=8)
    lengths = torch.tensor([n_tokens, n_tokens - 9, 2])
    x = torch.randn(3, n_tokens, 10, requires_grad=True)
    one_pass = head(x, lengths, PairLayout.band(band_width))
    (grad_one_pass,) = torch.autograd.grad((one_pass * one_pass.detach().clamp(-5, 5)).sum(), x)
    head.chunk_size = chunk
    chunked = head(x, lengths, PairLayout.band(band_width))
    (grad_chunked,) = torch.autograd.grad((chunked * chunked.detach().clamp(-5, 5)).sum(), x)
    assert chunked.shape == one_pass.shape
    assert torch.allclose(chunked, one_pass, atol=1e-5)
    assert torch.allclose(grad_chunked, grad_one_pass, atol=1e-4)


@pytest.mark.parametrize("band_width", [1, 2, 3, 5, 8, 13, 20])
def test_band_mean_and_max_pool_each_span(band_width):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 13)
    mean, top = band_mean(x, band_width), band_max(x, band_width)
    assert mean.shape == top.shape == (2, 3, 13, band_width)
    # the autograd path (pieces + cat) and the inference path (written in place) agree
    assert torch.equal(band_max(x.clone().requires_grad_(), band_width).detach(), top)
    assert torch.isfinite(mean).all() and torch.isfinite(top).all()
    for i in range(13):
        for k in range(band_width):
            if i + k < 13:
                span = x[..., i : i + k + 1]
                assert torch.allclose(mean[..., i, k], span.mean(-1), atol=1e-5)
                assert torch.equal(top[..., i, k], span.max(-1).values)


@pytest.mark.parametrize("head_class", [GlobalPointerHead, EfficientGlobalPointerHead])
def test_span_pooling_sees_the_middle_of_a_span(head_class):
    """With pooling, changing a token strictly inside a long span changes its
    score, even with the ends' features fixed; without it, it cannot."""
    torch.manual_seed(0)
    lengths = torch.tensor([12])
    x = torch.randn(1, 12, 10)
    changed = x.clone()
    changed[0, 5] += 3.0
    for pooling_size, moves in ((0, False), (4, True)):
        head = head_class(10, 2, head_size=8, pooling_size=pooling_size)
        before, after = head(x, lengths, PairLayout.band(12)), head(changed, lengths, PairLayout.band(12))
        assert bool((before[0, :, 0, 11] != after[0, :, 0, 11]).any()) == moves
        # spans that end before the changed token never move
        assert torch.equal(before[0, :, 0, :5], after[0, :, 0, :5])


@pytest.mark.parametrize("head_class", [GlobalPointerHead, EfficientGlobalPointerHead])
def test_span_pooling_gradients_are_finite_and_chunking_is_exact(head_class):
    torch.manual_seed(0)
    head = head_class(10, 3, head_size=8, pooling_size=6)
    lengths = torch.tensor([40, 9])
    x = torch.randn(2, 40, 10, requires_grad=True)
    one_pass = head(x, lengths, PairLayout.band(7))
    one_pass.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters())
    assert torch.isfinite(x.grad).all()
    head.chunk_size = 8
    assert torch.allclose(head(x, lengths, PairLayout.band(7)), one_pass, atol=1e-5)


def test_efficient_head_formula():
    """s[l,i,j] = q_i.k_j / sqrt(d) + b_start[l,i] + b_end[l,j]."""
    torch.manual_seed(1)
    head = EfficientGlobalPointerHead(6, 3, head_size=4, use_rope=False)
    x = torch.randn(1, 5, 6)
    scores = head(x, torch.tensor([5]), PairLayout.band(5))
    proj = head.projection(x)[0]
    q, k = proj[:, 0::2], proj[:, 1::2]
    bias = head.label_bias(proj).view(5, 3, 2) / 2
    for label in range(3):
        for i in range(5):
            for j in range(i, 5):
                expected = q[i] @ k[j] / 2 + bias[i, label, 0] + bias[j, label, 1]
                assert scores[0, label, i, j - i].item() == pytest.approx(expected.item(), abs=1e-5)


def test_egp_has_far_fewer_parameters():
    gp = GlobalPointerHead(768, 20, head_size=64)
    egp = EfficientGlobalPointerHead(768, 20, head_size=64)
    n_gp = sum(p.numel() for p in gp.parameters())
    n_egp = sum(p.numel() for p in egp.parameters())
    assert n_egp * 10 < n_gp


@pytest.mark.parametrize("head_class", [GlobalPointerHead, EfficientGlobalPointerHead])
@pytest.mark.parametrize("pooling_size", [0, 4])
def test_half_precision_is_safe(head_class, pooling_size):
    """Masks are applied in float32: no -1e12 in half precision, no inf/nan."""
    torch.manual_seed(0)
    head = head_class(16, 3, head_size=8, pooling_size=pooling_size).half()
    x = (torch.randn(2, 9, 16) * 4).half()
    scores = head(x, torch.tensor([9, 4]), PairLayout.band(9))
    assert scores.dtype == torch.float32
    assert torch.isfinite(scores).all()
    assert (scores[1, :, 4:, :] == MASKED_SCORE).all()
    full = head.float()(x.float(), torch.tensor([9, 4]), PairLayout.band(9))
    valid = full != MASKED_SCORE
    assert torch.allclose(scores[valid], full[valid], atol=0.1, rtol=0.05)


def test_rope_can_be_switched_off():
    torch.manual_seed(0)
    head = GlobalPointerHead(4, 1, head_size=4, use_rope=False)
    x = torch.randn(4).expand(1, 6, 4)
    scores = head(x, torch.tensor([6]), PairLayout.band(6))[0, 0]
    # Without positions identical tokens score alike at every distance.
    valid = scores[scores != MASKED_SCORE]
    assert torch.allclose(valid, valid[0].expand_as(valid))


@pytest.mark.parametrize(
    "head_class,head_size,pooling_size",
    [(GlobalPointerHead, 8, 0), (EfficientGlobalPointerHead, 64, 32)],  # the second: the factory's default head
)
def test_long_document_with_bounded_width_never_builds_n_squared(monkeypatch, head_class, head_size, pooling_size):
    """20,000 tokens, width 16: no tensor of n^2 cells (let alone n^2 x labels)."""
    n_tokens, width, n_labels = 20_000, 16, 5
    biggest = {"cells": 0}
    real_matmul = torch.matmul

    def recording_matmul(a, b):
        out = real_matmul(a, b)
        biggest["cells"] = max(biggest["cells"], out.numel())
        return out

    monkeypatch.setattr(torch, "matmul", recording_matmul)
    head = head_class(8, n_labels, head_size=head_size, pooling_size=pooling_size)
    with torch.no_grad():
        scores = head(torch.randn(1, n_tokens, 8), torch.tensor([n_tokens]), PairLayout.band(width))
    assert scores.shape == (1, n_labels, n_tokens, width)
    assert 0 < biggest["cells"] <= 2 * max(n_labels, pooling_size) * n_tokens * width
    assert biggest["cells"] < n_tokens * n_tokens


def test_length_buckets_cover_every_doc_once_and_keep_long_docs_alone():
    lengths = [5, 0, 2000, 7, 6, 40, 41, 3]
    buckets = length_buckets(lengths, 10_000, cells_per_doc=lambda n: n * n)
    flat = sorted(i for bucket in buckets for i in bucket)
    assert flat == [0, 2, 3, 4, 5, 6, 7]  # the empty doc needs no head call
    assert [2] in buckets  # the 2,000-token doc is never padded with others
    for bucket in buckets:
        ns = [lengths[i] for i in bucket]
        assert max(ns) <= min(ns) * 1.25 + 8
