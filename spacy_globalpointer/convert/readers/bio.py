"""`bio`: CoNLL columns `token<whitespace>tag`, a blank line between sentences; tags
BIO/IOB2 or BIOES (`M-` is read as `I-`, BILOU's `L-`/`U-` as `E-`/`S-`)."""
import re
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, List, Optional, Tuple

from ..records import ConversionError, ConversionStats, RawRecord
from .base import Reader

if TYPE_CHECKING:
    from ..options import ConvertOptions


_BIO_PREFIXES = {"B": "B", "I": "I", "M": "I", "E": "E", "S": "S", "L": "E", "U": "S"}
_COLUMN_SEP = re.compile(r"[ \t]+")


def read_bio(path: Path, stats: ConversionStats, options: "ConvertOptions") -> Iterator[RawRecord]:
    words: List[str] = []
    tags: List[Tuple[str, Optional[str], int]] = []  # (prefix, type, line number)
    first_line = 0
    index = 0
    with path.open(encoding="utf-8-sig") as file_:
        for lineno, line in enumerate(file_, start=1):
            line = line.rstrip("\r\n")
            fields = _COLUMN_SEP.split(line.strip(" \t"))
            is_break = not line.strip() or fields[0] == "-DOCSTART-"
            if is_break:
                if words:
                    yield _bio_record(index, f"{path}:{first_line}", words, tags, stats)
                    index += 1
                    words, tags = [], []
                continue
            if len(fields) < 2:
                raise ConversionError(
                    f"{path}:{lineno}: expected 'token<whitespace>tag', got {line!r}"
                )
            if not words:
                first_line = lineno
            words.append(fields[0])
            tags.append(_parse_tag(fields[-1], f"{path}:{lineno}") + (lineno,))
    if words:
        yield _bio_record(index, f"{path}:{first_line}", words, tags, stats)


def _parse_tag(tag: str, where: str) -> Tuple[str, Optional[str]]:
    if tag == "O":
        return "O", None
    prefix, sep, label = tag.partition("-")
    if not sep or prefix not in _BIO_PREFIXES or not label:
        raise ConversionError(
            f"{where}: unknown tag {tag!r}: expected 'O' or B-/I-/E-/S-/M- followed by a type"
        )
    return _BIO_PREFIXES[prefix], label


def _bio_record(
    index: int,
    where: str,
    words: List[str],
    tags: List[Tuple[str, Optional[str], int]],
    stats: ConversionStats,
) -> RawRecord:
    """Decode BIO/BIOES tags into token spans. An I-/E- that does not continue an
    open entity of its type starts a new one (counted as repaired)."""
    record = RawRecord(index, where, words=list(words))
    open_start: Optional[int] = None
    open_label: Optional[str] = None

    def close(end: int) -> None:
        nonlocal open_start, open_label
        if open_start is not None and open_label is not None:
            record.spans.append((open_start, end, open_label))
        open_start, open_label = None, None

    for i, (prefix, label, lineno) in enumerate(tags):
        if prefix in ("I", "E") and open_label != label:
            close(i)
            stats.bio_repaired += 1
            prev = tags[i - 1] if i else None
            prev_tag = "start of sentence" if prev is None else (
                "O" if prev[0] == "O" else f"{prev[0]}-{prev[1]}"
            )
            stats.example(
                "BIO repaired",
                f"{prefix}-{label} after {prev_tag} at {where.rsplit(':', 1)[0]}:{lineno}"
                f" ({words[i]!r}): started a new entity",
            )
            open_start, open_label = i, label
        elif prefix in ("B", "S", "O"):
            close(i)
            if prefix != "O":
                open_start, open_label = i, label
        if prefix in ("E", "S"):
            close(i + 1)
    close(len(tags))
    return record


READER = Reader("bio", read_bio)
