"""Tests for spacy_globalpointer.convert on small inline inputs, one format at a time."""
import json
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest
import spacy
from spacy.tokens import Doc, DocBin

from spacy_globalpointer.convert import (
    SKIP_DUPLICATE,
    SKIP_DUPLICATE_ALIGNED,
    SKIP_EMPTY_TEXT,
    SKIP_MISALIGNED,
    ConversionError,
    ConversionStats,
    convert,
    print_stats,
)

CONVERT_SCRIPT = Path(__file__).parent.parent / "project" / "scripts" / "convert.py"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf8")
    return path


def write_jsonl(path: Path, records: List[dict]) -> Path:
    return write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def run(tmp_path: Path, path: Path, **kwargs) -> Tuple[List[Doc], ConversionStats]:
    """Convert, read the DocBin back and check the span bookkeeping invariant."""
    out = tmp_path / "out.spacy"
    stats = convert(path, out, **kwargs)
    lang = kwargs.get("lang", "zh")
    docs = list(DocBin().from_disk(out).get_docs(spacy.blank(lang).vocab))
    assert stats.docs_written == len(docs)
    assert stats.spans_read == stats.spans_written + stats.spans_skipped_total
    key = kwargs.get("spans_key", "sc")
    assert stats.spans_written == sum(len(d.spans.get(key, [])) for d in docs)
    assert stats.tokens == sum(len(d) for d in docs)
    return docs, stats


def spans_of(doc: Doc, key: str = "sc") -> List[Tuple[int, int, str]]:
    return [(sp.start_char, sp.end_char, sp.label_) for sp in doc.spans[key]]


def ents_of(doc: Doc) -> List[Tuple[int, int, str]]:
    return [(sp.start_char, sp.end_char, sp.label_) for sp in doc.ents]


# --- jsonl ------------------------------------------------------------------


def test_jsonl_nested_spans_preserved(tmp_path):
    text = "The University of Edinburgh Medical School opened in 2020."
    spans = [
        {"start": 4, "end": 42, "label": "ORG"},
        {"start": 4, "end": 27, "label": "ORG"},
        {"start": 18, "end": 27, "label": "LOC"},
        {"start": 53, "end": 57, "label": "DATE"},
    ]
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [{"text": text, "spans": spans, "relations": [{"head": 0, "child": 1}]}],
    )
    docs, stats = run(tmp_path, path, format="jsonl", lang="en", spans_key="ents_nested")
    assert len(docs) == 1
    doc = docs[0]
    assert [t.text for t in doc] == [
        "The", "University", "of", "Edinburgh", "Medical", "School", "opened", "in", "2020", ".",
    ]
    assert spans_of(doc, "ents_nested") == [
        (4, 27, "ORG"), (4, 42, "ORG"), (18, 27, "LOC"), (53, 57, "DATE"),
    ]
    assert [sp.text for sp in doc.spans["ents_nested"]][:3] == [
        "University of Edinburgh", "University of Edinburgh Medical School", "Edinburgh",
    ]
    assert not doc.has_annotation("ENT_IOB")  # no --ents
    assert stats.records_read == stats.docs_written == 1
    assert stats.tokens == 10
    assert stats.spans_written == 4
    assert stats.spans_by_label == {"ORG": 2, "LOC": 1, "DATE": 1}
    # ORG-ORG, ORG(long)-LOC and ORG(short)-LOC nest; nothing crosses.
    assert (stats.nested_pairs, stats.crossing_pairs, stats.same_extent_pairs) == (3, 0, 0)
    assert stats.docs_with_overlap == 1
    assert stats.ignored_keys == {"relations": 1}


def test_jsonl_misaligned_strict_skipped_and_counted(tmp_path):
    text = "Visit Edinburgh and Oslo today."
    spans = [
        {"start": 7, "end": 15, "label": "LOC"},  # "dinburgh": inside a token
        {"start": 20, "end": 24, "label": "LOC"},
        {"start": 5, "end": 15, "label": "LOC"},  # " Edinburgh": leading space
    ]
    path = write_jsonl(tmp_path / "in.jsonl", [{"text": text, "spans": spans}])
    docs, stats = run(tmp_path, path, format="jsonl", lang="en", alignment="strict")
    assert spans_of(docs[0]) == [(20, 24, "LOC")]
    assert stats.spans_skipped == {SKIP_MISALIGNED: 2}
    assert stats.spans_expanded == 0
    assert len(stats.examples[SKIP_MISALIGNED]) == 2
    assert "'dinburgh'" in stats.examples[SKIP_MISALIGNED][0]
    assert f"{path}:1" in stats.examples[SKIP_MISALIGNED][0]


def test_jsonl_misaligned_expand_expanded_and_counted(tmp_path):
    text = "Visit Edinburgh and Oslo today."
    spans = [
        {"start": 7, "end": 15, "label": "LOC"},
        {"start": 20, "end": 24, "label": "LOC"},
        {"start": 6, "end": 12, "label": "GPE"},
    ]
    path = write_jsonl(tmp_path / "in.jsonl", [{"text": text, "spans": spans}])
    docs, stats = run(tmp_path, path, format="jsonl", lang="en", alignment="expand")
    assert spans_of(docs[0]) == [(6, 15, "GPE"), (6, 15, "LOC"), (20, 24, "LOC")]
    assert stats.spans_expanded == 2
    assert stats.spans_skipped_total == 0
    assert stats.same_extent_pairs == 1
    assert "-> 'Edinburgh'" in stats.examples["expanded"][0]


def test_expand_collisions_and_duplicates_counted(tmp_path):
    text = "Visit Edinburgh today."
    spans = [
        {"start": 6, "end": 15, "label": "LOC"},
        {"start": 6, "end": 15, "label": "LOC"},  # identical: duplicate
        {"start": 7, "end": 15, "label": "LOC"},  # expands onto the first
    ]
    path = write_jsonl(tmp_path / "in.jsonl", [{"text": text, "spans": spans}])
    docs, stats = run(tmp_path, path, format="jsonl", lang="en", alignment="expand")
    assert spans_of(docs[0]) == [(6, 15, "LOC")]
    assert stats.spans_skipped == {SKIP_DUPLICATE: 1, SKIP_DUPLICATE_ALIGNED: 1}
    assert stats.spans_expanded == 1


def test_empty_texts_skipped_and_counted(tmp_path):
    records = [
        {"text": "", "spans": []},
        {"text": "Oslo is cold.", "spans": [{"start": 0, "end": 4, "label": "LOC"}]},
        {"text": "   ", "spans": [{"start": 0, "end": 2, "label": "LOC"}]},
    ]
    path = write_jsonl(tmp_path / "in.jsonl", records)
    docs, stats = run(tmp_path, path, format="jsonl", lang="en")
    assert [d.text for d in docs] == ["Oslo is cold."]
    assert stats.records_read == 3
    assert stats.empty_texts == 2
    assert stats.spans_skipped == {SKIP_EMPTY_TEXT: 1}
    assert stats.examples["empty text (record skipped)"] == [f"{path}:1", f"{path}:3"]


def test_unknown_keys_do_not_fail_and_missing_spans_is_unlabelled(tmp_path):
    records = [
        {"text": "Oslo.", "spans": [], "events": [], "meta": {"id": 3}},
        {"text": "No annotation here."},
    ]
    path = write_jsonl(tmp_path / "in.jsonl", records)
    docs, stats = run(tmp_path, path, format="jsonl", lang="en")
    assert "sc" in docs[0].spans and len(docs[0].spans["sc"]) == 0
    assert "sc" not in docs[1].spans  # unlabelled, not "no entities"
    assert stats.unlabelled_records == 1
    assert stats.ignored_keys == {"events": 1, "meta": 1}


@pytest.mark.parametrize(
    "line,expected",
    [
        ('{"text": "Oslo", "spans": [', "invalid JSON"),
        ('["Oslo"]', "expected a JSON object"),
        ('{"spans": []}', "missing key 'text'"),
        ('{"text": "Oslo", "spans": [{"start": 0, "label": "LOC"}]}', "spans[0]: missing key 'end'"),
        ('{"text": "Oslo", "spans": [{"start": 0, "end": 9, "label": "LOC"}]}', "out of range"),
        ('{"text": "Oslo", "spans": [{"start": 3, "end": 1, "label": "LOC"}]}', "out of range"),
        ('{"text": "Oslo", "spans": [{"start": "0", "end": 4, "label": "LOC"}]}', "must be an integer"),
        ('{"text": "Oslo", "spans": [{"start": 0, "end": 4, "label": ""}]}', "non-empty string"),
    ],
)
def test_malformed_jsonl_names_file_and_line(tmp_path, line, expected):
    good = '{"text": "Fine.", "spans": []}\n'
    path = write(tmp_path / "bad.jsonl", good + "\n" + line + "\n")  # blank line 2
    with pytest.raises(ConversionError) as err:
        convert(path, tmp_path / "out.spacy", format="jsonl", lang="en")
    assert f"{path}:3:" in str(err.value)
    assert expected in str(err.value)


def test_start_end_select_records(tmp_path):
    records = [{"text": f"Text {i}.", "spans": [{"start": 0, "end": 4, "label": "X"}]} for i in range(5)]
    path = write_jsonl(tmp_path / "in.jsonl", records)
    docs, stats = run(tmp_path, path, format="jsonl", lang="en", start=1, end=3)
    assert [d.text for d in docs] == ["Text 1.", "Text 2."]
    assert (stats.records_read, stats.records_out_of_range) == (2, 3)
    docs, stats = run(tmp_path, path, format="jsonl", lang="en", start=3, end=10)
    assert [d.text for d in docs] == ["Text 3.", "Text 4."]
    assert stats.warnings == [f"--end 10 is past the last record: {path} has 5 records"]


def test_chinese_is_split_per_character(tmp_path):
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [{"text": "北京大学在北京", "spans": [{"start": 0, "end": 4, "label": "ORG"}, {"start": 0, "end": 2, "label": "LOC"}]}],
    )
    docs, stats = run(tmp_path, path, format="jsonl")  # lang defaults to zh
    assert [t.text for t in docs[0]] == list("北京大学在北京")
    assert spans_of(docs[0]) == [(0, 2, "LOC"), (0, 4, "ORG")]
    assert stats.nested_pairs == 1


# --- ents -------------------------------------------------------------------


def test_ents_keep_longest_non_overlapping_and_count_the_rest(tmp_path):
    text = "Bank of England raised rates in London."
    spans = [
        {"start": 0, "end": 15, "label": "ORG"},
        {"start": 8, "end": 15, "label": "LOC"},
        {"start": 32, "end": 38, "label": "LOC"},
    ]
    path = write_jsonl(tmp_path / "in.jsonl", [{"text": text, "spans": spans}])
    docs, stats = run(tmp_path, path, format="jsonl", lang="en", ents=True)
    doc = docs[0]
    assert ents_of(doc) == [(0, 15, "ORG"), (32, 38, "LOC")]
    assert spans_of(doc) == [(0, 15, "ORG"), (8, 15, "LOC"), (32, 38, "LOC")]
    assert (stats.ents_written, stats.ents_left_out) == (2, 1)
    assert "'England'" in stats.examples["left out of doc.ents"][0]


# --- cmeee ------------------------------------------------------------------


CMEEE = [
    {
        "text": "患者有急性胃炎，服用阿莫西林。",
        "entities": [
            {"start_idx": 3, "end_idx": 6, "type": "dis", "entity": "急性胃炎"},
            {"start_idx": 5, "end_idx": 5, "type": "bod", "entity": "胃"},
            {"start_idx": 10, "end_idx": 13, "type": "dru", "entity": "阿莫西林"},
        ],
    },
    {"text": "无明显异常。", "entities": []},
    {"text": "头痛。", "entities": [{"start_idx": 0, "end_idx": 1, "type": "sym", "entity": "头疼"}]},
]


def test_cmeee_end_inclusive_nested(tmp_path):
    path = write(tmp_path / "dev.json", json.dumps(CMEEE, ensure_ascii=False, indent=2))
    docs, stats = run(tmp_path, path, format="cmeee", lang="zh")
    assert len(docs) == 3
    assert len(docs[0]) == 15
    assert spans_of(docs[0]) == [(3, 7, "dis"), (5, 6, "bod"), (10, 14, "dru")]
    assert [sp.text for sp in docs[0].spans["sc"]] == ["急性胃炎", "胃", "阿莫西林"]
    assert len(docs[1].spans["sc"]) == 0
    assert stats.nested_pairs == 1
    # The stated entity text differs from the offsets: kept by offsets, counted.
    assert spans_of(docs[2]) == [(0, 2, "sym")]
    assert stats.text_mismatches == 1
    assert stats.spans_by_label == {"dis": 1, "bod": 1, "dru": 1, "sym": 1}


def test_cmeee_record_range(tmp_path):
    path = write(tmp_path / "dev.json", json.dumps(CMEEE, ensure_ascii=False, indent=2))
    docs, stats = run(tmp_path, path, format="cmeee", lang="zh", start=1)
    assert [d.text for d in docs] == ["无明显异常。", "头痛。"]
    docs, stats = run(tmp_path, path, format="cmeee", lang="zh", end=1)
    assert [d.text for d in docs] == [CMEEE[0]["text"]]
    assert stats.records_out_of_range == 2


def test_cmeee_test_split_without_entities_is_unlabelled(tmp_path, capsys):
    path = write(tmp_path / "test.json", json.dumps([{"text": "发热三天。"}, {"text": "咳嗽。"}], ensure_ascii=False))
    docs, stats = run(tmp_path, path, format="cmeee", lang="zh")
    assert [d.text for d in docs] == ["发热三天。", "咳嗽。"]
    assert all("sc" not in d.spans for d in docs)
    assert stats.unlabelled_records == 2 and stats.spans_read == 0
    print_stats(stats)
    assert "2 records have no annotations key" in capsys.readouterr().out


@pytest.mark.parametrize(
    "records,expected",
    [
        ([{"text": "头痛"}, {"entities": []}], "record 1: missing key 'text'"),
        ([{"text": "头痛", "entities": [{"start_idx": 0, "end_idx": 2, "type": "sym"}]}], "record 0: entities[0] (start_idx=0, end_idx=2, end inclusive)"),
        ([{"text": "头痛", "entities": [{"start_idx": 0, "end_idx": 1}]}], "record 0: entities[0]: missing key 'type'"),
    ],
)
def test_cmeee_malformed_names_record(tmp_path, records, expected):
    path = write(tmp_path / "bad.json", json.dumps(records, ensure_ascii=False, indent=2))
    with pytest.raises(ConversionError, match="out of range|missing key") as err:
        convert(path, tmp_path / "out.spacy", format="cmeee", lang="zh")
    assert str(err.value).startswith(f"{path}: ")
    assert expected in str(err.value)


def test_cmeee_bad_json_names_line(tmp_path):
    path = write(tmp_path / "bad.json", '[\n  {"text": "头痛"},\n  {"text": }\n]\n')
    with pytest.raises(ConversionError, match=rf"{path}:3: invalid JSON"):
        convert(path, tmp_path / "out.spacy", format="cmeee")


# --- cluener ----------------------------------------------------------------


def test_cluener_end_inclusive_and_mismatch_counted(tmp_path):
    records = [
        {"text": "浙商银行叶老桂认为，叶老桂", "label": {"company": {"浙商银行": [[0, 3]]}, "name": {"叶老桂": [[4, 6], [10, 12]]}}},
        {"text": "生生不息CSOL", "label": {"game": {"CSOX": [[4, 7]]}}},
        {"id": 0, "text": "未标注的测试句子。"},
    ]
    path = write_jsonl(tmp_path / "train.json", records)
    docs, stats = run(tmp_path, path, format="cluener", lang="zh", ents=True)
    assert spans_of(docs[0]) == [(0, 4, "company"), (4, 7, "name"), (10, 13, "name")]
    assert ents_of(docs[0]) == spans_of(docs[0])
    assert spans_of(docs[1]) == [(4, 8, "game")]
    assert stats.text_mismatches == 1
    assert "'CSOX'" in stats.examples["entity text mismatch (kept by offsets)"][0]
    assert "sc" not in docs[2].spans and not docs[2].has_annotation("ENT_IOB")
    assert stats.unlabelled_records == 1
    assert stats.ignored_keys == {"id": 1}


def test_cluener_malformed_offsets(tmp_path):
    path = write_jsonl(tmp_path / "bad.json", [{"text": "叶老桂", "label": {"name": {"叶老桂": [[0]]}}}])
    with pytest.raises(ConversionError, match=rf"{path}:1: .*expected \[start, end\]"):
        convert(path, tmp_path / "out.spacy", format="cluener")


# --- bio --------------------------------------------------------------------


def test_bio_chinese_characters_no_spaces(tmp_path):
    data = "海 B-LOC\n钓 O\n比 O\n赛 O\n在 O\n厦 B-LOC\n门 I-LOC\n\n中 B-ORG\n国 M-ORG\n队 E-ORG\n赢 O\n"
    path = write(tmp_path / "example.dev", data)
    docs, stats = run(tmp_path, path, format="bio", lang="zh", ents=True)
    assert [d.text for d in docs] == ["海钓比赛在厦门", "中国队赢"]
    assert spans_of(docs[0]) == [(0, 1, "LOC"), (5, 7, "LOC")]
    assert spans_of(docs[1]) == [(0, 3, "ORG")]
    assert ents_of(docs[1]) == [(0, 3, "ORG")]
    assert stats.bio_repaired == 0 and stats.tokens == 11


def test_bio_english_tabs_spaces_and_blank_tab_lines(tmp_path):
    data = "Empire\tB-location\nState\tI-location\nBuilding\tI-location\n=\tO\nESB\tB-location\n\t\nI\tO\nlove\tO\nNYC\tS-location\n"
    path = write(tmp_path / "train.conll", data)
    docs, stats = run(tmp_path, path, format="bio", lang="en")
    assert [d.text for d in docs] == ["Empire State Building = ESB", "I love NYC"]
    assert spans_of(docs[0]) == [(0, 21, "location"), (24, 27, "location")]
    assert spans_of(docs[1]) == [(7, 10, "location")]
    assert stats.records_read == 2 and stats.tokens == 8


def test_bio_invalid_transitions_repaired_and_counted(tmp_path):
    data = (
        "Anna I-PER\nBerg I-PER\nmet O\nthe O\nBank B-ORG\nof I-ORG\nOslo I-LOC\n\n"  # I- at start; ORG -> I-LOC
        "in O\nRome E-LOC\n"  # E- without a B-
    )
    path = write(tmp_path / "train.bio", data)
    docs, stats = run(tmp_path, path, format="bio", lang="en")
    assert spans_of(docs[0]) == [(0, 9, "PER"), (18, 25, "ORG"), (26, 30, "LOC")]
    assert spans_of(docs[1]) == [(3, 7, "LOC")]
    assert stats.bio_repaired == 3
    examples = stats.examples["BIO repaired"]
    assert examples[0].startswith("I-PER after start of sentence at ") and f"{path}:1" in examples[0]
    assert f"I-LOC after I-ORG at {path}:7" in examples[1]


@pytest.mark.parametrize(
    "data,lineno,expected",
    [
        ("Anna B-PER\nBerg\n", 2, "expected 'token<whitespace>tag'"),
        ("Anna B-PER\n\nBerg X-PER\n", 3, "unknown tag 'X-PER'"),
        ("Anna B-PER\nBerg B-\n", 2, "unknown tag 'B-'"),
    ],
)
def test_bio_malformed_names_file_and_line(tmp_path, data, lineno, expected):
    path = write(tmp_path / "bad.bio", data)
    with pytest.raises(ConversionError) as err:
        convert(path, tmp_path / "out.spacy", format="bio", lang="en")
    assert str(err.value).startswith(f"{path}:{lineno}: ")
    assert expected in str(err.value)


# --- genia ------------------------------------------------------------------


def test_genia_type_and_label_alias(tmp_path):
    text = "IL-2 gene expression requires NF-kappa B."
    records = [
        {"text": text, "entities": [{"start": 0, "end": 9, "type": "DNA"}, {"start": 0, "end": 4, "label": "protein"}]},
    ]
    path = write_jsonl(tmp_path / "genia.jsonl", records)
    docs, stats = run(tmp_path, path, format="genia", lang="en", alignment="expand")
    assert docs[0][0].text == "IL-2"
    assert spans_of(docs[0]) == [(0, 4, "protein"), (0, 9, "DNA")]
    assert stats.nested_pairs == 1


def test_unknown_format_and_alignment_rejected(tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", [{"text": "x", "spans": []}])
    with pytest.raises(ConversionError, match="Unknown format"):
        convert(path, tmp_path / "o.spacy", format="conll")
    with pytest.raises(ConversionError, match="Unknown alignment"):
        convert(path, tmp_path / "o.spacy", alignment="loose")


# --- CLI --------------------------------------------------------------------


def test_cli_converts_and_reports(tmp_path):
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [{"text": "Bank of England staff.", "spans": [{"start": 0, "end": 15, "label": "ORG"}, {"start": 8, "end": 15, "label": "LOC"}, {"start": 1, "end": 4, "label": "ORG"}]}],
    )
    out = tmp_path / "corpus" / "train.spacy"
    stats_json = tmp_path / "stats.json"
    cmd = [sys.executable, str(CONVERT_SCRIPT), str(path), str(out), "--format", "jsonl",
           "--lang", "en", "--ents", "--stats-json", str(stats_json)]
    result = subprocess.run(cmd, capture_output=True, text=True, encoding="utf8")
    assert result.returncode == 0, result.stderr
    assert "spans written" in result.stdout and SKIP_MISALIGNED in result.stdout
    assert out.exists()
    stats = json.loads(stats_json.read_text(encoding="utf8"))
    assert stats["spans_written"] == 2 and stats["spans_skipped"] == {SKIP_MISALIGNED: 1}
    assert stats["ents_left_out"] == 1 and stats["nested_pairs"] == 1

    bad = write(tmp_path / "bad.jsonl", '{"text": "x"}\n{"text": 1}\n')
    result = subprocess.run(cmd[:2] + [str(bad), str(out), "--format", "jsonl"], capture_output=True, text=True, encoding="utf8")
    assert result.returncode == 1
    assert f"{bad}:2: 'text' must be a string" in " ".join(result.stdout.split())


def test_output_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    """The DocBin is written beside the output and renamed: a write that fails
    halfway leaves the old file as it was and no partial file behind (two
    benchmark runs converting one corpus at once read a truncated DocBin
    before)."""
    src = write(tmp_path / "in.jsonl", json.dumps({"text": "Ana works here.", "spans": []}) + "\n")
    out = tmp_path / "out.spacy"
    convert(src, out, format="jsonl", lang="en")
    before = out.read_bytes()
    assert len(list(DocBin().from_disk(out).get_docs(spacy.blank("en").vocab))) == 1

    def half_write(self, path):
        Path(path).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(DocBin, "to_disk", half_write)
    with pytest.raises(OSError, match="disk full"):
        convert(src, out, format="jsonl", lang="en")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.spacy"]
