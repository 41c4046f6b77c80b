"""One module per input format, each declaring its `Reader`; `READERS` maps the
`--format` names to them. A new format is a module here plus one line below."""
from typing import Dict

from . import bio, cluener, cmeee, duee, duie, genia, jsonl, phee, spert
from .base import Reader
from .duee import read_duee_schema

READERS: Dict[str, Reader] = {
    reader.name: reader
    for reader in (
        jsonl.READER,
        cmeee.READER,
        cluener.READER,
        bio.READER,
        genia.READER,
        duie.READER,
        spert.READER,
        spert.SCIERC,
        duee.READER,
        phee.READER,
    )
}
FORMATS = tuple(READERS)
RELATION_FORMATS = tuple(name for name, reader in READERS.items() if reader.relations)
EVENT_FORMATS = tuple(name for name, reader in READERS.items() if reader.events)

__all__ = ["EVENT_FORMATS", "FORMATS", "READERS", "RELATION_FORMATS", "Reader", "read_duee_schema"]
