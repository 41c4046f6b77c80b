"""Grouping documents of similar size, so that padding a batch wastes little.

The heads pad a batch of documents to one length and score it in one call; the
loss pads score arrays the same way. One long record padded together with many
short ones would multiply the work, so both group by size first.
"""
from typing import Callable, Hashable, List, Optional, Sequence


def length_buckets(
    lengths: Sequence[int],
    max_cells: int,
    cells_per_doc: Callable[[int], int] = lambda n: n,
    group: Optional[Callable[[int], Hashable]] = None,
) -> List[List[int]]:
    """Indices of the non-empty docs, grouped by length (shortest first).

    A bucket closes when the next (longer) doc is more than 25% + 8 longer
    than its shortest doc, when the padded bucket would exceed `max_cells`
    (`cells_per_doc(padded length)` per doc), or when the next doc falls in
    another `group` (docs that must not be padded together, e.g. a full pair
    matrix and a banded one). A single document always forms a bucket of its
    own, whatever its size, so nothing is ever truncated.
    """
    order = sorted((i for i, n in enumerate(lengths) if n > 0), key=lambda i: lengths[i])
    buckets: List[List[int]] = []
    current: List[int] = []
    for i in order:
        n_tokens = lengths[i]
        if current:
            shortest = lengths[current[0]]
            cells = (len(current) + 1) * cells_per_doc(n_tokens)
            if (
                n_tokens > shortest * 1.25 + 8
                or cells > max_cells
                or (group is not None and group(n_tokens) != group(shortest))
            ):
                buckets.append(current)
                current = []
        current.append(i)
    if current:
        buckets.append(current)
    return buckets
