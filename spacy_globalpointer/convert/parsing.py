"""Reading JSON input and validating its fields; every failure is a ConversionError
that starts with the file and line (or record index)."""
import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

from .records import ConversionError, ConversionStats


def read_json_lines(path: Path) -> Iterator[Tuple[int, str, Dict[str, Any]]]:
    """Yield (record index, location, object) for each non-blank line."""
    index = 0
    with path.open(encoding="utf-8-sig") as file_:
        for lineno, line in enumerate(file_, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise ConversionError(
                    f"{where}: invalid JSON ({err.msg} at column {err.colno})"
                ) from None
            if not isinstance(obj, dict):
                raise ConversionError(
                    f"{where}: expected a JSON object, got {type(obj).__name__}"
                )
            yield index, where, obj
            index += 1


def load_json_array(path: Path) -> List[Any]:
    """The records of a file holding one JSON array (coded ConversionErrors
    naming the file and line for bad JSON or another top-level value)."""
    try:
        with path.open(encoding="utf-8-sig") as file_:
            data = json.load(file_)
    except json.JSONDecodeError as err:
        raise ConversionError(f"{path}:{err.lineno}: invalid JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(data, list):
        raise ConversionError(f"{path}: expected one JSON array of records, got {type(data).__name__}")
    return data


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def get_text(obj: Dict[str, Any], where: str) -> str:
    if "text" not in obj:
        raise ConversionError(f"{where}: missing key 'text'")
    if not isinstance(obj["text"], str):
        raise ConversionError(f"{where}: 'text' must be a string, got {type(obj['text']).__name__}")
    return obj["text"]


def get_list(obj: Dict[str, Any], key: str, where: str) -> List[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConversionError(f"{where}: '{key}' must be a list, got {type(value).__name__}")
    return value


def as_dict(value: Any, where: str, desc: str) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise ConversionError(f"{where}: {desc} must be an object, got {type(value).__name__}")
    return value


def get_int(obj: Dict[str, Any], key: str, where: str, desc: str) -> int:
    if key not in obj:
        raise ConversionError(f"{where}: {desc}: missing key '{key}'")
    if not is_int(obj[key]):
        raise ConversionError(f"{where}: {desc}: '{key}' must be an integer, got {obj[key]!r}")
    return obj[key]


def get_label(obj: Dict[str, Any], keys: Tuple[str, ...], where: str, desc: str) -> str:
    for key in keys:
        if key in obj:
            if not isinstance(obj[key], str) or not obj[key]:
                raise ConversionError(f"{where}: {desc}: '{key}' must be a non-empty string")
            return obj[key]
    names = " or ".join(f"'{k}'" for k in keys)
    raise ConversionError(f"{where}: {desc}: missing key {names}")


def check_offsets(start: int, end: int, text: str, where: str, desc: str) -> None:
    """`end` is exclusive here; the description shows the input's own values."""
    if start < 0 or end > len(text) or start >= end:
        raise ConversionError(
            f"{where}: {desc}: offsets out of range for a text of {len(text)} characters"
        )


def check_entity_text(
    text: str, start: int, end: int, entity: Any, label: str, where: str, stats: ConversionStats
) -> None:
    """Count annotations whose stated text differs from the offsets; the offsets win."""
    if text[start:end] != entity:
        stats.text_mismatches += 1
        stats.example(
            "entity text mismatch (kept by offsets)",
            f"{label} {entity!r} but text[{start}:{end}] is {text[start:end]!r} ({where})",
        )


def note_ignored_keys(obj: Dict[str, Any], known: Tuple[str, ...], stats: ConversionStats) -> None:
    for key in obj:
        if key not in known:
            stats.ignored_keys[key] += 1


def get_string(obj: Dict[str, Any], key: str, where: str, desc: str) -> str:
    if key not in obj:
        raise ConversionError(f"{where}: {desc}: missing key '{key}'")
    if not isinstance(obj[key], str):
        raise ConversionError(f"{where}: {desc}: '{key}' must be a string, got {obj[key]!r}")
    return obj[key]


def find_all(text: str, value: str) -> List[int]:
    """Start of every occurrence of `value` in `text`, overlapping ones included."""
    if not value:
        return []
    found = []
    i = text.find(value)
    while i != -1:
        found.append(i)
        i = text.find(value, i + 1)
    return found
