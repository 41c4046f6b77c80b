"""The plain data every reader produces and the counts every step updates."""
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

MAX_EXAMPLES = 5

# Reasons a span read from the input is not written (keys of `spans_skipped`).
SKIP_EMPTY_TEXT = "empty text"
SKIP_DUPLICATE = "duplicate"
SKIP_MISALIGNED = "misaligned (strict)"
SKIP_NO_TOKENS = "no token in range"
SKIP_WHITESPACE = "whitespace only"
SKIP_DUPLICATE_ALIGNED = "duplicate after alignment"


class ConversionError(ValueError):
    """Input or arguments that cannot be converted. For malformed input the message
    starts with the file and line (or, for a JSON array, the record index)."""


@dataclass
class RawRecord:
    """One input record before tokenization.

    Exactly one of `text` (spans in character offsets) and `words` (spans in token
    offsets) is set. Span ends are exclusive here whatever the input format says.
    """

    index: int
    where: str
    text: Optional[str] = None
    words: Optional[List[str]] = None
    spans: List[Tuple[int, int, str]] = field(default_factory=list)
    labelled: bool = True


@dataclass
class ConversionStats:
    """Counts of what a conversion read, wrote, changed and skipped.

    Invariant: `spans_read == spans_written + sum(spans_skipped.values())`.
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

    @property
    def spans_skipped_total(self) -> int:
        return sum(self.spans_skipped.values())

    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON-serializable view (Counters become dicts)."""
        result: Dict[str, Any] = {}
        for key, value in self.__dict__.items():
            result[key] = dict(value) if isinstance(value, Counter) else value
        result["spans_skipped_total"] = self.spans_skipped_total
        return result
