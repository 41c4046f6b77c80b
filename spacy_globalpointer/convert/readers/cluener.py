"""`cluener` (CLUENER2020): `{"text", "label": {type: {entity_text: [[start, end]]}}}`
per line, end inclusive."""
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from ..parsing import check_entity_text, check_offsets, get_text, is_int, note_ignored_keys, read_json_lines
from ..records import ConversionError, ConversionStats, RawRecord
from .base import Reader

if TYPE_CHECKING:
    from ..options import ConvertOptions


def read_cluener(path: Path, stats: ConversionStats, options: "ConvertOptions") -> Iterator[RawRecord]:
    for index, where, obj in read_json_lines(path):
        text = get_text(obj, where)
        note_ignored_keys(obj, ("text", "label"), stats)
        record = RawRecord(index, where, text=text, labelled="label" in obj)
        labels = obj.get("label") or {}
        if not isinstance(labels, dict):
            raise ConversionError(f"{where}: 'label' must be an object {{type: {{text: [[start, end]]}}}}")
        for label, mentions in labels.items():
            if not isinstance(mentions, dict):
                raise ConversionError(f"{where}: label[{label!r}] must map entity text to [[start, end], ...]")
            for entity, offsets in mentions.items():
                if not isinstance(offsets, list):
                    raise ConversionError(f"{where}: label[{label!r}][{entity!r}] must be a list of [start, end]")
                for pair in offsets:
                    desc = f"label[{label!r}][{entity!r}] {pair!r}"
                    if (
                        not isinstance(pair, list)
                        or len(pair) != 2
                        or not all(is_int(x) for x in pair)
                    ):
                        raise ConversionError(f"{where}: {desc}: expected [start, end] integers")
                    start, end = pair[0], pair[1] + 1  # end inclusive in CLUENER
                    check_offsets(start, end, text, where, f"{desc} (end inclusive)")
                    check_entity_text(text, start, end, entity, label, where, stats)
                    record.spans.append((start, end, str(label)))
        yield record


READER = Reader("cluener", read_cluener)
