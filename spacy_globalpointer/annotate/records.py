"""The output record: one plain dict per input document, char offsets only.

Every engine and every output format goes through `doc_to_record`, so the
local and the Ray engine write the same records as `nlp.pipe` gives. A record
holds no spaCy object: ints, floats, strings, lists and dicts that pandas,
polars or Spark read as they are (README.md, "Annotate whole corpora", has the
schema). `PARQUET_SCHEMA` is the same schema for pyarrow; it is spelled out so
that a shard whose documents have no relations still gets list<struct> columns
that concatenate with the others.
"""
from typing import Any, Dict, List, Optional

from spacy.tokens import Doc

from ..extensions import event_records, relation_records

# Scores are float32 probabilities (about 7 significant digits, and the 7th
# moves with the batch a doc shares): 6 decimals keep what they resolve.
SCORE_DECIMALS = 6
ID_KEY = "spacy_globalpointer.id"


def _score(value: Any) -> Optional[float]:
    return None if value is None else round(float(value), SCORE_DECIMALS)


def doc_to_record(doc: Doc, doc_id: str, file: str, line: int, include_text: bool = True) -> Dict[str, Any]:
    """Turn an annotated Doc into the plain output record.

    doc (Doc): the Doc after the pipeline ran.
    doc_id (str): the record's id (the --id-field value, or "file:line").
    file (str): the input file the text came from.
    line (int): its 1-based line (JSONL, text) or row (Parquet) in that file.
    include_text (bool): whether the record repeats the text.
    RETURNS (Dict[str, Any]): id, file, line, (text,) spans, ents, relations, events.
    """
    record: Dict[str, Any] = {"id": doc_id, "file": file, "line": line}
    if include_text:
        record["text"] = doc.text
    spans: List[Dict[str, Any]] = []
    for key in sorted(doc.spans):
        group = doc.spans[key]
        scores = group.attrs.get("scores")
        for i, span in enumerate(group):
            spans.append({
                "start_char": span.start_char,
                "end_char": span.end_char,
                "label": span.label_,
                "score": None if scores is None else _score(scores[i]),
                "key": key,
            })
    record["spans"] = spans
    record["ents"] = [
        {"start_char": e.start_char, "end_char": e.end_char, "label": e.label_} for e in doc.ents
    ]
    relations = []
    for (hs, he, hl), predicate, (ts, te, tl), score in relation_records(doc):
        relations.append({
            "head_start": doc[hs].idx,
            "head_end": doc[he - 1].idx + len(doc[he - 1]),
            "head_label": hl,
            "predicate": predicate,
            "tail_start": doc[ts].idx,
            "tail_end": doc[te - 1].idx + len(doc[te - 1]),
            "tail_label": tl,
            "score": _score(score),
        })
    record["relations"] = relations
    events = []
    for label, trigger, arguments, score in event_records(doc):
        events.append({
            "type": label,
            "trigger_start": None if trigger is None else doc[trigger[0]].idx,
            "trigger_end": None if trigger is None else _end_char(doc, trigger[1]),
            "arguments": [
                {"role": role, "start_char": doc[s].idx, "end_char": _end_char(doc, e)}
                for role, (s, e, _) in arguments
            ],
            "score": _score(score),
        })
    record["events"] = events
    return record


def _end_char(doc: Doc, end: int) -> int:
    token = doc[end - 1]
    return token.idx + len(token)


def parquet_schema(include_text: bool = True):
    """The pyarrow schema of the records (pyarrow imported here, on demand)."""
    import pyarrow as pa

    span = pa.struct([
        ("start_char", pa.int64()), ("end_char", pa.int64()), ("label", pa.string()),
        ("score", pa.float64()), ("key", pa.string()),
    ])
    ent = pa.struct([("start_char", pa.int64()), ("end_char", pa.int64()), ("label", pa.string())])
    relation = pa.struct([
        ("head_start", pa.int64()), ("head_end", pa.int64()), ("head_label", pa.string()),
        ("predicate", pa.string()),
        ("tail_start", pa.int64()), ("tail_end", pa.int64()), ("tail_label", pa.string()),
        ("score", pa.float64()),
    ])
    argument = pa.struct([("role", pa.string()), ("start_char", pa.int64()), ("end_char", pa.int64())])
    event = pa.struct([
        ("type", pa.string()), ("trigger_start", pa.int64()), ("trigger_end", pa.int64()),
        ("arguments", pa.list_(argument)), ("score", pa.float64()),
    ])
    fields = [("id", pa.string()), ("file", pa.string()), ("line", pa.int64())]
    if include_text:
        fields.append(("text", pa.string()))
    fields += [
        ("spans", pa.list_(span)), ("ents", pa.list_(ent)),
        ("relations", pa.list_(relation)), ("events", pa.list_(event)),
    ]
    return pa.schema(fields)
