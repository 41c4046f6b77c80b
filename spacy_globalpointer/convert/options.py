"""`ConvertOptions`: every setting of a conversion, in one object that checks itself."""
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from .build import ALIGNMENT_MODES
from .readers import EVENT_FORMATS, FORMATS, READERS, RELATION_FORMATS, Reader
from .records import ConversionError


@dataclass(frozen=True)
class ConvertOptions:
    """How to convert one file. Invalid combinations raise ConversionError when
    the object is made, so a reader never sees them.

    format (str): One of FORMATS.
    lang (str): Language code for `spacy.blank` (tokenizer and vocab). The default
        "zh" cuts text into single characters, as the Chinese data sets the
        converter was first written for need; other scripts need their own code.
    spans_key (str): Key in `doc.spans` for the spans.
    alignment (str): "strict" skips spans not on token boundaries, "expand" widens them.
    ents (bool): Also set `doc.ents` to a non-overlapping subset (longest first).
    start (int): First record index to convert (0-based, inclusive).
    end (Optional[int]): Record index to stop at (exclusive); None for all.
    schema (Optional[Union[str, Path]]): Event schema (formats whose reader takes
        one, i.e. "duee"): events of unknown types and arguments with unknown
        roles are skipped.
    relations (bool): Read jsonl `relations` (duie and spert always have them).
    events (bool): Read jsonl `events` (duee and phee always have them).
    """

    format: str = "jsonl"
    lang: str = "zh"
    spans_key: str = "sc"
    alignment: str = "strict"
    ents: bool = False
    start: int = 0
    end: Optional[int] = None
    schema: Optional[Union[str, Path]] = None
    relations: bool = False
    events: bool = False

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ConversionError(f"Unknown format {self.format!r}: choose one of {', '.join(FORMATS)}")
        if self.alignment not in ALIGNMENT_MODES:
            raise ConversionError(
                f"Unknown alignment {self.alignment!r}: choose one of {', '.join(ALIGNMENT_MODES)}"
            )
        if self.start < 0 or (self.end is not None and self.end < self.start):
            raise ConversionError(f"Invalid record range start={self.start}, end={self.end}")
        if self.schema is not None and not self.reader.schema:
            schema_formats = ", ".join(name for name, reader in READERS.items() if reader.schema)
            raise ConversionError(
                f"A schema is read for the {schema_formats} format only, not {self.format}"
            )
        if self.relations and not self.reader.relations:
            raise ConversionError(
                f"The {self.format} format has no relations: use one of {', '.join(RELATION_FORMATS)}"
            )
        if self.events and not self.reader.events:
            raise ConversionError(
                f"The {self.format} format has no events: use one of {', '.join(EVENT_FORMATS)}"
            )

    @property
    def reader(self) -> Reader:
        return READERS[self.format]
