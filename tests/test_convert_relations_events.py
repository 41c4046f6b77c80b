"""Relations and events in spacy_globalpointer.convert: jsonl, duie, spert and duee,
on small inline inputs, read back through a DocBin file."""
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, List, Tuple

import pytest
import spacy
from spacy.tokens import Doc, DocBin

from spacy_globalpointer.convert import (
    SKIP_DUPLICATE,
    SKIP_EMPTY_TEXT,
    SKIP_MISALIGNED,
    ConversionError,
    ConversionStats,
    convert,
    print_stats,
)
from spacy_globalpointer.convert.records import (
    SKIP_EVENT_SKIPPED,
    SKIP_NOT_FOUND,
    SKIP_TRIGGER,
    SKIP_UNKNOWN_ROLE,
    SKIP_UNKNOWN_TYPE,
)
from spacy_globalpointer.extensions import event_records, install_extensions, relation_records

CONVERT_SCRIPT = Path(__file__).parent.parent / "project" / "scripts" / "convert.py"


def write_jsonl(path: Path, records: List[Any]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf8")
    return path


def run(tmp_path: Path, path: Path, **kwargs) -> Tuple[List[Doc], ConversionStats]:
    """Convert, read the DocBin back and check every read == written + skipped."""
    install_extensions()
    out = tmp_path / "out.spacy"
    stats = convert(path, out, **kwargs)
    docs = list(DocBin().from_disk(out).get_docs(spacy.blank(kwargs.get("lang", "zh")).vocab))
    assert stats.docs_written == len(docs)
    for kind in ("spans", "relations", "events", "arguments"):
        read = getattr(stats, f"{kind}_read")
        assert read == getattr(stats, f"{kind}_written") + getattr(stats, f"{kind}_skipped_total"), kind
    assert stats.relations_written == sum(len(d._.relations) for d in docs)
    assert stats.events_written == sum(len(d._.events) for d in docs)
    assert stats.arguments_written == sum(len(e.arguments) for d in docs for e in d._.events)
    return docs, stats


def rels(doc: Doc) -> List[Tuple[str, str, str]]:
    return [(r.head.text, r.label, r.tail.text) for r in doc._.relations]


def events(doc: Doc) -> List[Tuple[str, Any, List[Tuple[str, str]]]]:
    return [
        (e.label, None if e.trigger is None else e.trigger.text, [(role, sp.text) for role, sp in e.arguments])
        for e in doc._.events
    ]


# --- jsonl ------------------------------------------------------------------


def test_jsonl_relations_and_events_round_trip(tmp_path):
    record = {
        "text": "张三在北京工作",
        "spans": [{"start": 0, "end": 2, "label": "PER"}, {"start": 3, "end": 5, "label": "LOC"}],
        "relations": [{"head": 0, "tail": 1, "label": "工作地"}],
        "events": [
            {"label": "工作", "trigger": {"start": 5, "end": 7}, "arguments": [{"role": "人", "start": 0, "end": 2}]},
            {"label": "在", "arguments": [{"role": "地", "start": 3, "end": 5}]},
        ],
    }
    docs, stats = run(tmp_path, write_jsonl(tmp_path / "in.jsonl", [record]), relations=True, events=True)
    (doc,) = docs
    assert [(s.text, s.label_) for s in doc.spans["sc"]] == [("张三", "PER"), ("北京", "LOC")]
    assert relation_records(doc) == [((0, 2, "PER"), "工作地", (3, 5, "LOC"), None)]
    assert events(doc) == [("工作", "工作", [("人", "张三")]), ("在", None, [("地", "北京")])]
    assert event_records(doc)[0] == ("工作", (5, 7, "工作"), (("人", (0, 2, "人")),), None)
    # Event arguments and triggers are not spans of the span component.
    assert len(doc.spans["sc"]) == 2
    assert stats.relations_by_label == {"工作地": 1}
    assert stats.events_by_label == {"工作": 1, "在": 1}
    assert not stats.ignored_keys


def test_jsonl_events_only_has_no_spans_key(tmp_path):
    record = {"text": "他辞职了", "events": [{"label": "辞职", "trigger": {"start": 1, "end": 3}, "arguments": []}]}
    (doc,), stats = run(tmp_path, write_jsonl(tmp_path / "in.jsonl", [record]), events=True)
    assert "sc" not in doc.spans and stats.unlabelled_records == 0
    assert events(doc) == [("辞职", "辞职", [])]


def test_jsonl_misaligned_relation_and_event_parts_are_counted(tmp_path):
    text = "Alice met Bob in Paris"
    record = {
        "text": text,
        "spans": [
            {"start": 0, "end": 5, "label": "PER"},
            {"start": 10, "end": 12, "label": "PER"},  # "Bo": off token boundaries
            {"start": 17, "end": 22, "label": "LOC"},
        ],
        "relations": [
            {"head": 0, "tail": 1, "label": "met"},
            {"head": 0, "tail": 2, "label": "in"},
            {"head": 0, "tail": 2, "label": "in"},
        ],
        "events": [
            {"label": "Meet", "trigger": {"start": 6, "end": 8}, "arguments": [{"role": "who", "start": 0, "end": 5}]},
            {
                "label": "Meet",
                "trigger": {"start": 6, "end": 9},
                "arguments": [
                    {"role": "who", "start": 0, "end": 5},
                    {"role": "who", "start": 0, "end": 5},
                    {"role": "whom", "start": 10, "end": 12},
                ],
            },
        ],
    }
    (doc,), stats = run(tmp_path, write_jsonl(tmp_path / "in.jsonl", [record]), lang="en", relations=True, events=True)
    assert rels(doc) == [("Alice", "in", "Paris")]
    assert stats.relations_skipped == {f"tail: {SKIP_MISALIGNED}": 1, SKIP_DUPLICATE: 1}
    assert events(doc) == [("Meet", "met", [("who", "Alice")])]
    assert stats.events_skipped == {f"{SKIP_TRIGGER}: {SKIP_MISALIGNED}": 1}
    assert stats.arguments_skipped == {SKIP_EVENT_SKIPPED: 1, SKIP_DUPLICATE: 1, SKIP_MISALIGNED: 1}
    assert "relation skipped: tail: misaligned (strict)" in stats.examples


def test_jsonl_expand_aligns_relation_spans(tmp_path):
    record = {
        "text": "Alice met Bob",
        "spans": [{"start": 0, "end": 5, "label": "PER"}, {"start": 10, "end": 12, "label": "PER"}],
        "relations": [{"head": 0, "tail": 1, "label": "met"}],
    }
    (doc,), stats = run(tmp_path, write_jsonl(tmp_path / "in.jsonl", [record]), lang="en", alignment="expand", relations=True)
    assert rels(doc) == [("Alice", "met", "Bob")]
    assert stats.changes == {"relation span expanded": 1}


def test_jsonl_empty_text_counts_relations_and_events(tmp_path):
    record = {
        "text": " ",
        "spans": [{"start": 0, "end": 1, "label": "X"}],
        "relations": [{"head": 0, "tail": 0, "label": "r"}],
        "events": [{"label": "E", "trigger": {"start": 0, "end": 1}, "arguments": [{"role": "a", "start": 0, "end": 1}]}],
    }
    docs, stats = run(tmp_path, write_jsonl(tmp_path / "in.jsonl", [record]), relations=True, events=True)
    assert docs == []
    assert stats.relations_skipped == stats.events_skipped == stats.arguments_skipped == {SKIP_EMPTY_TEXT: 1}


@pytest.mark.parametrize(
    "relation,message",
    [({"head": 0, "tail": 5, "label": "r"}, "'tail' must index 'spans'"), ({"head": 0, "tail": 0}, "missing key 'label'")],
)
def test_jsonl_bad_relation_rejected(tmp_path, relation, message):
    record = {"text": "张三", "spans": [{"start": 0, "end": 2, "label": "PER"}], "relations": [relation]}
    with pytest.raises(ConversionError, match=message):
        convert(write_jsonl(tmp_path / "in.jsonl", [record]), tmp_path / "out.spacy", relations=True, events=True)


def test_jsonl_bad_event_offsets_rejected(tmp_path):
    record = {"text": "张三", "events": [{"label": "E", "trigger": {"start": 1, "end": 9}}]}
    with pytest.raises(ConversionError, match=r"in.jsonl:1: events\[0\].trigger"):
        convert(write_jsonl(tmp_path / "in.jsonl", [record]), tmp_path / "out.spacy", relations=True, events=True)


def test_jsonl_relations_and_events_only_when_asked(tmp_path):
    record = {"text": "张三", "spans": [{"start": 0, "end": 2, "label": "PER"}], "relations": [{"head": 0, "tail": 0, "label": "r"}],
              "events": [{"label": "E"}]}
    (doc,), stats = run(tmp_path, write_jsonl(tmp_path / "in.jsonl", [record]))
    assert doc._.relations == [] and doc._.events == []
    assert stats.ignored_keys == {"relations": 1, "events": 1}
    with pytest.raises(ConversionError, match="has no relations"):
        convert(tmp_path / "in.jsonl", tmp_path / "out.spacy", format="genia", relations=True)
    with pytest.raises(ConversionError, match="has no events"):
        convert(tmp_path / "in.jsonl", tmp_path / "out.spacy", format="duie", events=True)


# --- duie -------------------------------------------------------------------


def spo(subject, s_type, predicate, object_, o_type):
    return {"subject": subject, "subject_type": s_type, "predicate": predicate, "object": object_, "object_type": o_type}


def test_duie_locates_and_pairs_nearest(tmp_path):
    text = "李白，字太白。杜甫，字子美。李白与杜甫"
    record = {
        "text": text,
        "postag": [],
        "spo_list": [
            spo("李白", "人物", "字", "太白", "Text"),
            spo("杜甫", "人物", "字", "子美", "Text"),
        ],
    }
    (doc,), stats = run(tmp_path, write_jsonl(tmp_path / "in.json", [record]), format="duie")
    # 杜甫 occurs at 7 and 17: the occurrence nearest 子美 (11) is taken.
    assert relation_records(doc) == [((0, 2, "人物"), "字", (4, 6, "Text"), None), ((7, 9, "人物"), "字", (11, 13, "Text"), None)]
    assert [(s.start_char, s.text, s.label_) for s in doc.spans["sc"]] == [
        (0, "李白", "人物"), (4, "太白", "Text"), (7, "杜甫", "人物"), (11, "子美", "Text")
    ]
    assert stats.changes == {"ambiguous string: nearest occurrences paired": 2}
    assert stats.relations_by_label == {"字": 2}
    assert not stats.ignored_keys


def test_duie_ties_take_the_first_and_overlap_is_avoided(tmp_path):
    records = [
        # 甲 at 0 and 4, 乙 at 2: both 2 characters away from 乙 -> the first.
        {"text": "甲，乙，甲", "spo_list": [spo("乙", "人物", "朋友", "甲", "人物")]},
        # The name inside the title overlaps it: the separate mention is taken.
        {"text": "李烈钧自述，作者李烈钧", "spo_list": [spo("李烈钧自述", "图书作品", "作者", "李烈钧", "人物")]},
    ]
    (first, second), stats = run(tmp_path, write_jsonl(tmp_path / "in.json", records), format="duie")
    assert relation_records(first) == [((2, 3, "人物"), "朋友", (0, 1, "人物"), None)]
    assert relation_records(second) == [((0, 5, "图书作品"), "作者", (8, 11, "人物"), None)]


def test_duie_strings_not_in_text_are_counted(tmp_path):
    record = {
        "text": "周星驰主演喜剧之王",
        "spo_list": [
            spo("喜剧之王", "影视作品", "主演", "周星驰", "人物"),
            spo("喜剧之王", "影视作品", "导演", "李力持", "人物"),
            spo("功夫", "影视作品", "主演", "周星驰", "人物"),
            spo("喜剧之王", "影视作品", "主演", "周星驰", "人物"),
        ],
    }
    (doc,), stats = run(tmp_path, write_jsonl(tmp_path / "in.json", [record]), format="duie")
    assert rels(doc) == [("喜剧之王", "主演", "周星驰")]
    assert stats.relations_skipped == {f"object: {SKIP_NOT_FOUND}": 1, f"subject: {SKIP_NOT_FOUND}": 1, SKIP_DUPLICATE: 1}
    assert stats.spans_read == 2 and stats.spans_skipped_total == 0


def test_duie_without_spo_list_is_unlabelled(tmp_path):
    (doc,), stats = run(tmp_path, write_jsonl(tmp_path / "in.json", [{"text": "没有标注"}]), format="duie")
    assert stats.unlabelled_records == 1 and "sc" not in doc.spans and doc._.relations == []


# --- spert ------------------------------------------------------------------


SPERT = {
    "tokens": ["Alice", "works", "for", "Acme", "Corp", "."],
    "entities": [{"type": "PER", "start": 0, "end": 1}, {"type": "ORG", "start": 3, "end": 5}],
    "relations": [{"type": "Work_For", "head": 0, "tail": 1}],
}


@pytest.mark.parametrize("as_list", [True, False])
def test_spert_list_and_lines(tmp_path, as_list):
    path = tmp_path / "in.json"
    if as_list:
        path.write_text(json.dumps([SPERT, SPERT]), encoding="utf8")
    else:
        write_jsonl(path, [SPERT, SPERT])
    docs, stats = run(tmp_path, path, format="spert", lang="en")
    assert [d.text for d in docs] == ["Alice works for Acme Corp ."] * 2
    assert rels(docs[0]) == [("Alice", "Work_For", "Acme Corp")]
    assert [(s.text, s.label_) for s in docs[1].spans["sc"]] == [("Alice", "PER"), ("Acme Corp", "ORG")]
    assert stats.relations_by_label == {"Work_For": 2}


def test_spert_duplicate_relation_counted(tmp_path):
    record = dict(SPERT, relations=SPERT["relations"] * 2)
    (doc,), stats = run(tmp_path, write_jsonl(tmp_path / "in.json", [record]), format="spert", lang="en")
    assert len(doc._.relations) == 1 and stats.relations_skipped == {SKIP_DUPLICATE: 1}


@pytest.mark.parametrize(
    "change,message",
    [
        ({"entities": [{"type": "PER", "start": 0, "end": 9}]}, "token offsets out of range"),
        ({"relations": [{"type": "r", "head": 0, "tail": 2}]}, "'tail' must index 'entities'"),
        ({"tokens": "Alice works"}, "'tokens' must be a list"),
    ],
)
def test_spert_bad_input_rejected(tmp_path, change, message):
    with pytest.raises(ConversionError, match=message):
        convert(write_jsonl(tmp_path / "in.json", [dict(SPERT, **change)]), tmp_path / "out.spacy", format="spert")


# --- duee -------------------------------------------------------------------


def duee_event(event_type, trigger, start, *arguments):
    return {
        "event_type": event_type,
        "trigger": trigger,
        "trigger_start_index": start,
        "arguments": [{"role": r, "argument": a, "argument_start_index": i, "alias": []} for r, a, i in arguments],
        "class": event_type.split("-")[0],
    }


SCHEMA = [
    {"event_type": "组织关系-裁员", "role_list": [{"role": "裁员方"}, {"role": "裁员人数"}]},
    {"event_type": "人生-死亡", "role_list": [{"role": "死者"}]},
]


def test_duee_events_and_repaired_offsets(tmp_path):
    text = "雀巢裁员4000人，雀巢回应"
    record = {
        "text": text,
        "id": "x",
        "event_list": [duee_event("组织关系-裁员", "裁员", 2, ("裁员方", "雀巢", 10), ("裁员人数", "4000人", 5))],
    }
    (doc,), stats = run(tmp_path, write_jsonl(tmp_path / "in.json", [record]), format="duee")
    # The index 5 of "4000人" is off by one: moved to its only occurrence (4).
    # "雀巢" at 10 is right as given, though it also occurs at 0.
    assert events(doc) == [("组织关系-裁员", "裁员", [("裁员方", "雀巢"), ("裁员人数", "4000人")])]
    assert event_records(doc)[0][2][0] == ("裁员方", (10, 12, "裁员方"))
    assert stats.changes == {"argument offset repaired": 1}
    assert "sc" not in doc.spans and stats.spans_read == 0
    assert not stats.ignored_keys


def test_duee_repair_takes_nearest_occurrence(tmp_path):
    record = {"text": "雀巢，雀巢，雀巢", "event_list": [duee_event("组织关系-裁员", "雀巢", 4)]}
    (doc,), stats = run(tmp_path, write_jsonl(tmp_path / "in.json", [record]), format="duee")
    assert event_records(doc)[0][1] == (3, 5, "组织关系-裁员")
    assert stats.changes == {"trigger offset repaired": 1}


def test_duee_whitespace_around_text_is_trimmed(tmp_path):
    record = {"text": "召回 奔驰汽车", "event_list": [duee_event("产品行为-召回", "召回", 0, ("召回方", " 奔驰", 2))]}
    (doc,), stats = run(tmp_path, write_jsonl(tmp_path / "in.json", [record]), format="duee")
    assert events(doc) == [("产品行为-召回", "召回", [("召回方", "奔驰")])]
    assert stats.changes == {"argument whitespace trimmed": 1}


def test_duee_text_not_found_is_counted(tmp_path):
    record = {
        "text": "他去世了",
        "event_list": [
            duee_event("人生-死亡", "去世", 1, ("死者", "张三", 0)),
            duee_event("人生-死亡", "逝世", 1, ("死者", "他", 0), ("时间", "昨天", 0)),
        ],
    }
    (doc,), stats = run(tmp_path, write_jsonl(tmp_path / "in.json", [record]), format="duee")
    assert events(doc) == [("人生-死亡", "去世", [])]
    assert stats.events_skipped == {f"trigger: {SKIP_NOT_FOUND}": 1}
    assert stats.arguments_skipped == {SKIP_NOT_FOUND: 1, SKIP_EVENT_SKIPPED: 2}


def test_duee_schema_skips_unknown_types_and_roles(tmp_path):
    schema = write_jsonl(tmp_path / "schema.json", SCHEMA)
    record = {
        "text": "他去世了，公司裁员",
        "event_list": [
            duee_event("人生-死亡", "去世", 1, ("死者", "他", 0), ("地点", "公司", 5)),
            duee_event("组织关系-倒闭", "裁员", 7, ("倒闭方", "公司", 5)),
        ],
    }
    (doc,), stats = run(tmp_path, write_jsonl(tmp_path / "in.json", [record]), format="duee", schema=schema)
    assert events(doc) == [("人生-死亡", "去世", [("死者", "他")])]
    assert stats.events_skipped == {SKIP_UNKNOWN_TYPE: 1}
    assert stats.arguments_skipped == {SKIP_UNKNOWN_ROLE: 1, SKIP_EVENT_SKIPPED: 1}
    # Without the schema both are kept.
    (doc,), _ = run(tmp_path, tmp_path / "in.json", format="duee")
    assert len(doc._.events) == 2


def test_schema_only_for_duee(tmp_path):
    schema = write_jsonl(tmp_path / "schema.json", SCHEMA)
    path = write_jsonl(tmp_path / "in.jsonl", [{"text": "x"}])
    with pytest.raises(ConversionError, match="duee format only"):
        convert(path, tmp_path / "out.spacy", schema=schema)
    with pytest.raises(ConversionError, match="schema file not found"):
        convert(path, tmp_path / "out.spacy", format="duee", schema=tmp_path / "missing.json")


# --- reporting --------------------------------------------------------------


def test_print_stats_shows_predicates_event_types_and_skips(tmp_path, capsys):
    record = {
        "text": "他去世了，公司裁员",
        "event_list": [duee_event("人生-死亡", "去世", 1, ("死者", "他", 0)), duee_event("组织关系-裁员", "倒闭", 7)],
    }
    _, stats = run(tmp_path, write_jsonl(tmp_path / "in.json", [record]), format="duee")
    duie = {"text": "李白，字太白", "spo_list": [spo("李白", "人物", "字", "太白", "Text")]}
    _, duie_stats = run(tmp_path, write_jsonl(tmp_path / "duie.json", [duie]), format="duie")
    capsys.readouterr()
    print_stats(stats)
    print_stats(duie_stats)
    out = capsys.readouterr().out
    for expected in ("Events written by type", "人生-死亡", "Events skipped by reason", "trigger: text not found",
                     "Event arguments written by role", "死者", "Relations written by predicate", "字"):
        assert expected in out
    assert json.dumps(stats.to_dict(), ensure_ascii=False)


def test_cli_converts_duee_with_schema(tmp_path):
    schema = write_jsonl(tmp_path / "schema.json", SCHEMA)
    path = write_jsonl(tmp_path / "in.json", [{"text": "他去世了", "event_list": [duee_event("人生-死亡", "去世", 1)]}])
    out, stats_json = tmp_path / "out.spacy", tmp_path / "stats.json"
    result = subprocess.run(
        [sys.executable, str(CONVERT_SCRIPT), str(path), str(out), "--format", "duee", "--schema", str(schema),
         "--stats-json", str(stats_json)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(stats_json.read_text(encoding="utf8"))["events_by_label"] == {"人生-死亡": 1}
