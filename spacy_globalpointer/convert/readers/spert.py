"""`spert` (SpERT; also `scierc`, SpERT's SciERC files): a JSON list or JSON lines of
`{"tokens", "entities": [{"type", "start", "end"}], "relations": [{"type", "head",
"tail"}]}`, token offsets, end exclusive."""
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, Tuple

from ..parsing import as_dict, get_int, get_label, get_list, load_json_array, note_ignored_keys, read_json_lines
from ..records import ConversionError, ConversionStats, RawRecord, RawRelation
from .base import Reader

if TYPE_CHECKING:
    from ..options import ConvertOptions


def read_spert(path: Path, stats: ConversionStats, options: "ConvertOptions") -> Iterator[RawRecord]:
    """SpERT: `tokens`, `entities` ({"type", "start", "end"}, token offsets, end
    exclusive) and `relations` ({"type", "head", "tail"}, indices into `entities`);
    one JSON list or JSON lines."""
    for index, where, obj in _read_json_list_or_lines(path):
        tokens = obj.get("tokens")
        if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
            raise ConversionError(f"{where}: 'tokens' must be a list of non-empty strings")
        note_ignored_keys(obj, ("tokens", "entities", "relations"), stats)
        labelled = "entities" in obj or "relations" in obj
        if not tokens:
            yield RawRecord(index, where, text="", labelled=labelled)
            continue
        record = RawRecord(index, where, words=list(tokens), labelled=labelled)
        entities = []
        for i, ent in enumerate(get_list(obj, "entities", where)):
            desc = f"entities[{i}]"
            ent = as_dict(ent, where, desc)
            start = get_int(ent, "start", where, desc)
            end = get_int(ent, "end", where, desc)
            label = get_label(ent, ("type",), where, desc)
            if not 0 <= start < end <= len(tokens):
                raise ConversionError(
                    f"{where}: {desc} (start={start}, end={end}): token offsets out of range "
                    f"for {len(tokens)} tokens"
                )
            entities.append((start, end, label))
        record.spans = list(entities)  # duplicates are counted by the builder
        for i, rel in enumerate(get_list(obj, "relations", where)):
            desc = f"relations[{i}]"
            rel = as_dict(rel, where, desc)
            ends = []
            for role in ("head", "tail"):
                index_ = get_int(rel, role, where, desc)
                if not 0 <= index_ < len(entities):
                    raise ConversionError(
                        f"{where}: {desc}: '{role}' must index 'entities' "
                        f"(0-{len(entities) - 1}), got {index_}"
                    )
                ends.append(entities[index_])
            label = get_label(rel, ("type",), where, desc)
            record.relations.append(RawRelation(ends[0], label, ends[1]))
        yield record


def _read_json_list_or_lines(path: Path) -> Iterator[Tuple[int, str, Dict[str, Any]]]:
    with path.open(encoding="utf-8-sig") as file_:
        head = file_.read(4096).lstrip()
    if not head.startswith("["):
        yield from read_json_lines(path)
        return
    for index, obj in enumerate(load_json_array(path)):
        where = f"{path}: record {index}"
        yield index, where, as_dict(obj, where, "record")


READER = Reader("spert", read_spert, relations=True)
# SciERC as SpERT distributes it (sentence-level, nested entities) is this format.
SCIERC = Reader("scierc", read_spert, relations=True)
