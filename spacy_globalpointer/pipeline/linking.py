"""GPLinker's pair logic: which spans are linked, and where their pair scores live.

The relation component links upstream entities and the event component links
argument spans; both decide the same things, here once:

- the windows linking stays inside (`link_windows`): a doc's sentences where
  it has sentence boundaries (`link_scope = "sentence"`), else the whole doc.
  A model trained on sentences then finds in a paragraph what it finds in its
  sentences, instead of pairing spans that no training doc ever paired;
- the candidate cap (`cap_candidates`): at most `limit` spans within
  `max_pair_distance` tokens of any span of one window, the best-scoring
  first, so a long doc keeps every stretch's spans and the pairs stay linear
  in its length; what the cap cuts is counted (`CapCounts`);
- the pairs (`near_pairs`): spans of one window whose starts and ends both lie
  less than `max_pair_distance` apart, found by sorting, not by trying every
  pair, so a 20k-token doc costs what its windows cost;
- which predicates may link two labelled spans (`LabelTriples`): under
  `label_triples = "seen"` those recorded with the two labels in the training
  gold, because pair scores see tokens, not the labels an entity head gave;
  under "typed" also which labels a predicate gives two spans whose own
  labels it was never seen with (`LabelTriples.typed`).

Everything works on arrays of token offsets (starts, ends exclusive), so the
components, the calibration and the benchmark's pair classifier rank the same
candidates the same way.
"""
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy
from spacy.tokens import Doc

LINK_SCOPES = ("sentence", "doc")
# "seen": a relation only where its (head label, predicate, tail label) occurs
# in the training gold; "typed": the same, and a pair of spans whose labels
# were never seen with a predicate takes the labels that predicate was seen
# with, where the spans' labels leave one choice; "any": every label pair
# (the seeds' form).
LABEL_TRIPLE_MODES = ("typed", "seen", "any")


class LabelTriples:
    """The (head label, predicate, tail label) triples a model was trained on,
    as a per-predicate mask for any label pair.

    A predicate with no recorded triple is unconstrained (nothing was learned
    about it, e.g. labels given to `initialize` without data), and so is every
    predicate under mode "any".
    """

    def __init__(self, seen: Iterable[Sequence[str]], predicates: Sequence[str], mode: str = "seen") -> None:
        index = {predicate: i for i, predicate in enumerate(predicates)}
        self._index = index
        unconstrained = numpy.ones((len(predicates),), dtype=bool)
        self._masks: Dict[Tuple[str, str], numpy.ndarray] = {}
        self._pairs_of: Dict[str, List[Tuple[str, str]]] = {}
        self.types_by_predicate = mode == "typed"
        if mode in ("seen", "typed"):
            known = [(h, index[p], t) for h, p, t in seen if p in index]
            for _, p, _ in known:
                unconstrained[p] = False
            for h, p, t in known:
                self._masks.setdefault((h, t), unconstrained.copy())[p] = True
                pairs = self._pairs_of.setdefault(predicates[p], [])
                if (h, t) not in pairs:
                    pairs.append((h, t))
        self._default = unconstrained

    @property
    def constrains(self) -> bool:
        """Whether any label pair is ruled out (not under "any" or with nothing recorded)."""
        return bool(self._masks)

    def allowed(self, head_label: str, tail_label: str) -> numpy.ndarray:
        """A bool per predicate: may it link a head of this label to a tail of that one."""
        return self._masks.get((head_label, tail_label), self._default)

    def allows(self, head_label: str, predicate: str, tail_label: str) -> bool:
        """Whether this triple may be predicted (a predicate of another model: yes)."""
        p = self._index.get(predicate)
        return p is None or bool(self.allowed(head_label, tail_label)[p])

    def typed(self, predicate: str, head_labels: Iterable[str], tail_labels: Iterable[str]) -> Optional[Tuple[str, str]]:
        """The (head label, tail label) a predicate gives two spans that carry
        these labels (all the labels the entity head gave each span) and none
        of whose label pairs it was seen with: of the label pairs it was seen
        with in training, the one that agrees with the most of them, where
        exactly one agrees best and it agrees with at least one label. None
        where there is no such one choice (or the predicate was never seen).

        Why: a pair scorer that reads tokens finds the relation whatever label
        the entity head gave its spans, and where it gave a wrong one the
        relation was dropped ("seen") or kept with the wrong label ("any").
        Where a predicate links one kind of span to one other kind (44 of
        DuIE's 45 predicates), the predicate names the labels."""
        heads, tails = set(head_labels), set(tail_labels)
        agreement = [((h in heads) + (t in tails), (h, t)) for h, t in self._pairs_of.get(predicate, [])]
        if not agreement:
            return None
        best = max(score for score, _ in agreement)
        chosen = [pair for score, pair in agreement if score == best]
        return chosen[0] if best >= 1 and len(chosen) == 1 else None

    def mask(self, logits: numpy.ndarray, label_pairs: Sequence[Tuple[str, str]], fill: float) -> numpy.ndarray:
        """`logits` (pairs, predicates) with the disallowed cells set to `fill`."""
        if not len(label_pairs) or not self.constrains:
            return logits
        allowed = numpy.stack([self.allowed(h, t) for h, t in label_pairs])
        return numpy.where(allowed, logits, fill).astype(logits.dtype, copy=False)


def label_triples_of(records: Iterable[Tuple[Sequence, str, Sequence, object]]) -> List[Tuple[str, str, str]]:
    """(head label, predicate, tail label) of relation records ((start, end, label), predicate, (start, end, label), score)."""
    return [(str(head[2]), predicate, str(tail[2])) for head, predicate, tail, _ in records]


def link_windows(doc: Doc, scope: str) -> numpy.ndarray:
    """Per token, the window linking stays in: its sentence's index where the doc
    has sentence boundaries and `scope` is "sentence", else 0 for every token."""
    n_tokens = len(doc)
    if scope == "doc" or n_tokens == 0 or not doc.has_annotation("SENT_START"):
        return numpy.zeros((n_tokens,), dtype="int64")
    starts = doc.to_array("SENT_START") == 1
    starts[0] = True
    return numpy.cumsum(starts).astype("int64") - 1


def span_windows(token_windows: numpy.ndarray, starts: numpy.ndarray, ends: numpy.ndarray) -> numpy.ndarray:
    """Per span, its window; a span across a window boundary (a gold span over two
    sentences, or sentences cut inside an entity) gets a window of its own."""
    if not len(starts):
        return numpy.zeros((0,), dtype="int64")
    first = token_windows[starts]
    last = token_windows[ends - 1]
    crossing = first != last
    if not crossing.any():
        return first
    windows = first.copy()
    windows[crossing] = int(token_windows.max()) + 1 + numpy.arange(int(crossing.sum()))
    return windows


@dataclass
class CapCounts:
    """What a cap cut, summed over a batch: spans kept and spans cut, docs affected."""

    kept: int = 0
    cut: int = 0
    docs: int = 0

    def add(self, kept: int, cut: int) -> None:
        self.kept += kept
        self.cut += cut
        self.docs += cut > 0


def cap_candidates(
    starts: numpy.ndarray,
    ends: numpy.ndarray,
    labels: Sequence[object],
    scores: Optional[numpy.ndarray],
    windows: numpy.ndarray,
    limit: int,
    distance: Optional[int],
) -> Tuple[numpy.ndarray, int]:
    """The spans to link: each (start, end, label) once, and at most `limit` chosen
    spans with starts less than `distance` tokens apart in one window (per window
    when `distance` is None), taken best-scoring first (in order without scores).

    RETURNS (Tuple[numpy.ndarray, int]): the kept indices, ascending, and how many
        distinct spans the cap cut.
    """
    order = numpy.argsort(-scores, kind="stable") if scores is not None else numpy.arange(len(starts))
    seen = set()
    chosen: List[int] = []
    # Per window, the chosen starts in ascending order.
    chosen_starts: dict = {}
    n_cut = 0
    for i in order:
        start = int(starts[i])
        key = (start, int(ends[i]), labels[i])
        if key in seen:
            continue
        seen.add(key)
        near_starts = chosen_starts.setdefault(int(windows[i]), [])
        if distance is None:
            near = len(near_starts)
        else:
            lo = numpy.searchsorted(near_starts, start - distance, side="right")
            hi = numpy.searchsorted(near_starts, start + distance, side="left")
            near = int(hi - lo)
        if near >= limit:
            n_cut += 1
            continue
        chosen.append(int(i))
        near_starts.insert(int(numpy.searchsorted(near_starts, start)), start)
    return numpy.asarray(sorted(chosen), dtype="int64"), n_cut


def choose_candidates(
    doc: Doc,
    starts: numpy.ndarray,
    ends: numpy.ndarray,
    labels: Sequence[object],
    scores: Optional[numpy.ndarray],
    *,
    scope: str,
    limit: int,
    distance: Optional[int],
) -> Tuple[numpy.ndarray, numpy.ndarray, int]:
    """The spans of `doc` to link (`cap_candidates` within the windows of
    `scope`): their indices, their windows, and how many the cap cut."""
    windows = span_windows(link_windows(doc, scope), starts, ends)
    kept, n_cut = cap_candidates(starts, ends, labels, scores, windows, limit, distance)
    return kept, windows[kept], n_cut


def near_pairs(
    starts: numpy.ndarray, ends: numpy.ndarray, windows: numpy.ndarray, distance: Optional[int]
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Every unordered pair (a, b), a < b, of spans in one window whose starts and
    ends both lie less than `distance` tokens apart (any distance when None).

    Spans are sorted by (window, start) into one key with a gap wider than
    `distance` between windows, so the partners of each span are one slice of
    the sorted keys: the cost is the number of pairs, not the square of spans.
    """
    n_spans = len(starts)
    empty = numpy.zeros((0,), dtype="int64")
    if n_spans < 2:
        return empty, empty
    starts = numpy.asarray(starts, dtype="int64")
    ends = numpy.asarray(ends, dtype="int64")
    reach = int(ends.max()) + 1 if distance is None else int(distance)
    key = numpy.asarray(windows, dtype="int64") * (int(ends.max()) + reach + 1) + starts
    order = numpy.argsort(key, kind="stable")
    sorted_key = key[order]
    upto = numpy.searchsorted(sorted_key, sorted_key + reach, side="left")
    counts = upto - numpy.arange(n_spans) - 1
    total = int(counts.sum())
    if total <= 0:
        return empty, empty
    first = numpy.repeat(numpy.arange(n_spans), counts)
    offsets = numpy.arange(total) - numpy.repeat(numpy.cumsum(counts) - counts, counts)
    second = first + 1 + offsets
    a, b = order[first], order[second]
    if distance is not None:
        close = numpy.abs(ends[a] - ends[b]) < distance
        a, b = a[close], b[close]
    swap = a > b
    a, b = numpy.where(swap, b, a), numpy.where(swap, a, b)
    return a, b


def ordered_pairs(
    starts: numpy.ndarray,
    ends: numpy.ndarray,
    windows: numpy.ndarray,
    distance: Optional[int],
    with_self: bool = True,
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """`near_pairs` in both directions (plus every span with itself, unless
    `with_self` is off): the (head, tail) candidates of directed relations,
    head-major."""
    a, b = near_pairs(starts, ends, windows, distance)
    own = numpy.arange(len(starts) if with_self else 0, dtype="int64")
    heads = numpy.concatenate([a, b, own])
    tails = numpy.concatenate([b, a, own])
    order = numpy.lexsort((tails, heads))
    return heads[order], tails[order]


def scope_text(scope: str) -> str:
    """A link scope in words, for the cap warning (W009)."""
    return "a sentence, where the doc has sentence boundaries" if scope == "sentence" else "the doc"


def distance_text(distance: Optional[int]) -> str:
    """A max_pair_distance in words, for the cap warning (W009)."""
    return "anywhere" if distance is None else f"within max_pair_distance={distance} tokens of one another"
