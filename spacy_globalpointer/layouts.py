"""Which (start, end) token pairs a score matrix holds, and where each one lives.

Every head scores token pairs (i, j) into an array of shape (channels, n, C):
row i is the first token, and column c stands for the second token j. Three
layouts cover what the components need:

- band (spans): j = i + c for 0 <= c < W, so only spans up to W tokens wide are
  scored and cost grows as n * W (W = n holds the whole upper triangle);
- symmetric band (relation and event links, where either token may come
  first): j = i - (D - 1) + c for 0 <= c < 2D - 1, i.e. |i - j| < D;
- full (a symmetric band whose D covers the document): j = c, an n x n matrix.

This is the one place that knows how a cell maps to its token pair: the heads,
the loss, the calibrator and the decoders all ask a `PairLayout`.
"""
from dataclasses import dataclass
from typing import Any, Callable, Optional, Tuple

import numpy

from .errors import Errors

BAND = "band"
SYMMETRIC = "symmetric"
KINDS = (BAND, SYMMETRIC)


@dataclass(frozen=True)
class ResolvedLayout:
    """A layout fixed for one padded length: j = i + offset + c (offset None: j = c)."""

    offset: Optional[int]
    n_columns: int


@dataclass(frozen=True)
class PairLayout:
    """kind (str): "band" or "symmetric".
    max_distance (Optional[int]): band: the widest span W (j - i < W);
        symmetric: D with |i - j| < D; None = unbounded.
    """

    kind: str = BAND
    max_distance: Optional[int] = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(Errors.E030.format(kinds=list(KINDS), kind=self.kind))
        if self.max_distance is not None and self.max_distance < 1:
            raise ValueError(Errors.E024.format(name="max_distance", value=self.max_distance, none=" or None"))

    @classmethod
    def band(cls, max_width: Optional[int] = None) -> "PairLayout":
        return cls(BAND, max_width)

    @classmethod
    def symmetric(cls, max_distance: Optional[int] = None) -> "PairLayout":
        return cls(SYMMETRIC, max_distance)

    def to_list(self) -> list:
        """Plain form (for thinc attrs and cfg)."""
        return [self.kind, self.max_distance]

    @classmethod
    def from_list(cls, value: Any) -> "PairLayout":
        if isinstance(value, PairLayout):
            return value
        kind, max_distance = value
        return cls(str(kind), None if max_distance is None else int(max_distance))

    def is_full(self, n_tokens: int) -> bool:
        """A symmetric band that covers the whole doc is stored as the n x n matrix."""
        return self.kind == SYMMETRIC and (self.max_distance is None or self.max_distance >= n_tokens)

    def n_columns(self, n_tokens: int) -> int:
        """C for a doc (or padded batch) of n tokens (at least 1, so shapes stay valid)."""
        if self.kind == BAND:
            width = n_tokens if self.max_distance is None else min(n_tokens, self.max_distance)
            return max(width, 1)
        if self.is_full(n_tokens):
            return max(n_tokens, 1)
        return 2 * int(self.max_distance) - 1  # type: ignore[operator]

    def offset(self, n_tokens: int) -> Optional[int]:
        """j - i - c for every cell (None for the full matrix, where j = c)."""
        if self.kind == BAND:
            return 0
        if self.is_full(n_tokens):
            return None
        return 1 - int(self.max_distance)  # type: ignore[arg-type]

    def resolve(self, n_tokens: int) -> ResolvedLayout:
        """The offset and column count for n tokens (what the heads compute with)."""
        return ResolvedLayout(self.offset(n_tokens), self.n_columns(n_tokens))

    def group(self, n_tokens: int) -> Tuple[str, bool]:
        """Docs of one padded batch must share this, so that they share the layout."""
        return (self.kind, self.is_full(n_tokens))

    def pair_ends(
        self,
        n_rows: int,
        n_tokens: int,
        arange: Callable[[int], Any],
        first_row: int = 0,
        n_columns: Optional[int] = None,
    ) -> Any:
        """The second token j of every cell, shape (n_rows, C), for rows first_row...

        arange (Callable): `numpy.arange`, `cupy.arange` or a torch arange on a device.
        n_columns (Optional[int]): C if it differs from `n_columns(n_tokens)`
            (a band array may be wider than the doc: the extra cells are padding).
        Cells with j < 0 or j >= n_tokens are padding.
        """
        columns = arange(self.n_columns(n_tokens) if n_columns is None else n_columns)[None, :]
        offset = self.offset(n_tokens)
        if offset is None:
            return columns + 0 * arange(n_rows)[:, None]
        return arange(n_rows)[:, None] + (first_row + offset) + columns

    def valid(
        self,
        n_rows: int,
        n_tokens: int,
        arange: Callable[[int], Any],
        length: Any = None,
        first_row: int = 0,
        n_columns: Optional[int] = None,
    ) -> Any:
        """Bool (n_rows, C): cells whose pair lies inside a doc of `length` tokens
        (default n_tokens). `length` may be an array of shape (B, 1, 1) for a batch."""
        ends = self.pair_ends(n_rows, n_tokens, arange, first_row, n_columns)
        if self.kind == BAND:
            return ends < (n_tokens if length is None else length)
        return (ends >= 0) & (ends < (n_tokens if length is None else length))

    def column(self, start: int, end: int, n_tokens: int) -> Optional[int]:
        """Column of the pair (start, end) in row `start`, or None if not held.

        `end` is the second token's index (inclusive for spans).
        """
        c = int(self.columns(numpy.asarray([start]), numpy.asarray([end]), n_tokens)[0])
        return None if c < 0 else c

    def columns(self, starts: numpy.ndarray, ends: numpy.ndarray, n_tokens: int) -> numpy.ndarray:
        """`column` for arrays of pairs: int64 columns, -1 where a pair is not held."""
        starts = numpy.asarray(starts, dtype="int64")
        ends = numpy.asarray(ends, dtype="int64")
        offset = self.offset(n_tokens)
        c = ends if offset is None else ends - starts - offset
        held = (c >= 0) & (c < self.n_columns(n_tokens)) & (ends >= 0) & (ends < n_tokens)
        if self.kind == BAND:
            held &= ends >= starts
        return numpy.where(held, c, -1)

    def doc_columns(self, n_doc: int, n_padded: int) -> slice:
        """The columns of a padded batch's output that hold a doc of n_doc tokens.

        Docs only share a batch with docs of the same `group`, so a full doc is
        never cut out of a banded batch or the other way round.
        """
        if self.group(n_doc) != self.group(n_padded):
            raise ValueError(Errors.E031)
        return slice(0, self.n_columns(n_doc))
