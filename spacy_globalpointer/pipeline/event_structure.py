"""What an event is to GPLinker, apart from the model: the (event type, role)
labels, gold events in the predicted tokens, and arguments grouped into events.

The event component scores argument spans for every (type, role) label (the
trigger is one more role) and links arguments; this module turns gold events
into what it learns from (`align_events`) and linked arguments back into
events (`group_events`), as pure functions of plain data.
"""
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple

import numpy
from spacy.training import Example

from ..decoding import linked_groups, span_probability
from ..extensions import EventRecord, event_records
from .matching import to_predicted

TRIGGER_ROLE = "trigger"
LABEL_SEPARATOR = "::"
# How linked arguments become events: "cliques" (GPLinker: maximal cliques of
# links holding a trigger), "triggers" (each trigger with the arguments linked
# to it; an argument linked to none joins its best-linked trigger of its type),
# "types" (the links' ablation: one event per type and window).
GROUPINGS = ("cliques", "triggers", "types")
# How the argument head labels argument spans: "typed" (GPLinker) one label per
# (event type, role); "roles" one label per role, shared by the event types,
# plus one trigger label per type, an argument taking the type of the trigger
# it is linked to.
ARGUMENT_LABELS = ("typed", "roles")
# Which of the spans of one label that overlap in one window are arguments:
# "best" the best-scoring of each overlapping set, "all" (GPLinker) every one
# over the threshold.
OVERLAPPING_ARGUMENTS = ("best", "all")
# What the link threshold is calibrated on (`calibration_arguments`):
# "predicted" the co-event pairs of the events decoded from predicted
# arguments, "gold" the pairs of gold arguments.
CALIBRATION_ARGUMENTS = ("predicted", "gold")
# The event-type half of a role label shared by every type ("*::place").
ANY_TYPE = "*"
# A decoded argument: ((event type, role), (start, end), logit).
Argument = Tuple[Tuple[str, str], Tuple[int, int], float]


def event_label(event_type: str, role: str) -> str:
    """The head's label for one role of one event type, e.g. 'Attack::trigger'."""
    return f"{event_type}{LABEL_SEPARATOR}{role}"


def head_label(event_type: str, role: str, argument_labels: str) -> str:
    """The argument head's label for a gold (event type, role): its own label
    ("typed"), or with argument_labels "roles" the role's label shared by every
    type (triggers keep their type: they are what types an event)."""
    if argument_labels == "roles" and role != TRIGGER_ROLE:
        return event_label(ANY_TYPE, role)
    return event_label(event_type, role)


def predictable_labels(
    labels: Optional[Sequence[str]], argument_labels: str, event_roles: Optional[Sequence[Sequence[str]]]
) -> Optional[List[str]]:
    """The (event type, role) labels a component can predict: its head labels
    ("typed"), or with shared role labels its trigger labels and the (type,
    role) pairs of its training gold. None where that is not known."""
    if labels is None or argument_labels != "roles":
        return None if labels is None else list(labels)
    if not event_roles:
        return None
    triggers = [label for label in labels if split_label(label)[1] == TRIGGER_ROLE]
    return triggers + [event_label(event_type, role) for event_type, role in event_roles]


def type_arguments(
    arguments: Sequence[Argument], windows: numpy.ndarray, roles_of: Optional[Dict[str, Set[str]]]
) -> Tuple[List[Argument], numpy.ndarray]:
    """Arguments decoded with shared role labels ("*", role), each copied once
    for every event type whose trigger was decoded in its window and that has
    the role in training (`roles_of`: type -> roles; None: every type may have
    every role): which of those events it
    joins is then up to the links, as for typed arguments. Triggers and typed
    arguments pass unchanged; a role argument with no such trigger beside it
    has no type and is dropped. RETURNS the arguments and their windows."""
    trigger_types: Dict[int, Set[str]] = {}
    for ((event_type, role), _, _), window in zip(arguments, windows):
        if role == TRIGGER_ROLE:
            trigger_types.setdefault(int(window), set()).add(event_type)
    typed: List[Argument] = []
    typed_windows: List[int] = []
    for ((event_type, role), span, logit), window in zip(arguments, windows):
        if event_type != ANY_TYPE:
            typed.append(((event_type, role), span, logit))
            typed_windows.append(int(window))
            continue
        for candidate in sorted(trigger_types.get(int(window), ())):
            if roles_of is None or role in roles_of.get(candidate, ()):
                typed.append(((candidate, role), span, logit))
                typed_windows.append(int(window))
    return typed, numpy.asarray(typed_windows, dtype="int64")


def split_label(label: str) -> Tuple[str, str]:
    event_type, _, role = label.rpartition(LABEL_SEPARATOR)
    return event_type, role


class EventGold(NamedTuple):
    """One example's gold events in predicted tokens, trigger first, what
    could not be placed, and the (event type, role) pairs of the arguments
    (aligned or not: what the training data holds)."""

    events: List[Tuple[str, List[Tuple[str, Tuple[int, int]]]]]
    n_arguments: int
    n_misaligned: int
    n_no_trigger: int
    n_duplicate_events: int
    n_duplicate_arguments: int
    event_roles: List[Tuple[str, str]]


def align_events(eg: Example) -> EventGold:
    """Gold events as (type, [(role, (start, end)), ...]) in predicted tokens,
    trigger first. Arguments that do not align with the predicted tokens
    are left out (counted in initialize, W007)."""
    records = event_records(eg.reference)
    events = []
    n_arguments = n_misaligned = n_duplicate_arguments = 0
    for event_type, trigger, arguments, _ in records:
        members = ([(TRIGGER_ROLE, trigger)] if trigger is not None else []) + list(arguments)
        n_duplicate_arguments += len(members) - len(set(members))
        aligned = []
        for role, record in members:
            span = to_predicted(eg, record)
            n_arguments += 1
            if span is None:
                n_misaligned += 1
            else:
                aligned.append((role, span))
        events.append((event_type, aligned))
    n_duplicate_events = len(records) - len(
        {(t, trig, tuple(sorted(args))) for t, trig, args, _ in records}
    )
    n_no_trigger = sum(trigger is None for _, trigger, _, _ in records)
    event_roles = [(event_type, role) for event_type, _, arguments, _ in records for role, _ in arguments]
    return EventGold(
        events, n_arguments, n_misaligned, n_no_trigger, n_duplicate_events, n_duplicate_arguments, event_roles
    )


def gold_triggers(
    gold_events: Sequence[Tuple[str, List[Tuple[str, Tuple[int, int]]]]]
) -> List[Tuple[int, str, Tuple[int, int]]]:
    """(event index, event type, trigger span) of each gold event, as
    `align_events` gives them (trigger first), that has a trigger."""
    return [
        (e, event_type, members[0][1]) for e, (event_type, members) in enumerate(gold_events)
        if members and members[0][0] == TRIGGER_ROLE
    ]


def extra_triggers(
    arguments: Sequence[Argument], gold_events: Sequence[Tuple[str, List[Tuple[str, Tuple[int, int]]]]]
) -> List[Tuple[str, Tuple[int, int]]]:
    """The decoded triggers (event type, span) that are not gold triggers of
    their type, each once, sorted: what `mentioned_events` places."""
    gold = {(event_type, span) for _, event_type, span in gold_triggers(gold_events)}
    return sorted({
        (event_type, tuple(span)) for (event_type, role), span, _ in arguments
        if role == TRIGGER_ROLE and (event_type, tuple(span)) not in gold
    })


def mentioned_events(
    gold_events: Sequence[Tuple[str, List[Tuple[str, Tuple[int, int]]]]],
    gold_windows: Sequence[int],
    triggers: Sequence[Tuple[str, Tuple[int, int], int]],
) -> List[Optional[int]]:
    """For each predicted trigger (event type, span, window) that is not a gold
    trigger of its type, the gold event it is taken to mention again: the one
    whose trigger of its type it overlaps, else the only gold event of its type
    in its window, else None (it mentions none: linked to nothing).

    Why: gold gives an event one trigger, but a text often names it twice ("the
    layoffs ... this round of layoffs") or the head finds a trigger's neighbour
    span, and the argument head predicts both. A link scorer trained only on
    gold arguments never sees such a pair, so the two triggers were never
    linked and the cliques made a second, argument-less event of the extra
    trigger (DuEE, CNN: 244 of 420 wrong triggers sat beside another trigger of
    their type). Taught that it belongs to the event it names, the extra
    trigger joins that event's clique, which keeps its best trigger.

    gold_events: (event type, [(role, (start, end)), ...]) trigger first, as
        `align_events` gives them; gold_windows: the window of each one's first
        member (-1 for an event with no members).
    """
    by_type: Dict[Tuple[str, int], List[int]] = {}
    for e, ((event_type, _), window) in enumerate(zip(gold_events, gold_windows)):
        by_type.setdefault((event_type, int(window)), []).append(e)
    triggers_of: Dict[str, List[Tuple[int, Tuple[int, int]]]] = {}
    for e, event_type, span in gold_triggers(gold_events):
        triggers_of.setdefault(event_type, []).append((e, span))
    out: List[Optional[int]] = []
    for event_type, (start, end), window in triggers:
        overlapped = [e for e, (s, t) in triggers_of.get(event_type, []) if s < end and start < t]
        if overlapped:
            out.append(overlapped[0])
            continue
        same = by_type.get((event_type, int(window)), [])
        out.append(same[0] if len(same) == 1 else None)
    return out


def output_decisions(
    arguments: Sequence[Argument], windows: numpy.ndarray, gold: Set[Tuple[str, str, Tuple[int, int]]]
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The argument threshold's decisions as the events' output makes them,
    from the arguments decoded at the lowest threshold considered: one per
    distinct (event type, role, span), triggers included, scored by its own
    logit and, for a role, by no more than the best trigger of its type in its
    window (an argument without such a trigger is in no event at any
    threshold: never a decision). RETURNS the decisions' scores and those of
    the gold ones (aligned with `ThresholdCalibrator`: -inf for each gold
    (type, role, span) no decision holds).

    Why not the argument cells: the head's cells are not what is measured. A
    role cell counts only once a trigger of its type stands beside it, so
    the cell-optimal threshold (DuEE, CNN: -0.2, exactly what dev's cells
    prefer too) left the output's arguments at recall 32 where the cells had
    51, and a threshold of -1.0 gave 4.4 more argument F1 on the same weights.
    What the links then take away is not counted (the ablation's output)."""
    best_trigger: Dict[Tuple[str, int], float] = {}
    for ((event_type, role), _, logit), window in zip(arguments, windows):
        if role == TRIGGER_ROLE:
            key = (event_type, int(window))
            best_trigger[key] = max(best_trigger.get(key, -numpy.inf), logit)
    scores: Dict[Tuple[str, str, Tuple[int, int]], float] = {}
    for ((event_type, role), span, logit), window in zip(arguments, windows):
        if role != TRIGGER_ROLE:
            trigger = best_trigger.get((event_type, int(window)))
            if trigger is None:
                continue
            logit = min(logit, trigger)
        item = (event_type, role, tuple(span))
        scores[item] = max(scores.get(item, -numpy.inf), logit)
    logits = numpy.asarray(list(scores.values()), dtype="float32").reshape(-1)
    found = numpy.asarray([item in gold for item in scores], dtype=bool).reshape(-1)
    missed = numpy.full((len(gold) - int(found.sum()),), -numpy.inf, dtype="float32")
    return logits, numpy.concatenate([logits[found], missed])


def group_events(
    arguments: Sequence[Argument],
    windows: numpy.ndarray,
    link_logits: Dict[Tuple[int, int], float],
    grouping: str,
    link_threshold: Optional[float] = None,
) -> List[EventRecord]:
    """Per event type and window, the groups of linked arguments that hold a
    trigger: the maximal cliques of the links (grouping "cliques", GPLinker),
    each trigger with the arguments linked to it ("triggers",
    `_trigger_groups`), or all of them ("types", the links' ablation). An
    event's score is the probability of its weakest argument or link.

    link_logits: (i, j) with i < j -> logit, of the pairs that were scored.
    link_threshold: the links that pass it join arguments (None: all of
        link_logits pass, as a caller that kept only the passing ones gives them).
    """
    if link_threshold is not None and grouping != "triggers":
        link_logits = {pair: logit for pair, logit in link_logits.items() if logit > link_threshold}
    groups_of: Dict[Tuple[str, int], List[int]] = {}
    for k, ((event_type, _), _, _) in enumerate(arguments):
        groups_of.setdefault((event_type, int(windows[k])), []).append(k)
    # Each link joins two arguments of one type and window: one pass sorts them out.
    group_key = {k: key for key, members in groups_of.items() for k in members}
    links_of: Dict[Tuple[str, int], List[Tuple[int, int]]] = {}
    for i, j in link_logits:
        if group_key[i] == group_key[j]:
            links_of.setdefault(group_key[i], []).append((i, j))
    records: List[EventRecord] = []
    seen: Set[Any] = set()
    for key, members in sorted(groups_of.items()):
        event_type = key[0]
        if grouping == "types":
            groups = [tuple(range(len(members)))]
        elif grouping == "triggers":
            groups = _trigger_groups(arguments, members, link_logits, link_threshold)
        else:
            local = {k: x for x, k in enumerate(members)}
            groups = linked_groups(len(members), [(local[i], local[j]) for i, j in links_of.get(key, [])])
        for group in groups:
            chosen = [members[x] for x in group]
            triggers = [k for k in chosen if arguments[k][0][1] == TRIGGER_ROLE]
            if not triggers:
                continue
            trigger = max(triggers, key=lambda k: arguments[k][2])
            others = [k for k in chosen if arguments[k][0][1] != TRIGGER_ROLE]
            logits_in = [arguments[k][2] for k in chosen] + [
                link_logits[(i, j)] for i in chosen for j in chosen if (i, j) in link_logits
                and (grouping != "triggers" or trigger in (i, j))
            ]
            record = (
                event_type,
                _span_record(arguments[trigger]),
                tuple(sorted((arguments[k][0][1], _span_record(arguments[k])) for k in others)),
                float(span_probability(numpy.asarray([min(logits_in)]))[0]),
            )
            if record[:3] not in seen:
                seen.add(record[:3])
                records.append(record)
    return records


def link_threshold_levels(link_logits: Iterable[float], lowest: float, highest: float) -> List[float]:
    """The link thresholds from `lowest` to `highest` at which decoding can
    change: `lowest` and every distinct link logit above it, up to `highest`.
    Between two levels the same links pass (a link passes where its logit is
    above the threshold), so decoding at the levels is decoding at every
    threshold of the range."""
    return [lowest] + sorted({float(v) for v in link_logits if lowest < v <= highest})


def _trigger_groups(
    arguments: Sequence[Argument],
    members: List[int],
    link_logits: Dict[Tuple[int, int], float],
    link_threshold: Optional[float],
) -> List[Tuple[int, ...]]:
    """One group per trigger of one type and window (positions in `members`):
    the trigger and every argument whose link to it passes the threshold; an
    argument whose links to all the triggers fail joins the trigger it is best
    linked to, so that with one trigger every argument joins it.

    Why: a clique needs every pair of its arguments linked, so one missed
    link splits an event, and on data where most sentences hold one event of
    a type (PHEE, DuEE) the cliques lost to grouping by type. Here the links
    only decide where there is a choice: which trigger an argument belongs
    to, and whether it belongs to several."""
    def logit(i: int, j: int) -> float:
        return link_logits.get((min(i, j), max(i, j)), -numpy.inf)

    triggers = [x for x, k in enumerate(members) if arguments[k][0][1] == TRIGGER_ROLE]
    joined: Dict[int, List[int]] = {x: [x] for x in triggers}
    for x, k in enumerate(members):
        if not triggers or arguments[k][0][1] == TRIGGER_ROLE:
            continue
        scores = [logit(k, members[t]) for t in triggers]
        passing = [t for t, score in zip(triggers, scores) if link_threshold is None or score > link_threshold]
        if not passing:
            passing = [triggers[int(numpy.argmax(scores))]]
        for t in passing:
            joined[t].append(x)
    return [tuple(sorted(group)) for _, group in sorted(joined.items())]


def _span_record(argument: Argument) -> Tuple[int, int, str]:
    (event_type, role), (start, end), _ = argument
    return (start, end, event_type if role == TRIGGER_ROLE else role)
