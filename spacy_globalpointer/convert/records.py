"""The plain data every reader produces and the counts every step updates."""
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

# A span in the record's offsets (characters for `text`, tokens for `words`),
# end exclusive.
RawSpan = Tuple[int, int, str]

MAX_EXAMPLES = 5

# Reasons a span read from the input is not written (keys of `spans_skipped`).
SKIP_EMPTY_TEXT = "empty text"
SKIP_DUPLICATE = "duplicate"
SKIP_MISALIGNED = "misaligned (strict)"
SKIP_NO_TOKENS = "no token in range"
SKIP_WHITESPACE = "whitespace only"
SKIP_DUPLICATE_ALIGNED = "duplicate after alignment"

# Further reasons a relation, event or event argument is not written (keys of
# `relations_skipped`, `events_skipped`, `arguments_skipped`). A relation whose
# head or tail span cannot be aligned is skipped as "head: <span reason>".
SKIP_NOT_FOUND = "text not found"
SKIP_UNKNOWN_TYPE = "unknown event type (schema)"
SKIP_UNKNOWN_ROLE = "unknown role (schema)"
SKIP_TRIGGER = "trigger not aligned"
SKIP_EVENT_SKIPPED = "its event was skipped"
# A relation from a span to itself (head and tail on the same tokens, whatever
# their labels): the relation heads cannot tell its two ends apart.
SKIP_SELF_RELATION = "head and tail are the same span"
# PHEE: what is read but is not an event argument.
SKIP_ATTRIBUTE = "attribute cue (not an argument)"
SKIP_COMBINATION_TRIGGER = "combination trigger (not an argument)"
SKIP_TRIGGER_SHAPE = "trigger is not one contiguous mention"

# What a record can carry: keys of `RawRecord.skipped`.
RELATION = "relation"
EVENT = "event"
ARGUMENT = "argument"


class ConversionError(ValueError):
    """Input or arguments that cannot be converted. For malformed input the message
    starts with the file and line (or, for a JSON array, the record index)."""


@dataclass
class RawRecord:
    """One input record before tokenization.

    Exactly one of `text` (spans in character offsets) and `words` (spans in token
    offsets) is set. Span ends are exclusive here whatever the input format says.

    The spans of `relations` are also in `spans` (readers add them), so they reach
    `doc.spans`; event triggers and arguments are only in `events`. `skipped` holds
    what a reader could already not place (e.g. a DuIE subject missing from the
    text) as (kind, reason, example): the builder counts it with the rest.
    `spans_annotated` is False for formats without span annotation (DuEE), whose
    docs get no `doc.spans` key.
    """

    index: int
    where: str
    text: Optional[str] = None
    words: Optional[List[str]] = None
    spans: List[RawSpan] = field(default_factory=list)
    relations: List["RawRelation"] = field(default_factory=list)
    events: List["RawEvent"] = field(default_factory=list)
    skipped: List[Tuple[str, str, str]] = field(default_factory=list)
    labelled: bool = True
    spans_annotated: bool = True


@dataclass
class RawRelation:
    """`head --label--> tail`; head and tail are spans of the record."""

    head: RawSpan
    label: str
    tail: RawSpan


@dataclass
class RawEvent:
    """An event of type `label`; trigger (start, end) or None; (role, start, end) arguments."""

    label: str
    trigger: Optional[Tuple[int, int]]
    arguments: List[Tuple[str, int, int]] = field(default_factory=list)


@dataclass
class ConversionStats:
    """Counts of what a conversion read, wrote, changed and skipped.

    Invariant: `spans_read == spans_written + sum(spans_skipped.values())`, and
    the same for relations, events and event arguments. Arguments of a skipped
    event are skipped with SKIP_EVENT_SKIPPED. `changes` counts changes made to
    relations, events and arguments while reading or aligning (offset repaired,
    span expanded, ambiguous string paired by nearest occurrence); the item may
    still be skipped later for another reason.
    """

    input_path: str = ""
    output_path: str = ""
    format: str = ""
    records_read: int = 0
    records_out_of_range: int = 0
    empty_texts: int = 0
    unlabelled_records: int = 0
    docs_written: int = 0
    tokens: int = 0
    spans_read: int = 0
    spans_written: int = 0
    spans_expanded: int = 0
    spans_by_label: Counter = field(default_factory=Counter)
    spans_skipped: Counter = field(default_factory=Counter)
    text_mismatches: int = 0
    bio_repaired: int = 0
    nested_pairs: int = 0
    crossing_pairs: int = 0
    same_extent_pairs: int = 0
    docs_with_overlap: int = 0
    ents_written: int = 0
    ents_left_out: int = 0
    ignored_keys: Counter = field(default_factory=Counter)
    relations_read: int = 0
    relations_written: int = 0
    relations_by_label: Counter = field(default_factory=Counter)
    relations_skipped: Counter = field(default_factory=Counter)
    events_read: int = 0
    events_written: int = 0
    events_by_label: Counter = field(default_factory=Counter)
    events_skipped: Counter = field(default_factory=Counter)
    arguments_read: int = 0
    arguments_written: int = 0
    arguments_by_role: Counter = field(default_factory=Counter)
    arguments_skipped: Counter = field(default_factory=Counter)
    changes: Counter = field(default_factory=Counter)
    examples: Dict[str, List[str]] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)

    def example(self, kind: str, text: str) -> None:
        """Keep up to MAX_EXAMPLES examples of one kind of change or skip."""
        found = self.examples.setdefault(kind, [])
        if len(found) < MAX_EXAMPLES:
            found.append(text)

    def skip(self, reason: str, example: Optional[str] = None, n: int = 1) -> None:
        self.spans_skipped[reason] += n
        if example is not None:
            self.example(reason, example)

    def read_item(self, kind: str) -> None:
        """Count a relation, event or argument (`kind`) read."""
        setattr(self, f"{_PLURAL[kind]}_read", getattr(self, f"{_PLURAL[kind]}_read") + 1)

    def skip_item(self, kind: str, reason: str, example: Optional[str] = None, n: int = 1) -> None:
        """Count a relation, event or argument (`kind`) that is not written."""
        getattr(self, f"{_PLURAL[kind]}_skipped")[reason] += n
        if example is not None:
            self.example(f"{kind} skipped: {reason}", example)

    def change(self, what: str, example: Optional[str] = None) -> None:
        """Count a relation, event or argument written after a change."""
        self.changes[what] += 1
        if example is not None:
            self.example(what, example)

    @property
    def spans_skipped_total(self) -> int:
        return sum(self.spans_skipped.values())

    @property
    def relations_skipped_total(self) -> int:
        return sum(self.relations_skipped.values())

    @property
    def events_skipped_total(self) -> int:
        return sum(self.events_skipped.values())

    @property
    def arguments_skipped_total(self) -> int:
        return sum(self.arguments_skipped.values())

    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON-serializable view (Counters become dicts)."""
        result: Dict[str, Any] = {}
        for key, value in self.__dict__.items():
            result[key] = dict(value) if isinstance(value, Counter) else value
        for kind in ("spans", "relations", "events", "arguments"):
            result[f"{kind}_skipped_total"] = getattr(self, f"{kind}_skipped_total")
        return result


_PLURAL = {RELATION: "relations", EVENT: "events", ARGUMENT: "arguments"}
