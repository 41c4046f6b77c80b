"""Plain PyTorch modules for the GlobalPointer heads (no spaCy or thinc here).

Scores are produced in a *banded* layout: for a document of n tokens and a band
of width W, `band[..., i, k]` scores the span that starts at token i and ends at
token i + k (inclusive). With W = n this holds the whole upper triangle; with a
bounded span width it grows linearly with n instead of quadratically, and the
same loss and decoding code serves both.
"""
import math
from typing import Optional, Sequence, Tuple

import torch
from torch import nn

from ..checks import check_int
from ..errors import Errors
from ..layouts import PairLayout, ResolvedLayout

Tensor = torch.Tensor


def rotary_position_embedding(x: Tensor, positions: Tensor) -> Tensor:
    """Rotate pairs of features (2m, 2m+1) by the angle position * 10000^(-2m/d).

    After the rotation, q_i . k_j depends on the positions only through j - i,
    which is what lets GlobalPointer see span boundaries relative to each other.

    x (Tensor): (..., n, d) with d even.
    positions (Tensor): (n,) absolute token positions.
    RETURNS (Tensor): x rotated, same shape and dtype.
    """
    dim = x.shape[-1]
    inv_freq = torch.pow(
        10000.0,
        -torch.arange(0, dim, 2, device=x.device, dtype=torch.float32) / dim,
    )
    # Angles are computed in float32 even under autocast: positions reach 1e5.
    angles = positions.to(torch.float32)[:, None] * inv_freq[None, :]
    cos = torch.cos(angles).repeat_interleave(2, dim=-1)
    sin = torch.sin(angles).repeat_interleave(2, dim=-1)
    x32 = x.float()
    rotated = torch.stack([-x32[..., 1::2], x32[..., 0::2]], dim=-1).reshape(x32.shape)
    return (x32 * cos + rotated * sin).to(x.dtype)


def banded_scores(queries: Tensor, keys: Tensor, band_width: int) -> Tensor:
    """Inner products q_i . k_{i+k} for 0 <= k < W, in O(n W d) time and memory.

    The sequence is cut into blocks of W tokens; block b's queries meet the
    keys of blocks b and b + 1 in one batched matmul, and the band is gathered
    out of that (W x 2W) block. When W covers the whole sequence this is a
    single dense matmul.

    queries, keys (Tensor): (..., n, d).
    band_width (int): W >= 1.
    RETURNS (Tensor): (..., n, W); cells with i + k >= n hold garbage (mask them).
    """
    n_tokens, dim = queries.shape[-2], queries.shape[-1]
    lead = queries.shape[:-2]
    if band_width >= n_tokens:
        dense = torch.matmul(queries, keys.transpose(-1, -2))  # (..., n, n)
        if band_width > n_tokens:
            dense = nn.functional.pad(dense, (0, band_width - n_tokens))
        index = (
            torch.arange(n_tokens, device=dense.device)[:, None]
            + torch.arange(band_width, device=dense.device)[None, :]
        ).clamp(max=dense.shape[-1] - 1)
        return torch.gather(dense, -1, index.expand(lead + index.shape))
    n_blocks = -(-n_tokens // band_width)
    padded = n_blocks * band_width
    q = nn.functional.pad(queries, (0, 0, 0, padded - n_tokens))
    k = nn.functional.pad(keys, (0, 0, 0, padded + band_width - n_tokens))
    q_blocks = q.reshape(lead + (n_blocks, band_width, dim))
    k_blocks = k.reshape(lead + (n_blocks + 1, band_width, dim))
    k_pairs = torch.cat([k_blocks[..., :-1, :, :], k_blocks[..., 1:, :, :]], dim=-2)
    block_scores = torch.matmul(q_blocks, k_pairs.transpose(-1, -2))  # (..., nb, W, 2W)
    rows = torch.arange(band_width, device=queries.device)
    index = rows[:, None] + rows[None, :]  # row r, offset k -> column r + k
    band = torch.gather(block_scores, -1, index.expand(block_scores.shape[:-1] + (band_width,)))
    return band.reshape(lead + (padded, band_width))[..., :n_tokens, :]


def pair_products(queries: Tensor, keys: Tensor, layout: ResolvedLayout) -> Tensor:
    """q_i . k_j for every cell of `layout`: (..., n, d) x 2 -> (..., n, C).

    Bands and symmetric bands go through `banded_scores` (a symmetric band is
    a band over keys shifted right by D - 1), so they stay O(n C d); the full
    layout is one dense matmul. Cells outside the doc hold garbage (mask them).
    """
    n_tokens = queries.shape[-2]
    offset, n_columns = layout.offset, layout.n_columns
    if offset is None:
        return torch.matmul(queries, keys.transpose(-1, -2))
    if offset == 0:
        return banded_scores(queries, keys, n_columns)
    shift = -offset
    keys = nn.functional.pad(keys, (0, 0, shift, 0))
    queries = nn.functional.pad(queries, (0, 0, 0, shift))
    return banded_scores(queries, keys, n_columns)[..., :n_tokens, :]


def along_columns(per_token: Tensor, layout: ResolvedLayout) -> Tensor:
    """Lay a per-token value out along the columns: out[..., i, c] = x[..., j(i, c)].

    per_token (Tensor): (..., n). RETURNS (Tensor): (..., n, C), 0 where j is outside.
    """
    n_tokens = per_token.shape[-1]
    offset, n_columns = layout.offset, layout.n_columns
    if offset is None:
        return per_token[..., None, :].expand(per_token.shape[:-1] + (n_tokens, n_tokens))
    padded = nn.functional.pad(per_token, (-offset, n_columns))
    return padded.unfold(-1, n_columns, 1)[..., :n_tokens, :]


def check_scorer_settings(head_size: int, use_rope: bool, pooling_size: int) -> None:
    """Coded errors for settings that would build a head that cannot learn."""
    check_int("head_size", head_size)
    if head_size % 2 and use_rope:
        raise ValueError(Errors.E020.format(value=head_size))
    check_int("pooling_size", pooling_size, minimum=0)


class PairScorer(nn.Module):
    """Scores token pairs for `n_channels` channels in one `PairLayout`.

    What every head shares: settings, RoPE, scaling, chunking, the fp16-safe
    mask and gathering single cells. Subclasses build the projections: one per
    channel (GlobalPointer) or one shared plus per-channel biases (Efficient).
    """

    # Rows computed per step on long inputs. Every intermediate (projections,
    # rotations, block products) then has a fixed size, so the cost per token
    # stays flat from 1k to 100k tokens instead of growing as the temporaries
    # fall out of cache.
    chunk_size: int = 1024

    def __init__(
        self,
        n_inputs: int,
        n_channels: int,
        head_size: int = 64,
        use_rope: bool = True,
        pooling_size: int = 0,
    ) -> None:
        super().__init__()
        check_scorer_settings(head_size, use_rope, pooling_size)
        self.n_labels = n_channels
        self.head_size = head_size
        self.use_rope = use_rope
        self.pooling = SpanPooling(n_inputs, n_channels, pooling_size) if pooling_size else None
        self._build_pointer(n_inputs)

    def _build_pointer(self, n_inputs: int) -> None:
        """Create the start/end projection layers of this kind of head."""
        raise NotImplementedError

    def forward(self, inputs: Tensor, lengths: Tensor, layout: PairLayout) -> Tensor:
        """inputs (B, n, nI), lengths (B,) -> float32 scores (B, channels, n, C), invalid cells -1e4.

        Bounded layouts are computed `chunk_size` rows at a time: rows [a, b)
        only need the tokens their columns reach. RoPE then runs on
        chunk-local positions, which changes nothing but rounding, since
        rotated inner products depend on positions only through j - i.
        """
        n_tokens = inputs.shape[1]
        resolved = layout.resolve(n_tokens)
        offset, n_columns = resolved.offset, resolved.n_columns
        chunk = max(self.chunk_size, n_columns)
        if offset is None or n_tokens <= chunk:
            return _mask_cells(self._scores(inputs, resolved), lengths, layout, n_tokens)
        pieces = []
        for start in range(0, n_tokens, chunk):
            stop = min(start + chunk, n_tokens)
            first = max(start + offset, 0)
            window = inputs[:, first : min(stop + offset + n_columns - 1, n_tokens)]
            # The window is scored with the same offset and columns, rows from `first`.
            scores = self._scores(window, resolved)[:, :, start - first : stop - first]
            pieces.append(_mask_cells(scores, lengths, layout, n_tokens, first_row=start))
        return torch.cat(pieces, dim=2)

    def _scores(self, inputs: Tensor, layout: ResolvedLayout) -> Tensor:
        """Unmasked float32 scores (B, channels, n, C) of one stretch of tokens."""
        scores = self._pointer_scores(inputs, layout)
        if self.pooling is not None:
            if layout.offset != 0:
                raise ValueError(Errors.E022)
            scores = scores + self.pooling(inputs, layout.n_columns)
        return scores

    def _pointer_scores(self, inputs: Tensor, layout: ResolvedLayout) -> Tensor:
        """The start/end pointer scores alone, float32 (B, channels, n, C)."""
        raise NotImplementedError

    def _queries_keys(self, queries: Tensor, keys: Tensor) -> Tuple[Tensor, Tensor]:
        """RoPE (if on), then the 1/sqrt(d) scaling, applied before any product."""
        if self.use_rope:
            positions = torch.arange(queries.shape[-2], device=queries.device)
            queries = rotary_position_embedding(queries, positions)
            keys = rotary_position_embedding(keys, positions)
        # Scale before the product: under fp16 autocast the matmul itself is half precision.
        return queries / math.sqrt(self.head_size), keys

    def _pair_scores(self, queries: Tensor, keys: Tensor, layout: ResolvedLayout) -> Tensor:
        """q . k / sqrt(d) over the layout's cells, returned in float32."""
        queries, keys = self._queries_keys(queries, keys)
        return pair_products(queries, keys, layout).float()

    def gather(self, inputs: Tensor, cells: Tensor) -> Tensor:
        """Scores of chosen cells only: inputs (n, nI), cells (m, 3) of (channel, i, j) -> (m,).

        What a decoder needs at inference when it knows its candidate pairs:
        the cost grows with the number of cells, not with n^2 * channels.
        """
        if self.pooling is not None:
            raise ValueError(Errors.E022)
        return self._gather(inputs, cells).float()

    def _gather(self, inputs: Tensor, cells: Tensor) -> Tensor:
        raise NotImplementedError


class GlobalPointerHead(PairScorer):
    """Per channel, a start and an end projection; pair score = q_i . k_j / sqrt(d)."""

    def _build_pointer(self, n_inputs: int) -> None:
        self.projection = nn.Linear(n_inputs, self.n_labels * self.head_size * 2)

    def _project(self, inputs: Tensor) -> Tuple[Tensor, Tensor]:
        """(..., n, nI) -> queries, keys (..., channels, n, d), rotated and scaled."""
        proj = self.projection(inputs).view(inputs.shape[:-1] + (self.n_labels, 2, self.head_size))
        queries = proj[..., 0, :].transpose(-3, -2)
        keys = proj[..., 1, :].transpose(-3, -2)
        return self._queries_keys(queries, keys)

    def _pointer_scores(self, inputs: Tensor, layout: ResolvedLayout) -> Tensor:
        queries, keys = self._project(inputs)
        return pair_products(queries, keys, layout).float()

    def _gather(self, inputs: Tensor, cells: Tensor) -> Tensor:
        queries, keys = self._project(inputs)  # (channels, n, d)
        channel, start, end = cells[:, 0], cells[:, 1], cells[:, 2]
        return (queries[channel, start] * keys[channel, end]).sum(-1)


class EfficientGlobalPointerHead(PairScorer):
    """Shared start/end projections; each channel adds only a start and an end bias.

    s[l, i, j] = q_i . k_j / sqrt(d) + b_start[l, i] + b_end[l, j], where the
    biases come from a small dense layer over the shared projection (Su, 2022).
    """

    def _build_pointer(self, n_inputs: int) -> None:
        self.projection = nn.Linear(n_inputs, self.head_size * 2)
        self.label_bias = nn.Linear(self.head_size * 2, self.n_labels * 2)

    def _biases(self, proj: Tensor) -> Tuple[Tensor, Tensor]:
        """Start and end biases (..., channels, n) from the shared projection."""
        bias = self.label_bias(proj).float().view(proj.shape[:-1] + (self.n_labels, 2)) / 2
        return bias[..., 0].transpose(-1, -2), bias[..., 1].transpose(-1, -2)

    def _pointer_scores(self, inputs: Tensor, layout: ResolvedLayout) -> Tensor:
        proj = self.projection(inputs)  # (B, n, 2d)
        shared = self._pair_scores(proj[..., 0::2], proj[..., 1::2], layout)
        start_bias, end_bias = self._biases(proj)
        return shared[:, None, :, :] + start_bias[..., None] + along_columns(end_bias, layout)

    def _gather(self, inputs: Tensor, cells: Tensor) -> Tensor:
        proj = self.projection(inputs)  # (n, 2d)
        queries, keys = self._queries_keys(proj[..., 0::2], proj[..., 1::2])
        start_bias, end_bias = self._biases(proj)  # (channels, n)
        channel, start, end = cells[:, 0], cells[:, 1], cells[:, 2]
        shared = (queries[start] * keys[end]).sum(-1).float()
        return shared + start_bias[channel, start] + end_bias[channel, end]


class PairScorers(nn.Module):
    """Several scorers over the same tokens, one output each (GPLinker's heads).

    forward returns a tuple with one (B, channels_k, n, C_k) tensor per scorer,
    each in its own layout.
    """

    def __init__(self, scorers: Sequence[PairScorer]) -> None:
        super().__init__()
        self.scorers = nn.ModuleList(scorers)

    def forward(
        self,
        inputs: Tensor,
        lengths: Optional[Tensor] = None,
        layouts: Optional[Sequence[PairLayout]] = None,
        cells: Optional[Sequence[Optional[Tensor]]] = None,
    ) -> Tuple[Optional[Tensor], ...]:
        """Every cell of `layouts` for a padded batch (B, n, nI), or, given `cells`,
        only those cells of one doc's (n, nI) inputs (see `gather`)."""
        if cells is not None:
            return self.gather(inputs, cells)
        assert lengths is not None and layouts is not None
        return tuple(scorer(inputs, lengths, layout) for scorer, layout in zip(self.scorers, layouts))

    def gather(self, inputs: Tensor, cells: Sequence[Optional[Tensor]]) -> Tuple[Optional[Tensor], ...]:
        return tuple(
            None if doc_cells is None else scorer.gather(inputs, doc_cells)
            for scorer, doc_cells in zip(self.scorers, cells)
        )


class SpanPooling(nn.Module):
    """What lies between a span's ends: mean and max pooling over the span's tokens.

    The pointer scores see a span only through its first and last token. On a
    narrow encoder (spaCy's CNN sees 4 tokens either side) the two ends of a
    long span know nothing of its middle, which is where spancat, pooling over
    every token of the span, wins. This adds per label

        mean_{t in span} (x_t . a_l)  +  w_l . max_{t in span} (x_t A)

    (the max taken per feature of a `size`-dim projection). A linear map of a
    mean is the mean of the linear map, so the mean is pooled over one score
    per label; prefix sums (mean) and a sparse table (max) keep the cost
    O(n W size), and every tensor is laid out as (batch, channel, n, W) so that
    no band-sized permute is needed.
    """

    def __init__(self, n_inputs: int, n_labels: int, size: int) -> None:
        super().__init__()
        self.mean_scores = nn.Linear(n_inputs, n_labels)
        self.max_features = nn.Linear(n_inputs, size)
        self.max_output = nn.Linear(size, n_labels)

    def forward(self, inputs: Tensor, band_width: int) -> Tensor:
        """inputs (B, n, nI) -> float32 (B, labels, n, W); cells past the end hold finite garbage."""
        batch, n_tokens, _ = inputs.shape
        token_scores = self.mean_scores(inputs).float().transpose(1, 2)  # (B, L, n)
        features = self.max_features(inputs).float().transpose(1, 2)  # (B, D, n)
        pooled = band_max(features, band_width).reshape(batch, features.shape[1], -1)
        weight = self.max_output.weight.float()  # (L, D)
        max_scores = torch.matmul(weight, pooled).view(batch, -1, n_tokens, band_width)
        bias = self.max_output.bias.float()[None, :, None, None]
        return band_mean(token_scores, band_width) + max_scores + bias


def band_mean(values: Tensor, band_width: int) -> Tensor:
    """out[..., i, k] = mean of values[..., i : i + k + 1], by prefix sums.

    values (Tensor): (..., n). RETURNS (Tensor): (..., n, W).
    """
    n_tokens = values.shape[-1]
    prefix = nn.functional.pad(torch.cumsum(values, dim=-1), (1, band_width))  # (..., n + 1 + W)
    ends = prefix[..., 1:].unfold(-1, band_width, 1)[..., :n_tokens, :]  # prefix[i + k + 1]
    lengths = torch.arange(1, band_width + 1, device=values.device, dtype=values.dtype)
    return (ends - prefix[..., :n_tokens, None]) / lengths


def band_max(values: Tensor, band_width: int) -> Tensor:
    """out[..., i, k] = max of values[..., i : i + k + 1], by a sparse table.

    Level l holds the max over 2**l tokens; a span of length m is covered by
    two (overlapping) level-floor(log2 m) windows. Past the end the input is
    padded with zeros, so those cells stay finite (they are masked later).

    values (Tensor): (..., n). RETURNS (Tensor): (..., n, W).
    """
    n_tokens = values.shape[-1]
    # Without autograd, write each level's spans straight into the output
    # (2x faster at inference than collecting pieces and concatenating).
    inplace = not (torch.is_grad_enabled() and values.requires_grad)
    out = values.new_empty(values.shape[:-1] + (n_tokens, band_width)) if inplace else None
    level = nn.functional.pad(values, (0, band_width))  # (..., n + W)
    pieces = []
    size = 1
    while size <= band_width:
        count = min(2 * size, band_width + 1) - size  # span lengths size .. 2*size - 1
        # span length m = size + t (t < count): max(level[i], level[i + t])
        windows = level.unfold(-1, count, 1)[..., :n_tokens, :]  # (..., n, count)
        if out is not None:
            torch.maximum(level[..., :n_tokens, None], windows, out=out[..., size - 1 : size - 1 + count])
        else:
            pieces.append(torch.maximum(level[..., :n_tokens, None], windows))
        if 2 * size <= band_width:
            level = torch.maximum(level, nn.functional.pad(level[..., size:], (0, size)))
        size *= 2
    return out if out is not None else torch.cat(pieces, dim=-1)


# A finite fill value: exp(-1e4) is 0 in float32, and it is never produced in
# float16 (scores are cast to float32 before masking).
MASKED_SCORE = -1e4


def _mask_cells(
    scores: Tensor, lengths: Tensor, layout: PairLayout, n_tokens: int, first_row: int = 0
) -> Tensor:
    def arange(k: int) -> Tensor:
        return torch.arange(k, device=scores.device)

    valid = layout.valid(scores.shape[-2], n_tokens, arange, lengths[:, None, None], first_row)
    return scores.masked_fill(~valid[:, None, :, :], MASKED_SCORE)
