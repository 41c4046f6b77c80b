"""The scierc and phee readers on tiny inline samples in the data sets' own formats
(SpERT's SciERC files; PHEE 1.0 JSON lines), read back through a DocBin."""
import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import spacy
from spacy.tokens import Doc, DocBin

from spacy_globalpointer.convert import (
    SKIP_ATTRIBUTE,
    SKIP_COMBINATION_TRIGGER,
    SKIP_DUPLICATE,
    SKIP_MISALIGNED,
    SKIP_TRIGGER_SHAPE,
    ConversionError,
    ConversionStats,
    convert,
)
from spacy_globalpointer.convert.records import SKIP_EVENT_SKIPPED, SKIP_TRIGGER
from spacy_globalpointer.extensions import install_extensions


def run(tmp_path: Path, path: Path, **kwargs) -> Tuple[List[Doc], ConversionStats]:
    install_extensions()
    out = tmp_path / "out.spacy"
    stats = convert(path, out, lang="en", **kwargs)
    docs = list(DocBin().from_disk(out).get_docs(spacy.blank("en").vocab))
    assert stats.docs_written == len(docs)
    for kind in ("spans", "relations", "events", "arguments"):
        read = getattr(stats, f"{kind}_read")
        assert read == getattr(stats, f"{kind}_written") + getattr(stats, f"{kind}_skipped_total"), kind
    assert stats.events_written == sum(len(d._.events) for d in docs)
    assert stats.arguments_written == sum(len(e.arguments) for d in docs for e in d._.events)
    assert not stats.warnings
    return docs, stats


# --- scierc -------------------------------------------------------------------

# SpERT's SciERC files: one JSON array on a single line, no trailing newline.
SCIERC = [
    {
        "tokens": ["In", "the", "security", "domain", "a", "key", "problem", "is", "identifying", "rare",
                   "behaviours", "of", "interest", "."],
        "entities": [{"type": "Task", "start": 2, "end": 4}, {"type": "Task", "start": 8, "end": 13},
                     {"type": "OtherScientificTerm", "start": 9, "end": 13}],
        "relations": [{"type": "Part-of", "head": 1, "tail": 0}],
        "orig_id": "2a390563-7ce4-4402-977a-bca28c2a452e",
    },
    {
        "tokens": ["We", "compare", "CRFs", "and", "HMMs", "."],
        "entities": [{"type": "Method", "start": 2, "end": 3}, {"type": "Method", "start": 4, "end": 5}],
        "relations": [{"type": "Compare", "head": 0, "tail": 1}, {"type": "Compare", "head": 0, "tail": 1}],
        "orig_id": "b",
    },
]


def test_scierc_nested_entities_and_duplicate_relation(tmp_path):
    path = tmp_path / "scierc_train.json"
    path.write_text(json.dumps(SCIERC), encoding="utf8")
    docs, stats = run(tmp_path, path, format="scierc")
    assert docs[0].text == "In the security domain a key problem is identifying rare behaviours of interest ."
    assert [(s.text, s.label_) for s in docs[0].spans["sc"]] == [
        ("security domain", "Task"),
        ("identifying rare behaviours of interest", "Task"),
        ("rare behaviours of interest", "OtherScientificTerm"),
    ]
    assert [(r.head.text, r.label, r.tail.text) for r in docs[0]._.relations] == [
        ("identifying rare behaviours of interest", "Part-of", "security domain")
    ]
    assert stats.nested_pairs == 1
    assert stats.relations_skipped == {SKIP_DUPLICATE: 1} and stats.relations_written == 2
    assert stats.ignored_keys == {"orig_id": 2}
    spert_docs, spert_stats = run(tmp_path, path, format="spert")
    assert [d.to_json() for d in spert_docs] == [d.to_json() for d in docs]
    assert spert_stats.to_dict() | {"format": ""} == stats.to_dict() | {"format": ""}


# --- phee ---------------------------------------------------------------------


def node(*mentions: List[Tuple[str, int]], **children: Any) -> Dict[str, Any]:
    """An argument node: mentions given as [(fragment text, start), ...]."""
    return {
        "text": [[text for text, _ in m] for m in mentions],
        "start": [[start for _, start in m] for m in mentions],
        "entity_id": [f"T{i}" for i, _ in enumerate(mentions)],
        **children,
    }


# The example of PHEE's SOURCE.md, then a combination, a discontinuous Effect and attributes.
TEXT_1 = "A 54-year-old man, treated with amiodarone, developed thyrotoxicosis."
EVENT_1 = {
    "event_id": "E1",
    "event_type": "Adverse_event",
    "Trigger": node([("developed", 44)]),
    "Subject": node([("A 54-year-old man", 0)], Age=node([("54-year-old", 2)]), Gender=node([("man", 14)])),
    "Treatment": node([("amiodarone", 32)], Drug=node([("amiodarone", 32)])),
    "Effect": node([("thyrotoxicosis", 54)]),
}
TEXT_2 = "Intrathecal methotrexate and cytarabine may cause severe pain and later seizures."
EVENT_2 = {
    "event_id": "E1",
    "event_type": "Adverse_event",
    "Trigger": node([("cause", 44)]),
    "Treatment": node(
        [("Intrathecal methotrexate and cytarabine", 0)],
        Route=node([("Intrathecal", 0)]),
        Drug=node([("methotrexate", 12)], [("cytarabine", 29)]),
        Combination=[{
            "event_id": "E2",
            "event_type": "Combination",
            "Trigger": node([("and", 25)]),
            "Drug": node([("cytarabine", 29)], [("methotrexate", 12)]),
        }],
    ),
    "Effect": node([("severe pain", 50)], [("pain", 57), ("seizures", 72)]),
    "Speculated": {**node([("may", 40)]), "value": True},
    "Severity": {**node([("severe", 50)]), "value": "High"},
}


def phee_line(id_: str, text: str, *events: Dict[str, Any]) -> Dict[str, Any]:
    return {"id": id_, "context": text, "is_mult_event": len(events) > 1, "annotations": [{"events": list(events)}]}


def write_phee(path: Path, records: List[Dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf8")
    return path


def arguments(doc: Doc) -> List[Tuple[str, str]]:
    return [(role, span.text) for event in doc._.events for role, span in event.arguments]


def test_phee_roles_sub_arguments_and_discontinuous_mentions(tmp_path):
    path = write_phee(tmp_path / "train.json", [phee_line("4044222_1", TEXT_1, EVENT_1), phee_line("9_2", TEXT_2, EVENT_2)])
    docs, stats = run(tmp_path, path, format="phee")
    (event,) = docs[0]._.events
    assert (event.label, event.trigger.text, event.trigger.label_) == ("Adverse_event", "developed", "Adverse_event")
    assert sorted(arguments(docs[0])) == sorted([
        ("Subject", "A 54-year-old man"), ("Subject.Age", "54-year-old"), ("Subject.Gender", "man"),
        ("Treatment", "amiodarone"), ("Treatment.Drug", "amiodarone"), ("Effect", "thyrotoxicosis"),
    ])
    assert sorted(arguments(docs[1])) == sorted([
        ("Treatment", "Intrathecal methotrexate and cytarabine"), ("Treatment.Route", "Intrathecal"),
        ("Treatment.Drug", "methotrexate"), ("Treatment.Drug", "cytarabine"),
        ("Treatment.Combination.Drug", "cytarabine"), ("Treatment.Combination.Drug", "methotrexate"),
        # The discontinuous mention "pain ... seizures": one argument per fragment.
        ("Effect", "severe pain"), ("Effect", "pain"), ("Effect", "seizures"),
    ])
    assert stats.changes == {"discontinuous mention: one argument per fragment": 1}
    assert stats.arguments_skipped == {SKIP_ATTRIBUTE: 2, SKIP_COMBINATION_TRIGGER: 1}
    assert "'may'" in stats.examples[f"argument skipped: {SKIP_ATTRIBUTE}"][0]
    assert stats.events_by_label == {"Adverse_event": 2}
    assert "sc" not in docs[0].spans and stats.spans_read == 0
    assert not stats.ignored_keys


def test_phee_alignment_duplicates_and_trigger_shape_counted(tmp_path):
    text = "Rash after co-trimoxazole therapy."
    duplicated = {
        "event_type": "Adverse_event",
        "Trigger": node([("after", 5)]),
        "Effect": node([("Rash", 0)], [("Rash", 0)]),
        "Treatment": node([("co-trimoxazole", 11)], [("trimox", 14)]),  # the second ends inside a token
    }
    two_triggers = {"event_type": "Adverse_event", "Trigger": node([("Rash", 0)], [("after", 5)]),
                    "Effect": node([("Rash", 0)])}
    path = write_phee(tmp_path / "dev.json", [phee_line("1_1", text, duplicated, two_triggers)])
    docs, stats = run(tmp_path, path, format="phee")
    assert stats.events_skipped == {SKIP_TRIGGER_SHAPE: 1}
    assert stats.arguments_skipped[SKIP_DUPLICATE] == 1
    assert stats.arguments_skipped[SKIP_EVENT_SKIPPED] == 1
    assert stats.arguments_skipped[SKIP_MISALIGNED] == 1
    assert arguments(docs[0]) == [("Effect", "Rash"), ("Treatment", "co-trimoxazole")]
    docs, stats = run(tmp_path, path, format="phee", alignment="expand")
    assert SKIP_MISALIGNED not in stats.arguments_skipped
    assert ("Treatment", "trimoxazole") in arguments(docs[0])


def test_phee_misaligned_trigger_skips_its_event(tmp_path):
    text = "Hepatotoxicity developed."
    event = {"event_type": "Adverse_event", "Trigger": node([("develop", 15)]), "Effect": node([("Hepatotoxicity", 0)])}
    docs, stats = run(tmp_path, write_phee(tmp_path / "t.json", [phee_line("1_1", text, event)]), format="phee")
    assert stats.events_skipped == {f"{SKIP_TRIGGER}: {SKIP_MISALIGNED}": 1}
    assert stats.arguments_skipped == {SKIP_EVENT_SKIPPED: 1}
    _, stats = run(tmp_path, tmp_path / "t.json", format="phee", alignment="expand")
    assert stats.events_written == 1 and stats.changes == {"trigger expanded": 1}


def test_phee_text_mismatch_kept_by_offset_and_bad_shapes_rejected(tmp_path):
    event = {"event_type": "Adverse_event", "Trigger": node([("developed", 44)]), "Effect": node([("thyrotoxicosiz", 54)])}
    docs, stats = run(tmp_path, write_phee(tmp_path / "a.json", [phee_line("1", TEXT_1, event)]), format="phee")
    assert arguments(docs[0]) == [("Effect", "thyrotoxicosis")] and stats.text_mismatches == 1
    bad = dict(event, Effect={"text": [["x", "y"]], "start": [[0]]})
    with pytest.raises(ConversionError, match=r"a\.json:1 \(1\): .*Effect: mention 0"):
        convert(write_phee(tmp_path / "a.json", [phee_line("1", TEXT_1, bad)]), tmp_path / "o.spacy", format="phee")
    far = dict(event, Effect=node([("thyrotoxicosis", 60)]))
    with pytest.raises(ConversionError, match="out of range"):
        convert(write_phee(tmp_path / "a.json", [phee_line("1", TEXT_1, far)]), tmp_path / "o.spacy", format="phee")
