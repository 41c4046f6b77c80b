"""`cmeee` (CBLUE CMeEE): one JSON array of `{"text", "entities": [{"start_idx",
"end_idx", "type", "entity"}]}`, end inclusive."""
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from ..parsing import (
    as_dict, check_entity_text, check_offsets, get_int, get_label, get_list, get_text, load_json_array, note_ignored_keys,
)
from ..records import ConversionError, ConversionStats, RawRecord
from .base import Reader

if TYPE_CHECKING:
    from ..options import ConvertOptions


def read_cmeee(path: Path, stats: ConversionStats, options: "ConvertOptions") -> Iterator[RawRecord]:
    for index, obj in enumerate(load_json_array(path)):
        where = f"{path}: record {index}"
        if not isinstance(obj, dict):
            raise ConversionError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        text = get_text(obj, where)
        note_ignored_keys(obj, ("text", "entities"), stats)
        record = RawRecord(index, where, text=text, labelled="entities" in obj)
        for i, ent in enumerate(get_list(obj, "entities", where)):
            desc = f"entities[{i}]"
            ent = as_dict(ent, where, desc)
            start = get_int(ent, "start_idx", where, desc)
            end_idx = get_int(ent, "end_idx", where, desc)
            label = get_label(ent, ("type",), where, desc)
            end = end_idx + 1  # end inclusive in CMeEE
            check_offsets(
                start, end, text, where, f"{desc} (start_idx={start}, end_idx={end_idx}, end inclusive)"
            )
            if "entity" in ent:
                check_entity_text(text, start, end, ent["entity"], label, where, stats)
            record.spans.append((start, end, label))
        yield record


READER = Reader("cmeee", read_cmeee)
