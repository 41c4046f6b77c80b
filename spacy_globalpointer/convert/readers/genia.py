"""`genia`: `{"text", "entities": [{"start", "end", "type" or "label"}]}` per line,
character offsets, end exclusive."""
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from ..records import ConversionStats, RawRecord
from .base import Reader
from .jsonl import read_offset_json_lines

if TYPE_CHECKING:
    from ..options import ConvertOptions


def read_genia(path: Path, stats: ConversionStats, options: "ConvertOptions") -> Iterator[RawRecord]:
    for _, record in read_offset_json_lines(path, stats, "entities", ("type", "label")):
        yield record


READER = Reader("genia", read_genia)
