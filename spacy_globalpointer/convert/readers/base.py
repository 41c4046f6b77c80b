"""What every reader module declares: a `Reader` naming its format and what it reads."""
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from ..records import ConversionStats, RawRecord

if TYPE_CHECKING:
    from ..options import ConvertOptions

ReadFunction = Callable[[Path, ConversionStats, "ConvertOptions"], Iterator[RawRecord]]


@dataclass(frozen=True)
class Reader:
    """One input format.

    name (str): The `--format` name.
    read (ReadFunction): Yields a RawRecord per input record (path, stats,
        options); malformed input raises ConversionError.
    relations (bool): The format can carry relations (`--relations` allowed).
    events (bool): The format can carry events (`--events` allowed).
    schema (bool): The format takes an event schema (`--schema`).
    """

    name: str
    read: ReadFunction
    relations: bool = False
    events: bool = False
    schema: bool = False
