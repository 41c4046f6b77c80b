"""Input files, their shards, and reading one shard's records.

INPUT arguments are files, directories (searched recursively for known
suffixes) or glob patterns. Each file is cut into shards of at most
`shard_size` records; a shard is the unit of work, of output and of
resumption. Reading a shard never raises for a bad record: it yields a
`Failure` with the file, line, id and reason instead, which the caller writes
to the errors file and counts.
"""
import glob
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Union

from ..errors import Errors

INPUT_FORMATS = ("auto", "jsonl", "text", "parquet")
SUFFIXES: Dict[str, str] = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".txt": "text", ".parquet": "parquet",
}


@dataclass(frozen=True)
class Shard:
    """A range [start, stop) of records (0-based lines or rows) of one input file."""

    index: int
    file: str
    format: str
    start: int
    stop: int

    @property
    def name(self) -> str:
        return f"part-{self.index:05d}"

    def to_dict(self) -> Dict[str, Union[int, str]]:
        return asdict(self)


@dataclass(frozen=True)
class Item:
    """A record that can be annotated: `line` is 1-based."""

    line: int
    id: str
    text: str


@dataclass(frozen=True)
class Failure:
    """A record that cannot be annotated, and why."""

    file: str
    line: int
    id: Optional[str]
    reason: str

    def to_dict(self) -> Dict[str, Union[int, str, None]]:
        return asdict(self)


def expand_inputs(inputs: Sequence[str], input_format: str = "auto") -> List[str]:
    """Files named by INPUT arguments, in a stable order (each argument sorted, duplicates dropped)."""
    files: List[str] = []
    for pattern in inputs:
        path = Path(pattern)
        if path.is_dir():
            found = sorted(
                str(p) for p in path.rglob("*")
                if p.is_file() and (p.suffix in SUFFIXES if input_format == "auto" else True)
            )
        elif path.is_file():
            found = [str(path)]
        else:
            found = sorted(p for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
        if not found:
            raise ValueError(Errors.E101.format(pattern=pattern))
        files.extend(f for f in found if f not in files)
    return files


def file_format(file: str, input_format: str = "auto") -> str:
    if input_format != "auto":
        return input_format
    fmt = SUFFIXES.get(Path(file).suffix.lower())
    if fmt is None:
        raise ValueError(Errors.E102.format(file=file, suffixes=", ".join(sorted(SUFFIXES))))
    return fmt


def count_records(file: str, fmt: str) -> int:
    """Lines of a JSONL or text file (a last line without newline counts), rows of a Parquet file."""
    if fmt == "parquet":
        return _parquet().ParquetFile(file).metadata.num_rows
    n, last = 0, b"\n"
    with open(file, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def plan_shards(files: Sequence[str], input_format: str = "auto", shard_size: int = 10_000) -> List[Shard]:
    """Cut every file into shards of at most `shard_size` records (an empty file gets none)."""
    shards: List[Shard] = []
    for file in files:
        fmt = file_format(file, input_format)
        n = count_records(file, fmt)
        for start in range(0, n, shard_size):
            shards.append(Shard(len(shards), file, fmt, start, min(start + shard_size, n)))
    return shards


def read_shard(
    shard: Shard, text_field: str = "text", id_field: Optional[str] = "id", max_chars: Optional[int] = None
) -> Iterator[Union[Item, Failure]]:
    """The shard's records in file order, each an `Item` or a `Failure`."""
    if shard.format == "parquet":
        rows = _parquet_rows(shard, text_field, id_field)
    else:
        rows = _line_rows(shard, text_field, id_field)
    for line, doc_id, text, reason in rows:
        if doc_id is None:
            doc_id = f"{shard.file}:{line}"
        if reason is None and max_chars is not None and len(text) > max_chars:
            reason = f"text has {len(text)} characters, more than --max-chars {max_chars}"
        if reason is None:
            yield Item(line, doc_id, text)
        else:
            yield Failure(shard.file, line, doc_id, reason)


def _line_rows(shard: Shard, text_field: str, id_field: Optional[str]):
    with open(shard.file, "rb") as f:
        for i, raw in enumerate(f):
            if i < shard.start:
                continue
            if i >= shard.stop:
                break
            line = i + 1
            try:
                decoded = raw.decode("utf8")
            except UnicodeDecodeError as e:
                yield line, None, None, f"invalid UTF-8 at byte {e.start}"
                continue
            decoded = decoded.rstrip("\r\n")
            if shard.format == "text":
                yield line, None, decoded, None
                continue
            try:
                value = json.loads(decoded)
            except json.JSONDecodeError as e:
                yield line, None, None, f"invalid JSON: {e.msg} (column {e.colno})"
                continue
            if not isinstance(value, dict):
                yield line, None, None, f"not a JSON object but {type(value).__name__}"
                continue
            yield (line, *_fields(value.get(text_field, _MISSING), value.get(id_field) if id_field else None, text_field))


def _parquet_rows(shard: Shard, text_field: str, id_field: Optional[str]):
    parquet_file = _parquet().ParquetFile(shard.file)
    names = parquet_file.schema_arrow.names
    columns = [c for c in (text_field, id_field) if c and c in names]
    table = parquet_file.read(columns=columns).slice(shard.start, shard.stop - shard.start)
    texts = table.column(text_field).to_pylist() if text_field in columns else [_MISSING] * table.num_rows
    ids = table.column(id_field).to_pylist() if id_field in columns else [None] * table.num_rows
    for offset, (text, doc_id) in enumerate(zip(texts, ids)):
        yield (shard.start + offset + 1, *_fields(text, doc_id, text_field))


_MISSING = object()


def _fields(text, doc_id, text_field: str):
    doc_id = None if doc_id is None else (doc_id if isinstance(doc_id, str) else json.dumps(doc_id))
    if text is _MISSING or text is None:
        return doc_id, None, f"missing text field '{text_field}'"
    if not isinstance(text, str):
        return doc_id, None, f"text field '{text_field}' is a {type(text).__name__}, not a string"
    return doc_id, text, None


def _parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError as e:
        raise ImportError(Errors.E103.format(what="Parquet files", package="pyarrow")) from e
    return pq
