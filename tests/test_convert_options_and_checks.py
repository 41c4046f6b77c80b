"""The converter's options object, reader registry, and the checks from issue 18:
an input without records (E120), space-separated text with a no-space lang (W120),
self-relations and duplicates counted and skipped."""
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, List

import pytest
import spacy
from spacy.tokens import DocBin

from spacy_globalpointer.convert import (
    FORMATS,
    READERS,
    SKIP_DUPLICATE,
    SKIP_SELF_RELATION,
    ConversionError,
    ConvertOptions,
    Reader,
    convert,
)
from spacy_globalpointer.extensions import install_extensions

CONVERT_SCRIPT = Path(__file__).parent.parent / "project" / "scripts" / "convert.py"


def write_jsonl(path: Path, records: List[Any]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf8")
    return path


def run_cli(*args: Any) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, str(CONVERT_SCRIPT), *map(str, args)], capture_output=True, text=True, encoding="utf8"
    )
    result.output = " ".join((result.stdout + result.stderr).split())  # type: ignore[attr-defined]
    return result


# --- options and readers ----------------------------------------------------


def test_every_format_has_a_reader_module():
    assert set(FORMATS) >= {"jsonl", "cmeee", "cluener", "bio", "genia", "duie", "spert", "duee", "scierc", "phee"}
    for name, reader in READERS.items():
        assert isinstance(reader, Reader) and reader.name == name
        assert reader.read.__module__.startswith("spacy_globalpointer.convert.readers.")
    assert READERS["scierc"].read is READERS["spert"].read


def test_options_object_equals_keywords(tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", [{"text": "Oslo is cold.", "spans": [{"start": 0, "end": 4, "label": "LOC"}]}])
    options = ConvertOptions(format="jsonl", lang="en", spans_key="ents", ents=True)
    by_object = convert(path, tmp_path / "a.spacy", options)
    by_keywords = convert(path, tmp_path / "b.spacy", format="jsonl", lang="en", spans_key="ents", ents=True)
    assert by_object.to_dict() | {"output_path": ""} == by_keywords.to_dict() | {"output_path": ""}
    # Keywords next to an options object replace its fields.
    stats = convert(path, tmp_path / "c.spacy", options, spans_key="sc")
    (doc,) = DocBin().from_disk(tmp_path / "c.spacy").get_docs(spacy.blank("en").vocab)
    assert list(doc.spans) == ["sc"] and stats.ents_written == 1


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"format": "conll"}, "Unknown format"),
        ({"alignment": "loose"}, "Unknown alignment"),
        ({"start": 5, "end": 2}, "Invalid record range"),
        ({"format": "bio", "relations": True}, "has no relations"),
        ({"format": "spert", "events": True}, "has no events"),
        ({"format": "phee", "schema": "schema.json"}, "duee format only"),
    ],
)
def test_invalid_options_rejected_when_made(fields, message):
    with pytest.raises(ConversionError, match=message):
        ConvertOptions(**fields)


def test_cli_format_choices_are_the_readers():
    result = run_cli("--help")
    assert result.returncode == 0
    for name in FORMATS:
        assert name in result.output


# --- E120: no records ---------------------------------------------------------


@pytest.mark.parametrize(
    "name,content,fmt",
    [("empty.jsonl", "", "jsonl"), ("blank.jsonl", "\n  \n", "jsonl"), ("empty.json", "[]", "cmeee"), ("empty.conll", "", "bio")],
)
def test_input_without_records_fails_through_cli(tmp_path, name, content, fmt):
    path = tmp_path / name
    path.write_text(content, encoding="utf8")
    out = tmp_path / "out.spacy"
    result = run_cli(path, out, "--format", fmt, "--lang", "en")
    assert result.returncode == 1, result.output
    assert "[E120]" in result.output and str(path) in result.output
    assert not out.exists()
    with pytest.raises(ConversionError, match=r"\[E120\]"):
        convert(path, out, format=fmt, lang="en")


def test_records_outside_the_range_are_not_an_empty_input(tmp_path):
    # The documented CMeEE dev range can lie past a short file: a warning, exit 0.
    path = write_jsonl(tmp_path / "in.jsonl", [{"text": "Oslo.", "spans": []}])
    result = run_cli(path, tmp_path / "out.spacy", "--lang", "en", "--start", "4000", "--end", "5000")
    assert result.returncode == 0, result.output
    assert "past the last record" in result.output


# --- W120: space-separated text with a no-space lang ---------------------------

ENGLISH = [{"text": "Ana Ferreira works for Corvane in Porto.", "spans": [{"start": 0, "end": 12, "label": "PER"}]}]


def test_english_text_with_default_zh_warns(tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", ENGLISH)
    stats = convert(path, tmp_path / "out.spacy")  # lang defaults to zh
    (warning,) = stats.warnings
    assert warning.startswith("[W120]") and "'zh'" in warning and "single characters" in warning
    assert not convert(path, tmp_path / "out.spacy", lang="en").warnings
    result = run_cli(path, tmp_path / "out.spacy")
    assert result.returncode == 0 and "[W120]" in result.output


def test_chinese_text_and_mixed_terms_do_not_warn(tmp_path):
    records = [{"text": "患者服用阿莫西林（amoxicillin）后出现皮疹和 DNA 损伤。", "spans": []}] * 3
    path = write_jsonl(tmp_path / "in.jsonl", records)
    assert not convert(path, tmp_path / "out.spacy").warnings


def test_english_tokens_with_zh_warn_that_they_are_joined(tmp_path):
    path = tmp_path / "in.conll"
    path.write_text("Ana\tB-PER\nFerreira\tI-PER\nworks\tO\nfor\tO\nCorvane\tB-ORG\nin\tO\nPorto\tB-LOC\n", encoding="utf8")
    stats = convert(path, tmp_path / "out.spacy", format="bio")
    assert len(stats.warnings) == 1 and "joins the given tokens without spaces" in stats.warnings[0]


# --- self-relations and duplicates ---------------------------------------------


def test_self_relation_skipped_and_counted(tmp_path):
    install_extensions()
    record = {
        "text": "Ana Ferreira works for Corvane.",
        "spans": [{"start": 0, "end": 12, "label": "PER"}, {"start": 23, "end": 30, "label": "ORG"},
                  {"start": 23, "end": 30, "label": "LOC"}],
        "relations": [{"head": 0, "tail": 0, "label": "self"}, {"head": 1, "tail": 2, "label": "located_in"},
                      {"head": 0, "tail": 1, "label": "works_for"}],
    }
    path = write_jsonl(tmp_path / "in.jsonl", [record])
    stats = convert(path, tmp_path / "out.spacy", lang="en", relations=True)
    (doc,) = DocBin().from_disk(tmp_path / "out.spacy").get_docs(spacy.blank("en").vocab)
    assert [(r.head.text, r.label, r.tail.text) for r in doc._.relations] == [("Ana Ferreira", "works_for", "Corvane")]
    # Same tokens, two labels: still one span at both ends.
    assert stats.relations_skipped == {SKIP_SELF_RELATION: 2}
    assert stats.relations_read == stats.relations_written + stats.relations_skipped_total == 3
    assert "'Ana Ferreira'" in stats.examples[f"relation skipped: {SKIP_SELF_RELATION}"][0]


def test_duie_subject_equal_to_object_is_a_self_relation(tmp_path):
    spo = {"subject": "李白", "subject_type": "人物", "predicate": "朋友", "object": "李白", "object_type": "人物"}
    path = write_jsonl(tmp_path / "in.json", [{"text": "李白写诗", "spo_list": [spo]}])
    stats = convert(path, tmp_path / "out.spacy", format="duie")
    assert stats.relations_skipped == {SKIP_SELF_RELATION: 1} and stats.relations_written == 0


def test_spert_duplicate_entities_and_self_relations_counted(tmp_path):
    install_extensions()
    record = {
        "tokens": ["Alice", "works", "for", "Acme", "."],
        "entities": [{"type": "PER", "start": 0, "end": 1}, {"type": "ORG", "start": 3, "end": 4},
                     {"type": "PER", "start": 0, "end": 1}],
        "relations": [{"type": "Work_For", "head": 2, "tail": 1}, {"type": "Same", "head": 0, "tail": 2},
                      {"type": "Work_For", "head": 0, "tail": 1}],
    }
    path = write_jsonl(tmp_path / "in.json", [record])
    stats = convert(path, tmp_path / "out.spacy", format="spert", lang="en")
    (doc,) = DocBin().from_disk(tmp_path / "out.spacy").get_docs(spacy.blank("en").vocab)
    assert [(s.text, s.label_) for s in doc.spans["sc"]] == [("Alice", "PER"), ("Acme", "ORG")]
    assert (stats.spans_read, stats.spans_written, stats.spans_skipped) == (3, 2, {SKIP_DUPLICATE: 1})
    assert stats.relations_skipped == {SKIP_SELF_RELATION: 1, SKIP_DUPLICATE: 1}
    assert len(doc._.relations) == 1


def test_duplicate_events_and_arguments_counted(tmp_path):
    install_extensions()
    event = {"label": "Move", "trigger": {"start": 4, "end": 9},
             "arguments": [{"role": "person", "start": 0, "end": 3}, {"role": "person", "start": 0, "end": 3}]}
    path = write_jsonl(tmp_path / "in.jsonl", [{"text": "Ana moved to Porto.", "events": [event, event]}])
    stats = convert(path, tmp_path / "out.spacy", lang="en", events=True)
    assert (stats.events_written, stats.events_skipped) == (1, {SKIP_DUPLICATE: 1})
    # One duplicate argument in each event; the second event's remaining one goes with it.
    assert stats.arguments_written == 1
    assert stats.arguments_skipped == {SKIP_DUPLICATE: 2, "its event was skipped": 1}


# --- project variable for --ents ------------------------------------------------


@pytest.mark.parametrize("value,ents", [("true", 1), ("false", 0)])
def test_ents_value_sets_ents_from_a_variable(tmp_path, value, ents):
    path = write_jsonl(tmp_path / "in.jsonl", ENGLISH)
    out = tmp_path / "out.spacy"
    result = run_cli(path, out, "--lang", "en", "--ents-value", value)
    assert result.returncode == 0, result.output
    (doc,) = DocBin().from_disk(out).get_docs(spacy.blank("en").vocab)
    assert len(doc.ents) == ents
