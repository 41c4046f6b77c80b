"""`duie` (DuIE): `{"text", "spo_list": [{"subject", "subject_type", "predicate",
"object", "object_type"}]}` per line, strings without offsets."""
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, List, Optional, Set, Tuple

from ..parsing import as_dict, find_all, get_list, get_string, get_text, note_ignored_keys, read_json_lines
from ..records import RELATION, SKIP_NOT_FOUND, ConversionStats, RawRecord, RawRelation
from .base import Reader

if TYPE_CHECKING:
    from ..options import ConvertOptions


def read_duie(path: Path, stats: ConversionStats, options: "ConvertOptions") -> Iterator[RawRecord]:
    """DuIE: `spo_list` of strings without offsets. Every occurrence of subject and
    object is found; a relation takes the pair of occurrences nearest each other
    (fewest characters between them; overlapping pairs only when there is no
    other; ties: the earliest subject, then the earliest object) and is counted as
    ambiguous when either string occurs more than once. A string not in the text
    skips the relation."""
    fields = ("subject", "subject_type", "predicate", "object", "object_type")
    for index, where, obj in read_json_lines(path):
        text = get_text(obj, where)
        note_ignored_keys(obj, ("text", "spo_list", "postag"), stats)
        record = RawRecord(index, where, text=text, labelled="spo_list" in obj)
        seen_spans: Set[Tuple[int, int, str]] = set()
        for i, spo in enumerate(get_list(obj, "spo_list", where)):
            desc = f"spo_list[{i}]"
            spo = as_dict(spo, where, desc)
            subject, subject_type, predicate, object_, object_type = (
                get_string(spo, key, where, desc) for key in fields
            )
            shown = f"{subject!r} --{predicate}--> {object_!r} ({where})"
            subjects = find_all(text, subject)
            objects = find_all(text, object_)
            if not subjects or not objects:
                role = "subject" if not subjects else "object"
                record.skipped.append((RELATION, f"{role}: {SKIP_NOT_FOUND}", shown))
                continue
            s_start, o_start = _nearest_pair(subjects, len(subject), objects, len(object_))
            if len(subjects) > 1 or len(objects) > 1:
                stats.change(
                    "ambiguous string: nearest occurrences paired",
                    f"{shown}: subject at {subjects}, object at {objects}; "
                    f"chose {s_start} and {o_start}",
                )
            head = (s_start, s_start + len(subject), subject_type)
            tail = (o_start, o_start + len(object_), object_type)
            for span in (head, tail):
                if span not in seen_spans:
                    seen_spans.add(span)
                    record.spans.append(span)
            record.relations.append(RawRelation(head, predicate, tail))
        yield record


def _nearest_pair(
    subjects: List[int], s_len: int, objects: List[int], o_len: int
) -> Tuple[int, int]:
    """The closest (subject start, object start): fewest characters between them;
    overlapping pairs (a name inside a title) only if no other pair exists; ties:
    the earliest subject, then the earliest object."""
    best: Optional[Tuple[Tuple[bool, int], int, int]] = None
    for s in subjects:
        for o in objects:
            gap = max(s, o) - min(s + s_len, o + o_len)
            key = (gap < 0, max(0, gap))
            if best is None or key < best[0]:
                best = (key, s, o)
    assert best is not None
    return best[1], best[2]


READER = Reader("duie", read_duie, relations=True)
